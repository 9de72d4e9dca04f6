"""The checked-in catalog of GX expectations: it matches the installed GX, and what it refuses GX refuses."""

from __future__ import annotations

import json
from typing import Any

import pytest

from metrics.quality import catalog
from metrics.quality.catalog import CATALOG_PATH, REGENERATE, argument_problems, load_catalog


def _messages(name: str, args: dict[str, Any]) -> list[str]:
    return [p.message + (f" ({p.hint})" if p.hint else "") for p in argument_problems(name, args)]


# --- against the installed GX (imports it) ---------------------------------------------------------


def test_the_catalog_matches_the_installed_great_expectations() -> None:
    built = catalog.build_catalog()
    stored = json.loads(CATALOG_PATH.read_text())
    diff = catalog.differences(built, stored)
    assert diff == [], f"{CATALOG_PATH.name} is out of date ({'; '.join(diff)}): run `{REGENERATE}`"
    assert built["expectations"] == stored["expectations"]


def test_the_command_compares_and_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    assert catalog.main([]) == 0
    assert capsys.readouterr().out.startswith(f"{CATALOG_PATH.name} matches the installed GX (")


# Values a PM might write, right or wrong; YAML gives only these Python types.
PROBES: list[Any] = [
    "", "a", "abc", "5", "0.5", "-1", "2024-01-01", "2024-01-01 10:00:00", "true", "yes", "neither",
    "any", "iqr", "pandas", 0, 1, 2, 3.5, 0.5, 1.5, -1, 99, True, False, None, [], ["a"], ["a", "b"],
    [1, 2], [["a", 1]], [[1, 2], [3, 4]], {}, {"$PARAMETER": "x"}, {"a": 1}, float("nan"),
]  # fmt: skip


def _gx_refuses(cls: Any, key: str, value: Any) -> bool:
    from metrics.quality.catalog import quiet

    try:
        with quiet():
            cls(**{key: value})
    except Exception as exc:
        return any(e["loc"][0] == key for e in exc.errors())  # type: ignore[attr-defined]
    return False


def test_what_the_catalog_refuses_great_expectations_refuses_too() -> None:
    """No false alarms on load: every argument kind of every expectation, probed with many values."""
    from great_expectations.expectations.registry import get_expectation_impl

    false_alarms, caught, probed = [], 0, 0
    seen: set[str] = set()
    for name, spec in load_catalog().items():
        cls = get_expectation_impl(name)
        for argument in spec.arguments.values():
            kind = repr((argument.accepts, argument.nullable, argument.strict))
            if kind in seen:  # the same declaration on another expectation behaves the same
                continue
            seen.add(kind)
            for value in PROBES:
                refused = catalog.value_problem(argument, value) is not None
                probed += 1
                if refused:
                    caught += 1
                    if not _gx_refuses(cls, argument.name, value):
                        false_alarms.append((name, argument.name, value))
    assert false_alarms == []
    assert probed > 500 and caught > 100  # the probes exercise both sides


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("expect_column_values_to_be_between", {"column": "a", "min_value": 0, "max_value": 10}),
        ("expect_column_values_to_be_between", {"column": "a", "min_value": "2024-01-01"}),
        ("expect_column_values_to_not_be_null", {"column": "a", "mostly": "0.5"}),
        ("expect_column_values_to_be_in_set", {"column": "a", "value_set": ["x", 1], "mostly": 1}),
        (
            "expect_column_pair_values_a_to_be_greater_than_b",
            {"column_A": "a", "column_B": "b", "or_equal": "yes"},
        ),
        ("expect_table_row_count_to_be_between", {"min_value": None, "max_value": 5}),
        (
            "expect_column_values_to_match_regex",
            {"column": "a", "regex": "^u[0-9]+$", "row_condition": 'a>"1"'},
        ),
    ],
)
def test_entries_gx_accepts_pass_the_catalog(name: str, args: dict[str, Any]) -> None:
    from metrics.quality import gx_runner

    assert gx_runner.argument_problems(name, args) == []
    assert argument_problems(name, args) == []


# --- the catalog alone (no GX) -----------------------------------------------------------------------


def test_the_file_is_exactly_what_write_renders() -> None:
    text = CATALOG_PATH.read_text()
    assert catalog.render(json.loads(text)) == text


def test_the_catalog_knows_gx_core() -> None:
    names = catalog.expectation_names()
    assert len(names) > 50
    between = load_catalog()["expect_column_values_to_be_between"]
    assert list(between.arguments) == [
        "column", "mostly", "row_condition", "condition_parser", "min_value", "max_value", "strict_min",
        "strict_max",
    ]  # fmt: skip
    assert [a.name for a in between.arguments.values() if a.required] == ["column"]
    assert between.needs_one_of == (("min_value", "max_value"),)


@pytest.mark.parametrize(
    ("name", "args", "expected"),
    [
        (
            "expect_column_values_to_not_be_null",
            {"column": "a", "mostly": 99},
            ["mostly: expected a number from 0 to 1, not 99"],
        ),
        (
            "expect_column_values_to_not_be_null",
            {"column": 3},
            ["column: expected non-empty text, not 3"],
        ),
        ("expect_column_values_to_not_be_null", {"column": ""}, ["column: expected non-empty text, not ''"]),
        (
            "expect_column_values_to_not_be_null",
            {"column": "a", "mostly": None},
            ["mostly: a value is needed here, not null"],
        ),
        (
            "expect_column_pair_values_to_be_equal",
            {"column_A": "a", "column_B": "b", "ignore_row_if": "nether"},
            [
                "ignore_row_if: expected 'both_values_are_missing', 'either_value_is_missing' or 'neither', "
                "not 'nether' (did you mean 'neither'?)"
            ],
        ),
        (
            "expect_column_values_to_be_increasing",
            {"column": "a", "strictly": "maybe"},
            ["strictly: expected true or false, not 'maybe'"],
        ),
        (
            "expect_table_row_count_to_equal",
            {"value": "ten"},
            ["value: expected a whole number, not 'ten'"],
        ),
        (
            "expect_column_values_to_be_in_set",
            {"value_set": [], "colum": "a", "batch_id": "x"},
            [
                "unknown argument 'colum' for expect_column_values_to_be_in_set (did you mean 'column'?)",
                "argument 'batch_id' is set by Northstar, not in the YAML",
                "expect_column_values_to_be_in_set needs the argument 'column'",
            ],
        ),
        (
            "expect_table_row_count_to_equal",
            {"value": 3, "zzz": 1},
            [
                "unknown argument 'zzz' for expect_table_row_count_to_equal (it takes: value, row_condition, "
                "condition_parser)"
            ],
        ),
        (
            "expect_column_value_lengths_to_be_between",
            {"column": "a", "min_value": None},
            ["expect_column_value_lengths_to_be_between needs 'min_value' or 'max_value' (or both)"],
        ),
    ],
)
def test_argument_problems_in_words(name: str, args: dict[str, Any], expected: list[str]) -> None:
    assert _messages(name, args) == expected

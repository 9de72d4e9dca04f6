"""The catalog of Great Expectations' expectations, checked in as `expectations.json`.

Importing Great Expectations takes seconds, and every project load validates the `expect:` entries,
so validation reads what it needs from this file instead: each expectation's arguments, which are
required, whether they may be null, and what JSON values they accept (taken from the pydantic
models of GX's expectation classes). `argument_problems` checks a YAML entry against it without
importing GX. What the file cannot say (GX's own validators, such as a regex that must compile)
is checked by building the expectation: `northstar validate` and every run do that.

Regenerate the file after upgrading GX (a test fails until it matches the installed GX):

    python -m metrics.quality.catalog --write
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import sys
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from metrics.definitions.problems import did_you_mean

CATALOG_PATH = Path(__file__).with_name("expectations.json")
REGENERATE = "python -m metrics.quality.catalog --write"
# Keys that Northstar sets itself or that make no sense in a YAML check.
RESERVED_ARGS = frozenset(
    {"id", "batch_id", "result_format", "catch_exceptions", "rendered_content", "windows"}
)
# Expectations that run SQL of their own: they work on SQL sources only (here, not in
# gx_runner, so that validating a project's `expect:` entries never imports the runner).
SQL_ONLY = frozenset(
    {
        "unexpected_rows_expectation",
        "expect_query_results_to_match_comparison",
        "expect_table_row_count_to_equal_other_table",
    }
)
# Fields every GX expectation has that are not arguments a user writes (`severity` is Northstar's).
GX_FIELDS = frozenset(
    {"id", "meta", "notes", "result_format", "description", "catch_exceptions", "rendered_content", "severity",
     "windows", "batch_id"}
)  # fmt: skip
# GX root validators whose rule the catalog can state: "at least one of these arguments is given".
NEEDS_ONE_OF = {
    "ExpectColumnValuesToBeBetween.check_min_val_or_max_val": ("min_value", "max_value"),
    "ExpectColumnValueLengthsToBeBetween._validate_min_or_max_set": ("min_value", "max_value"),
}
# pydantic v1 reads these as booleans (GX's models are pydantic v1).
_TRUE = frozenset({1, "1", "on", "t", "true", "y", "yes"})
_FALSE = frozenset({0, "0", "off", "f", "false", "n", "no"})


@dataclass(frozen=True)
class Accept:
    """One kind of JSON value an argument accepts, with the constraints GX states for it."""

    type: str | None  # string, number, integer, boolean, array, object; None: anything
    enum: tuple[Any, ...] | None = None
    format: str | None = None  # date, date-time
    minimum: float | None = None
    maximum: float | None = None
    min_length: int | None = None
    max_length: int | None = None
    min_items: int | None = None


@dataclass(frozen=True)
class Argument:
    name: str
    required: bool
    nullable: bool
    strict: bool  # a string that must be a string (numbers are not turned into text)
    accepts: tuple[Accept, ...]  # empty: anything


@dataclass(frozen=True)
class Expectation:
    name: str
    arguments: Mapping[str, Argument]
    needs_one_of: tuple[tuple[str, ...], ...] = ()
    deep_only: tuple[str, ...] = ()  # GX validators only building the expectation runs


@dataclass(frozen=True)
class ArgProblem:
    key: str | None  # the argument it concerns; None: the expectation as a whole
    message: str
    hint: str | None = None
    at_value: bool = True


# --- reading the catalog (no GX) ------------------------------------------------------------------


@contextmanager
def quiet() -> Iterator[None]:
    """GX logs and warns about things a PM cannot act on (its own deprecations, unsaved contexts)."""
    logger = logging.getLogger("great_expectations")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


@functools.cache
def load_catalog(path: Path = CATALOG_PATH) -> Mapping[str, Expectation]:
    """Expectation name -> what it takes, as the checked-in file says."""
    document = json.loads(path.read_text())
    return {name: _expectation(name, raw) for name, raw in document["expectations"].items()}


def expectation_names() -> frozenset[str]:
    return frozenset(load_catalog())


def _expectation(name: str, raw: Mapping[str, Any]) -> Expectation:
    arguments = {
        key: Argument(
            key,
            bool(spec.get("required", False)),
            bool(spec.get("nullable", False)),
            bool(spec.get("strict", False)),
            tuple(_accept(a) for a in spec.get("accepts", ())),
        )
        for key, spec in raw.get("arguments", {}).items()
    }
    return Expectation(
        name,
        arguments,
        tuple(tuple(group) for group in raw.get("needs_one_of", ())),
        tuple(raw.get("deep_only", ())),
    )


def _accept(raw: Mapping[str, Any]) -> Accept:
    enum = raw.get("enum")
    return Accept(
        raw.get("type"),
        tuple(enum) if enum is not None else None,
        raw.get("format"),
        raw.get("minimum"),
        raw.get("maximum"),
        raw.get("minLength"),
        raw.get("maxLength"),
        raw.get("minItems"),
    )


# --- checking one entry against it (no GX) --------------------------------------------------------


def argument_problems(name: str, args: Mapping[str, Any]) -> list[ArgProblem]:
    """What the catalog can tell is wrong with `args` for expectation `name` (which must exist).

    Lenient where GX is: only a value that GX's pydantic models would refuse is a problem, so a
    YAML the catalog accepts may still fail GX's own validators (found by building it).
    """
    spec = load_catalog()[name]
    allowed = list(spec.arguments)
    problems: list[ArgProblem] = []
    for key in args:
        if key in RESERVED_ARGS:
            problems.append(
                ArgProblem(key, f"argument {key!r} is set by Northstar, not in the YAML", at_value=False)
            )
        elif key not in spec.arguments:
            problems.append(
                ArgProblem(
                    key,
                    f"unknown argument {key!r} for {name}",
                    did_you_mean(key, allowed) or f"it takes: {', '.join(allowed)}",
                    at_value=False,
                )
            )
    for argument in spec.arguments.values():
        if argument.required and argument.name not in args:
            problems.append(ArgProblem(None, f"{name} needs the argument {argument.name!r}"))
        elif argument.name in args:
            problem = value_problem(argument, args[argument.name])
            if problem is not None:
                problems.append(problem)
    for group in spec.needs_one_of:
        if all(args.get(key) is None for key in group):
            names = ", ".join(repr(k) for k in group[:-1])
            problems.append(ArgProblem(None, f"{name} needs {names} or {group[-1]!r} (or both)"))
    return problems


def value_problem(argument: Argument, value: Any) -> ArgProblem | None:
    """The problem with one argument's value, or None when GX's model would accept it."""
    key = argument.name
    if value is None:
        return None if argument.nullable else ArgProblem(key, f"{key}: a value is needed here, not null")
    if not argument.accepts or any(_fits(value, a, strict=argument.strict) for a in argument.accepts):
        return None
    choices = [v for a in argument.accepts if a.enum for v in a.enum]
    hint = did_you_mean(value, [str(c) for c in choices]) if isinstance(value, str) and choices else None
    return ArgProblem(key, f"{key}: expected {_describe(argument.accepts)}, not {_show(value)}", hint)


def _fits(value: Any, accept: Accept, *, strict: bool) -> bool:
    """Whether pydantic v1 (lax, as GX uses it) would accept `value` for this kind."""
    kind = accept.type
    if kind is None:
        return True
    if accept.enum is not None:
        return any(value == choice for choice in accept.enum)
    if kind == "string":
        return _fits_string(value, accept, strict=strict)
    if kind in ("number", "integer"):
        number = _number(value, integer=kind == "integer")
        return number is not None and _in_range(number, accept)
    if kind == "boolean":
        if isinstance(value, bool):
            return True
        probe = value.lower() if isinstance(value, str) else value
        try:
            return probe in _TRUE or probe in _FALSE
        except TypeError:  # unhashable
            return False
    if kind == "array":
        if not isinstance(value, list | tuple | set | frozenset):
            return False
        return accept.min_items is None or len(value) >= accept.min_items
    if kind == "object":
        try:
            dict(value)  # pydantic v1 turns anything dict() takes into a mapping ('' -> {})
        except (TypeError, ValueError):
            return False
        return True
    return True  # a kind this code does not know: GX decides


def _fits_string(value: Any, accept: Accept, *, strict: bool) -> bool:
    if accept.format in ("date", "date-time"):
        if isinstance(value, int | float):  # pydantic reads numbers as Unix times
            return True
        return (isinstance(value, str) and value[:1].isdigit()) or hasattr(value, "isoformat")
    if isinstance(value, str):
        text = value
    elif not strict and isinstance(value, int | float):
        text = str(value)
    else:
        return False
    if accept.min_length is not None and len(text) < accept.min_length:
        return False
    return accept.max_length is None or len(text) <= accept.max_length


def _number(value: Any, *, integer: bool) -> float | None:
    try:
        return float(int(value)) if integer else float(value)  # pydantic v1 does the same
    except (TypeError, ValueError, OverflowError):
        return None


def _in_range(number: float, accept: Accept) -> bool:
    if accept.minimum is not None and not number >= accept.minimum:
        return False
    return accept.maximum is None or number <= accept.maximum


def _describe(accepts: Sequence[Accept]) -> str:
    """In words, what the argument takes: 'a number from 0 to 1', 'a date (YYYY-MM-DD)', ..."""
    shown = [a for a in accepts if a.type != "object"] or list(accepts)
    words: list[str] = []
    for accept in shown:
        word = _word(accept)
        if word not in words:
            words.append(word)
    if len(words) == 1:
        return words[0]
    return f"{', '.join(words[:-1])} or {words[-1]}"


def _word(accept: Accept) -> str:
    if accept.enum:
        choices = [repr(c) for c in accept.enum]
        return choices[0] if len(choices) == 1 else f"{', '.join(choices[:-1])} or {choices[-1]}"
    if accept.type == "string":
        if accept.format == "date":
            return "a date (YYYY-MM-DD)"
        if accept.format == "date-time":
            return "a date and time"
        if accept.max_length == 1:
            return "a single character"
        return "non-empty text" if accept.min_length else "text"
    if accept.type in ("number", "integer"):
        noun = "a number" if accept.type == "number" else "a whole number"
        low, high = accept.minimum, accept.maximum
        if low is not None and high is not None:
            return f"{noun} from {_num(low)} to {_num(high)}"
        if low is not None:
            return f"{noun} of at least {_num(low)}"
        return f"{noun} of at most {_num(high)}" if high is not None else noun
    if accept.type == "boolean":
        return "true or false"
    if accept.type == "array":
        return "a non-empty list" if accept.min_items else "a list"
    if accept.type == "object":
        return "a mapping"
    return "a value"


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _show(value: Any) -> str:
    """A YAML value as the PM wrote it (true, not True), shortened."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        text = repr(str(value))
    elif isinstance(value, int | float):
        text = repr(int(value) if isinstance(value, int) else float(value))
    else:
        text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


# --- building it from the installed GX (imports GX) -----------------------------------------------


def build_catalog() -> dict[str, Any]:
    """The catalog as the installed Great Expectations defines it (imports GX: seconds)."""

    with quiet():
        import great_expectations
        from great_expectations.expectations.registry import (
            get_expectation_impl,
            list_registered_expectation_implementations,
        )

        expectations = {
            name: _describe_class(get_expectation_impl(name))
            for name in sorted(list_registered_expectation_implementations())
        }
    return {
        "generated_by": REGENERATE,
        "great_expectations_version": str(great_expectations.__version__),
        "expectations": expectations,
    }


def _describe_class(cls: Any) -> dict[str, Any]:
    schema = cls.schema()
    definitions = schema.get("definitions", {})
    arguments: dict[str, Any] = {}
    for key, field in cls.__fields__.items():
        if key in GX_FIELDS:
            continue
        argument: dict[str, Any] = {"required": bool(field.required), "nullable": bool(field.allow_none)}
        if _is_strict(field):
            argument["strict"] = True
        argument["accepts"] = _alternatives(schema["properties"].get(field.alias, {}), definitions)
        arguments[key] = argument
    entry: dict[str, Any] = {"arguments": arguments}
    roots = [v for v in cls.__pre_root_validators__] + [v for _, v in cls.__post_root_validators__]
    groups = [list(NEEDS_ONE_OF[v.__qualname__]) for v in roots if v.__qualname__ in NEEDS_ONE_OF]
    if groups:
        entry["needs_one_of"] = groups
    deep = [v.__qualname__ for v in roots if not _inherited(v.__qualname__, cls)]
    for validators in cls.__validators__.values():
        deep.extend(v.func.__qualname__ for v in validators if not _inherited(v.func.__qualname__, cls))
    deep = sorted({d for d in deep if d not in NEEDS_ONE_OF})
    if deep:
        entry["deep_only"] = deep
    return entry


def _inherited(qualname: str, cls: Any) -> bool:
    """Validators of GX's base classes (result_format, row_condition) apply to every expectation."""
    owner = qualname.split(".", 1)[0]
    return owner != cls.__name__ and owner in {base.__name__ for base in cls.__mro__[1:]}


def _is_strict(field: Any) -> bool:
    from great_expectations.compatibility.pydantic import StrictStr

    outer = getattr(field, "outer_type_", None)
    return isinstance(outer, type) and issubclass(outer, StrictStr)


def _alternatives(prop: Mapping[str, Any], definitions: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The JSON kinds a property's schema accepts, flattened, with the constraints we check."""
    if "$ref" in prop:
        target = definitions.get(str(prop["$ref"]).rsplit("/", 1)[-1], {})
        if "enum" in target:
            return _alternatives(target, definitions)
        return [{"type": "object"}]  # a pydantic model: built from a mapping
    nested = [p for key in ("anyOf", "oneOf", "allOf") for p in prop.get(key, ())]
    if nested:
        out: list[dict[str, Any]] = []
        for sub in nested:
            found = _alternatives(sub, definitions)
            if not found:
                return []  # one alternative takes anything, so the union does
            out.extend(a for a in found if a not in out)
        return out
    if "type" not in prop and "enum" not in prop:
        return []  # anything
    kinds = prop.get("type", "string")
    alternatives: list[dict[str, Any]] = []
    for kind in kinds if isinstance(kinds, list) else [kinds]:
        alternative: dict[str, Any] = {"type": kind}
        for key in ("enum", "format", "minimum", "maximum", "minLength", "maxLength", "minItems"):
            if key in prop:
                alternative[key] = prop[key]
        alternatives.append(alternative)
    return alternatives


def render(catalog: Mapping[str, Any]) -> str:
    """The file's text: one line per argument, so a GX upgrade reads as a short diff."""
    lines = ["{"]
    lines += [f"  {json.dumps(k)}: {json.dumps(v)}," for k, v in catalog.items() if k != "expectations"]
    lines.append('  "expectations": {')
    names = list(catalog["expectations"])
    for n, name in enumerate(names):
        entry = catalog["expectations"][name]
        lines.append(f"    {json.dumps(name)}: {{")
        parts: list[str] = []
        arguments = [f"        {json.dumps(k)}: {json.dumps(v)}" for k, v in entry["arguments"].items()]
        parts.append('      "arguments": {\n' + ",\n".join(arguments) + "\n      }")
        parts += [f"      {json.dumps(k)}: {json.dumps(v)}" for k, v in entry.items() if k != "arguments"]
        lines.append(",\n".join(parts))
        lines.append("    }" + ("," if n < len(names) - 1 else ""))
    lines += ["  }", "}"]
    return "\n".join(lines) + "\n"


def differences(built: Mapping[str, Any], stored: Mapping[str, Any]) -> list[str]:
    """What differs between two catalogs' expectations, one line each (the GX version is not compared)."""
    new, old = built["expectations"], stored["expectations"]
    lines = [f"added: {n}" for n in new if n not in old]
    lines += [f"removed: {n}" for n in old if n not in new]
    lines += [f"changed: {n}" for n in new if n in old and new[n] != old[n]]
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m metrics.quality.catalog",
        description="Compare (default) or rewrite metrics/quality/expectations.json from the installed GX.",
    )
    parser.add_argument("--write", action="store_true", help="rewrite the file from the installed GX")
    options = parser.parse_args(argv)
    built = build_catalog()
    if options.write:
        CATALOG_PATH.write_text(render(built))
        print(f"wrote {len(built['expectations'])} expectations to {CATALOG_PATH}")
        return 0
    diff = differences(built, json.loads(CATALOG_PATH.read_text()))
    for line in diff:
        print(line)
    if diff:
        print(f"{CATALOG_PATH.name} differs from the installed GX; run `{REGENERATE}`", file=sys.stderr)
        return 1
    print(f"{CATALOG_PATH.name} matches the installed GX ({len(built['expectations'])} expectations)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The consistency harness: one number everywhere (CONTRACT.md, "As-of"; issue 13, items 1 and 6).

For two differently shaped projects and several as-of dates each, three surfaces are read through
one small adapter apiece, each returning the same `Reading`:

* the dashboard's OKR page, headless (`AppTest`): the scorecard the page holds (the one its tiles
  were drawn from) and what each tile shows, text and data-quality badge;
* `northstar okrs --format json`, through the CLI's entry point (`dashboard.cli.main`);
* the review pack's `pack.json`, written by `northstar snapshot --out DIR` through the same entry
  point (the PNG renderer is replaced by one that draws nothing: images carry no numbers, and a
  browser per pack would cost seconds).

They must give identical readings, baselines, progress, expected progress, statuses, forecasts
(value, low, high) and probabilities, for every objective and key result, and the same per-KR
data-quality flags where two surfaces show them. With an as-of given, the clock changes nothing:
`test_the_clock_changes_no_number` freezes "today" (the project calendar's `Calendar.today`, the one
clock every surface reads; nothing in a URL reaches it) on the as-of day itself and a year later.

The projects: the shipped demo (`config/` over the small generated demo, data through DEMO_END,
Europe/Berlin, Monday weeks, current_quarter objectives) and tests/projects/shop (historical data
that ended on 2025-06-30, America/Los_Angeles, Sunday weeks, fiscal years from February, fixed
periods that end, a failing error check on 2025-03-12).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from dashboard.format import (
    format_forecast,
    format_probability,
    format_progress,
    format_value,
    metric_unit,
    status_words,
)
from metrics.definitions.calendar import Calendar
from metrics.load import load_project
from metrics.okrs.forecast import COVERAGE
from tests.app_support import APP
from tests.conftest import ROOT

SHOP = ROOT / "tests" / "projects" / "shop"
D = dt.date

# Per project: a day inside a period, a period's last day, a day after a period ended, the default.
AS_OFS: dict[str, list[dt.date | None]] = {
    "demo": [D(2026, 11, 10), D(2026, 9, 30), None],  # Q4 running; Q3's last day; default (DEMO_END)
    # Q1 (fiscal, Feb-Apr) and Apr-Jun both running; Q1's last day; Q1 ended, Apr-Jun running;
    # default: 2025-06-30, the data's last day and the last day of Apr-Jun
    "shop": [D(2025, 3, 15), D(2025, 4, 30), D(2025, 6, 10), None],
}
CASES = [(name, as_of) for name, days in AS_OFS.items() for as_of in days]
APP_TIMEOUT = 90


# --- what every surface reads, the same shape from each ----------------------------------------------


@dataclass(frozen=True)
class Reading:
    """One surface's scorecard: `as_of`, each objective's and key result's contract fields (keyed
    "objective" and "objective/kr"), and per-KR data-quality flags where the surface shows them."""

    surface: str
    as_of: str
    objectives: dict[str, dict[str, Any]]
    key_results: dict[str, dict[str, Any]]
    flags: dict[str, str | None] | None = None  # per KR: "error", "warn" or None

    @classmethod
    def of(cls, surface: str, card: Mapping[str, Any], flags: dict[str, str | None] | None = None) -> Reading:
        objectives: dict[str, dict[str, Any]] = {}
        key_results: dict[str, dict[str, Any]] = {}
        for objective in card["objectives"]:
            objectives[objective["id"]] = {k: v for k, v in objective.items() if k != "key_results"}
            for kr in objective["key_results"]:
                key_results[f"{objective['id']}/{kr['id']}"] = _contract_fields(kr)
        return cls(surface, card["as_of"], objectives, key_results, flags)


# The contract's KR fields (`northstar okrs --format json`); others a surface may add are not compared.
KR_FIELDS = (
    "id",
    "metric",
    "current",
    "baseline",
    "target",
    "progress",
    "expected_progress",
    "status",
    "forecast",
    "probability",
)


def _contract_fields(kr: Mapping[str, Any]) -> dict[str, Any]:
    return {field: kr.get(field) for field in KR_FIELDS}


def _run_cli(*args: str) -> tuple[int, str, str]:
    """`northstar ARGS` in this process: exit code, stdout, stderr."""
    from dashboard.cli import main

    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(list(args))
        except SystemExit as exc:
            code = int(exc.code or 0)
    return code, out.getvalue(), err.getvalue()


def _as_of_args(as_of: dt.date | None) -> list[str]:
    return [] if as_of is None else ["--as-of", as_of.isoformat()]


def cli_reading(config: Path, as_of: dt.date | None) -> Reading:
    """`northstar okrs --format json` (no per-KR flags: the contract's KR JSON has none)."""
    code, stdout, stderr = _run_cli("okrs", "--config", str(config), *_as_of_args(as_of), "--format", "json")
    assert code == 0, stderr
    return Reading.of("cli", json.loads(stdout))


class _NoBrowser:
    """Stands in for the pack's Chromium: writes no PNG (images carry no numbers)."""

    def __init__(self, browser: str | None = None, **_: Any) -> None:
        pass

    def __enter__(self) -> _NoBrowser:
        return self

    def __exit__(self, *_: object) -> None:
        return None

    def render(self, images: Any) -> Any:
        from dashboard.pack.images import RenderStats

        return RenderStats(images=len(images), browsers=0, seconds=0.0, startup_seconds=0.0)


def _pack_flag(kr: Mapping[str, Any]) -> str | None:
    """A KR's data-quality flag in pack.json: its `flag`'s severity ("error" or "warn"), or None."""
    flag = kr["flag"]
    return None if flag is None else str(flag["severity"])


def pack_reading(config: Path, as_of: dt.date | None, out: Path) -> Reading:
    """`northstar snapshot --out DIR`: the scorecard and per-KR flags of its pack.json."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("dashboard.pack.build.Renderer", _NoBrowser)
        code, _, stderr = _run_cli(
            "snapshot", "--config", str(config), *_as_of_args(as_of), "--out", str(out)
        )
    assert code == 0, stderr
    pack = json.loads((out / "pack.json").read_text(encoding="utf-8"))
    flags = {
        f"{objective['id']}/{kr['id']}": _pack_flag(kr)
        for objective in pack["scorecard"]["objectives"]
        for kr in objective["key_results"]
    }
    return Reading.of("pack", pack["scorecard"], flags)


@dataclass(frozen=True)
class Tile:
    """One KR tile of the OKR page as a person reads it: its texts, and which data-quality badge it
    carries: the red "Data check failed" ("error"), the amber "Data warning" ("warn") or none."""

    texts: tuple[str, ...]

    @property
    def flag(self) -> str | None:
        if any(":red-badge[" in text and "Data check failed" in text for text in self.texts):
            return "error"
        if any(":orange-badge[" in text and "Data warning" in text for text in self.texts):
            return "warn"
        return None

    def shows(self, text: str) -> bool:
        """`text` appears as a whole number (not inside a longer one: "5%" is not in "25%")."""
        pattern = rf"(?<![\d.,]){re.escape(text)}(?![\d%])"
        return any(re.search(pattern, t) for t in self.texts)


def _tiles(node: Any) -> list[Tile]:
    """The KR tiles, in page order: blocks holding a "Current · ..." metric."""
    found: list[Tile] = []
    children = getattr(node, "children", None)
    if not children:
        return found
    elements = list(children.values())
    if any(type(e).__name__ == "Metric" and str(e.label).startswith("Current") for e in elements):
        texts = []
        for e in elements:
            kind = type(e).__name__
            if kind == "Markdown":
                texts.append(str(e.value))
            elif kind == "Metric":
                texts.append(f"{e.label} {e.value}")
        return [Tile(tuple(texts))]
    for element in elements:
        found.extend(_tiles(element))
    return found


@dataclass(frozen=True)
class AppReading:
    reading: Reading
    tiles: list[Tile]


_app_clock: list[object] = [None]  # the clock the dashboard's caches were filled under


def app_reading(config: Path, as_of: dt.date | None, monkeypatch: pytest.MonkeyPatch) -> AppReading:
    """The dashboard's OKR page at `?as_of=` (none: its default): the scorecard the page holds and
    each tile's texts and badge, once the background data checks have finished."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    clock = Calendar.__dict__["today"]
    if _app_clock[0] is not clock:  # a server started under another clock: nothing cached carries over
        st.cache_data.clear()
        st.cache_resource.clear()
        _app_clock[0] = clock
    monkeypatch.setenv("NORTHSTAR_CONFIG", str(config))
    at = AppTest.from_file(str(APP), default_timeout=APP_TIMEOUT)
    if as_of is not None:
        at.query_params["as_of"] = as_of.isoformat()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    runner = at.session_state["_northstar_ctx"].quality_runner()
    assert runner.wait(APP_TIMEOUT) is not None, runner.error
    at.run()  # the page again, now with the checks' badges
    assert not at.exception, [e.value for e in at.exception]
    card = at.session_state["_northstar_ctx"].scorecard().to_json()
    tiles = _tiles(at.main)
    keys = [f"{o['id']}/{kr['id']}" for o in card["objectives"] for kr in o["key_results"]]
    assert len(tiles) == len(keys), "one tile per key result"
    flags = {key: tile.flag for key, tile in zip(keys, tiles, strict=True)}
    return AppReading(Reading.of("dashboard", card, flags), tiles)


# --- fixtures -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def configs(small_demo: Path) -> dict[str, Path]:
    return {"demo": small_demo, "shop": SHOP}


@contextlib.contextmanager
def frozen_today(day: dt.date) -> Iterator[None]:
    """Every surface's "today" is `day` (an explicit `now` still means that moment)."""
    original = Calendar.__dict__["today"]

    def today(self: Calendar, now: dt.datetime | None = None) -> dt.date:
        return original(self, now) if now is not None else day

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Calendar, "today", today)
        yield


Surfaces = tuple[AppReading, Reading, Reading]
_READ: dict[tuple[str, dt.date | None], Surfaces] = {}  # real-clock readings, shared by the tests below


def _surfaces(config: Path, as_of: dt.date | None, out: Path, monkeypatch: pytest.MonkeyPatch) -> Surfaces:
    return (
        app_reading(config, as_of, monkeypatch),
        cli_reading(config, as_of),
        pack_reading(config, as_of, out),
    )


def _real_clock_surfaces(
    name: str, config: Path, as_of: dt.date | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Surfaces:
    if (name, as_of) not in _READ:
        _READ[name, as_of] = _surfaces(config, as_of, tmp_path / "pack", monkeypatch)
    return _READ[name, as_of]


def _differences(expected: Reading, got: Reading, *, flags: bool = True) -> list[str]:
    """Where `got` differs from `expected`: as-of, objectives, every KR field, and the per-KR flags
    where both surfaces show them. Each difference is one line naming the surfaces and the field."""
    where = f"{got.surface} vs {expected.surface} as of {expected.as_of}"
    out: list[str] = []
    if got.as_of != expected.as_of:  # every other number follows from it
        return [f"{where}: as_of {got.as_of}"]
    if got.objectives != expected.objectives:
        out.append(f"{where}: objectives {got.objectives} != {expected.objectives}")
    if got.key_results.keys() != expected.key_results.keys():
        return [*out, f"{where}: key results {sorted(got.key_results)}"]
    for key, kr in expected.key_results.items():
        for field, value in kr.items():
            if got.key_results[key][field] != value:
                out.append(f"{where}: {key} {field} {got.key_results[key][field]} != {value}")
    if flags and got.flags is not None and expected.flags is not None and got.flags != expected.flags:
        diff = {
            k: (got.flags.get(k), expected.flags.get(k))
            for k in expected.flags
            if got.flags.get(k) != expected.flags[k]
        }
        out.append(f"{where}: data-quality flags ({got.surface}, {expected.surface}) {diff}")
    return out


def _fail_on(differences: list[str]) -> None:
    if differences:
        pytest.fail(f"{len(differences)} difference(s):\n" + "\n".join(differences), pytrace=False)


def _tiles_show(app: AppReading, reading: Reading, project_dir: Path) -> None:
    """Each tile shows `reading`'s numbers, formatted as the dashboard formats them."""
    project = load_project(project_dir)
    for key, tile in zip(reading.key_results, app.tiles, strict=True):
        kr = reading.key_results[key]
        unit = metric_unit(project, kr["metric"])
        shown = [
            status_words(kr["status"]),
            format_value(kr["current"], unit),
            format_progress(kr["progress"]),
            format_progress(kr["expected_progress"]),
        ]
        if kr["forecast"] is not None and kr["probability"] is not None:
            shown += [format_probability(kr["probability"])]
            low, high = kr["forecast"]["low"], kr["forecast"]["high"]
            # the words of `northstar okrs` and of alert bodies too: '174 (80%: 160–190)'
            shown += [format_forecast(kr["forecast"]["value"], low, high, unit, coverage=COVERAGE)]
        for text in shown:
            assert tile.shows(text), f"{key}: the tile shows no {text!r}: {tile.texts}"


# --- the harness ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "as_of"), CASES, ids=[f"{n}-{d or 'default'}" for n, d in CASES])
def test_every_surface_gives_the_same_scorecard(
    name: str,
    as_of: dt.date | None,
    configs: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = configs[name]
    app, cli, pack = _real_clock_surfaces(name, config, as_of, tmp_path, monkeypatch)
    assert cli.key_results, "the project has key results"
    if as_of is not None:
        assert cli.as_of == as_of.isoformat()
    differences = [
        *_differences(cli, app.reading),
        *_differences(cli, pack),
        *_differences(app.reading, pack),  # the flags: the dashboard's badges against the pack's
    ]
    _fail_on(differences)
    _tiles_show(app, cli, config)


@pytest.mark.parametrize(("name", "as_of"), [("demo", D(2026, 11, 10)), ("shop", D(2025, 4, 30))])
def test_the_clock_changes_no_number(
    name: str, as_of: dt.date, configs: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Given an as-of, the same numbers whether "today" is the real day, the as-of day itself (its
    morning: the day is still running) or the day after (the flags too, once the as-of day is over)."""
    config = configs[name]
    base = _real_clock_surfaces(name, config, as_of, tmp_path, monkeypatch)
    differences: list[str] = []
    for clock in (as_of, as_of + dt.timedelta(days=1)):
        with frozen_today(clock):
            app, cli, pack = _surfaces(config, as_of, tmp_path / f"pack-{clock}", monkeypatch)
        for before, after in ((base[0].reading, app.reading), (base[1], cli), (base[2], pack)):
            found = _differences(before, after, flags=clock > as_of)
            differences += [f"today {clock}: {line}" for line in found]
    _fail_on(differences)


def test_flags_mark_only_readings_of_the_failed_day(
    configs: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The shop's error check fails on 2025-03-12 alone (a negative amount), its warning on 2025-05-20
    alone (an unknown platform); its data is fresh at the end of 2025-06-10. As of then, only the KRs
    whose reading holds one of those days carry a flag, on the dashboard and in the pack: revenue so
    far in Feb-Apr (an error), and the 28-day day-7 return, whose cohorts start 2025-05-07 (a
    warning). The other Feb-Apr KRs read the last 28 and 7 days of April; the other Apr-Jun KRs read
    June's days (CONTRACT.md, "Data checks on numbers")."""
    as_of = D(2025, 6, 10)
    app, _, pack = _real_clock_surfaces("shop", configs["shop"], as_of, tmp_path, monkeypatch)
    flagged = {"spring_sales/revenue_q1": "error", "loyal_customers/d7_return_28d": "warn"}
    expected = {key: flagged.get(key) for key in app.reading.key_results}
    assert app.reading.flags == expected, "the dashboard's badges"
    assert pack.flags == expected, "pack.json's flags"


# --- the second project --------------------------------------------------------------------------------


def test_the_shop_project_is_valid_small_and_shaped_differently() -> None:
    code, stdout, stderr = _run_cli("validate", "--config", str(SHOP))
    assert code == 0, stdout + stderr
    for path in sorted(SHOP.glob("*.yaml")):
        stem = path.stem
        first = path.read_text(encoding="utf-8").splitlines()[0]
        assert first == f"# yaml-language-server: $schema=../../../docs/schema/{stem}.schema.json", path
        assert (ROOT / "docs" / "schema" / f"{stem}.schema.json").exists()
    assert sum(p.stat().st_size for p in SHOP.rglob("*") if p.is_file()) < 1_000_000
    project = load_project(SHOP)
    settings = project.settings
    assert (settings.timezone, settings.week_start, settings.fiscal_year_start) == (
        "America/Los_Angeles",
        "sunday",
        2,
    )
    krs = [kr for objective in project.okrs for kr in objective.key_results]
    assert {kr.read.split("_")[0] for kr in krs} >= {"period", "trailing", "latest"}
    types = {project.metrics[kr.metric].type for kr in krs}
    assert {"retention", "funnel"} <= types
    assert any(project.metrics[kr.metric].direction == "decrease" for kr in krs)
    assert any(kr.milestones for kr in krs)


def test_the_shop_data_holds_its_known_defects() -> None:
    """The error check fails on 2025-03-12 (a negative amount), the warning on 2025-05-20."""
    import polars as pl

    from tests.projects.shop.make_data import NEGATIVE_AMOUNT_DAY, UNKNOWN_PLATFORM_DAY, generate

    events = pl.read_parquet(SHOP / "data" / "events.parquet")
    assert events.equals(generate()), "data/events.parquet is what make_data.py writes"
    local = events.with_columns(
        day=pl.col("ts").dt.replace_time_zone("UTC").dt.convert_time_zone("America/Los_Angeles").dt.date()
    )
    assert local["day"].min() == D(2025, 1, 1) and local["day"].max() == D(2025, 6, 30)
    assert local.filter(pl.col("amount") < 0)["day"].to_list() == [NEGATIVE_AMOUNT_DAY]
    odd = local.filter(~pl.col("platform").is_in(["web", "ios", "android"]))
    assert odd["day"].to_list() == [UNKNOWN_PLATFORM_DAY]

"""Great Expectations' row-wise expectations on file sources, run on the days not checked before.

A row-wise expectation (`ROW_WISE`: a value in a range, in a set, not null, matching a pattern...)
judges each row on its own, so its verdict on the data is the sum of its verdicts on the days:
GX's element count, the rows it judged (less missing ones), the unexpected rows and which days they
fall on. So each day of the data (a local day of the project's time zone; rows without a timestamp
form one more "day", `NO_DAY`) gets a fingerprint from the same scan as the built-in checks
(`builtin.frame_profile`): its row count and the wrapping sum of a 64-bit hash of each row's
timestamp and the expectation's columns. GX then runs only on the rows of days whose fingerprint it
has not judged (the first run: every day), and its verdicts are kept per *batch* of days in the
user's cache folder (`$NORTHSTAR_CACHE_DIR/gx-days`, else `~/.cache/northstar/gx-days`), one small
JSON file per source and expectation. A batch is reused while every one of its days has the same
fingerprint; the newest day is always a batch of its own, so a day still being loaded costs only itself.

The combined verdict is the one GX gives on all the rows at once, by GX's own arithmetic
(`combine`): success is `mostly` of the rows judged (vacuously true with none), the share is of the
rows judged, the days are those of the unexpected rows when there are at most `gx_runner.DAY_ROWS` of
them and every one has a timestamp. The sample is the earliest unexpected values (by timestamp, then
by value: GX's listed rows put in that order; a batch with more unexpected rows than GX lists runs
again on its rows sorted by time), so it does not depend on how the file orders rows or how the days
were batched. Each column is given to GX in the pandas type it has when
all the rows are given (an integer column with a null anywhere is float), so a value reads the same.

The key of a state file holds everything a verdict depends on besides the rows: the expectation and
its arguments, the time zone, the columns' types, the installed Polars, pandas and GX, and this code;
so a stored verdict is never stale. `between` and `in_set` with plain arguments never come here:
they are judged in the scan itself (`metrics.quality.polars_expect`). Aggregate and table-level expectations (a mean, unique values,
the row count) need every row of the column at once: they run on the column only, every time
(`metrics.quality.checks`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import json
import os
import tempfile
import threading
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from connectors.models import SourceConfig
from metrics.quality.builtin import BUCKET_SECONDS, epoch_expr, with_days
from metrics.quality.gx_cache import ENV_VAR, _canonical

if TYPE_CHECKING:
    from metrics.quality.gx_runner import Outcome, Spec

FOLDER = "gx-days"
FORMAT = 1  # bump when the stored layout or the meaning of a verdict changes
MAX_BATCHES = 400  # per file: the least recently used beyond this are dropped
SAMPLE_SIZE = 5
NO_DAY = "-"
_BUCKET_US = BUCKET_SECONDS * 1_000_000
_EPOCH = "_northstar_epoch"  # the rows without a (readable) timestamp
# Expectations whose verdict on a row depends on that row alone (and GX's arithmetic on the counts
# is the generic one of map expectations): tests/test_quality_scale.py checks both against GX.
ROW_WISE = frozenset(
    {
        "expect_column_values_to_be_between",
        "expect_column_values_to_be_in_set",
        "expect_column_values_to_not_be_in_set",
        "expect_column_values_to_be_null",
        "expect_column_values_to_not_be_null",
        "expect_column_values_to_match_regex",
        "expect_column_values_to_not_match_regex",
        "expect_column_values_to_match_regex_list",
        "expect_column_values_to_not_match_regex_list",
        "expect_column_values_to_match_like_pattern",
        "expect_column_values_to_match_like_pattern_list",
        "expect_column_values_to_not_match_like_pattern",
        "expect_column_values_to_not_match_like_pattern_list",
        "expect_column_value_lengths_to_be_between",
        "expect_column_value_lengths_to_equal",
        "expect_column_values_to_match_strftime_format",
        "expect_column_values_to_be_dateutil_parseable",
        "expect_column_values_to_be_json_parseable",
        "expect_column_values_to_match_json_schema",
        "expect_column_pair_values_a_to_be_greater_than_b",
        "expect_column_pair_values_to_be_equal",
        "expect_column_pair_values_to_be_in_set",
        "expect_multicolumn_sum_to_equal",
        "expect_multicolumn_values_to_be_equal",
        "expect_select_column_values_to_be_unique_within_record",
    }
)
_CODE = ("gx_days.py", "gx_runner.py", "builtin.py")


def day_columns(spec: Spec, available: Sequence[str]) -> tuple[str, ...] | None:
    """The columns a per-day run of `spec` gives GX, or None when it cannot run per day (not row-wise,
    a `row_condition`, a column the data lacks: those run on all rows, as GX would)."""
    from metrics.quality.gx_runner import columns_of

    if spec.name not in ROW_WISE or spec.args.get("row_condition") is not None or mostly(spec) is None:
        return None
    found = columns_of(spec.name, spec.args)
    if not found or any(c not in available for c in found):
        return None
    return tuple(dict.fromkeys(found))


def mostly(spec: Spec) -> float | None:
    value = spec.args.get("mostly", 1.0)
    if isinstance(value, bool):
        return None
    try:
        mostly = float(value)
    except (TypeError, ValueError):
        return None
    return mostly if 0.0 <= mostly <= 1.0 else None


def day_prints(prints: pl.DataFrame, column: str, zone: str) -> dict[str, str]:
    """Day key (ISO date, or NO_DAY) -> fingerprint, from `Profile.prints` (per raw bucket: rows and
    the hash sums in `column`)."""
    timed = with_days(prints.filter(pl.col("bucket").is_not_null()), zone)
    per_day = timed.group_by("day").agg(pl.col("rows").sum(), pl.col(column).sum())
    out = {row["day"].isoformat(): f"{row['rows']}:{row[column]}" for row in per_day.iter_rows(named=True)}
    none = prints.filter(pl.col("bucket").is_null())
    if none.height:
        out[NO_DAY] = f"{int(none['rows'].sum())}:{int(none[column].sum())}"
    return out


def bucket_days(prints: pl.DataFrame, zone: str) -> dict[int, str]:
    """Raw bucket -> day key, for every bucket the data has."""
    timed = with_days(prints.select("bucket").filter(pl.col("bucket").is_not_null()), zone)
    return {int(b): d.isoformat() for b, d in timed.iter_rows()}


@dataclass(frozen=True)
class Batch:
    """GX's verdict on the rows of some days: `days` day key -> fingerprint; `per_day` day key ->
    unexpected rows when GX listed them all, else None; `head` the first unexpected values in GX's
    order (time order) with their day keys."""

    days: dict[str, str]
    element: int
    considered: int
    unexpected: int
    per_day: dict[str, int] | None
    head: list[list[Any]]


def from_outcome(
    outcome: Outcome,
    days: Mapping[str, str],
    day_of: Callable[[Any], str],
    in_order: Callable[[Sequence[Any]], list[int]] | None,
) -> Batch | None:
    """The batch a GX run on the rows of `days` gives; None when GX did not give what it needs
    (an error, no counts): such an outcome is reported as it is and not kept. `in_order` puts GX's
    listed rows (their keys) in time order, when the frame GX saw was not already in it."""
    if outcome.unexpected_count is None or outcome.element_count is None or outcome.considered is None:
        return None
    count = outcome.unexpected_count
    listed = outcome.listed_keys or ()
    values = outcome.listed_values or ()
    if len(values) != len(listed) or (count and len(listed) < min(count, SAMPLE_SIZE)):
        return None
    if in_order is not None and len(listed) < count:
        return None  # the earliest may be among the rows GX did not list: run on rows in time order
    per_day: dict[str, int] | None = None
    if outcome.unexpected_keys is not None or count == 0:
        per_day = {}
        for key in outcome.unexpected_keys or ():
            day = day_of(key)
            per_day[day] = per_day.get(day, 0) + 1
    first = (
        in_order(listed)[:SAMPLE_SIZE] if in_order is not None else list(range(min(len(listed), SAMPLE_SIZE)))
    )
    head = [[day_of(listed[i]), values[i]] for i in first]
    return Batch(dict(days), outcome.element_count, outcome.considered, count, per_day, head)


def combine(batches: Sequence[Batch], mostly: float, day_rows: int) -> Outcome:
    """The verdict GX gives on all the rows of `batches` (disjoint days), by its own arithmetic."""
    from metrics.quality.gx_runner import Outcome, describe

    element = sum(b.element for b in batches)
    considered = sum(b.considered for b in batches)
    count = sum(b.unexpected for b in batches)
    if element == 0 or considered == 0:
        success, percent = True, None  # GX: vacuously true
    else:
        success = (float(considered) - float(count)) / float(considered) >= mostly
        percent = count / considered * 100
    head = sorted(
        (
            (day, b_index, i, value)
            for b_index, b in enumerate(batches)
            for i, (day, value) in enumerate(b.head)
        ),
        key=lambda item: (item[0] == NO_DAY, item[0], item[1], item[2]),
    )
    sample = [value for *_, value in head[:SAMPLE_SIZE]]
    days: tuple[dt.date, ...] = ()
    if not success and 0 < count <= day_rows and all(b.per_day is not None for b in batches):
        hit = {day for b in batches for day, n in (b.per_day or {}).items() if n}
        if NO_DAY not in hit:
            days = tuple(sorted(dt.date.fromisoformat(day) for day in hit))
    details = describe(success, count, element, percent, sample)
    return Outcome(success, count, details, sample, days=days, element_count=element, considered=considered)


def cover(batches: Sequence[Batch], prints: Mapping[str, str]) -> tuple[list[Batch], set[str]]:
    """Disjoint stored batches whose every day has its fingerprint now (the largest first), and the
    days none of them covers."""
    usable = [b for b in batches if all(prints.get(day) == fp for day, fp in b.days.items())]
    chosen: list[Batch] = []
    taken: set[str] = set()
    for batch in sorted(usable, key=lambda b: -len(b.days)):
        if taken.isdisjoint(batch.days):
            chosen.append(batch)
            taken.update(batch.days)
    return chosen, set(prints) - taken


def split(days: set[str]) -> list[set[str]]:
    """The GX runs for new days: the newest day alone (it may still be loading), the rows without a
    timestamp alone (they may come with any load), the rest together."""
    dated = sorted(d for d in days if d != NO_DAY)
    parts = [set(dated[:-1]), set(dated[-1:]), days & {NO_DAY}]
    return [part for part in parts if part]


# --- running them: the plan before the scan, GX on the new days after it ---------------------------


class DayPlan:
    """Which expectations of a file source run per day (index -> columns), the fingerprints the scan
    computes for them, and Great Expectations' import, started beside the scan when GX will surely run."""

    def __init__(self, columns: dict[int, tuple[str, ...]], keys: dict[int, str | None], warm: bool) -> None:
        self.columns = columns
        self.keys = keys
        self.prints = {_print_name(c): c for c in columns.values()}
        self._thread: threading.Thread | None = None
        if warm:
            from metrics.quality.gx_runner import expectation_names

            self._thread = threading.Thread(target=_quietly(expectation_names), name="northstar-gx-import")
            self._thread.daemon = True
            self._thread.start()

    def join(self) -> None:
        if self._thread is not None:
            self._thread.join()
            self._thread = None


def _quietly(work: Callable[[], Any]) -> Callable[[], None]:
    def run() -> None:
        with contextlib.suppress(Exception):  # the import is tried again, and reported, where it is used
            work()

    return run


def _print_name(columns: Sequence[str]) -> str:
    return "print:" + ",".join(columns)


def plan(
    source: SourceConfig,
    specs: list[Spec],
    schema: Mapping[str, Any],
    zone: str,
    identity: tuple[str, ...],
    skip: Collection[int] = (),
) -> DayPlan:
    """The plan for `specs` but those in `skip` (judged without GX: `metrics.quality.polars_expect`)."""
    if len(skip) >= len(specs):
        return DayPlan({}, {}, warm=False)
    available = list(schema)
    columns: dict[int, tuple[str, ...]] = {}
    keys: dict[int, str | None] = {}
    for index, spec in enumerate(specs):
        if index in skip:
            continue
        found = day_columns(spec, available) if source.columns.timestamp in schema else None
        if found is not None:
            columns[index] = found
            keys[index] = state_key(identity, spec, zone, {c: str(schema[c]) for c in found})
    warm = len(columns) < len(specs) - len(skip) or any(k is None or not exists(k) for k in keys.values())
    return DayPlan(columns, keys, warm)


def run_by_day(
    frame: pl.LazyFrame,
    source: SourceConfig,
    specs: Sequence[Spec],
    zone: str,
    plan: DayPlan,
    prints: pl.DataFrame,
) -> dict[int, Outcome]:
    """The outcomes of the planned expectations (by index into `specs`): GX on the rows of the days
    whose fingerprints it has not judged (`frame`: the cut rows), combined with the stored verdicts
    on the others. An expectation left out (GX could not run it, or gave less than a verdict per day
    needs) is for the caller to run on all rows, which reports what went wrong."""
    from metrics.quality import gx_runner

    schema = frame.collect_schema()
    outcomes: dict[int, Outcome] = {}
    per_day = dict(plan.columns)
    bucket_day = bucket_days(prints, zone)
    nulls = {c: int(prints[f"nulls:{c}"].sum()) > 0 for cols in per_day.values() for c in cols}
    state: dict[int, tuple[dict[str, str], list[Batch], list[Batch], set[str]]] = {}
    for index, cols in per_day.items():
        printed = day_prints(prints, _print_name(cols), zone)
        key = plan.keys.get(index)
        stored = load(key, {c: nulls[c] for c in cols}) if key else []
        used, new = cover(stored, printed)
        state[index] = (printed, stored, used, new)
    fresh: dict[int, list[Batch]] = {i: [] for i in per_day}
    failed: set[int] = set()
    every_day = set(state[next(iter(state))][0]) if state else set()
    groups: dict[frozenset[str], list[int]] = {}
    for index, (_, _, _, new) in state.items():
        if new:
            groups.setdefault(frozenset(new), []).append(index)
    timestamp = source.columns.timestamp
    epoch = epoch_expr(timestamp, schema[timestamp], zone)
    for new_days, members in groups.items():
        plan.join()
        for part in split(set(new_days)):
            wanted = list(dict.fromkeys(c for i in members for c in per_day[i]))
            rows = frame
            if part != every_day:
                buckets = [b for b, day in bucket_day.items() if day in part]
                rows = frame.filter(bucket_filter(buckets, NO_DAY in part, epoch))
            try:
                batch = rows.select(epoch.alias(_EPOCH), *dict.fromkeys([timestamp, *wanted])).collect(
                    engine="streaming"
                )
                expected = sum(int(state[members[0]][0][d].split(":")[0]) for d in part)
                if batch.height != expected:  # the data changed since the scan
                    raise RuntimeError("the data changed while it was checked")
                pandas = _pandas(batch.select(wanted), schema, nulls)
            except Exception:  # run on all rows instead, which says what is wrong
                failed.update(members)
                continue
            ran = gx_runner.run_on_pandas(pandas, [specs[i] for i in members])
            for index, outcome in zip(members, ran, strict=True):
                keys = [_EPOCH, *dict.fromkeys([timestamp, *per_day[index]])]
                made = from_outcome(
                    outcome,
                    {d: state[index][0][d] for d in part},
                    _day_of(batch, bucket_day),
                    _in_order(batch, keys),
                )
                if (
                    made is None
                    and outcome.unexpected_count is not None
                    and outcome.element_count is not None
                ):
                    # More unexpected rows than GX lists: the earliest come from a run on rows in time order.
                    try:
                        ordered = batch.sort(keys, nulls_last=True, maintain_order=True)
                        again = gx_runner.run_on_pandas(
                            _pandas(ordered.select(wanted), schema, nulls), [specs[index]]
                        )
                        made = from_outcome(
                            again[0],
                            {d: state[index][0][d] for d in part},
                            _day_of(ordered, bucket_day),
                            None,
                        )
                    except Exception:
                        made = None
                if made is None:
                    failed.add(index)
                else:
                    fresh[index].append(made)
    for index, cols in per_day.items():
        printed, stored, used, _ = state[index]
        if index in failed:
            continue
        share = mostly(specs[index])
        assert share is not None
        outcomes[index] = combine([*used, *fresh[index]], share, gx_runner.DAY_ROWS)
        key = plan.keys.get(index)
        if key and fresh[index]:
            kept = merged(stored, used, fresh[index], printed)
            save(key, {c: nulls[c] for c in cols}, kept)
    plan.join()
    return outcomes


def _day_of(batch: pl.DataFrame, bucket_day: Mapping[int, str]) -> Callable[[Any], str]:
    """The day key of a row of `batch` by its position (GX's key on pandas)."""
    stamps = batch[_EPOCH]

    def day_of(position: Any) -> str:
        value = stamps[int(position)]
        return NO_DAY if value is None else bucket_day[int(value) // _BUCKET_US]

    return day_of


def _in_order(batch: pl.DataFrame, keys: list[str]) -> Callable[[Sequence[Any]], list[int]]:
    """Indexes into a list of positions of `batch`, in time order (then by value; nulls last)."""

    def in_order(positions: Sequence[Any]) -> list[int]:
        if not positions:
            return []
        picked = batch[[int(p) for p in positions]].select(keys).with_row_index("_northstar_i")
        return [int(i) for i in picked.sort(keys, nulls_last=True, maintain_order=True)["_northstar_i"]]

    return in_order


def _pandas(frame: pl.DataFrame, schema: Mapping[str, Any], nulls: Mapping[str, bool]) -> Any:
    """The rows as pandas, each column in the type it has when every row is given: a column that
    holds a null somewhere is typed as a column with nulls (an integer as float) even when these
    rows have none."""
    pandas = frame.to_pandas()
    for column in frame.columns:
        if nulls.get(column) and frame[column].null_count() == 0:
            target = pl.Series(column, [None], dtype=schema[column]).to_frame().to_pandas()[column].dtype
            if pandas[column].dtype != target:
                pandas[column] = pandas[column].astype(target)
    return pandas


# --- the state on disk ------------------------------------------------------------------------------


def state_dir() -> Path:
    configured = os.environ.get(ENV_VAR)
    if configured:
        return Path(configured) / FOLDER
    import platformdirs

    return Path(platformdirs.user_cache_dir("northstar", appauthor=False)) / FOLDER


def state_key(source: Sequence[str], spec: Spec, zone: str, types: Mapping[str, str]) -> str | None:
    """The file a source's expectation keeps its batches in; None when the code cannot be read."""
    try:
        judge = _judge()
    except OSError:
        return None
    document = {
        "format": FORMAT,
        "judge": judge,
        "source": list(source),
        "name": spec.name,
        "args": _canonical(dict(spec.args)),
        "zone": zone,
        "types": dict(sorted(types.items())),
    }
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()


@functools.cache
def _judge() -> dict[str, str]:
    versions = {}
    for package in ("great_expectations", "pandas", "polars", "pyarrow"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "missing"
    code = hashlib.sha256()
    here = Path(__file__).resolve().parent
    for name in _CODE:
        code.update((here / name).read_bytes())
    return {**versions, "code": code.hexdigest()}


def load(key: str, nulls: Mapping[str, bool]) -> list[Batch]:
    """The stored batches (none when the file is missing, unreadable or damaged, or its verdicts were
    given on columns typed otherwise: `nulls` says which columns hold a null, which changes the
    pandas type of an integer or boolean column)."""
    try:
        document = json.loads((state_dir() / f"{key}.json").read_text(encoding="utf-8"))
        if document.get("format") != FORMAT or document.get("nulls") != dict(nulls):
            return []
        return [
            Batch(
                days={str(k): str(v) for k, v in item["days"].items()},
                element=int(item["element"]),
                considered=int(item["considered"]),
                unexpected=int(item["unexpected"]),
                per_day=None
                if item["per_day"] is None
                else {str(k): int(v) for k, v in item["per_day"].items()},
                head=[[str(day), value] for day, value in item["head"]],
            )
            for item in document["batches"]
        ]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return []


def exists(key: str) -> bool:
    return (state_dir() / f"{key}.json").is_file()


def save(key: str, nulls: Mapping[str, bool], batches: Sequence[Batch]) -> None:
    """Keep `batches` (most recently used first), at most MAX_BATCHES; a disk that cannot be written
    only costs the next run its reuse."""
    document = {"format": FORMAT, "nulls": dict(nulls), "batches": [asdict(b) for b in batches[:MAX_BATCHES]]}
    folder = state_dir()
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump(document, out, allow_nan=True)
            os.replace(temporary, folder / f"{key}.json")  # atomic: a reader sees all or nothing
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
    except (OSError, TypeError, ValueError):
        return


def merged(
    kept: Sequence[Batch], used: Sequence[Batch], new: Sequence[Batch], prints: Mapping[str, str]
) -> list[Batch]:
    """What to store: the new and reused batches first, then the others no day of which has changed
    (they may serve another as-of); a batch with a day whose fingerprint changed is dropped."""
    out = [*new, *used]
    seen = {id(b) for b in out}
    for batch in kept:
        if id(batch) in seen:
            continue
        if all(prints.get(day, fp) == fp for day, fp in batch.days.items()):
            out.append(batch)
    return out


def bucket_filter(buckets: Sequence[int], no_day: bool, epoch: pl.Expr) -> pl.Expr:
    """Rows whose raw bucket is one of `buckets` (and those without a timestamp when `no_day`)."""
    wanted = (epoch // (BUCKET_SECONDS * 1_000_000)).is_in(pl.Series(list(buckets), dtype=pl.Int64).implode())
    return wanted | epoch.is_null() if no_day else wanted

"""The `northstar` command line (see docs/cli.md). Every failure is one sentence on stderr, never a traceback.

One stage: the command line's surface. Each command parses its options, calls one function of
`metrics/` or `dashboard/` (the engine, scoring, the pack, the checks) and prints what it returns;
no rule of what a number means lives here, and every import but typer's is inside its command."""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from typer.exceptions import TyperException

from connectors.errors import NorthstarError
from connectors.secrets import mask_secrets
from dashboard.cli_app import command_app, quiet_gc
from dashboard.cli_tables import compute_notes, counted, formatted_rows, rows_csv, rows_table

if TYPE_CHECKING:
    from metrics.definitions.project import Project
    from metrics.engine import Engine

REPO = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = Path("config")

app = typer.Typer(
    name="northstar",
    help="Success metrics and OKRs as code: validate, compute, score, check and chart them.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

ConfigOption = Annotated[
    Path, typer.Option("--config", help="The project folder holding the YAML files.", show_default=True)
]
# the request options `compute` and `explain` share (one request, so one wording of its defaults)
GrainOption = Annotated[str, typer.Option(help="day | week | month | quarter")]
StartOption = Annotated[
    str | None, typer.Option(help="First day, YYYY-MM-DD (default: the data's first day).")
]
EndOption = Annotated[
    str | None,
    typer.Option(help="Last day, YYYY-MM-DD (default: the data's last complete day, never today)."),
]
ByOption = Annotated[str | None, typer.Option(help="Break every period down by this dimension.")]


AS_OF_HELP = (
    "{what} as of this day, YYYY-MM-DD (default: the last complete day: yesterday, or the data's "
    "last day when that is earlier)."
)


class Fail(NorthstarError):
    """A user-facing failure of the command line itself (a bad flag value): one sentence, exit code 1."""


class TableJson(StrEnum):
    table = "table"
    json = "json"


class TableJsonCsv(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


def _die(message: str, code: int = 1) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _date(value: str | None, flag: str) -> dt.date | None:
    if value is None:
        return None
    from metrics.definitions.models import FIRST_DAY, LAST_DAY, outside_years

    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise Fail(f"{flag} {value!r} is not a date; write it as YYYY-MM-DD, e.g. 2026-10-01") from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise Fail(f"{flag} {value} {outside_years()}")
    return day


def _is_demo_config(config: Path) -> bool:
    return config.resolve() == (REPO / "config").resolve()


def _resolve_config(config: Path) -> Path:
    if (
        not config.is_absolute()
        and not config.exists()
        and (REPO / config).exists()
        and config == DEFAULT_CONFIG
    ):
        return REPO / config
    return config


def _prepare(config: Path) -> Path:
    """The config folder to read; the shipped demo project gets its data generated on first use."""
    config = _resolve_config(config)
    if _is_demo_config(config) and not (REPO / "data" / "demo" / "events.parquet").exists():
        from metrics.demo.generate import ensure_demo  # numpy and pyarrow: only to write the data

        typer.echo("Generating the demo product's data (first run)...", err=True)
        ensure_demo(REPO)
    return config


def load(config: Path, *, check_data: bool = True, check_values: bool = False) -> Project:
    """Load the project (generating the demo's data on first use); warn about problems on stderr
    (`check_values`: also each name that never occurs in its source, so a typo's 0 is never silent)."""
    from metrics.format import plural
    from metrics.load import load_project

    config = _resolve_config(config)
    if not config.is_dir():
        raise Fail(f"config folder {config} does not exist; pass --config DIR (the folder with metrics.yaml)")
    # the value warnings cost a scan of each source: `validate`, the dashboard, `okrs` and `snapshot`
    project = load_project(_prepare(config), check_data=check_data, check_values=check_values)
    if project.problems:
        typer.echo(
            f"warning: {plural(len(project.problems), 'error')} in the project; the affected definitions are left out "
            f"(see `northstar validate --config {config}`)",
            err=True,
        )
    for warning in project.warnings if check_values else ():
        typer.echo(str(warning), err=True)
    return project


def _engine(project: Project) -> Engine:
    """The engine every command scores with: its clock is the engine's own (the project's today),
    as on the dashboard; an as-of date is an argument to scoring, never the clock."""
    from metrics.engine import Engine

    return Engine(project)


def _as_of(project: Project, engine: Engine, value: str | None) -> dt.date:
    """`--as-of` as given, else the default every surface shares: the last complete day."""
    from metrics.engine.as_of import default_as_of

    day = _date(value, "--as-of")
    return day if day is not None else default_as_of(project, engine)


@app.command()
def validate(
    config: ConfigOption = DEFAULT_CONFIG,
    fmt: Annotated[
        TableJson, typer.Option("--format", help="table for people, json for CI tools")
    ] = TableJson.table,
    strict: Annotated[
        bool, typer.Option("--strict", help="Exit 1 on warnings too (e.g. an event that never occurs).")
    ] = False,
) -> None:
    """Check the project: YAML, references between definitions, and the data (its schema, and the
    event names and dimension values that occur). Exit 1 on any error (with --strict, on any warning)."""
    from metrics.format import plural
    from metrics.load import load_project

    config = _prepare(config)
    project = load_project(config)
    from metrics.quality import deep_validate_checks  # GX checks each expectation's arguments itself

    problems = [*project.problems, *deep_validate_checks(project)]
    warnings = list(project.warnings)
    if fmt == TableJson.json:
        shown = [p.to_json() for p in [*problems, *warnings]]
        typer.echo(json.dumps({"valid": not problems, "problems": shown}, indent=2))
    else:
        for problem in [*problems, *warnings]:
            typer.echo(str(problem))
        if problems:
            found = plural(len(problems), "error") + (
                f" and {plural(len(warnings), 'warning')}" if warnings else ""
            )
            typer.echo(f"{found} found.", err=True)
        else:
            typer.echo(
                f"{config}: valid ({plural(len(project.sources), 'source')}, {plural(len(project.metrics), 'metric')}, "
                f"{plural(len(project.okrs), 'objective')})"
                + (f", {plural(len(warnings), 'warning')}" if warnings else "")
            )
    if problems or (strict and warnings):
        raise typer.Exit(1)


@app.command()
def events(
    config: ConfigOption = DEFAULT_CONFIG,
    source: Annotated[str | None, typer.Option("--source", help="Only this source.")] = None,
    fmt: Annotated[TableJson, typer.Option("--format")] = TableJson.table,
) -> None:
    """The events that occur in each source: rows, users, first and last seen (in the project's time
    zone; JSON: UTC)."""
    from connectors.base import connect
    from metrics.engine.catalog import EventStats, catalog

    project = load(config)
    if source is not None and source not in project.sources:
        from metrics.definitions.problems import did_you_mean

        hint = did_you_mean(source, list(project.sources))
        raise Fail(f"unknown source {source!r}" + (f" ({hint})" if hint else ""))
    found: list[EventStats] = []
    for name, config_ in project.sources.items():
        if source is None or name == source:
            found += catalog(connect(name, config_, project.root)).events
    if fmt == TableJson.json:  # the UTC instants of the contract
        typer.echo(json.dumps({"events": [e.to_json() for e in found]}, indent=2))
        return
    from metrics.format import format_timestamp, timestamp_header

    zone = project.settings.timezone  # first and last seen in the zone the project's days are cut in
    rows = [
        {
            **{k: v for k, v in e.to_json().items() if k not in ("first_seen", "last_seen")},
            timestamp_header("first seen", zone): format_timestamp(e.first_seen, zone),
            timestamp_header("last seen", zone): format_timestamp(e.last_seen, zone),
        }
        for e in found
    ]
    typer.echo(rows_table(counted(rows)))


@app.command()
def schema(
    out: Annotated[
        Path | None, typer.Option(help="Write one <file>.schema.json per YAML file into this folder.")
    ] = None,
) -> None:
    """Print the JSON Schema of the project's YAML files (generated from the models), for editors."""
    from metrics.definitions.schema import json_schemas

    schemas = json_schemas()
    if out is None:
        typer.echo(json.dumps(schemas, indent=2))
        return
    out.mkdir(parents=True, exist_ok=True)
    for name, document in schemas.items():
        (out / f"{name}.schema.json").write_text(json.dumps(document, indent=2) + "\n")
    typer.echo(f"wrote {len(schemas)} schema files to {out}")


@app.command()
def compute(
    metric: Annotated[list[str], typer.Argument(help="Metric ids.", show_default=False)],
    config: ConfigOption = DEFAULT_CONFIG,
    grain: GrainOption = "day",
    start: StartOption = None,
    end: EndOption = None,
    by: ByOption = None,
    compare: Annotated[str | None, typer.Option(help="previous_period | previous_year")] = None,
    fmt: Annotated[TableJsonCsv, typer.Option("--format")] = TableJsonCsv.table,
) -> None:
    """Compute metrics per period."""
    from metrics.definitions.models import GRAINS
    from metrics.engine.request import COMPARISONS, MetricRequest

    if grain not in GRAINS:
        raise Fail(f"unknown grain {grain!r}; use one of {', '.join(GRAINS)}")
    if compare is not None and compare not in COMPARISONS:
        raise Fail(f"unknown comparison {compare!r}; use one of {', '.join(COMPARISONS)}")
    project = load(config)
    _available(project, metric)
    engine = _engine(project)
    request = MetricRequest(
        metrics=tuple(metric),
        start=_date(start, "--start"),
        end=_end(engine, metric, _date(start, "--start"), end),
        grain=grain,
        by=by,
        compare=compare,
    )
    result = engine.compute(request)
    rows = result.rows_compared()
    # A range past the data reads 0 for lack of data: never silent (as in the explorer). A range
    # left to its defaults is the data's own, and one the data is seen to cover (`covers`: two
    # small reads) needs no read of the data's whole range, which only the warning's words use.
    from metrics.engine.coverage import covers
    from metrics.engine.request import outside_data

    if (start is not None or end is not None) and not covers(engine, metric, result.start, result.end):
        try:
            gap = outside_data(result.start, result.end, *engine.data_range(metric))
        except NorthstarError:  # an empty or unreadable source: its own error or check says why
            gap = None
        if gap:
            typer.echo(f"warning: {gap}", err=True)
    if blank := [m for m in metric if not any(r["value"] for r in rows if r["metric"] == m)]:
        _warn_names_that_never_occur(config, blank)  # all 0 or empty: a typo's 0 is never silent
    from metrics.format import metric_unit

    for note in compute_notes(project, engine, result, metric, grain, table=fmt == TableJsonCsv.table):
        typer.echo(note, err=True)
    units = {metric_id: metric_unit(project, metric_id) for metric_id in metric}
    if fmt == TableJsonCsv.table:
        typer.echo(rows_table(formatted_rows(project, rows, units)))
        return
    raw = result.export_rows(units)
    if fmt == TableJsonCsv.json:
        typer.echo(json.dumps(raw))
    else:
        typer.echo(rows_csv(raw), nl=False)


def _available(project: Project, metric_ids: Sequence[str]) -> None:
    """A metric left out for errors in its definition is one sentence naming why (an unknown one is
    the engine's `MetricError`, with the closest names): `compute`, `explain` and `drivers` alike."""
    for metric_id in metric_ids:
        if metric_id in project.skipped:
            raise Fail(
                f"metric {metric_id!r} is not available: {project.skipped[metric_id]} (run northstar validate)"
            )


@app.command()
def explain(
    metric: Annotated[str, typer.Argument(help="The metric id.", show_default=False)],
    config: ConfigOption = DEFAULT_CONFIG,
    grain: GrainOption = "day",
    start: StartOption = None,
    end: EndOption = None,
    by: ByOption = None,
) -> None:
    """How the engine computes a metric, without computing it: the plan of `compute` with the same
    options (for a SQL source, the statement in its database's dialect), as the dashboard's
    definitions page shows it."""
    from metrics.definitions.models import GRAINS
    from metrics.engine.request import MetricRequest

    if grain not in GRAINS:
        raise Fail(f"unknown grain {grain!r}; use one of {', '.join(GRAINS)}")
    project = load(config)
    _available(project, [metric])
    engine = _engine(project)
    first = _date(start, "--start")
    request = MetricRequest(
        metrics=(metric,), start=first, end=_end(engine, [metric], first, end), grain=grain, by=by
    )
    typer.echo(engine.explain(request))


def _end(
    engine: Engine, metric_ids: Sequence[str], start: dt.date | None, value: str | None
) -> dt.date | None:
    """`--end` as given, else the data's last complete day (`metrics.engine.as_of.complete_end`: the
    day still running is not read as a complete day, as the dashboard's default range and as-of)."""
    from metrics.engine.as_of import complete_end

    day = _date(value, "--end")
    return day if day is not None else complete_end(engine, metric_ids, start)


def _warn_names_that_never_occur(config: Path, metric_ids: list[str]) -> None:
    """Print the value warnings (an event or value that never occurs in the source) of these metrics,
    found by a scan of their sources that `compute` only pays for when a metric came out all zero."""
    from metrics.load import load_project

    project = load_project(_resolve_config(config), check_values=True)
    for warning in dict.fromkeys(w for m in metric_ids for w in project.warnings_for(m)):
        typer.echo(str(warning), err=True)


@app.command()
def okrs(
    config: ConfigOption = DEFAULT_CONFIG,
    as_of: Annotated[str | None, typer.Option("--as-of", help=AS_OF_HELP.format(what="Score"))] = None,
    fmt: Annotated[TableJson, typer.Option("--format")] = TableJson.table,
) -> None:
    """The OKR scorecard: progress, pace, forecast and status of every key result."""
    _date(as_of, "--as-of")
    from metrics.okrs.scoring import score

    project = load(config, check_values=True)
    engine = _engine(project)
    card = score(project, engine, _as_of(project, engine, as_of))
    if fmt == TableJson.json:  # the contract's object on stdout; why a KR has no reading beside it
        for kr in (kr for objective in card.objectives for kr in objective.key_results if kr.problem):
            typer.echo(f"note: {kr.id}: {kr.problem}", err=True)
        typer.echo(json.dumps(card.to_json(), indent=2))
        return
    typer.echo(card.to_table(okr_errors=project.okr_errors))


@app.command()
def check(
    config: ConfigOption = DEFAULT_CONFIG,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help=AS_OF_HELP.format(what="Check the data"))
    ] = None,
    fmt: Annotated[TableJson, typer.Option("--format")] = TableJson.table,
) -> None:
    """Run the data-quality checks on the data up to the end of the as-of day. Exit 1 when a check
    of severity error fails."""
    from metrics.quality import run_checks_as_of

    _date(as_of, "--as-of")
    project = load(config)
    engine = _engine(project)
    report = run_checks_as_of(project, engine, _as_of(project, engine, as_of))
    typer.echo(json.dumps(report.to_json(), indent=2) if fmt == TableJson.json else report.to_table())
    for name in (unchecked := project.left_out_sources()):  # never a silent pass: none of its checks ran
        why = f"has errors in its definition, so none of its data checks ran (see `northstar validate --config {config}`)"
        typer.echo(f"error: source {name!r} {why}", err=True)
    if report.failed_errors or unchecked:
        raise typer.Exit(1)


@app.command()
def serve(
    config: ConfigOption = DEFAULT_CONFIG,
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8501,
    host: Annotated[
        str, typer.Option(help="Address to bind; any but loopback needs sign-in or --no-auth.")
    ] = "127.0.0.1",
    public_url: Annotated[
        str | None,
        typer.Option("--public-url", help="The URL people open (default http://localhost:PORT)."),
    ] = None,
    no_auth: Annotated[
        bool, typer.Option("--no-auth", help="Serve without sign-in, even on a shared address.")
    ] = False,
    cookie_secret_file: Annotated[
        Path | None,
        typer.Option(
            "--cookie-secret-file",
            help="File (outside the project) holding the sign-in cookie secret; default $NORTHSTAR_COOKIE_SECRET.",
        ),
    ] = None,
    debug: Annotated[
        bool,
        typer.Option("--debug", help="Show tracebacks and server paths on the pages (never in production)."),
    ] = False,
) -> None:
    """Run the Streamlit dashboard on the project (docs/deploy.md: sign-in, proxies, services)."""
    from dashboard.server import plan_serve
    from dashboard.server import serve as run_server
    from metrics.definitions import clock

    clock.pinned_day()  # a NORTHSTAR_TODAY that is not a day stops serve here, not in each page
    config = _resolve_config(config)
    project = load(config, check_data=False)  # fail early on a missing folder; makes the demo data
    plan = plan_serve(
        project,
        host=host,
        port=port,
        public_url=public_url,
        no_auth=no_auth,
        cookie_secret_file=cookie_secret_file,
    )
    if no_auth and plan.host not in {"127.0.0.1", "localhost", "::1"}:
        typer.echo(f"warning: --no-auth on {host}: anyone who reaches the port sees the dashboard", err=True)
    env = {**os.environ, "NORTHSTAR_CONFIG": str(config.resolve()), "NORTHSTAR_DEBUG": "1" if debug else "0"}
    sign_in = " with sign-in" if plan.auth else ""
    typer.echo(f"Northstar on {plan.public_url}{sign_in} (Ctrl+C stops it)", err=True)
    # Tracebacks that Streamlit catches itself: shown with --debug only.
    details = ["--client.showErrorDetails", "full" if debug else "none"]
    raise typer.Exit(run_server(plan, env, details))


@app.command()
def snapshot(
    out: Annotated[Path, typer.Option("--out", help="Folder for the pack (created if missing).")],
    config: ConfigOption = DEFAULT_CONFIG,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help=AS_OF_HELP.format(what="Make the pack"))
    ] = None,
    base_url: Annotated[
        str | None, typer.Option("--base-url", help="Dashboard URL for the shared links.")
    ] = None,
    post: Annotated[
        list[str] | None,
        typer.Option(
            "--post",
            help="Send the pack's summary and images to this URL, or to this alerts.yaml destination "
            "(repeatable; docs/review-packs.md).",
        ),
    ] = None,
) -> None:
    """Write the review pack: PNG charts, one offline index.html and summary.md; with --post, send it."""
    from dashboard.pack.build import build_pack

    _date(as_of, "--as-of")
    project = load(config, check_values=True)
    from dashboard.alerts_run import post_pack, post_target

    targets = [post_target(project, value) for value in post or []]  # refuse before the work
    engine = _engine(project)
    day = _as_of(project, engine, as_of)
    summary = build_pack(project, engine, out, as_of=day, base_url=base_url)
    typer.echo(str(summary))
    if targets and (code := post_pack(project, targets, out, day, base_url)):
        raise typer.Exit(code)


@app.command()
def init(
    folder: Annotated[Path, typer.Argument(help="The new project folder (created when missing).")],
    source: Annotated[
        str,
        typer.Option(
            "--from", help="A data file or glob (.parquet, .csv, .ndjson, .gz) or a SQLAlchemy URL."
        ),
    ],
    table: Annotated[str | None, typer.Option(help="The table holding the events (with a SQL URL).")] = None,
    timestamp: Annotated[str | None, typer.Option(help="The event time column (default: guessed).")] = None,
    user: Annotated[str | None, typer.Option(help="The user id column (default: guessed).")] = None,
    event: Annotated[
        str | None, typer.Option(help="The event name column (default: guessed; '' for none).")
    ] = None,
    dimensions: Annotated[
        str | None, typer.Option(help="Comma-separated breakdown columns (default: guessed; '' for none).")
    ] = None,
    force: Annotated[bool, typer.Option(help="Write into a folder that is not empty.")] = False,
) -> None:
    """Write a starter project (YAML, JSON Schema, README) guessed from a data file or a SQL table."""
    from metrics import starter

    starter.check_target(folder, force)
    sample = starter.read_sample(source, table)
    dims = None if dimensions is None else [d.strip() for d in dimensions.split(",") if d.strip()]
    guess = starter.guess_roles(sample, timestamp=timestamp, user=user, event=event, dimensions=dims)
    result = starter.build(folder, source, table, sample, guess)
    starter.write(folder, result)
    typer.echo(f"Read {sample.rows.height:,} sampled rows; guessed:")
    for reason in guess.reasons:
        typer.echo(f"  {reason}")
    typer.echo(f"Wrote {folder}/ with metrics: {', '.join(result.metrics)}")
    for note in result.notes:
        typer.echo(f"note: {note}")
    typer.echo(
        f"Next: edit the targets marked 'set me' in {folder}/okrs.yaml, then `northstar serve --config {folder}`"
    )


@app.command()
def demo(
    events: Annotated[int, typer.Option(help="How many events to generate.", min=1000)] = 1_000_000,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed and day give the same data.")] = 7,
    load_into: Annotated[
        str | None, typer.Option("--load-into", help="Also load the events into this SQLAlchemy URL.")
    ] = None,
    table: Annotated[str, typer.Option(help="Table name for --load-into.")] = "events",
) -> None:
    """(Re)generate the demo product's data that the shipped config/ reads."""
    from metrics.demo.generate import generate_demo

    summary = generate_demo(REPO / "data" / "demo", events=events, seed=seed)
    typer.echo(f"wrote {summary.rows:,} events ({summary.start} .. {summary.end}) to {summary.path}")
    if load_into:
        from metrics.demo.sql import load_demo

        rows = load_demo(summary.path, load_into, table)
        typer.echo(f"loaded {rows:,} rows into table {table!r}")


class DiffFormat(StrEnum):
    markdown = "markdown"
    json = "json"


class FailOn(StrEnum):
    status_change = "status-change"
    any_change = "any-change"


GATE_EXIT = 3  # --fail-on tripped; 1 and 2 stay errors


@app.command()
def diff(
    base: Annotated[str, typer.Option("--base", help="The git revision to compare with (e.g. origin/main).")],
    head: Annotated[
        str | None, typer.Option("--head", help="The revision with the change (default: the working tree).")
    ] = None,
    config: ConfigOption = DEFAULT_CONFIG,
    as_of: Annotated[str | None, typer.Option("--as-of", help=AS_OF_HELP.format(what="Compare"))] = None,
    fmt: Annotated[DiffFormat, typer.Option("--format")] = DiffFormat.markdown,
    fail_on: Annotated[
        FailOn | None,
        typer.Option(
            "--fail-on", help=f"Exit {GATE_EXIT} when a key result changes status, or on any change."
        ),
    ] = None,
) -> None:
    """What a change to the definitions does to the numbers, between two git revisions (a PR comment)."""
    from dashboard.diff_report import to_json, to_markdown
    from metrics.diff.compare import diff as run_diff

    day = _date(as_of, "--as-of")
    report = run_diff(_prepare(config), base, head, as_of=day)
    typer.echo(
        json.dumps(to_json(report), indent=2) if fmt == DiffFormat.json else to_markdown(report), nl=False
    )
    if fmt == DiffFormat.json:
        typer.echo("")
    tripped = (fail_on == FailOn.status_change and report.status_changes > 0) or (
        fail_on == FailOn.any_change and report.numbers_changed
    )
    if tripped:
        raise typer.Exit(GATE_EXIT)


def _one_sentence(exc: BaseException) -> str:
    text = mask_secrets(str(exc)).strip() or type(exc).__name__
    return " ".join(text.split())


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point: typer with every error turned into one line on stderr. Without `argv` it is the
    process's own command line (`northstar ...`, `python -m dashboard.cli ...`): the process ends next."""
    with quiet_gc(ends_process=argv is None):
        _main(argv)


def _main(argv: Sequence[str] | None) -> None:
    try:
        args = list(argv) if argv is not None else None
        # standalone_mode=False: click returns an Exit's code instead of exiting
        code = command_app(app, sys.argv[1:] if args is None else args)(args=args, standalone_mode=False)
        if isinstance(code, int) and code:
            sys.exit(code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        _die("aborted", 1)
    except TyperException as exc:  # typer's own click: usage errors such as a missing argument
        ctx = getattr(exc, "ctx", None)
        # a subcommand's own help; none at the top level, whose name is however the CLI was started
        # (`python -m dashboard.cli` read "see `northstar python -m dashboard.cli --help`")
        hint = (
            f" (see `northstar {ctx.info_name} --help`)" if ctx is not None and ctx.parent is not None else ""
        )
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        message = message.replace("Value error, ", "")
        typer.echo(f"error: {' '.join(message.split())}{hint}", err=True)
        sys.exit(getattr(exc, "exit_code", 2) or 2)
    except NorthstarError as exc:
        typer.echo(f"error: {_one_sentence(exc)}", err=True)
        sys.exit(getattr(exc, "exit_code", 1))  # 2 for a request out of bounds (RangeTooLong)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # the promise is no traceback; name the failure so it can be reported
        typer.echo(f"error: unexpected {type(exc).__name__}: {_one_sentence(exc)}", err=True)
        sys.exit(2)


@app.command()
def alerts(
    config: ConfigOption = DEFAULT_CONFIG,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help=AS_OF_HELP.format(what="Evaluate the rules"))
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would be sent; send nothing, change no state.")
    ] = False,
    state_dir: Annotated[
        Path | None,
        typer.Option(
            "--state-dir",
            help="Folder of the alert state (default: $NORTHSTAR_STATE_DIR, else the user's state folder).",
        ),
    ] = None,
    fmt: Annotated[TableJson, typer.Option("--format")] = TableJson.table,
) -> None:
    """Evaluate alerts.yaml's rules as of a day and send what is new: an alert once when it starts,
    once when it resolves. Exit 3 when a delivery failed after its retries (it is retried next run)."""
    from dashboard.alerts_run import run_alerts

    _date(as_of, "--as-of")
    project = load(config)
    engine = _engine(project)
    code = run_alerts(
        project, engine, lambda: _as_of(project, engine, as_of), dry_run, state_dir, fmt == TableJson.json
    )
    if code:
        raise typer.Exit(code)


@app.command()
def impact(
    annotation: Annotated[str, typer.Argument(help="The annotation's id in annotations.yaml.")],
    metric: Annotated[str, typer.Argument(help="The metric's id.")],
    days: Annotated[
        int | None,
        typer.Option(
            "--days",
            help="Days compared from the annotation's date (default: its own days when it has an end, else 28).",
        ),
    ] = None,
    config: ConfigOption = DEFAULT_CONFIG,
    as_of: Annotated[str | None, typer.Option("--as-of", help=AS_OF_HELP.format(what="Estimate"))] = None,
    fmt: Annotated[TableJson, typer.Option("--format")] = TableJson.table,
) -> None:
    """The metric after an annotated event (a launch, an incident) against the forecast from the days before it (docs/impact.md)."""
    _date(as_of, "--as-of")
    from metrics.format import metric_unit
    from metrics.okrs.impact import estimate_impact

    project = load(config)
    engine = _engine(project)
    found = estimate_impact(
        project, engine, annotation, metric, days=days, as_of=_as_of(project, engine, as_of)
    )
    if fmt == TableJson.json:
        typer.echo(json.dumps(found.to_json(), indent=2))
    else:
        typer.echo(found.to_table(project.label(metric), metric_unit(project, metric)))


@app.command()
def drivers(
    metric: Annotated[str, typer.Argument(help="The metric id.", show_default=False)],
    config: ConfigOption = DEFAULT_CONFIG,
    start: Annotated[
        str | None,
        typer.Option(help="First day of the span, YYYY-MM-DD (default: 27 days before --end)."),
    ] = None,
    end: Annotated[
        str | None,
        typer.Option(
            help="Last day of the span, YYYY-MM-DD (default: the last complete day, minus a "
            "retention's or funnel's maturity lag)."
        ),
    ] = None,
    compare: Annotated[str, typer.Option(help="previous_period | previous_year")] = "previous_period",
    by: Annotated[
        list[str] | None, typer.Option(help="Split by this dimension (repeatable; default: every dimension).")
    ] = None,
    fmt: Annotated[TableJson, typer.Option("--format")] = TableJson.table,
) -> None:
    """What moved a metric: its change from the comparison span, split by every dimension's segments."""
    from metrics.drivers import default_span
    from metrics.drivers import drivers as split_change
    from metrics.engine.request import COMPARISONS

    if compare not in COMPARISONS:
        raise Fail(f"unknown comparison {compare!r}; use one of {', '.join(COMPARISONS)}")
    first, last = _date(start, "--start"), _date(end, "--end")
    project = load(config)
    _available(project, [metric])
    engine = _engine(project)
    engine.metric(metric)  # an unknown metric: one sentence with a did-you-mean
    if last is None:
        last = default_span(engine, metric, _as_of(project, engine, None))[1]
    if first is None:
        first = last - dt.timedelta(days=27)
    result = split_change(engine, metric, first, last, compare=compare, by=by, observe_until=None)
    typer.echo(json.dumps(result.to_json(), indent=2) if fmt == TableJson.json else result.to_table(limit=15))


if __name__ == "__main__":
    main()

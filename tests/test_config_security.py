"""What a YAML author can make the server do: no environment published, no runaway YAML, no file read
outside the project's folders, no `javascript:` link, no unbounded request (issue 15)."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from metrics.definitions.yaml_files import Reader
from metrics.load import load_project
from tests.conftest import ROOT

pytestmark = pytest.mark.usefixtures(
    "made_today"
)  # make_demo's demo ends on a fixed day: today is pinned after it

BROKEN = ROOT / "tests" / "broken"
SECRET = "postgresql://reader:hunter2@db.internal/warehouse"

SOURCES = """\
sources:
  events:
    type: parquet
    path: events.parquet
    columns: {timestamp: ts, user: user_id, event: event}
    dimensions: [platform, country]
"""
METRICS = """\
metrics:
  signups:
    label: Sign-ups
    type: count
    source: events
    filter: {event: signup}
  dau:
    type: active_users
    source: events
    window: 1
"""


def make_project(folder: Path, **files: str) -> Path:
    """A valid two-metric project with its data inside the folder; `files` replace its YAML."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(BROKEN / "_data" / "events.parquet", folder / "events.parquet")
    texts = {"sources.yaml": SOURCES, "metrics.yaml": METRICS, "project.yaml": "name: Test\n"}
    texts.update({f"{name}.yaml": text for name, text in files.items()})
    for name, text in texts.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


# --- 1. ${VAR} only in connection fields ------------------------------------------------------


def test_env_var_in_a_label_is_a_located_error_and_never_expanded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    metrics = METRICS.replace("label: Sign-ups", 'label: "${WAREHOUSE_URL}"')
    monkeypatch.chdir(make_project(tmp_path / "p", metrics=metrics))
    project = load_project(".", env={"WAREHOUSE_URL": SECRET})
    assert SECRET not in repr(project.metrics) + repr(project.settings) + repr(project.trees)
    assert [str(p) for p in project.problems] == [
        "metrics.yaml:3:12: `label` may not use ${WAREHOUSE_URL}: environment variables are expanded "
        "only in connection fields (a source's `url`, the `auth:` settings)"
    ]
    assert "signups" not in project.metrics and "dau" in project.metrics


@pytest.mark.parametrize(
    ("file", "text", "where"),
    [
        ("project", "name: ${WAREHOUSE_URL}\n", "project.yaml:1:7: `name`"),
        ("metrics", METRICS + "    description: see ${WAREHOUSE_URL}\n", "metrics.yaml:11:18: `description`"),
        ("sources", SOURCES.replace("events.parquet", "${WAREHOUSE_URL}"), "sources.yaml:4:11: `path`"),
    ],
)
def test_env_var_outside_connection_fields_is_refused_everywhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, file: str, text: str, where: str
) -> None:
    monkeypatch.chdir(make_project(tmp_path / "p", **{file: text}))
    project = load_project(".", env={"WAREHOUSE_URL": SECRET})
    messages = [str(p) for p in project.problems]
    assert any(m.startswith(where + " may not use ${WAREHOUSE_URL}") for m in messages), messages
    assert SECRET not in repr(project.metrics) + repr(project.settings) + repr(project.sources)


def test_env_var_is_expanded_in_a_source_url(tmp_path: Path) -> None:
    sources = "sources:\n  wh:\n    type: sql\n    url: ${WAREHOUSE_URL}\n    table: events\n"
    sources += "    columns: {timestamp: ts}\n"
    folder = make_project(tmp_path / "p", sources=sources, metrics="metrics: {}\n")
    project = load_project(folder, env={"WAREHOUSE_URL": SECRET}, check_data=False)
    assert project.problems == ()
    assert project.sources["wh"].url == SECRET  # type: ignore[union-attr]


def test_env_vars_are_expanded_in_the_sign_in_settings(tmp_path: Path) -> None:
    project_yaml = (
        "auth:\n  provider: ${OIDC_URL}\n  client_id: ${OIDC_ID}\n  client_secret: ${OIDC_SECRET}\n"
    )
    folder = make_project(tmp_path / "p", project=project_yaml)
    env = {
        "OIDC_URL": "https://idp.example/.well-known/openid-configuration",
        "OIDC_ID": "ns",
        "OIDC_SECRET": "s3",
    }
    reader = Reader(folder, env)
    tree = reader.read("project.yaml")
    assert reader.problems == []
    assert dict(tree["auth"]) == {"provider": env["OIDC_URL"], "client_id": "ns", "client_secret": "s3"}


def test_an_unset_variable_in_a_url_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sources = "sources:\n  wh:\n    type: sql\n    url: ${NS_NOT_SET_ANYWHERE}\n    table: events\n"
    sources += "    columns: {timestamp: ts}\n"
    monkeypatch.chdir(make_project(tmp_path / "p", sources=sources, metrics="metrics: {}\n"))
    project = load_project(".", env={})
    assert [str(p) for p in project.problems] == [
        "sources.yaml:4:10: environment variable NS_NOT_SET_ANYWHERE is not set "
        "(export NS_NOT_SET_ANYWHERE=... before running northstar)"
    ]


# --- 2. alias bombs and huge files ------------------------------------------------------------


def alias_bomb(depth: int) -> str:
    """metrics.yaml whose `bomb` key expands to 9**depth scalars from a few hundred bytes."""
    lines = ["      a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    for level in range(1, depth + 1):
        lines.append(f"      a{level}: &a{level} [" + ", ".join([f"*a{level - 1}"] * 9) + "]")
    return METRICS + "    bomb:\n" + "\n".join(lines) + "\n"


@pytest.mark.timeout(20)
def test_an_alias_bomb_is_refused_fast(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(make_project(tmp_path / "p", metrics=alias_bomb(9)))
    project = load_project(".")
    messages = [str(p) for p in project.problems]
    assert len(messages) == 1, messages
    assert messages[0].startswith("metrics.yaml:16:11: YAML aliases expand to more than 10,000 nodes")
    assert project.metrics == {}


@pytest.mark.timeout(20)
def test_a_huge_file_is_refused_before_it_is_parsed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    many = "metrics:\n" + "".join(f"  m{i}: {{type: count, source: events}}\n" for i in range(60_000))
    assert len(many) > 2_000_000
    monkeypatch.chdir(make_project(tmp_path / "p", metrics=many))
    project = load_project(".")
    assert [str(p) for p in project.problems] == [
        "metrics.yaml:1:1: metrics.yaml is larger than 512 KB "
        "(Northstar reads definition files of up to 512 KB; remove what is unused)"
    ]


def test_a_few_aliases_still_work(tmp_path: Path) -> None:
    metrics = "metrics:\n  signups: &count_on_events {type: count, source: events, filter: {event: signup}}\n"
    metrics += "  purchases:\n    <<: *count_on_events\n    filter: {event: purchase}\n"
    project = load_project(make_project(tmp_path / "p", metrics=metrics))
    assert project.problems == ()
    assert project.metrics["purchases"].filter == {"event": "purchase"}  # type: ignore[union-attr]
    assert project.metrics["purchases"].source == "events"  # type: ignore[union-attr]


# --- 5. review.base_url is a web address ------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(document.cookie)",
        "JavaScript://%0aalert(1)",
        "data:text/html,x",
        "//evil",
        "https://",
    ],
)
def test_base_url_must_be_http(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.chdir(make_project(tmp_path / "p", project=f'name: T\nreview:\n  base_url: "{url}"\n'))
    project = load_project(".")
    assert [str(p) for p in project.problems] == [
        f"project.yaml:3:13: {url!r} is not an http(s) URL; write it like https://northstar.acme.example"
    ]
    assert project.settings.review.base_url is None


def test_an_https_base_url_is_kept(tmp_path: Path) -> None:
    folder = make_project(tmp_path / "p", project="review:\n  base_url: https://ns.acme.example/app\n")
    assert load_project(folder).settings.review.base_url == "https://ns.acme.example/app"


# --- 6. bounded ranges ------------------------------------------------------------------------


LONG_RANGE = ("--start", "1900-01-01", "--end", "2199-12-31", "--grain", "day")


@pytest.mark.timeout(120)
def test_compute_refuses_a_two_thousand_year_range_with_exit_code_2(small_demo: Path) -> None:
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "dashboard.cli",
            "compute",
            "signups",
            "--config",
            str(small_demo),
            *LONG_RANGE,
        ],
        capture_output=True,
        text=True,
        timeout=100,
        cwd=ROOT,
    )
    assert run.returncode == 2
    assert run.stdout == ""
    assert run.stderr.splitlines() == [
        "error: the range 1900-01-01 .. 2199-12-31 covers 109,573 days; Northstar computes at most "
        "18,262 days (50 years) at once; choose a shorter range"
    ]


def test_every_grain_is_bounded_by_days(small_demo: Path) -> None:
    from metrics.engine import Engine
    from metrics.engine.request import MetricError, MetricRequest

    engine = Engine(load_project(small_demo))
    request = MetricRequest(("dau",), dt.date(1900, 1, 1), dt.date(2026, 1, 1), grain="quarter")
    with pytest.raises(MetricError, match=r"covers 46,022 days"):
        engine.compute(request)


def test_an_objective_period_of_centuries_is_a_located_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    okrs = """\
okrs:
  - id: forever
    objective: Grow
    period: {start: 1900-01-01, end: 2199-12-31}
    key_results:
      - {id: signups_up, metric: signups, target: 100}
"""
    monkeypatch.chdir(make_project(tmp_path / "p", okrs=okrs))
    project = load_project(".")
    assert [str(p) for p in project.problems] == [
        "okrs.yaml:4:13: the period 1900-01-01 .. 2199-12-31 covers 109,573 days; Northstar computes at "
        "most 18,262 days (50 years)",
    ]
    assert project.okrs == ()


@pytest.mark.parametrize(
    ("period", "problem"),
    [
        # a quarter in year 9999 ended in year 10000: a ValueError out of validate, okrs and serve
        (
            "9999-Q4",
            "okrs.yaml:4:13: period 9999-Q4 lies outside the years Northstar computes (1900 to 2199)",
        ),
        (
            "{start: 2026-10-01, end: 9999-12-31}",
            "okrs.yaml:4:13: the period 2026-10-01 .. 9999-12-31 lies outside the years Northstar computes",
        ),
    ],
)
def test_an_objective_period_outside_the_computed_years_is_a_located_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, period: str, problem: str
) -> None:
    okrs = f"""\
okrs:
  - id: forever
    objective: Grow
    period: {period}
    key_results:
      - {{id: signups_up, metric: signups, target: 100}}
"""
    monkeypatch.chdir(make_project(tmp_path / "p", okrs=okrs))
    project = load_project(".")
    assert len(project.problems) == 1
    assert str(project.problems[0]).startswith(problem)
    assert project.okrs == ()


# --- 3. sources read only the project folder and its data roots -------------------------------

CSV_SOURCE = """\
sources:
  events:
    type: csv
    path: {path}
    columns: {{timestamp: ts, user: user_id, event: event}}
"""
OUTSIDE = "outside of the project: TOPSECRET-LINE\n"


def outside_file(tmp_path: Path) -> Path:
    """A CSV next to the project folder (not inside it) whose content must never be shown."""
    folder = tmp_path / "elsewhere"
    folder.mkdir(exist_ok=True)
    (folder / "secret.csv").write_text(OUTSIDE + "ts,user_id,event\n", encoding="utf-8")
    return folder / "secret.csv"


def refused(project_problems: tuple[object, ...]) -> list[str]:
    messages = [str(p) for p in project_problems]
    assert not any("TOPSECRET" in m or "root:x:0" in m for m in messages), messages
    return messages


PATH_HINT = "(move the data into the project folder, or list its folder under `data_roots:` in project.yaml)"


@pytest.mark.parametrize("path", ["/etc/passwd", "../elsewhere/secret.csv", "{outside}", "../*/secret.csv"])
def test_a_path_outside_the_project_is_refused_without_reading_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    path = path.format(outside=outside_file(tmp_path))
    monkeypatch.chdir(make_project(tmp_path / "p", sources=CSV_SOURCE.format(path=path)))
    project = load_project(".")
    assert refused(project.problems)[0] == (
        f"sources.yaml:4:11: source 'events': path {path!r} is outside the project folder and the data roots "
        f"project.yaml lists {PATH_HINT}"
    )
    assert project.sources == {} and project.metrics == {}


def test_a_symlink_inside_the_project_to_a_file_outside_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = make_project(tmp_path / "p", sources=CSV_SOURCE.format(path="data/events.csv"))
    (folder / "data").mkdir()
    (folder / "data" / "events.csv").symlink_to(outside_file(tmp_path))
    monkeypatch.chdir(folder)
    assert refused(load_project(".").problems)[0].startswith(
        "sources.yaml:4:11: source 'events': path 'data/events.csv' is outside the project folder"
    )


def test_a_glob_that_matches_a_link_outside_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = make_project(tmp_path / "p", sources=CSV_SOURCE.format(path="data/**/*.csv"))
    (folder / "data" / "2026").mkdir(parents=True)
    (folder / "data" / "2026" / "ok.csv").write_text("ts,user_id,event\n2026-01-01,u,e\n")
    (folder / "data" / "2026" / "more.csv").symlink_to(outside_file(tmp_path))
    monkeypatch.chdir(folder)
    assert refused(load_project(".").problems)[0] == (
        "sources.yaml:4:11: source 'events': path 'data/**/*.csv' matches files outside the project folder and "
        f"the data roots project.yaml lists {PATH_HINT}"
    )


@pytest.mark.parametrize("root", ["../elsewhere", "{absolute}"])
def test_a_listed_data_root_may_be_read(tmp_path: Path, root: str) -> None:
    data = tmp_path / "elsewhere"
    data.mkdir()
    shutil.copy(BROKEN / "_data" / "events.parquet", data / "events.parquet")
    sources = SOURCES.replace("path: events.parquet", "path: ../elsewhere/events.parquet")
    project_yaml = f"data_roots: ['{root.format(absolute=data)}']\n"
    project = load_project(make_project(tmp_path / "p", sources=sources, project=project_yaml))
    assert project.problems == ()
    assert set(project.metrics) == {"signups", "dau"}


def test_a_data_root_may_not_open_system_folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project_yaml = "data_roots: [/, ../elsewhere]\n"
    monkeypatch.chdir(
        make_project(tmp_path / "p", sources=CSV_SOURCE.format(path="/etc/passwd"), project=project_yaml)
    )
    messages = refused(load_project(".").problems)
    assert messages[0] == (
        "project.yaml:1:14: data root '/' opens the server's system folder /etc (list only the folders that hold data)"
    )
    assert messages[1].startswith("sources.yaml:4:11: source 'events': path '/etc/passwd' is outside")


def test_the_cli_never_prints_a_file_outside(tmp_path: Path) -> None:
    folder = make_project(tmp_path / "p", sources=CSV_SOURCE.format(path=str(outside_file(tmp_path))))
    run = subprocess.run(
        [sys.executable, "-m", "dashboard.cli", "validate", "--config", str(folder)],
        capture_output=True,
        text=True,
        timeout=100,
        cwd=ROOT,
    )
    assert run.returncode == 1
    assert "outside the project folder" in run.stdout
    assert "TOPSECRET" not in run.stdout + run.stderr


# --- 4. one broken definition takes only itself (and what depends on it) ----------------------


@pytest.fixture(scope="module")
def demo_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.app_support import make_demo

    config, _ = make_demo(tmp_path_factory.mktemp("demo"), events=20_000)
    return config


def test_a_duplicate_key_drops_only_its_metric(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    metrics = METRICS.replace("    label: Sign-ups\n", "    label: Sign-ups\n    label: Signups\n")
    monkeypatch.chdir(make_project(tmp_path / "p", metrics=metrics))
    project = load_project(".")
    assert [str(p) for p in project.problems] == [
        "metrics.yaml:4:5: duplicate key 'label' (first defined on line 3)"
    ]
    assert set(project.metrics) == {"dau"}
    assert project.skipped == {
        "signups": "its definition has errors (metrics.yaml:4:5: duplicate key 'label')"
    }


def test_okr_page_keeps_the_other_key_results_when_one_metric_breaks(
    demo_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from streamlit.testing.v1 import AppTest

    from tests.app_support import APP

    config = tmp_path / "config"
    shutil.copytree(demo_copy, config)
    (tmp_path / "data").symlink_to(demo_copy.parent / "data")
    text = (config / "metrics.yaml").read_text()
    assert "    label: Sign-ups\n" in text
    (config / "metrics.yaml").write_text(
        text.replace("    label: Sign-ups\n", "    label: Sign-ups\n    unit: count\n", 1)
    )
    monkeypatch.setenv("NORTHSTAR_CONFIG", str(config))
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.query_params["as_of"] = "2026-11-20"
    at.run()
    at.switch_page("views/okrs.py").run()
    assert not at.exception, [e.value for e in at.exception]
    # As the page shows them: the warnings are Markdown-escaped user text (dashboard.escape).
    warnings = [re.sub(r"\\(.)", r"\1", w.value) for w in at.warning]
    assert (
        "metric 'signups' is not available because its definition has errors (metrics.yaml:25:5: "
        "duplicate key 'unit'); run `northstar validate`" in warnings
    )
    assert any("'conversion_to_paid' is not available because it uses 'signups'" in w for w in warnings), (
        warnings
    )
    assert not any("weekly_active_writers" in w or "'revenue'" in w for w in warnings), warnings
    shown = [re.sub(r"\\(.)", r"\1", m.value) for m in at.markdown]
    tiles = [m for m in shown if m.startswith("**North star: 1,300 people write a note")]
    assert tiles and "ns-status" in tiles[0]
    assert "not available" not in " ".join(
        w for w in warnings if "signups" not in w and "conversion" not in w
    )

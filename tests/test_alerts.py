"""`northstar alerts` end to end: every rule type fires exactly once on data built to trigger it and
stays silent on data that does not; a resolution is announced once; deliveries are asserted on the
receiving side (a local HTTP server and a local SMTP server, aiosmtpd); a failing destination is
retried and gives a non-zero exit, and its alerts are sent on the next run.

The project: one source of sign-ups and visits, a day pattern by weekday with a little noise, from
2026-08-01 to AS_OF. The "trigger" variant has a spike of sign-ups on AS_OF (seasonal deviation and
forecast interval), a key result whose target cannot be reached (status and probability), and an
event without a user (the built-in not-null check); the "quiet" variant has none of these.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import statistics
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from dashboard.cli import main
from metrics.alerts.rules import MAD_SCALE, Evaluation, Finding, forecast_interval, robust_deviation
from metrics.alerts.state import AlertState, advance, load_state, state_file
from metrics.definitions.alerts import KrStatusRule
from metrics.format import format_interval, raw_number
from metrics.load import load_project
from tests.delivery_servers import HttpReceiver, SmtpReceiver, http_receiver, smtp_receiver

AS_OF = dt.date(2026, 11, 20)  # a Friday
START = dt.date(2026, 8, 1)
RULES = ("kr_off_track", "kr_low_chance", "signups_forecast", "signups_norm", "checks")


def _pattern(day: dt.date) -> int:
    return 40 + 6 * day.weekday()


def write_data(folder: Path, *, trigger: bool) -> None:
    """Sign-ups and visits per day: the weekday pattern plus noise in -4..4 (seeded); AS_OF exactly
    on the pattern (quiet) or 5x it (trigger)."""
    rng = np.random.default_rng(11)
    rows: dict[str, list[Any]] = {"ts": [], "user_id": [], "event": []}
    day = START
    serial = 0
    while day <= AS_OF:
        noise = {event: int(rng.integers(-4, 5)) for event in ("signup", "visit")}
        for event in ("signup", "visit"):
            count = _pattern(day) + noise[event]
            if day == AS_OF:
                count = _pattern(day) * (5 if trigger and event == "signup" else 1)
            for i in range(count):
                serial += 1
                rows["ts"].append(dt.datetime.combine(day, dt.time(8)) + dt.timedelta(seconds=30 * i))
                rows["user_id"].append(f"u{serial}")
                rows["event"].append(event)
        day += dt.timedelta(days=1)
    if trigger:  # one visit without a user, ten days back: the not-null check of severity error fails
        rows["ts"].append(dt.datetime.combine(AS_OF - dt.timedelta(days=10), dt.time(9)))
        rows["user_id"].append(None)
        rows["event"].append("visit")
    pl.DataFrame(
        rows, schema={"ts": pl.Datetime("us"), "user_id": pl.String, "event": pl.String}
    ).write_parquet(folder / "events.parquet")


def write_project(folder: Path, *, trigger: bool, alerts: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    write_data(folder, trigger=trigger)
    (folder / "project.yaml").write_text("name: Alert Test\n")
    (folder / "sources.yaml").write_text(
        "sources:\n  events:\n    type: parquet\n    path: events.parquet\n"
        "    columns: {timestamp: ts, user: user_id, event: event}\n"
    )
    (folder / "metrics.yaml").write_text(
        "metrics:\n"
        "  signups: {type: count, source: events, filter: {event: signup}}\n"
        "  visits: {type: count, source: events, filter: {event: visit}}\n"
    )
    target = 10_000_000 if trigger else 10
    (folder / "okrs.yaml").write_text(
        "okrs:\n"
        "  - id: growth\n"
        "    objective: Grow\n"
        "    period: {start: 2026-10-01, end: 2026-12-31}\n"
        "    key_results:\n"
        f"      - {{id: signups_kr, metric: signups, read: period_to_date, target: {target}}}\n"
        "      - {id: visits_kr, metric: visits, read: period_to_date, target: 10}\n"
    )
    (folder / "alerts.yaml").write_text(alerts if alerts is not None else ALERTS)
    return folder


ALERTS = """\
rules:
  kr_off_track:
    when: kr_status
    status: [off_track]
    notify: [team_slack]
  kr_low_chance:
    when: kr_probability
    below: 0.5
    notify: [ops_hook]
  signups_forecast:
    when: forecast_interval
    metrics: [signups, visits]
    coverage: 0.99
    notify: [ops_hook]
  signups_norm:
    when: seasonal_deviation
    metrics: [signups, visits]
    threshold: 5
    notify: [team_slack]
  checks:
    when: data_check
    notify: [pm_email]
destinations:
  team_slack:
    type: slack
    url: ${TEST_SLACK_URL}
  ops_hook:
    type: webhook
    url: ${TEST_HOOK_URL}
  pm_email:
    type: email
    host: ${TEST_SMTP_HOST}
    port: 2525
    security: none
    from: northstar@acme.example
    to: [pm@acme.example, lead@acme.example]
delivery:
  retries: 2
  backoff_seconds: 0.01
  max_backoff_seconds: 0.02
  timeout_seconds: 5
"""


@pytest.fixture
def slack() -> Iterator[HttpReceiver]:
    yield from http_receiver()


@pytest.fixture
def hook() -> Iterator[HttpReceiver]:
    yield from http_receiver()


@pytest.fixture
def smtp() -> Iterator[SmtpReceiver]:
    yield from smtp_receiver()


@pytest.fixture
def env(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    slack: HttpReceiver,
    hook: HttpReceiver,
    smtp: SmtpReceiver,
) -> Path:
    """The destinations' variables, and a private state folder; returns the state folder."""
    monkeypatch.setenv("TEST_SLACK_URL", slack.url)
    monkeypatch.setenv("TEST_HOOK_URL", hook.url)
    monkeypatch.setenv("TEST_SMTP_HOST", smtp.host)
    state = tmp_path / "state"
    monkeypatch.setenv("NORTHSTAR_STATE_DIR", str(state))
    return state


def _with_port(config: Path, smtp: SmtpReceiver) -> None:
    path = config / "alerts.yaml"
    path.write_text(path.read_text().replace("port: 2525", f"port: {smtp.port}"))


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        main(["alerts", *args])
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def _json_bodies(receiver: HttpReceiver) -> list[dict[str, Any]]:
    return [json.loads(r.body) for r in receiver.requests]


# --- the rules, end to end --------------------------------------------------------------------


def test_every_rule_fires_once_then_resolves_once(
    tmp_path: Path,
    env: Path,
    slack: HttpReceiver,
    hook: HttpReceiver,
    smtp: SmtpReceiver,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = write_project(tmp_path / "project", trigger=True)
    _with_port(config, smtp)
    args = ("--config", str(config), "--as-of", AS_OF.isoformat(), "--format", "json")

    code, out, err = run(capsys, *args)
    assert code == 0, err
    report = json.loads(out)
    fired = sorted((f["rule"], f["subject"]) for f in report["firing"])
    assert fired == [
        ("checks", "check:events/user_not_null"),
        ("kr_low_chance", "kr:signups_kr"),
        ("kr_off_track", "kr:signups_kr"),
        ("signups_forecast", "metric:signups"),
        ("signups_norm", "metric:signups"),
    ]  # each rule exactly once, and never on the quiet subjects (visits, visits_kr)

    # Slack: one message with the two alerts routed to it, in Slack's body
    (slack_body,) = _json_bodies(slack)
    assert set(slack_body) == {"text", "blocks"}
    sections = [b["text"]["text"] for b in slack_body["blocks"] if b["type"] == "section"]
    assert len(sections) == 2
    assert any("Signups (signups_kr) is off track" in s for s in sections), sections
    assert any("robust deviations above its Friday norm" in s for s in sections)
    assert all("explorer?metric=signups" in s for s in sections)
    assert slack_body["blocks"][0]["type"] == "header"
    # the generic webhook: one JSON document with its two alerts and their numbers
    (hook_body,) = _json_bodies(hook)
    assert hook_body["source"] == "northstar" and hook_body["as_of"] == AS_OF.isoformat()
    alerts = {a["rule"]: a for a in hook_body["alerts"]}
    assert set(alerts) == {"kr_low_chance", "signups_forecast"}
    assert all(a["status"] == "firing" for a in alerts.values())
    forecast = alerts["signups_forecast"]["facts"]
    assert forecast["value"] == 5 * _pattern(AS_OF) and forecast["value"] > forecast["high"]
    # the interval in the words of every surface, naming its coverage (`metrics.format.format_interval`)
    interval = format_interval(forecast["low"], forecast["high"], "count", coverage=forecast["coverage"])
    assert (
        interval.startswith(f"{forecast['coverage'] * 100:g}%: ")
        and f"({interval})" in alerts["signups_forecast"]["text"]
    )
    assert alerts["kr_low_chance"]["facts"]["probability"] < 0.5
    # email: one message to both recipients
    ((sender, recipients, message),) = smtp.messages
    assert sender == "northstar@acme.example"
    assert recipients == ["pm@acme.example", "lead@acme.example"]
    assert message["Subject"] == "[Northstar] Alert Test: 1 alert (as of Nov 20, 2026)"
    body = message.get_content()
    assert "Data check user_not_null on events failed on Nov 10, 2026" in body
    assert "1 of " in body  # the check's own details

    # the same day again: nothing new is sent
    code, out, err = run(capsys, *args)
    assert code == 0, err
    assert len(json.loads(out)["firing"]) == 5
    assert json.loads(out)["deliveries"] == []
    assert (len(slack.requests), len(hook.requests), len(smtp.messages)) == (1, 1, 1)

    # the data mends: every alert is announced resolved, once
    write_project(tmp_path / "project", trigger=False)
    _with_port(config, smtp)
    code, out, err = run(capsys, *args)
    assert code == 0, err
    assert json.loads(out)["firing"] == []
    assert (len(slack.requests), len(hook.requests), len(smtp.messages)) == (2, 2, 2)
    resolved = [a for a in _json_bodies(hook)[1]["alerts"]]
    assert sorted(a["rule"] for a in resolved) == ["kr_low_chance", "signups_forecast"]
    assert all(a["status"] == "resolved" for a in resolved)
    slack_texts = [b["text"]["text"] for b in _json_bodies(slack)[1]["blocks"] if b["type"] == "section"]
    assert len(slack_texts) == 2 and all("Resolved:" in t for t in slack_texts)
    assert smtp.messages[1][2]["Subject"] == "[Northstar] Alert Test: 1 resolved (as of Nov 20, 2026)"

    code, out, err = run(capsys, *args)
    assert code == 0 and json.loads(out)["deliveries"] == []
    assert (len(slack.requests), len(hook.requests), len(smtp.messages)) == (2, 2, 2)
    # the state holds nothing once every resolution went out
    assert load_state(state_file(env, config)).entries == {}


def test_quiet_data_sends_nothing(
    tmp_path: Path,
    env: Path,
    slack: HttpReceiver,
    hook: HttpReceiver,
    smtp: SmtpReceiver,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = write_project(tmp_path / "project", trigger=False)
    _with_port(config, smtp)
    code, out, err = run(capsys, "--config", str(config), "--as-of", AS_OF.isoformat(), "--format", "json")
    assert code == 0, err
    report = json.loads(out)
    assert report["firing"] == [] and report["deliveries"] == []
    assert report["checked"] >= 2 + 2 + 2 + 2 + 1  # both KRs twice, both metrics twice, the checks
    assert (slack.requests, hook.requests, smtp.messages) == ([], [], [])


def test_dry_run_sends_nothing_and_keeps_no_state(
    tmp_path: Path,
    env: Path,
    slack: HttpReceiver,
    hook: HttpReceiver,
    smtp: SmtpReceiver,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = write_project(tmp_path / "project", trigger=True)
    _with_port(config, smtp)
    code, out, err = run(capsys, "--config", str(config), "--as-of", AS_OF.isoformat(), "--dry-run")
    assert code == 0, err
    assert "would send to team_slack (slack): Alert Test: 2 alerts (as of Nov 20, 2026)" in out
    assert "would send to pm_email (email)" in out
    assert slack.url not in out + err and "T0KEN" not in out + err
    assert (slack.requests, hook.requests, smtp.messages) == ([], [], [])
    assert not state_file(env, config).exists()


# --- failing destinations ----------------------------------------------------------------------


@pytest.mark.parametrize("statuses", [[500, 200], [503, 503, 200]], ids=["500-then-ok", "503-twice-then-ok"])
def test_a_failing_webhook_is_retried_until_it_takes(
    tmp_path: Path,
    env: Path,
    hook: HttpReceiver,
    smtp: SmtpReceiver,
    capsys: pytest.CaptureFixture[str],
    statuses: list[int],
) -> None:
    hook.statuses = statuses
    config = write_project(tmp_path / "project", trigger=True)
    _with_port(config, smtp)
    code, out, err = run(capsys, "--config", str(config), "--as-of", AS_OF.isoformat(), "--format", "json")
    assert code == 0, err
    hooked = [d for d in json.loads(out)["deliveries"] if d["destination"] == "ops_hook"]
    assert hooked[0]["ok"] and hooked[0]["attempts"] == len(statuses)
    assert len(hook.requests) == len(statuses)
    assert len({r.body for r in hook.requests}) == 1  # the same body each time


def test_a_destination_that_keeps_failing_exits_non_zero_and_is_retried_next_run(
    tmp_path: Path,
    env: Path,
    slack: HttpReceiver,
    hook: HttpReceiver,
    smtp: SmtpReceiver,
    capsys: pytest.CaptureFixture[str],
) -> None:
    hook.statuses = [500]
    config = write_project(tmp_path / "project", trigger=True)
    _with_port(config, smtp)
    args = ("--config", str(config), "--as-of", AS_OF.isoformat())
    code, out, err = run(capsys, *args)
    assert code == 3
    assert len(hook.requests) == 3  # the first try and two retries (delivery.retries: 2)
    assert "ops_hook: FAILED after 3 attempts: 127.0.0.1 answered HTTP 500" in out
    assert "T0KEN-SECRET" not in out + err  # the URL's token is never shown
    assert len(slack.requests) == 1 and len(smtp.messages) == 1  # the others were delivered
    pending = load_state(state_file(env, config)).outbox()
    assert set(pending) == {"ops_hook"} and len(pending["ops_hook"]) == 2

    hook.statuses = [500, 500, 500, 200]  # the 4th request (the next run's first) takes
    code, out, err = run(capsys, *args)
    assert code == 0, out + err
    assert len(hook.requests) == 4
    assert sorted(a["rule"] for a in json.loads(hook.requests[-1].body)["alerts"]) == [
        "kr_low_chance",
        "signups_forecast",
    ]
    assert len(slack.requests) == 1 and len(smtp.messages) == 1  # nothing sent twice
    assert load_state(state_file(env, config)).outbox() == {}


def test_an_unreachable_smtp_server_fails_after_its_retries(
    tmp_path: Path,
    env: Path,
    smtp: SmtpReceiver,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.delivery_servers import free_port

    config = write_project(tmp_path / "project", trigger=True)
    path = config / "alerts.yaml"
    path.write_text(path.read_text().replace("port: 2525", f"port: {free_port()}"))  # nobody listens
    code, out, _err = run(capsys, "--config", str(config), "--as-of", AS_OF.isoformat())
    assert code == 3
    assert "pm_email: FAILED after 3 attempts: SMTP server 127.0.0.1" in out


# --- the arithmetic, against independent computations -------------------------------------------


def test_robust_deviation_is_the_mad_z_score() -> None:
    norm = [100.0, 104.0, 97.0, 101.0, 99.0, 180.0, 102.0, 98.0]  # one odd week barely moves it
    median = float(np.median(norm))
    mad = float(np.median(np.abs(np.array(norm) - median)))
    got_median, deviations = robust_deviation(130.0, norm)
    assert got_median == median == 100.5
    assert deviations == pytest.approx(abs(130.0 - median) / (1.4826 * mad))
    assert MAD_SCALE == 1.4826
    assert robust_deviation(5.0, [5.0, 5.0, 5.0]) == (5.0, 0.0)
    assert robust_deviation(6.0, [5.0, 5.0, 5.0])[1] == math.inf


def test_forecast_interval_holds_a_steady_series_and_its_coverage() -> None:
    rng = np.random.default_rng(3)
    history = [100.0 + float(x) for x in rng.normal(0, 5, 56)]
    low, high = forecast_interval(history, 0.95, counts=False, rate=False)  # type: ignore[misc]
    center = statistics.mean(history)
    assert low < center < high
    assert 10 < high - low < 40  # about 4 standard deviations (5 each), with the model's own doubt
    assert forecast_interval([7.0] * 30, 0.99, counts=True, rate=False) == (7.0, 7.0)
    assert forecast_interval([1.0, 2.0], 0.9, counts=False, rate=False) is None  # too short


# --- the state ---------------------------------------------------------------------------------


def _finding(firing: bool, subject: str = "kr:a") -> Finding:
    return Finding("r", "kr_status", subject, firing, "t", "x")


def test_the_state_announces_start_and_end_once_and_cancels_what_was_never_told() -> None:
    rules = {"r": KrStatusRule(when="kr_status", notify=["a", "b"])}
    day = dt.date(2026, 1, 1)
    state = advance(AlertState(), Evaluation(day, (_finding(True),)), rules)
    assert {d: [i.status for i in items] for d, items in state.outbox().items()} == {
        "a": ["firing"],
        "b": ["firing"],
    }
    state.delivered("a", ["r|kr:a"])  # b failed
    state = advance(state, Evaluation(day, (_finding(True),)), rules)
    assert set(state.outbox()) == {"b"}  # still owed to b, nothing new for a
    state = advance(state, Evaluation(day, (_finding(False),)), rules)
    # a heard it fire, so hears it resolve; b never heard it fire, so hears nothing
    assert {d: [i.status for i in items] for d, items in state.outbox().items()} == {"a": ["resolved"]}
    state.delivered("a", ["r|kr:a"])
    assert state.entries == {}
    # a subject not evaluated keeps its state; a rule that is gone drops its alerts
    state = advance(AlertState(), Evaluation(day, (_finding(True),)), rules)
    assert "r|kr:a" in advance(state, Evaluation(day, ()), rules).entries
    assert advance(state, Evaluation(day, (_finding(True),)), {}).entries == {}


def test_a_damaged_state_file_is_an_error_not_a_fresh_start(
    tmp_path: Path, env: Path, smtp: SmtpReceiver, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_project(tmp_path / "project", trigger=False)
    path = state_file(env, config)
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    code, _, err = run(capsys, "--config", str(config), "--as-of", AS_OF.isoformat())
    assert code == 1
    assert err.startswith("error: the alert state ") and "is damaged" in err and "Traceback" not in err


# --- validation ----------------------------------------------------------------------------------

BAD = """\
rules:
  typo_kr:
    when: kr_status
    key_results: [signup_kr]
    notify: [team_slak]
  typo_metric:
    when: seasonal_deviation
    metrics: [signpus]
    notify: [team_slack]
  typo_source:
    when: data_check
    sources: [event]
    notify: [team_slack]
  typo_type:
    when: kr_stat
    notify: [team_slack]
  bad_threshold:
    when: seasonal_deviation
    metrics: [signups]
    threshold: -2
    notify: [team_slack]
  bad_probability:
    when: kr_probability
    below: 1.5
    notify: [team_slack]
  leaky:
    when: kr_probability
    description: ${HOME}
    notify: [team_slack]
destinations:
  team_slack:
    type: slack
    url: https://hooks.slack.com/services/T000/B000/LITERALSECRET
  mail:
    type: email
    host: smtp.acme.example
    username: pm
    password: hunter2-literal
    from: northstar@acme.example
    to: [pm@acme.example]
  bad_mail:
    type: email
    host: smtp.acme.example
    from: northstar@acme.example
    to: [not-an-address]
"""


def test_alerts_yaml_problems_are_located_with_did_you_mean(tmp_path: Path) -> None:
    config = write_project(tmp_path / "project", trigger=False, alerts=BAD)
    project = load_project(config)
    shown = [str(p) for p in project.problems if p.location and p.location.file.endswith("alerts.yaml")]
    text = "\n".join(shown)

    def at(line: int, needle: str) -> None:
        assert any(f"alerts.yaml:{line}:" in s and needle in s for s in shown), (line, needle, text)

    at(4, "rule 'typo_kr': unknown key result 'signup_kr' (did you mean 'signups_kr'?)")
    at(5, "unknown destination 'team_slak' (did you mean 'team_slack'?)")
    at(8, "unknown metric 'signpus' (did you mean 'signups'?)")
    at(12, "unknown source 'event' (did you mean 'events'?)")
    at(15, "unknown rule type 'kr_stat' (did you mean 'kr_status'?)")
    at(20, "`threshold` should be greater than 0")
    at(24, "`below` should be less than or equal to 1")
    at(28, "`description` may not use ${HOME}")
    at(33, "destination 'team_slack': `url` is a credential and may not be written in the file")
    at(38, "destination 'mail': `password` is a credential")
    at(45, "'not-an-address' is not an email address")
    assert "LITERALSECRET" not in text and "hunter2" not in text
    assert project.alerts is not None and project.alerts.rules == {}  # every rule had a mistake


def test_unset_variables_and_bad_alerts_stop_the_command_in_one_go(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("TEST_SLACK_URL", "TEST_HOOK_URL", "TEST_SMTP_HOST"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NORTHSTAR_STATE_DIR", str(tmp_path / "state"))
    config = write_project(tmp_path / "project", trigger=True)
    code, out, err = run(capsys, "--config", str(config), "--as-of", AS_OF.isoformat())
    assert code == 1 and out == ""
    assert "environment variable TEST_SLACK_URL is not set" in err
    assert "error: alerts.yaml has 3 problem(s); no alert was evaluated or sent" in err
    assert "Traceback" not in err


def test_without_alerts_yaml_the_command_says_where_to_start(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_project(tmp_path / "project", trigger=False)
    (config / "alerts.yaml").unlink()
    assert load_project(config).alerts is None
    code, _, err = run(capsys, "--config", str(config))
    assert code == 1 and "alerts.yaml does not exist" in err and "docs/alerts.md" in err


def test_every_alerts_field_is_documented() -> None:
    from metrics.definitions import alerts as am
    from tests.conftest import ROOT

    text = (ROOT / "docs" / "alerts.md").read_text()
    for model in (*am.RULE_MODELS, *am.DESTINATION_MODELS, am.DeliverySettings):
        for name, info in model.model_fields.items():
            written = info.alias or name
            assert f"`{written}" in text, f"{model.__name__}.{written}: document it in docs/alerts.md"


# --- delivery, directly ------------------------------------------------------------------------


def _batch() -> Any:
    from dashboard.delivery import AlertBatch
    from metrics.alerts.state import Outgoing

    message = {
        "when": "kr_status",
        "title": "<b>Grow</b> & win is off track",
        "text": "x",
        "metric": "signups",
    }
    item = Outgoing("r|kr:a", "r", "kr:a", "firing", "2026-11-20", message)
    return AlertBatch("Acme", AS_OF, (item,), "https://n.example.com")


def test_a_4xx_answer_is_not_retried_and_a_wait_grows_to_its_cap(hook: HttpReceiver) -> None:
    from dashboard.delivery import deliver_alerts
    from metrics.definitions.alerts import DeliverySettings, WebhookDestination

    settings = DeliverySettings(retries=5, backoff_seconds=1, max_backoff_seconds=3)
    assert settings.waits() == [1, 2, 3, 3, 3]
    destination = WebhookDestination.model_validate({"type": "webhook", "url": hook.url})
    slept: list[float] = []
    hook.statuses = [404]
    result = deliver_alerts("hook", destination, _batch(), settings, sleep=slept.append)
    assert not result.ok and result.attempts == 1 and slept == [] and len(hook.requests) == 1
    assert result.error is not None and "answered HTTP 404" in result.error and "T0KEN" not in result.error
    hook.statuses = [502]
    result = deliver_alerts("hook", destination, _batch(), settings, sleep=slept.append)
    assert not result.ok and result.attempts == 6 and slept == [1, 2, 3, 3, 3]


def test_slack_text_from_yaml_is_inert(slack: HttpReceiver) -> None:
    from dashboard.delivery import is_slack_url, slack_body

    body = slack_body(_batch())
    section = body["blocks"][1]["text"]["text"]
    assert "*&lt;b&gt;Grow&lt;/b&gt; &amp; win is off track*" in section
    assert (
        "<https://n.example.com/explorer?metric=signups&grain=day&as_of=2026-11-20|Open in Northstar>"
        in section
    )
    assert is_slack_url("https://hooks.slack.com/services/T/B/X") and not is_slack_url(slack.url)


def test_the_numbers_match_an_independent_count_and_the_clock_changes_nothing(tmp_path: Path) -> None:
    from metrics.alerts.rules import evaluate
    from metrics.engine import Engine

    config = write_project(tmp_path / "project", trigger=True)
    frame = pl.read_parquet(config / "events.parquet").filter(pl.col("event") == "signup")
    per_day = dict(frame.group_by(pl.col("ts").dt.date()).len().iter_rows())
    fridays = [per_day[AS_OF - dt.timedelta(days=7 * k)] for k in range(1, 9)]
    median = float(np.median(fridays))
    mad = float(np.median(np.abs(np.array(fridays) - median)))

    project = load_project(config)
    runs = [
        evaluate(project, Engine(project, today=lambda day=day: day), AS_OF)
        for day in (AS_OF + dt.timedelta(days=1), AS_OF + dt.timedelta(days=90))
    ]
    assert runs[0].findings == runs[1].findings  # only the as-of matters, never "today"
    by_key = {f.key: f for f in runs[0].findings}
    norm = by_key["signups_norm|metric:signups"].facts
    assert norm["value"] == per_day[AS_OF] == 5 * _pattern(AS_OF)
    assert norm["median"] == median and norm["norm_days"] == 8
    assert norm["deviations"] == pytest.approx(abs(per_day[AS_OF] - median) / (1.4826 * mad))
    quiet = by_key["signups_norm|metric:visits"]
    assert not quiet.firing and quiet.facts["deviations"] < 5
    # every number of a finding is written as `raw_number` writes it: no digits of binary noise
    numbers = [v for f in runs[0].findings for v in f.facts.values() if isinstance(v, float)]
    assert numbers and all(v == raw_number(v) for v in numbers), numbers
    assert isinstance(norm["value"], int)  # a whole count as an integer, as in every JSON export

"""`snapshot --post`: the pack's summary and files reach a URL (multipart), a Slack-compatible
destination (JSON with the summary and a link) or an email destination (the images attached),
asserted on the receiving side; a failing target is retried and gives exit 3 with the pack written.

The CLI tests use a project with nothing to draw (no OKRs, no pinned metrics: no browser needed);
the images are checked by posting a pack folder with PNG files through `deliver_pack`.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from dashboard.cli import main
from dashboard.delivery import deliver_pack, pack_post
from metrics.definitions.alerts import DeliverySettings
from tests.delivery_servers import HttpReceiver, Received, SmtpReceiver, http_receiver, smtp_receiver
from tests.engine_fixtures import Row
from tests.sql_fixtures import write_parquet

AS_OF = dt.date(2026, 3, 5)
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
FAST = DeliverySettings(retries=2, backoff_seconds=0.01, max_backoff_seconds=0.01, timeout_seconds=5)


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    yield from http_receiver()


@pytest.fixture
def smtp() -> Iterator[SmtpReceiver]:
    yield from smtp_receiver()


def _project(folder: Path, alerts: str | None = None) -> Path:
    folder.mkdir(parents=True)
    rows = [
        Row(dt.datetime(2026, 3, 1, 9) + dt.timedelta(hours=i), f"u{i % 4}", "open", "web") for i in range(50)
    ]
    write_parquet(rows, folder / "events.parquet")
    source = {"type": "parquet", "path": "events.parquet", "columns": {"timestamp": "ts", "user": "user_id"}}
    (folder / "project.yaml").write_text(
        "name: Post Test\nreview: {base_url: https://northstar.example.com}\n"
    )
    (folder / "sources.yaml").write_text(json.dumps({"sources": {"events": source}}))
    (folder / "metrics.yaml").write_text(
        json.dumps({"metrics": {"dau": {"type": "active_users", "source": "events", "window": 1}}})
    )
    if alerts is not None:
        (folder / "alerts.yaml").write_text(alerts)
    return folder


def _parts(request: Received) -> dict[str, list[tuple[str | None, bytes]]]:
    """The multipart form: field name -> [(file name, content)]."""
    head = f"Content-Type: {request.headers['Content-Type']}\r\n\r\n".encode()
    message = message_from_bytes(head + request.body, policy=policy.default)
    out: dict[str, list[tuple[str | None, bytes]]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        assert isinstance(name, str) and isinstance(payload, bytes)
        out.setdefault(name, []).append((part.get_filename(), payload))
    return out


def _snapshot(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        main(["snapshot", *args])
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_snapshot_posts_the_summary_and_files_to_a_url(
    tmp_path: Path, receiver: HttpReceiver, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _project(tmp_path / "project")
    out = tmp_path / "pack"
    code, stdout, err = _snapshot(
        capsys,
        "--config",
        str(config),
        "--as-of",
        AS_OF.isoformat(),
        "--out",
        str(out),
        "--post",
        receiver.url,
    )
    assert code == 0, err
    (request,) = receiver.requests
    assert request.path == "/hook/T0KEN-SECRET"
    assert request.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    parts = _parts(request)
    assert parts["summary"] == [(None, (out / "summary.md").read_bytes())]
    assert parts["title"] == [(None, b"Post Test: review pack as of Mar 5, 2026")]
    assert parts["link"] == [(None, b"https://northstar.example.com/?grain=day&as_of=2026-03-05")]
    assert parts["pack"] == [("pack.json", (out / "pack.json").read_bytes())]
    assert parts["index"] == [("index.html", (out / "index.html").read_bytes())]
    assert "posted the pack: http://127.0.0.1: delivered (1 attempt)" in stdout
    assert "T0KEN" not in stdout + err


def test_a_pack_folder_s_images_go_as_files(tmp_path: Path, receiver: HttpReceiver) -> None:
    out = tmp_path / "pack"
    out.mkdir()
    (out / "summary.md").write_text("| Objective | Status |\n|:--|:--|\n| Grow | On track |\n")
    (out / "northstar_kr_a_2026-03-05.png").write_bytes(PNG + b"a")
    (out / "northstar_kr_b_2026-03-05.png").write_bytes(PNG + b"b")
    pack = pack_post(out, "Acme", AS_OF, "https://n.example.com")
    result = deliver_pack("hook", receiver.url, pack, FAST)
    assert result.ok and result.attempts == 1
    parts = _parts(receiver.requests[0])
    assert parts["images"] == [
        ("northstar_kr_a_2026-03-05.png", PNG + b"a"),
        ("northstar_kr_b_2026-03-05.png", PNG + b"b"),
    ]
    assert "pack" not in parts  # no pack.json in this folder


ALERTS = """\
destinations:
  team_slack:
    type: slack
    url: ${POST_TEST_URL}
  pm_email:
    type: email
    host: 127.0.0.1
    port: PORT
    security: none
    from: northstar@acme.example
    to: [pm@acme.example]
delivery:
  retries: 2
  backoff_seconds: 0.01
"""


def test_snapshot_posts_to_named_destinations(
    tmp_path: Path,
    receiver: HttpReceiver,
    smtp: SmtpReceiver,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("POST_TEST_URL", receiver.url)
    config = _project(tmp_path / "project", ALERTS.replace("PORT", str(smtp.port)))
    out = tmp_path / "pack"
    args = ["--config", str(config), "--as-of", AS_OF.isoformat(), "--out", str(out)]
    code, _, err = _snapshot(capsys, *args, "--post", "team_slack", "--post", "pm_email")
    assert code == 0, err
    # Slack: JSON with the summary in a code block and the dashboard link
    body = json.loads(receiver.requests[0].body)
    assert body["text"] == "Northstar · Post Test: review pack as of Mar 5, 2026"
    summary = (out / "summary.md").read_text()
    first_line = summary.splitlines()[0].replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    assert first_line in body["blocks"][1]["text"]["text"]
    assert body["blocks"][1]["text"]["text"].startswith("```")
    assert "https://northstar.example.com/?grain=day&as_of=2026-03-05" in body["blocks"][2]["text"]["text"]
    # email: the summary as the text, index.html attached
    ((sender, recipients, message),) = smtp.messages
    assert (sender, recipients) == ("northstar@acme.example", ["pm@acme.example"])
    assert message["Subject"] == "[Northstar] Post Test: review pack as of Mar 5, 2026"
    assert isinstance(message, EmailMessage)
    text = message.get_body(("plain",))
    assert text is not None and summary.strip() in text.get_content().replace("\r\n", "\n")
    assert [a.get_filename() for a in message.iter_attachments()] == ["index.html"]


def test_email_attaches_every_image(tmp_path: Path, smtp: SmtpReceiver) -> None:
    from metrics.definitions.alerts import EmailDestination

    out = tmp_path / "pack"
    out.mkdir()
    (out / "summary.md").write_text("summary\n")
    (out / "northstar_objective_o_2026-03-05.png").write_bytes(PNG)
    destination = EmailDestination.model_validate(
        {
            "type": "email",
            "host": smtp.host,
            "port": smtp.port,
            "security": "none",
            "from": "a@b.example",
            "to": ["c@d.example"],
        }
    )
    result = deliver_pack("mail", destination, pack_post(out, "Acme", AS_OF, "https://n.example.com"), FAST)
    assert result.ok
    attachments = list(smtp.messages[0][2].iter_attachments())
    assert [(a.get_filename(), a.get_content_type(), a.get_content()) for a in attachments] == [
        ("northstar_objective_o_2026-03-05.png", "image/png", PNG)
    ]


def test_a_failing_target_is_retried_and_exits_3_with_the_pack_written(
    tmp_path: Path,
    receiver: HttpReceiver,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    receiver.statuses = [500]
    monkeypatch.setenv("POST_TEST_URL", receiver.url)
    config = _project(tmp_path / "project", ALERTS.replace("PORT", "2525"))
    out = tmp_path / "pack"
    code, stdout, err = _snapshot(
        capsys,
        "--config",
        str(config),
        "--as-of",
        AS_OF.isoformat(),
        "--out",
        str(out),
        "--post",
        "team_slack",
    )
    assert code == 3
    assert len(receiver.requests) == 3  # the first try and two retries
    assert "error: posting the pack: team_slack: FAILED after 3 attempts: 127.0.0.1 answered HTTP 500" in err
    assert (out / "summary.md").exists()
    assert "T0KEN" not in stdout + err


def test_an_unknown_target_is_refused_before_the_pack_is_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("POST_TEST_URL", "http://127.0.0.1:9/")
    config = _project(tmp_path / "project", ALERTS.replace("PORT", "2525"))
    out = tmp_path / "pack"
    code, _, err = _snapshot(capsys, "--config", str(config), "--out", str(out), "--post", "team_slak")
    assert code == 1
    assert (
        "--post 'team_slak' is neither an http(s) URL nor a destination in alerts.yaml (did you mean 'team_slack'?)"
        in err
    )
    assert not out.exists()


def test_a_destination_with_a_problem_is_named_as_such(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("POST_TEST_URL", raising=False)
    config = _project(tmp_path / "project", ALERTS.replace("PORT", "2525"))
    code, _, err = _snapshot(
        capsys, "--config", str(config), "--out", str(tmp_path / "pack"), "--post", "team_slack"
    )
    assert code == 1
    assert (
        "--post 'team_slack': that destination in alerts.yaml has a problem (see `northstar validate`)" in err
    )

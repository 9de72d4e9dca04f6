"""Sending alerts and review packs: a Slack-compatible webhook, a generic JSON webhook, and email over
SMTP, each retried with capped exponential back-off (docs/alerts.md, docs/review-packs.md).

HTTP goes through httpx; email through the standard library's `smtplib` and `email` packages, the
well-kept implementation of SMTP in Python (aiosmtpd, used by the tests, is a server). A delivery is
retried on what may pass on a second try (a connection or timeout error, HTTP 429 or 5xx, an SMTP
4xx reply) and not on what will not (HTTP 4xx, SMTP 5xx such as a refused login); either way a
delivery that finally fails is returned as failed, never dropped: `northstar alerts` keeps its
alerts pending and exits non-zero.

No message shows a destination's URL or password: errors name the destination and its host only.
"""

from __future__ import annotations

import datetime as dt
import json
import mimetypes
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from connectors.secrets import MASK, mask_secrets
from dashboard.state import ViewState, share_url
from metrics.definitions.alerts import (
    DeliverySettings,
    Destination,
    EmailDestination,
    SlackDestination,
    WebhookDestination,
)
from metrics.format import format_date

if TYPE_CHECKING:
    from metrics.alerts.state import Outgoing

Sleep = Callable[[float], None]
USER_AGENT = "northstar-alerts"
SLACK_MAX_ITEMS = 40  # Slack takes 50 blocks a message; the rest is summed up in one line
DEFAULT_BASE_URL = "http://localhost:8501"


class Retryable(Exception):
    """A failure that may pass on another try."""


class Permanent(Exception):
    """A failure that another try will not mend."""


@dataclass(frozen=True)
class Delivery:
    """How one delivery went: after how many attempts, and why it failed (secrets masked)."""

    destination: str
    ok: bool
    attempts: int
    error: str | None = None

    def __str__(self) -> str:
        tries = f"{self.attempts} attempt{'s' if self.attempts != 1 else ''}"
        if self.ok:
            return f"{self.destination}: delivered ({tries})"
        return f"{self.destination}: FAILED after {tries}: {self.error}"


def retrying(
    destination: str,
    send: Callable[[], None],
    settings: DeliverySettings,
    *,
    secrets: Sequence[str] = (),
    sleep: Sleep = time.sleep,
) -> Delivery:
    """Run `send` until it succeeds, a permanent failure, or the retries are spent; waits grow
    base, 2 x base, 4 x base ... capped at `max_backoff_seconds` (`DeliverySettings.waits`)."""
    waits = settings.waits()
    attempts = 0
    while True:
        attempts += 1
        try:
            send()
            return Delivery(destination, True, attempts)
        except Permanent as exc:
            return Delivery(destination, False, attempts, _masked(str(exc), secrets))
        except Retryable as exc:
            if attempts > len(waits):
                return Delivery(destination, False, attempts, _masked(str(exc), secrets))
            sleep(waits[attempts - 1])


def _masked(text: str, secrets: Sequence[str]) -> str:
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, _redacted(secret) if "://" in secret else MASK)
    return mask_secrets(text)


def _redacted(url: str) -> str:
    """A URL shown without what may be its token: scheme and host only."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or '?'}/{MASK}"


# --- transports ------------------------------------------------------------------------------


def post(
    url: str,
    settings: DeliverySettings,
    *,
    json_body: Any = None,
    files: Sequence[tuple[str, tuple[str, bytes, str]]] | None = None,
    data: Mapping[str, str] | None = None,
) -> None:
    """One HTTP POST; raises Retryable or Permanent on failure."""
    import httpx

    host = urlsplit(url).hostname or "?"
    try:
        response = httpx.post(
            url,
            json=json_body,
            files=files,
            data=data,
            timeout=settings.timeout_seconds,
            headers={"User-Agent": USER_AGENT},
            follow_redirects=False,
        )
    except httpx.TimeoutException:
        raise Retryable(f"no answer from {host} within {settings.timeout_seconds:g} s") from None
    except httpx.TransportError as exc:
        raise Retryable(f"cannot reach {host}: {type(exc).__name__}: {exc}") from None
    if response.status_code == 429 or response.status_code >= 500:
        raise Retryable(f"{host} answered HTTP {response.status_code}")
    if response.status_code >= 300:
        raise Permanent(f"{host} answered HTTP {response.status_code}: {response.text[:200]}")


def send_mail(destination: EmailDestination, message: EmailMessage, settings: DeliverySettings) -> None:
    """One SMTP session; raises Retryable or Permanent on failure."""
    import smtplib
    import ssl

    host, port = destination.host, destination.smtp_port
    message["From"] = destination.sender
    message["To"] = ", ".join(destination.to)
    try:
        smtp: smtplib.SMTP
        if destination.security == "ssl":
            smtp = smtplib.SMTP_SSL(
                host, port, timeout=settings.timeout_seconds, context=ssl.create_default_context()
            )
        else:
            smtp = smtplib.SMTP(host, port, timeout=settings.timeout_seconds)
        with smtp:
            if destination.security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
            if destination.username and destination.password is not None:
                smtp.login(destination.username, destination.password.get_secret_value())
            smtp.send_message(message, from_addr=destination.sender, to_addrs=destination.to)
    except smtplib.SMTPResponseException as exc:
        reply = (
            exc.smtp_error.decode(errors="replace")
            if isinstance(exc.smtp_error, bytes)
            else str(exc.smtp_error)
        )
        text = f"SMTP server {host}:{port} answered {exc.smtp_code} {reply}"
        if 400 <= exc.smtp_code < 500:
            raise Retryable(text) from None
        raise Permanent(text) from None
    except smtplib.SMTPRecipientsRefused as exc:
        raise Permanent(
            f"SMTP server {host}:{port} refused the recipients {sorted(exc.recipients)}"
        ) from None
    except ssl.SSLCertVerificationError as exc:  # retrying cannot help; nothing was sent
        raise Permanent(
            f"SMTP server {host}:{port}: its TLS certificate does not check out ({exc.verify_message}); "
            "nothing was sent. Fix the server's certificate, or trust its authority with SSL_CERT_FILE"
        ) from None
    except (smtplib.SMTPException, OSError) as exc:
        raise Retryable(f"SMTP server {host}:{port}: {type(exc).__name__}: {exc}") from None


def secrets_of(destination: Destination) -> list[str]:
    """The values no message may show."""
    if isinstance(destination, SlackDestination | WebhookDestination):
        return [destination.url.get_secret_value()]
    return [destination.password.get_secret_value()] if destination.password is not None else []


# --- alerts ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AlertBatch:
    """What one destination is owed in one run."""

    project: str
    as_of: dt.date
    items: tuple[Outgoing, ...]
    base_url: str

    @property
    def firing(self) -> int:
        return sum(1 for item in self.items if item.status == "firing")

    @property
    def resolved(self) -> int:
        return len(self.items) - self.firing

    def headline(self) -> str:
        parts = []
        if self.firing:
            parts.append(f"{self.firing} alert{'s' if self.firing != 1 else ''}")
        if self.resolved:
            parts.append(f"{self.resolved} resolved")
        return f"{self.project}: {', '.join(parts)} (as of {format_date(self.as_of)})"

    def link(self, item: Outgoing) -> str:
        """The dashboard view of the alert's subject on the as-of day."""
        message = item.message
        span = message.get("span")
        start, end = (
            (dt.date.fromisoformat(span[0]), dt.date.fromisoformat(span[1])) if span else (None, None)
        )
        if message.get("metric"):
            view = ViewState(
                page="explorer", metric=message["metric"], start=start, end=end, as_of=self.as_of
            )
            return share_url(self.base_url, "explorer", view)
        if item.subject.startswith("check:"):
            return share_url(self.base_url, "quality", ViewState(page="quality", as_of=self.as_of))
        return share_url(self.base_url, "okrs", ViewState(as_of=self.as_of))

    def lines(self, item: Outgoing) -> tuple[str, str]:
        """(title, text) as a person reads them."""
        title = str(item.message.get("title", item.subject))
        if item.status == "resolved":
            title = f"Resolved: {title}"
        return title, str(item.message.get("text", ""))


def slack_body(batch: AlertBatch) -> dict[str, Any]:
    """Slack's incoming-webhook body: `text` (the notification's fallback) and Block Kit `blocks`."""
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": _cut(f"Northstar · {batch.headline()}", 150)},
        }
    ]
    for item in batch.items[:SLACK_MAX_ITEMS]:
        title, text = batch.lines(item)
        mark = ":large_green_circle:" if item.status == "resolved" else ":red_circle:"
        body = f"{mark} *{slack_escape(title)}*\n{slack_escape(text)}\n<{batch.link(item)}|Open in Northstar>"
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _cut(body, 3000)}})
    if len(batch.items) > SLACK_MAX_ITEMS:
        rest = len(batch.items) - SLACK_MAX_ITEMS
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": f"… and {rest} more"}]})
    fallback = "\n".join(batch.lines(item)[0] for item in batch.items)
    return {"text": _cut(f"Northstar · {batch.headline()}\n{fallback}", 3000), "blocks": blocks}


def webhook_body(batch: AlertBatch) -> dict[str, Any]:
    """The generic JSON body (docs/alerts.md)."""
    return {
        "source": "northstar",
        "project": batch.project,
        "as_of": batch.as_of.isoformat(),
        "alerts": [
            {
                "rule": item.rule,
                "when": item.message.get("when"),
                "subject": item.subject,
                "status": item.status,
                "since": item.since,
                "title": item.message.get("title"),
                "text": item.message.get("text"),
                "facts": item.message.get("facts", {}),
                "link": batch.link(item),
            }
            for item in batch.items
        ],
    }


def email_message(batch: AlertBatch) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = f"[Northstar] {batch.headline()}"
    lines = []
    for item in batch.items:
        title, text = batch.lines(item)
        lines += [title, f"  {text}", f"  {batch.link(item)}", ""]
    lines.append(
        "Sent by `northstar alerts`; each alert is sent once when it starts and once when it resolves."
    )
    message.set_content("\n".join(lines))
    return message


def deliver_alerts(
    name: str,
    destination: Destination,
    batch: AlertBatch,
    settings: DeliverySettings,
    *,
    sleep: Sleep = time.sleep,
) -> Delivery:
    """Send one destination what it is owed, with retries."""
    send: Callable[[], None]
    if isinstance(destination, SlackDestination):
        url = destination.url.get_secret_value()
        send = lambda: post(url, settings, json_body=slack_body(batch))  # noqa: E731
    elif isinstance(destination, WebhookDestination):
        url = destination.url.get_secret_value()
        send = lambda: post(url, settings, json_body=webhook_body(batch))  # noqa: E731
    else:
        send = lambda: send_mail(destination, email_message(batch), settings)  # noqa: E731
    return retrying(name, send, settings, secrets=secrets_of(destination), sleep=sleep)


# --- review packs ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PackPost:
    """A written review pack, to post: its title, summary.md and files."""

    title: str
    summary: str  # summary.md's text
    images: tuple[Path, ...]
    pack_json: Path | None
    index_html: Path | None
    link: str  # the dashboard's OKR overview on the pack's as-of


def pack_post(out: Path, project: str, as_of: dt.date, base_url: str) -> PackPost:
    summary = (out / "summary.md").read_text() if (out / "summary.md").exists() else ""
    return PackPost(
        title=f"{project}: review pack as of {format_date(as_of)}",
        summary=summary,
        images=tuple(sorted(out.glob("*.png"))),
        pack_json=out / "pack.json" if (out / "pack.json").exists() else None,
        index_html=out / "index.html" if (out / "index.html").exists() else None,
        link=share_url(base_url, "okrs", ViewState(as_of=as_of)),
    )


def is_slack_url(url: str) -> bool:
    """Slack's incoming webhooks take JSON only (no files): such a URL gets the Slack body."""
    return (urlsplit(url).hostname or "").lower() == "hooks.slack.com"


def pack_slack_body(pack: PackPost) -> dict[str, Any]:
    """The summary table in a code block (Slack shows no Markdown tables), with the dashboard link.
    Slack's webhooks take no files, so the images stay in the pack folder."""
    table = _cut(pack.summary, 2900)
    return {
        "text": _cut(f"Northstar · {pack.title}", 3000),
        "blocks": [
            {
                "type": "header",
                "text": {"type": "plain_text", "text": _cut(f"Northstar · {pack.title}", 150)},
            },
            {"type": "section", "text": {"type": "mrkdwn", "text": f"```{slack_escape(table)}```"}},
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": f"<{pack.link}|Open the OKRs in Northstar>"},
            },
        ],
    }


def pack_multipart(pack: PackPost) -> tuple[dict[str, str], list[tuple[str, tuple[str, bytes, str]]]]:
    """A multipart/form-data POST: fields `title`, `summary` (summary.md) and `link`; files
    `pack` (pack.json), `index` (index.html) and one `images` part per PNG."""
    data = {"title": pack.title, "summary": pack.summary, "link": pack.link}
    files: list[tuple[str, tuple[str, bytes, str]]] = []
    if pack.pack_json is not None:
        files.append(("pack", (pack.pack_json.name, pack.pack_json.read_bytes(), "application/json")))
    if pack.index_html is not None:
        files.append(("index", (pack.index_html.name, pack.index_html.read_bytes(), "text/html")))
    files += [("images", (image.name, image.read_bytes(), "image/png")) for image in pack.images]
    return data, files


def pack_email(pack: PackPost) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = f"[Northstar] {pack.title}"
    message.set_content(f"{pack.summary}\n\n{pack.link}\n")
    for path in [*(p for p in (pack.index_html,) if p is not None), *pack.images]:
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        main, sub = kind.split("/", 1)
        message.add_attachment(path.read_bytes(), maintype=main, subtype=sub, filename=path.name)
    return message


def deliver_pack(
    name: str,
    target: Destination | str,
    pack: PackPost,
    settings: DeliverySettings,
    *,
    sleep: Sleep = time.sleep,
) -> Delivery:
    """Post a pack to a URL or an alerts.yaml destination: Slack gets the summary and a link,
    a webhook a multipart POST with the summary and the files, email the summary with the images
    attached."""
    send: Callable[[], None]
    if isinstance(target, str):
        url = target
        secrets = [url]
        kind = "slack" if is_slack_url(url) else "webhook"
    elif isinstance(target, EmailDestination):
        destination = target
        secrets = secrets_of(destination)
        send = lambda: send_mail(destination, pack_email(pack), settings)  # noqa: E731
        return retrying(name, send, settings, secrets=secrets, sleep=sleep)
    else:
        url = target.url.get_secret_value()
        secrets = [url]
        kind = target.type
    if kind == "slack":
        send = lambda: post(url, settings, json_body=pack_slack_body(pack))  # noqa: E731
    else:
        data, files = pack_multipart(pack)
        send = lambda: post(url, settings, data=data, files=files)  # noqa: E731
    return retrying(name, send, settings, secrets=secrets, sleep=sleep)


# --- text ------------------------------------------------------------------------------------


def slack_escape(text: str) -> str:
    """Slack's mrkdwn control characters made literal (names from YAML, not markup)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def dumps(body: Any) -> str:
    return json.dumps(body, indent=2, ensure_ascii=False)


__all__ = [
    "AlertBatch",
    "Delivery",
    "PackPost",
    "deliver_alerts",
    "deliver_pack",
    "email_message",
    "pack_post",
    "retrying",
    "slack_body",
    "webhook_body",
]

"""`northstar alerts` and `snapshot --post` behind the command line: evaluate, advance the state,
deliver, report (docs/alerts.md, docs/review-packs.md). Output goes to stdout/stderr like every
command; failures a person must act on are `NorthstarError`s (one sentence, exit 1), a delivery that
finally failed is exit code `DELIVERY_FAILED`."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import typer

from connectors.errors import NorthstarError
from connectors.secrets import mask_secrets
from metrics.definitions.alerts import Destination

if TYPE_CHECKING:
    from metrics.definitions.project import Project
    from metrics.engine import Engine

DELIVERY_FAILED = 3  # exit code: the work is done but a delivery failed after its retries


class AlertsError(NorthstarError):
    """alerts.yaml is missing or has problems, or a --post target is unknown."""


def run_alerts(
    project: Project,
    engine: Engine,
    as_of: Callable[[], dt.date],
    dry_run: bool,
    state_dir: Path | None,
    as_json: bool,
) -> int:
    """Evaluate the rules, advance the state, deliver what is owed (or show it: `dry_run`); the exit code."""
    from dashboard.delivery import (
        DEFAULT_BASE_URL,
        AlertBatch,
        deliver_alerts,
        email_message,
        slack_body,
        webhook_body,
    )
    from metrics.alerts import advance, evaluate, load_state, save_state, state_file, state_root

    alerts = project.alerts
    if alerts is None:
        raise AlertsError(
            f"{project.root / 'alerts.yaml'} does not exist; write one to set up alerts (docs/alerts.md)"
        )
    problems = [
        p for p in project.problems if p.location is not None and p.location.file.endswith("alerts.yaml")
    ]
    if problems:
        for problem in problems:
            typer.echo(str(problem), err=True)
        raise AlertsError(f"alerts.yaml has {len(problems)} problem(s); no alert was evaluated or sent")
    day = as_of()
    path = state_file(state_root(state_dir), project.root)
    previous = load_state(path)  # a damaged file stops the run before any work
    evaluation = evaluate(project, engine, day)
    state = advance(previous, evaluation, alerts.rules)
    base = project.settings.review.base_url or DEFAULT_BASE_URL
    batches = {
        name: AlertBatch(project.settings.name, day, tuple(items), base)
        for name, items in state.outbox().items()
    }
    for note in evaluation.notes:
        typer.echo(f"note: {note}", err=True)
    firing = evaluation.firing
    report: dict[str, Any] = {
        "as_of": day.isoformat(),
        "dry_run": dry_run,
        "rules": len(alerts.rules),
        "checked": len(evaluation.findings),
        "firing": [{"rule": f.rule, "subject": f.subject, "title": f.title} for f in firing],
        "deliveries": [],
    }
    lines = [
        f"as of {day}: {len(alerts.rules)} rule(s), {len(evaluation.findings)} subject(s) checked, "
        f"{len(firing)} firing"
    ]
    lines += [f"  firing  {f.rule}  {f.subject}: {f.title}" for f in firing]
    if not batches:
        lines.append("nothing new to send")
    failed = False
    for name, batch in batches.items():
        destination = alerts.destinations[name]
        keys = [item.key for item in batch.items]
        what = f"{name} ({destination.type}): {batch.headline()}"
        if dry_run:
            lines.append(f"would send to {what}")
            for item in batch.items:
                title, text = batch.lines(item)
                lines += [f"    {title}", f"      {text}", f"      {batch.link(item)}"]
            body: Any = (
                slack_body(batch)
                if destination.type == "slack"
                else webhook_body(batch)
                if destination.type == "webhook"
                else email_message(batch).as_string()
            )
            report["deliveries"].append(
                {"destination": name, "type": destination.type, "alerts": keys, "body": body}
            )
            continue
        result = deliver_alerts(name, destination, batch, alerts.delivery)
        if result.ok:
            state.delivered(name, keys)
        failed = failed or not result.ok
        retried = f" (after {result.attempts} attempts)" if result.attempts > 1 else ""
        lines.append(f"sent to {what}{retried}" if result.ok else f"error: {result}")
        report["deliveries"].append(
            {
                "destination": name,
                "type": destination.type,
                "alerts": keys,
                "ok": result.ok,
                "attempts": result.attempts,
                "error": result.error,
            }
        )
    if not dry_run:
        save_state(path, state)
    if failed:
        lines.append(
            f"some deliveries failed; their alerts stay pending in {path} and are sent on the next run"
        )
    typer.echo(json.dumps(report, indent=2, default=str) if as_json else "\n".join(lines))
    return DELIVERY_FAILED if failed else 0


def post_target(project: Project, value: str) -> tuple[str, Destination | str]:
    """`snapshot --post`: an http(s) URL (named by its scheme and host), or an alerts.yaml destination."""
    parts = urlsplit(value)
    if parts.scheme in ("http", "https") and parts.hostname:
        return f"{parts.scheme}://{parts.hostname}", value
    destinations = project.alerts.destinations if project.alerts is not None else {}
    if value in destinations:
        return value, destinations[value]
    from metrics.definitions.problems import Subject, did_you_mean

    if Subject.alert_destination(value) in project.broken:
        raise AlertsError(
            f"--post {value!r}: that destination in alerts.yaml has a problem (see `northstar validate`)"
        )

    hint = did_you_mean(value, list(destinations))
    known = f"; alerts.yaml names {', '.join(sorted(destinations))}" if destinations else ""
    raise AlertsError(
        f"--post {mask_secrets(value)!r} is neither an http(s) URL nor a destination in alerts.yaml"
        + (f" ({hint})" if hint else known)
    )


def post_pack(
    project: Project,
    targets: list[tuple[str, Destination | str]],
    out: Path,
    as_of: dt.date,
    base_url: str | None,
) -> int:
    """Send the written pack to each target; the exit code."""
    from dashboard.delivery import DEFAULT_BASE_URL, deliver_pack, pack_post
    from metrics.definitions.alerts import DeliverySettings

    settings = project.alerts.delivery if project.alerts is not None else DeliverySettings()
    base = base_url or project.settings.review.base_url or DEFAULT_BASE_URL
    pack = pack_post(out, project.settings.name, as_of, base)
    failed = False
    for name, target in targets:
        result = deliver_pack(name, target, pack, settings)
        if result.ok:
            typer.echo(f"posted the pack: {result}")
        else:
            typer.echo(f"error: posting the pack: {result}", err=True)
        failed = failed or not result.ok
    return DELIVERY_FAILED if failed else 0


__all__ = ["DELIVERY_FAILED", "AlertsError", "post_pack", "post_target", "run_alerts"]

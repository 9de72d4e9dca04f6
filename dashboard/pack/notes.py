"""What summary.md says beside the scorecard: each key result's top movers (`metrics.drivers`) and
the annotations of the pack's period."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from dashboard.format import sample_noun
from dashboard.pack.html import Events
from dashboard.pack.model import PINNED_DAYS, Plan
from metrics.definitions.project import Project

if TYPE_CHECKING:
    from metrics.engine import Engine
    from metrics.okrs import Scorecard


def key_result_movers(
    project: Project, engine: Engine, card: Scorecard
) -> tuple[dict[tuple[str, str], tuple[str, ...]], tuple[str, ...]]:
    """Each key result's current reading against the span just before it: the headline and its top
    three movers in words (`metrics.drivers`), or why it could not be split; and for the pack's
    author (`northstar snapshot` prints them, the pack's reader can act on none), the command that
    gives a comparison where a reading has none (`Drivers.comparison_hint`)."""
    from connectors.errors import NorthstarError
    from metrics.drivers import key_result_drivers

    out: dict[tuple[str, str], tuple[str, ...]] = {}
    hints: list[str] = []
    for objective in card.objectives:
        for kr in objective.key_results:
            try:
                result = key_result_drivers(engine, kr)
            except NorthstarError as exc:
                out[(objective.id, kr.id)] = (f"not split by segment: {exc}",)
                continue
            if result is not None:
                noun = sample_noun(project, kr.metric)[0]
                movers = [result.mover_line(s, noun) for s in result.top(3)]
                out[(objective.id, kr.id)] = (
                    result.headline(),
                    *(movers or [*result.notes[:1]] or ["no segment moved"]),
                )
                if result.comparison_hint is not None:
                    hints.append(
                        f"{objective.id}/{kr.id}: What moved has no comparison; {result.comparison_hint}"
                    )
    return out, tuple(hints)


def pack_events(project: Project, plan: Plan) -> Events:
    """The annotations with a day in the pack's period: the days its charts cover (every objective's
    period, and the last PINNED_DAYS to the as-of when metrics are pinned; the as-of at least)."""
    as_of = plan.stamp.as_of
    starts = [o.start for o in plan.scorecard.objectives]
    if any(item.kind == "metric" for item in plan.items):
        starts.append(as_of - dt.timedelta(days=PINNED_DAYS - 1))
    ends = [o.end for o in plan.scorecard.objectives]
    start, end = min([as_of, *starts]), max([as_of, *ends])
    return Events(start, end, project.annotations_between(start, end))


__all__ = ["key_result_movers", "pack_events"]

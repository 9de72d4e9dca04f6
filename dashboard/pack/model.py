"""The review pack's values: what `build` computes and `html` and `images` consume.

`Stamp` (what every item carries: as-of date, data freshness, data-quality verdict, config commit,
link), `PackItem` (one chart of the pack), `Plan` (the whole pack, computed, before anything is
rendered or written) and `PackError`, the pack's one error. Plain values: this module imports
nothing of the pack's stages.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import plotly.graph_objects as go

from connectors.errors import NorthstarError
from dashboard.format import data_through_words, format_date
from metrics.format import check_outcome_words

if TYPE_CHECKING:
    from metrics.okrs import KeyResultScore, Scorecard
    from metrics.quality import QualityReport

__all__ = ["SCALE", "Kind", "PackError", "PackItem", "Plan", "Quality", "Stamp"]

SCALE = 2  # PNG pixels per CSS pixel: 1000-px-wide figures become 2000-px-wide images
PINNED_DAYS = 90  # pinned metrics: the periods holding the last 90 days to the as-of date, vs those before
Kind = Literal["objective", "key_result", "metric"]


class PackError(NorthstarError):
    """The review pack cannot be written (no browser, an unwritable folder...): one sentence."""


@dataclass(frozen=True)
class Quality:
    """The data checks' verdict on some sources: counts of failed checks by severity."""

    failed: int = 0
    warnings: int = 0
    checks: int = 0
    error: str | None = None  # the checks could not run
    reasons: tuple[str, ...] = ()
    elsewhere: int = 0  # failed checks on the sources that concern none of the item's numbers (other
    # days, or rows without a user under numbers that count no users: `metrics.quality.flags`)

    @property
    def level(self) -> Literal["pass", "warn", "fail", "unknown"]:
        if self.error is not None:
            return "unknown"
        return "fail" if self.failed else "warn" if self.warnings else "pass"

    def words(self) -> str:
        if self.error is not None:
            return "data checks not run"
        if not self.checks:
            return "no data checks"
        if not (self.failed or self.warnings):
            if self.elsewhere:
                return f"no data check failed on what these numbers read ({self.elsewhere} elsewhere)"
            return f"data checks passed ({self.checks})"
        return "data checks: " + check_outcome_words(self.failed, self.warnings)


@dataclass(frozen=True)
class Stamp:
    """What every item of the pack carries, so a pasted image still says what it shows."""

    project: str
    as_of: dt.date
    data_through: dt.date | None
    quality: Quality
    commit: str
    url: str

    newest: dt.date | None = None  # the sources' newest day (data_through stops at the as-of date)
    running: dt.date | None = None  # the day still running when the pack was made (the engine's today)

    def freshness(self) -> str:
        return data_through_words(self.newest or self.data_through, self.as_of, running=self.running)

    def line(self) -> str:
        """One line: 'Acme Notes · as of Nov 20, 2026 · data through ... · data checks ... · config abc1234'."""
        return " · ".join(
            [
                self.project,
                f"as of {format_date(self.as_of)}",
                self.freshness(),
                self.quality.words(),
                f"config {self.commit}",
            ]
        )

    def to_json(self) -> dict[str, str | None]:
        return {
            "as_of": self.as_of.isoformat(),
            "data_through": self.data_through.isoformat() if self.data_through else None,
            "data_newest": newest.isoformat() if (newest := self.newest or self.data_through) else None,
            "quality": self.quality.level,
            "quality_words": self.quality.words(),
            "commit": self.commit,
            "url": self.url,
        }


@dataclass(frozen=True)
class PackItem:
    """One chart of the pack: its figure, PNG file, size (CSS pixels) and stamp."""

    kind: Kind
    id: str
    title: str
    figure: go.Figure
    file: str
    stamp: Stamp
    width: int
    height: int
    objective: str | None = None
    note: str | None = None  # why a key result could not be scored
    warnings: tuple[str, ...] = ()  # a key result's definition warnings (`KeyResultScore.warnings`)

    @property
    def pixels(self) -> tuple[int, int]:
        return self.width * SCALE, self.height * SCALE

    def to_json(self) -> dict[str, str | int | None]:
        return {
            "kind": self.kind,
            "id": self.id,
            "objective": self.objective,
            "title": self.title,
            "file": self.file,
            "width": self.pixels[0],
            "height": self.pixels[1],
            **self.stamp.to_json(),
        }


@dataclass(frozen=True)
class Plan:
    """Everything the pack shows, computed, before anything is rendered or written."""

    stamp: Stamp  # the pack's own: all sources
    scorecard: Scorecard  # the numbers of `northstar okrs` (no objectives when okrs.yaml has none)
    items: tuple[PackItem, ...]
    timings: Mapping[str, float] = field(default_factory=dict)
    report: QualityReport | None = None  # the data checks at the as-of (None: they did not run)
    # (objective id, KR id) -> what moved its reading, in words: the headline, then its top three
    # movers (`metrics.drivers`; a sentence instead when it could not be split)
    movers: Mapping[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)
    # for the pack's author, not its reader (`northstar snapshot` prints them): what would give a
    # comparison where a key result's What moved has none (`Drivers.comparison_hint`)
    author_notes: tuple[str, ...] = ()

    def flag_json(self, kr: KeyResultScore) -> dict[str, Any] | None:
        """A key result's data-quality flag in pack.json: `metrics.quality.flags.number_flag`, the
        rule the dashboard's OKR page calls, as JSON (null: no flag)."""
        from metrics.quality.flags import number_flag

        flag = number_flag(self.report, kr)
        return None if flag is None else flag.to_json()

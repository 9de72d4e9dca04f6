"""The protocol a metric backend implements (Polars for frames, SQL for databases)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Protocol

import polars as pl

from connectors.base import Connector
from connectors.models import SourceConfig
from metrics.definitions.calendar import Calendar
from metrics.definitions.models import SourcedMetric
from metrics.engine.request import Window


class Backend(Protocol):
    def compute(
        self,
        source_name: str,
        source: SourceConfig,
        connector: Connector,
        metrics: Mapping[str, SourcedMetric],
        window: Window,
    ) -> dict[str, pl.DataFrame]:
        """Per metric id: columns `period` (Date), [`window.by`] (String), `value` (Float64), and
        for retention and funnels `numerator` and `denominator` (Float64: retained users and the
        cohort; converted users and the entrants), the counts of every row, mature or not.

        One row per period (and group) that has counted rows inside the window; the engine fills
        the rest. All metrics of the request on this source are computed in one pass over it.
        """
        ...

    def explain(
        self,
        source_name: str,
        source: SourceConfig,
        connector: Connector,
        metrics: Mapping[str, SourcedMetric],
        window: Window,
    ) -> str:
        """The plan (Polars) or the SQL (databases) that `compute` would run."""
        ...

    def data_range(
        self, source_name: str, source: SourceConfig, connector: Connector, calendar: Calendar
    ) -> tuple[dt.date | None, dt.date | None]:
        """(first, last) local date of the source's timestamps, or (None, None) when it is empty."""
        ...

    def reaches(
        self,
        source_name: str,
        source: SourceConfig,
        connector: Connector,
        calendar: Calendar,
        start: dt.date,
        end: dt.date,
    ) -> tuple[bool, bool] | None:
        """Whether the source holds a row (of a plausible year, as `data_range` counts them) on or
        before local day `start`, and one on or after local day `end`: `data_range`'s first day is
        at most `start` and its last at least `end` exactly when both are true. None when this
        cannot be told without reading the whole range (then ask `data_range`)."""
        ...

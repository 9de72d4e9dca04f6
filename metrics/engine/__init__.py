"""The metric engine: frozen requests in, frozen results out, on Polars or inside a database."""

from metrics.engine.engine import Engine, shift_months
from metrics.engine.request import MetricError, MetricRequest, MetricResult

__all__ = ["Engine", "MetricError", "MetricRequest", "MetricResult", "shift_months"]

"""Key results and objectives: readings, pacing, forecasts, statuses, the scorecard."""

from metrics.okrs.scoring import Scorecard, score

__all__ = ["Scorecard", "score"]

"""Key results and objectives: readings, pacing, forecasts, statuses, the scorecard."""

from metrics.okrs.scorecard import KeyResultScore, Milestone, ObjectiveScore, Scorecard
from metrics.okrs.scoring import score

__all__ = ["KeyResultScore", "Milestone", "ObjectiveScore", "Scorecard", "score"]

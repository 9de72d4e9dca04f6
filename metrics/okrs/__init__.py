"""Key results and objectives: readings, pacing, forecasts, statuses, the scorecard."""

from metrics.okrs.scoring import KeyResultScore, Milestone, ObjectiveScore, Scorecard, score

__all__ = ["KeyResultScore", "Milestone", "ObjectiveScore", "Scorecard", "score"]

"""Alerts: alerts.yaml's rules evaluated as of a day (`rules`), and what has been announced
(`state`). Delivering them (webhooks, email) is the dashboard layer's: `dashboard/delivery.py`."""

from metrics.alerts.rules import Evaluation, Finding, evaluate
from metrics.alerts.state import AlertState, advance, load_state, save_state, state_file, state_root

__all__ = [
    "AlertState",
    "Evaluation",
    "Finding",
    "advance",
    "evaluate",
    "load_state",
    "save_state",
    "state_file",
    "state_root",
]

"""What viewers see of a failure: one sentence without server paths, unless `serve --debug`.

`northstar serve --debug` sets NORTHSTAR_DEBUG=1 for the app (and Streamlit's
`client.showErrorDetails`). Without it, a viewer never sees a traceback, the config folder or a
data path: `for_viewers` masks secrets (always) and shortens every path to its last part
(`/srv/acme/config/sources.yaml:4:10` -> `…/sources.yaml:4:10`; a problem's file is shown relative
to the project folder); an unexpected error is one sentence, and its traceback goes to the server's
log. With it, messages keep their paths and the page shows the traceback.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

from connectors.errors import NorthstarError
from connectors.secrets import mask_secrets
from metrics.definitions.problems import Problem

ENV = "NORTHSTAR_DEBUG"
log = logging.getLogger("northstar.dashboard")

# An absolute path (or one starting ./ or ../), alone or after a URL's `:///`: its folders go.
_PATH = re.compile(
    r"(?P<lead>(?<=:)///|(?<![\w.:/~-])/|(?<![\w.:/~-])~/|(?<![\w/~-])(?:\.\.?/)+)"
    r"(?:[^\s/'\"`:()<>,;]+/)*(?P<name>[^\s/'\"`:()<>,;]+)"
)


def debug() -> bool:
    """True when the server runs with `--debug` (read on each call: tests switch it)."""
    return os.environ.get(ENV, "").strip().lower() in {"1", "true", "yes"}


def without_paths(text: str) -> str:
    def shorten(match: re.Match[str]) -> str:
        lead = "///" if match["lead"] == "///" else ""
        return f"{lead}…/{match['name']}"

    return _PATH.sub(shorten, text)


def for_viewers(text: object) -> str:
    """A message as a viewer may see it: secrets masked; paths shortened unless debugging."""
    shown = mask_secrets(str(text))
    return shown if debug() else without_paths(shown)


def problem_line(problem: Problem, root: Path) -> str:
    """`FILE:LINE:COL: message` with the file relative to the project folder (absolute with --debug)."""
    if problem.location is None or debug():
        return for_viewers(problem)
    place = problem.location.within(root)
    hint = f" ({problem.hint})" if problem.hint else ""
    return f"{place}: {for_viewers(problem.message + hint)}"


def error_text(exc: BaseException) -> str:
    """What went wrong, for a viewer: a `NorthstarError`'s sentence, else (a bug of ours) its type
    and words with --debug and a pointer to the server's log without (the traceback is logged)."""
    if isinstance(exc, NorthstarError):
        return for_viewers(exc)
    log.error("unexpected error", exc_info=exc)
    if debug():
        return f"{type(exc).__name__}: {for_viewers(exc)}"
    return "an unexpected error (the server's log has the details)"


def failure(exc: BaseException, what: str = "This page") -> str:
    """One sentence for an error that stopped `what`."""
    return f"{what} failed: {error_text(exc)}"


__all__ = ["ENV", "debug", "error_text", "failure", "for_viewers", "problem_line", "without_paths"]

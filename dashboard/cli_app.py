"""The command line's start-up and exit: which typer app runs a line (typer builds every command's
click command and typed options before it parses, about 13 ms of CPU for `northstar`'s fourteen
commands, one 1-2 ms, so a line that starts with a command's name runs an app of that command
alone), and how rarely the garbage collector runs in a command's short-lived process."""

from __future__ import annotations

import contextlib
import copy
import gc
from collections.abc import Iterator, Sequence

import typer
from typer.main import get_command_name


def _group() -> None:
    """The callback of the one-command app: it keeps `northstar COMMAND ...` a group, as the whole
    app is (typer runs a lone command without its name)."""


def command_app(app: typer.Typer, args: Sequence[str]) -> typer.Typer:
    """`app` with only the command that `args` names first: the same command, options, help and
    errors. Anything else (no command, `--help`, a misspelt command that gets a did-you-mean) gets
    the whole app."""
    for info in app.registered_commands:
        if info.callback is not None and list(args[:1]) == [
            info.name or get_command_name(info.callback.__name__)
        ]:
            one = copy.copy(app)
            one.registered_commands = [info]
            one.callback()(_group)
            return one
    return app


# Start-up allocates tens of thousands of objects that live as long as the process (modules,
# classes, pydantic validators, typer's adapters); with Python's default thresholds (700, 10, 10)
# the collector ran about 125 times over them during a `compute`, a full collection included:
# about 45 ms of CPU (gc.callbacks, 10M-event bench project). At 50,000 allocations one young pass
# over about 47,000 of them remained (10-30 ms, inside `import polars`); a `compute` or `validate`
# ends with 65,000-90,000 objects alive, so at 100,000 none runs (gc.callbacks: 7-9 ms of collection
# left, all of it in the imports before `main`; the peak memory unchanged). Commands are short-lived
# processes; `serve` runs the dashboard in a process of its own, with the defaults.
QUIET_GC = (100_000, 20, 100)


@contextlib.contextmanager
def quiet_gc(*, ends_process: bool) -> Iterator[None]:
    """Collect every `QUIET_GC` allocations inside, and restore the thresholds after. When the
    process ends right after (`ends_process`), its objects are frozen first (`gc.freeze`): restoring
    the default thresholds, then Python's own full collections at exit, went over all of them once
    more for nothing (a young pass and a full one, 40-50 ms of CPU after a `compute` that had
    printed its answer). Objects alive at exit are freed by the system either way."""
    thresholds = gc.get_threshold()
    gc.set_threshold(*QUIET_GC)
    try:
        yield
    finally:
        if ends_process:
            gc.freeze()
        gc.set_threshold(*thresholds)

"""Which typer app runs a command line: typer builds every command's click command and typed
options before it parses (about 13 ms of CPU for `northstar`'s fourteen commands; one takes 1-2 ms),
so a line that starts with a command's name runs an app of that command alone."""

from __future__ import annotations

import copy
from collections.abc import Sequence

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

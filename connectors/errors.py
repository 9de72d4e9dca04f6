"""The root of every error a user's input can cause, at the lowest layer so that every layer can use it.

Callers that show errors to people (the CLI, the dashboard, the review pack) catch `NorthstarError`
alone; its message is one sentence that says what is wrong and what to do, with no secret in it.
"""

from __future__ import annotations


class NorthstarError(Exception):
    """Bad input of any kind: a definition, a request, a source, a pack. Never a bug of ours."""


class ConnectorError(NorthstarError):
    """A source cannot be read. The message is one sentence a PM can act on (no secrets in it)."""

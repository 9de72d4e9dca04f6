"""The root of every error a user's input can cause, at the lowest layer so that every layer can use it.

Callers that show errors to people (the CLI, the dashboard, the review pack) catch `NorthstarError`
alone; its message is one sentence that says what is wrong and what to do, with no secret in it.
"""

from __future__ import annotations

from connectors.secrets import mask_secrets


class NorthstarError(Exception):
    """Bad input of any kind: a definition, a request, a source, a pack. Never a bug of ours.

    Text arguments pass through `mask_secrets`, so no message can carry a password.
    """

    def __init__(self, *args: object) -> None:
        super().__init__(*(mask_secrets(a) if isinstance(a, str) else a for a in args))


class ConnectorError(NorthstarError):
    """A source cannot be read. The message is one sentence a PM can act on (no secrets in it)."""

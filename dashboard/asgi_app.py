"""What `northstar serve` runs: the dashboard (`dashboard/app.py`) as a Streamlit `st.App`, so the
server can refuse unknown Host names, bring a visitor back to the shared link they opened once they
have signed in, mark cookies Secure behind an https URL (`dashboard.sign_in_middleware`), and close
the shared browser and the forecast worker when it stops.

`streamlit run dashboard/asgi_app.py` finds the `app` below and serves it with uvicorn. The
allowed host names come from NORTHSTAR_ALLOWED_HOSTS (comma-separated; `dashboard/server.py` sets
it); without it only the loopback names are accepted.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, MutableMapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `streamlit run dashboard/asgi_app.py` puts only dashboard/ on the path
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402
from starlette.middleware import Middleware  # noqa: E402

from dashboard.access import LOOPBACK_HOSTS, host_allowed  # noqa: E402
from dashboard.sign_in_middleware import ReturnAfterSignIn, SecureCookies  # noqa: E402

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

REFUSAL = b"This address is not one this dashboard answers to; open it at its own URL.\n"


class HostCheck:
    """Refuse HTTP requests and WebSockets whose Host header is not an allowed name (DNS rebinding):
    HTTP gets 421 and a sentence, a WebSocket is closed before it is accepted (403)."""

    def __init__(self, app: ASGIApp, allowed: Iterable[str]) -> None:
        self.app = app
        self.allowed = frozenset(allowed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            host = next((v for k, v in scope.get("headers", ()) if k == b"host"), b"").decode("latin-1")
            if not host_allowed(host, self.allowed):
                if scope["type"] == "websocket":
                    await send({"type": "websocket.close", "code": 1008})
                    return
                await send(
                    {
                        "type": "http.response.start",
                        "status": 421,
                        "headers": [
                            (b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(REFUSAL)).encode()),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": REFUSAL})
                return
        await self.app(scope, receive, send)


def allowed_from_env() -> frozenset[str]:
    names = {n.strip().lower() for n in os.environ.get("NORTHSTAR_ALLOWED_HOSTS", "").split(",")}
    return frozenset(n for n in names if n) | LOOPBACK_HOSTS


@contextlib.asynccontextmanager
async def _lifespan(_app: Any) -> AsyncIterator[None]:
    from dashboard import preload

    preload.warm()  # before the server answers: the first visitor does not wait for the imports
    preload.start_warm_thread()
    yield
    # The server is stopping: close what this process started besides streamlit itself.
    from dashboard import worker
    from dashboard.pack.images import close_shared_renderer

    close_shared_renderer()
    worker.shutdown_shared()


app = st.App(
    str(ROOT / "dashboard" / "app.py"),
    middleware=[
        Middleware(HostCheck, allowed=allowed_from_env()),
        Middleware(SecureCookies, enabled=os.environ.get("NORTHSTAR_SECURE_COOKIES") == "1"),
        Middleware(ReturnAfterSignIn),
    ],
    lifespan=_lifespan,
)

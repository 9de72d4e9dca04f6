"""ASGI middleware around Streamlit's sign-in, in front of the app in `dashboard/asgi_app.py`.

`ReturnAfterSignIn`: a shared link survives sign-in. Whoever opens a deep link signed out lands on
that same view after signing in, not on the home page.

Streamlit's sign-in (`st.login`) always sends the browser back to the app's base URL after the
provider's callback, so the page and the query string of the link (the view the sender shared) would
be lost. This ASGI middleware, in front of the Streamlit app in `dashboard/asgi_app.py`, carries them
across the round trip to the provider:

* a request to `<base>/auth/login` whose Referer is a page of this same origin (the browser sends
  it when the "Sign in" button navigates there) gets a short-lived cookie with that page's path and
  query, never its scheme or host;
* the `<base>/oauth2callback` response, a redirect to the base URL, is pointed at the saved path
  instead, and the cookie is cleared.

Only a same-origin path under the app's base is ever saved or followed (`safe_target`), so the
cookie cannot become an open redirect; without a Referer (a browser set not to send one) the visitor
lands on the home page as before.

`SecureCookies`: when the dashboard's public URL is https (`serve --public-url https://...` sets
NORTHSTAR_SECURE_COOKIES), every cookie the server sets is marked `Secure`, Streamlit's 30-day
sign-in cookie included, so a browser never sends it over plain http. Streamlit leaves the flag off
on purpose (Safari drops Secure cookies on http://localhost), which is why it is added only for an
https public URL.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import quote, unquote, urlsplit

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

COOKIE = "northstar_next"
MAX_AGE = 600  # seconds: a sign-in takes less; a stale link should not come back hours later
MAX_LENGTH = 4096
LOGIN = "/auth/login"
CALLBACK = "/oauth2callback"


def safe_target(target: str, base: str) -> str | None:
    """`target` if it is a path (and query) of this app under `base` ("/" or "/prefix/"), else None:
    no scheme, no host, no `//` or backslash that a browser would read as another host, no control
    characters, not the sign-in routes themselves."""
    if not target or len(target) > MAX_LENGTH or not target.isascii() or not target.startswith(base):
        return None
    if target.startswith("//") or "\\" in target or any(ord(c) < 0x20 or ord(c) == 0x7F for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    path = parts.path
    if path.endswith((LOGIN, CALLBACK, "/auth/logout")) or "/_stcore/" in path:
        return None
    return target


def _header(scope: Scope, name: bytes) -> str:
    return next((v for k, v in scope.get("headers", ()) if k == name), b"").decode("latin-1")


def _from_referer(scope: Scope, base: str) -> str | None:
    referer = urlsplit(_header(scope, b"referer"))
    host = _header(scope, b"host").lower()
    if referer.scheme not in ("http", "https") or not host or referer.netloc.lower() != host:
        return None  # another origin (or none): nothing to come back to
    return safe_target(referer.path + (f"?{referer.query}" if referer.query else ""), base)


def _saved(scope: Scope, base: str) -> str | None:
    cookies: SimpleCookie = SimpleCookie()
    try:
        cookies.load(_header(scope, b"cookie"))
    except Exception:  # a malformed Cookie header: nothing saved
        return None
    morsel = cookies.get(COOKIE)
    return safe_target(unquote(morsel.value), base) if morsel is not None else None


def _cookie(value: str, base: str, max_age: int, secure: bool) -> bytes:
    attributes = [f"{COOKIE}={value}", f"Path={base}", f"Max-Age={max_age}", "HttpOnly", "SameSite=Lax"]
    if secure:
        attributes.append("Secure")
    return "; ".join(attributes).encode("latin-1")


class ReturnAfterSignIn:
    """The middleware; see the module's docstring."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if path.endswith(LOGIN):
            base = path[: -len(LOGIN)] + "/"
            target = _from_referer(scope, base)
            if target is not None:
                secure = _header(scope, b"referer").lower().startswith("https:")
                cookie = _cookie(quote(target, safe=""), base, MAX_AGE, secure)
                send = _adding_cookie(send, cookie)
        elif path.endswith(CALLBACK):
            base = path[: -len(CALLBACK)] + "/"
            if COOKIE in _header(scope, b"cookie"):
                send = _returning(send, _saved(scope, base), base)
        await self.app(scope, receive, send)


def _adding_cookie(send: Send, cookie: bytes) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [*message.get("headers", []), (b"set-cookie", cookie)]
        await send(message)

    return wrapped


def _returning(send: Send, target: str | None, base: str) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", []))
            redirect = message.get("status") in (301, 302, 303, 307, 308)
            location = next((v.decode("latin-1") for k, v in headers if k == b"location"), None)
            if redirect and target is not None and location == base:
                headers = [(k, v) for k, v in headers if k != b"location"]
                headers.append((b"location", target.encode("latin-1")))
            headers.append((b"set-cookie", _cookie("", base, 0, False)))  # used once, or not at all
            message["headers"] = headers
        await send(message)

    return wrapped


class SecureCookies:
    """Mark every Set-Cookie of every HTTP response `Secure`; see the module's docstring."""

    def __init__(self, app: ASGIApp, enabled: bool = True) -> None:
        self.app = app
        self.enabled = enabled

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.enabled or scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    (k, v + b"; Secure") if k == b"set-cookie" and not _has_secure(v) else (k, v)
                    for k, v in message.get("headers", [])
                ]
            await send(message)

        await self.app(scope, receive, wrapped)


def _has_secure(cookie: bytes) -> bool:
    return any(part.strip().lower() == b"secure" for part in cookie.split(b";")[1:])

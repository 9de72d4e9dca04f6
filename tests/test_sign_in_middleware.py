"""The middleware that brings a visitor back to the shared link after sign-in
(`dashboard/sign_in_middleware.py`), on ASGI messages: what it saves, what it follows, and every
shape of a hostile Referer or cookie that must not become an open redirect. The whole round trip
through a real provider and Chromium is in tests/test_sign_in_browser.py."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote

import pytest

from dashboard.sign_in_middleware import COOKIE, ReturnAfterSignIn, safe_target

LINK = "/explorer?metric=signups&grain=week&start=2026-09-01&end=2026-11-30"


def _run(path: str, headers: dict[str, str], status: int = 302, location: str = "/") -> dict[str, Any]:
    """One request through the middleware in front of an app that answers `status` + `location`."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send(
            {"type": "http.response.start", "status": status, "headers": [(b"location", location.encode())]}
        )
        await send({"type": "http.response.body", "body": b""})

    sent: list[dict[str, Any]] = []

    async def send(message: Any) -> None:
        sent.append(message)

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    scope = {
        "type": "http",
        "path": path,
        "headers": [(k.lower().encode(), v.encode("latin-1")) for k, v in headers.items()],
    }
    asyncio.run(ReturnAfterSignIn(app)(scope, receive, send))
    start = sent[0]
    got: dict[str, Any] = {"status": start["status"], "set-cookie": [], "location": None}
    for key, value in start["headers"]:
        if key == b"set-cookie":
            got["set-cookie"].append(value.decode())
        if key == b"location":
            got["location"] = value.decode()
    return got


def test_the_login_saves_the_page_it_was_opened_from() -> None:
    got = _run("/auth/login", {"Host": "dash.acme.example", "Referer": f"https://dash.acme.example{LINK}"})
    (cookie,) = got["set-cookie"]
    assert cookie.startswith(f"{COOKIE}={quote(LINK, safe='')};")
    for attribute in ("Path=/", "Max-Age=600", "HttpOnly", "SameSite=Lax", "Secure"):
        assert attribute in cookie.split("; ")


def test_the_callback_returns_to_the_saved_page_once() -> None:
    cookie = f"{COOKIE}={quote(LINK, safe='')}; _streamlit_user=abc"
    got = _run("/oauth2callback", {"Host": "dash.acme.example", "Cookie": cookie})
    assert got["location"] == LINK
    assert got["set-cookie"] == [f"{COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax"]
    plain = _run("/oauth2callback", {"Host": "dash.acme.example"})  # no saved page: home, as Streamlit says
    assert plain["location"] == "/" and plain["set-cookie"] == []


def test_a_base_path_behind_a_proxy_is_kept() -> None:
    got = _run(
        "/northstar/auth/login",
        {"Host": "h.example", "Referer": "http://h.example/northstar/okrs?as_of=2026-11-30"},
    )
    assert got["set-cookie"][0].startswith(f"{COOKIE}={quote('/northstar/okrs?as_of=2026-11-30', safe='')};")
    assert "Path=/northstar/" in got["set-cookie"][0].split("; ") and "Secure" not in got["set-cookie"][0]
    back = _run(
        "/northstar/oauth2callback",
        {"Host": "h.example", "Cookie": f"{COOKIE}={quote('/northstar/okrs?as_of=2026-11-30', safe='')}"},
        location="/northstar/",
    )
    assert back["location"] == "/northstar/okrs?as_of=2026-11-30"


@pytest.mark.parametrize(
    "referer",
    [
        f"https://evil.example{LINK}",  # another origin
        f"https://dash.acme.example.evil.example{LINK}",
        "javascript:alert(1)",
        "",
        "https://dash.acme.example/auth/login?provider=x",  # the sign-in routes themselves
    ],
)
def test_a_foreign_or_useless_referer_saves_nothing(referer: str) -> None:
    got = _run("/auth/login", {"Host": "dash.acme.example", "Referer": referer})
    assert got["set-cookie"] == []


@pytest.mark.parametrize(
    "saved",
    [
        "//evil.example/x",
        "/\\evil.example",
        "https://evil.example/",
        "/okrs\r\nSet-Cookie: x=1",
        "okrs",  # not a path of this app
        "/other-app/okrs",  # outside the base path below
        "/" + "a" * 5000,
        "/oauth2callback",
    ],
)
def test_a_hostile_cookie_is_never_followed(saved: str) -> None:
    base = "/northstar/" if saved == "/other-app/okrs" else "/"
    path = "/northstar/oauth2callback" if base != "/" else "/oauth2callback"
    got = _run(
        path, {"Host": "dash.acme.example", "Cookie": f"{COOKIE}={quote(saved, safe='')}"}, location=base
    )
    assert got["location"] == base
    assert any(c.startswith(f"{COOKIE}=;") for c in got["set-cookie"])  # and it is cleared


def test_only_a_redirect_to_the_home_page_is_pointed_elsewhere() -> None:
    cookie = f"{COOKIE}={quote(LINK, safe='')}"
    error_page = _run("/oauth2callback", {"Host": "h", "Cookie": cookie}, status=400, location="/")
    assert error_page["location"] == "/"
    elsewhere = _run("/oauth2callback", {"Host": "h", "Cookie": cookie}, location="/somewhere")
    assert elsewhere["location"] == "/somewhere"
    assert safe_target(LINK, "/") == LINK and safe_target("/é", "/") is None


def _cookies_through_secure(enabled: bool, cookies: list[bytes], kind: str = "http") -> list[bytes]:
    from dashboard.sign_in_middleware import SecureCookies

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send(
            {"type": "http.response.start", "status": 302, "headers": [(b"set-cookie", c) for c in cookies]}
        )

    sent: list[Any] = []

    async def send(message: Any) -> None:
        sent.append(message)

    async def receive() -> dict[str, Any]:
        return {"type": "http.request"}

    asyncio.run(SecureCookies(app, enabled=enabled)({"type": kind, "path": "/oauth2callback"}, receive, send))
    return [v for k, v in sent[0]["headers"] if k == b"set-cookie"]


def test_behind_an_https_url_every_cookie_is_secure() -> None:
    streamlit_user = b"_streamlit_user=2|1:0|abc; HttpOnly; Max-Age=2592000; Path=/; SameSite=lax"
    already = b"x=1; Path=/; secure"
    assert _cookies_through_secure(True, [streamlit_user, already]) == [streamlit_user + b"; Secure", already]
    assert _cookies_through_secure(False, [streamlit_user]) == [
        streamlit_user
    ]  # http://localhost: as Streamlit sets it

"""Sign-in end to end: `northstar serve` with an `auth:` block, a real OIDC provider
(oidc-provider-mock, in a thread of this test process) and headless Chromium.

Signed out, a visitor sees the sign-in page and nothing of the project (checked on the page's text
and on its HTML, which holds whatever came over the WebSocket); an allowed person signs in and sees
the OKR page; a person outside `allow` is refused and sees nothing of the project; signing out
returns to the sign-in page; a shared deep link opened signed out is the view shown after sign-in.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from metrics.load import load_project
from tests.app_support import ROOT, make_demo, pinned_env

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.usefixtures("made_today")]

ALLOWED = "pm@acme.example"
REFUSED = "eve@evil.example"
UNVERIFIED = "ghost@acme.example"  # in an allowed domain, but the provider says it is not verified


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_http(url: str, process: subprocess.Popen[bytes], log: Path, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline or process.poll() is not None:
            pytest.fail(f"northstar serve did not start: {log.read_text()[-2000:]}")
        time.sleep(0.2)


@pytest.fixture(scope="module")
def provider() -> Iterator[str]:
    os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"  # the provider's own checks: it runs on http://localhost
    from oidc_provider_mock import User, run_server_in_thread

    users = [
        User(sub=ALLOWED, claims={"email": ALLOWED, "email_verified": True}),
        User(sub=REFUSED, claims={"email": REFUSED, "email_verified": True}),
        User(sub=UNVERIFIED, claims={"email": UNVERIFIED, "email_verified": False}),
    ]
    with run_server_in_thread(user_claims=users) as server:
        yield f"http://localhost:{server.server_port}/.well-known/openid-configuration"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, provider: str) -> Iterator[dict[str, Any]]:
    folder = tmp_path_factory.mktemp("signin")
    config, _ = make_demo(folder, events=30_000)
    with (config / "project.yaml").open("a", encoding="utf-8") as out:
        out.write(
            "auth:\n"
            "  provider: ${TEST_OIDC_URL}\n"
            "  client_id: northstar-test\n"
            "  client_secret: ${TEST_OIDC_SECRET}\n"
            '  allow: [PM@acme.example, "@friends.example", "@acme.example"]\n'
        )
    secret_file = folder / "cookie-secret"  # outside the project folder
    secret_file.write_text("x" * 40)
    port = _free_port()
    public = f"http://localhost:{port}"
    log = folder / "serve.log"
    env = pinned_env(  # the demo ends on a fixed day: today is pinned after it
        TEST_OIDC_URL=provider, TEST_OIDC_SECRET="not-a-real-secret", AUTHLIB_INSECURE_TRANSPORT="1"
    )
    env.pop("NORTHSTAR_COOKIE_SECRET", None)
    command = [
        sys.executable, "-m", "dashboard.cli", "serve", "--config", str(config), "--port", str(port),
        "--public-url", public, "--cookie-secret-file", str(secret_file),
    ]  # fmt: skip
    with log.open("w") as handle:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
        )
    project = load_project(config, env=env, check_data=False)
    assert project.settings.auth is not None and not project.problems, project.problems
    # what a visitor who may not see the project must never receive: its name, an objective, metric labels
    words = (
        project.settings.name,
        project.okrs[0].objective,
        project.label("signups"),
        project.label("revenue"),
    )
    try:
        _wait_http(f"{public}/_stcore/health", process, log)
        yield {"base": public, "config": config, "log": log, "words": words}
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)


@pytest.fixture(scope="module")
def browser(served: dict[str, Any]) -> Iterator[Any]:
    from tests.conftest import CHROMIUM_ARGS, require_service

    require_service("chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _listen(page: Any) -> list[bytes]:
    """Every WebSocket frame the page receives from the server, as bytes."""
    frames: list[bytes] = []

    def on_socket(socket: Any) -> None:
        socket.on(
            "framereceived",
            lambda payload: frames.append(payload if isinstance(payload, bytes) else payload.encode()),
        )

    page.on("websocket", on_socket)
    return frames


def _assert_nothing_of_the_project(page: Any, frames: list[bytes], words: tuple[str, ...]) -> None:
    text = page.locator("body").inner_text()
    html = page.content()
    assert frames, "no WebSocket traffic was seen: the check below would prove nothing"
    for word in words:
        assert word not in text, f"{word!r} visible to a visitor who may not see the project"
        assert word not in html, f"{word!r} in the HTML of a visitor who may not see the project"
        assert not any(word.encode() in f for f in frames), f"{word!r} sent over the WebSocket"
    assert not re.search(r"\bOKRs\b|Metric explorer|Data quality", text)


def _sign_in_page(page: Any, base: str) -> None:
    page.goto(base + "/")
    page.get_by_role("button", name="Sign in").wait_for(timeout=60_000)


def _sign_in_as(page: Any, base: str, email: str) -> None:
    _sign_in_page(page, base)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Authorize Client").wait_for(timeout=30_000)  # the provider's page
    page.get_by_role("button", name=email, exact=True).click()
    page.wait_for_url(re.compile(re.escape(base) + r"/?(\?.*)?$"), timeout=30_000)


def _settle(page: Any) -> None:
    page.wait_for_function(
        """() => { const s = document.querySelector('[data-testid="stStatusWidget"]');
                   return !s || !/Running/i.test(s.innerText); }""",
        timeout=60_000,
    )
    time.sleep(1.0)


def test_signed_out_visitor_sees_only_the_sign_in_page(served: dict[str, Any], browser: Any) -> None:
    context = browser.new_context()
    page = context.new_page()
    frames = _listen(page)
    for path in ("/", "/explorer?metric=signups", "/definitions"):
        page.goto(served["base"] + path)
        page.get_by_role("button", name="Sign in").wait_for(timeout=60_000)
        _settle(page)
        _assert_nothing_of_the_project(page, frames, served["words"])
    context.close()


def test_allowed_person_signs_in_sees_the_okrs_and_signs_out(served: dict[str, Any], browser: Any) -> None:
    base = served["base"]
    context = browser.new_context(viewport={"width": 1440, "height": 1200})
    page = context.new_page()
    frames = _listen(page)
    _sign_in_as(page, base, ALLOWED)
    page.get_by_role("heading", name="OKRs", level=1).wait_for(timeout=90_000)
    objective = served["words"][1]
    page.get_by_text(objective).first.wait_for(timeout=60_000)
    assert any(objective.encode() in f for f in frames)  # what the gate hides does reach a signed-in person
    sidebar = page.locator('[data-testid="stSidebar"]')
    # drawn at the end of the run, after the page: wait for it rather than read the sidebar at once
    sidebar.get_by_text(f"Signed in as {ALLOWED}").wait_for(timeout=60_000)

    sidebar.get_by_role("button", name="Sign out").click()
    page.wait_for_load_state()
    confirm = page.get_by_role("button", name="End session")  # the provider's logout page
    confirm.wait_for(timeout=30_000)
    frames.clear()
    confirm.click()
    page.get_by_role("button", name="Sign in").wait_for(timeout=60_000)
    _settle(page)
    _assert_nothing_of_the_project(page, frames, served["words"])
    frames.clear()
    page.goto(base + "/")  # the cookie is gone: a fresh visit is signed out too
    page.get_by_role("button", name="Sign in").wait_for(timeout=60_000)
    _settle(page)
    _assert_nothing_of_the_project(page, frames, served["words"])
    context.close()


@pytest.mark.parametrize("email", [REFUSED, UNVERIFIED])
def test_person_outside_allow_is_refused(served: dict[str, Any], browser: Any, email: str) -> None:
    context = browser.new_context()
    page = context.new_page()
    frames = _listen(page)
    _sign_in_as(page, served["base"], email)
    page.get_by_text("is not allowed to see this dashboard").wait_for(timeout=60_000)
    _settle(page)
    assert email in page.locator("body").inner_text()
    _assert_nothing_of_the_project(page, frames, served["words"])
    frames.clear()
    page.goto(served["base"] + "/okrs")  # a deep link does not get around the gate
    page.get_by_text("is not allowed to see this dashboard").wait_for(timeout=60_000)
    _settle(page)
    _assert_nothing_of_the_project(page, frames, served["words"])
    context.close()


def test_a_shared_link_opened_signed_out_is_the_view_after_sign_in(
    served: dict[str, Any], browser: Any
) -> None:
    base = served["base"]
    link = "/explorer?metric=revenue&grain=week&start=2026-09-07&end=2026-11-29"
    context = browser.new_context(viewport={"width": 1440, "height": 1200})
    page = context.new_page()
    page.goto(base + link)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Authorize Client").wait_for(timeout=30_000)
    page.get_by_role("button", name=ALLOWED, exact=True).click()
    page.wait_for_url(re.compile(re.escape(base + "/explorer?")), timeout=30_000)
    page.get_by_role("heading", name="Metric explorer", level=1).wait_for(timeout=90_000)
    _settle(page)
    shown = page.url.removeprefix(base)
    for part in ("metric=revenue", "grain=week", "start=2026-09-07", "end=2026-11-29"):
        assert part in shown, f"{part} lost on the way through sign-in: {shown}"
    page.get_by_text("Amount billed").first.wait_for(timeout=60_000)  # the revenue metric's description
    context.close()


def test_removing_someone_from_allow_takes_effect_without_a_restart(
    served: dict[str, Any], browser: Any
) -> None:
    base, project_yaml = served["base"], served["config"] / "project.yaml"
    original = project_yaml.read_text()
    context = browser.new_context(viewport={"width": 1440, "height": 1200})
    page = context.new_page()
    frames = _listen(page)
    try:
        _sign_in_as(page, base, ALLOWED)
        page.get_by_role("heading", name="OKRs", level=1).wait_for(timeout=90_000)
        allow = '  allow: [PM@acme.example, "@friends.example", "@acme.example"]\n'
        assert allow in original
        assert frames
        project_yaml.write_text(original.replace(allow, '  allow: ["@friends.example"]\n'))
        # The next visit, with the same signed-in session cookie, in a tab of its own: frames of the
        # first tab's run, which began while the person was still allowed, may still be on their way
        # (seen under load) and are not what this test is about.
        page.close()
        page = context.new_page()
        frames = _listen(page)
        page.goto(base + "/explorer?metric=signups")
        page.get_by_text("is not allowed to see this dashboard").wait_for(timeout=60_000)
        _settle(page)
        _assert_nothing_of_the_project(page, frames, served["words"])
    finally:
        project_yaml.write_text(original)
        context.close()

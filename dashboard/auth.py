"""The sign-in gate: the first thing the app runs, before it reads anything of the project.

`northstar serve` turns sign-in on (NORTHSTAR_SIGN_IN=oidc and a `[northstar]` and an `[auth]`
section in Streamlit's secrets, written by `dashboard/server.py`); an `[auth]` section in the
secrets alone turns it on too. With sign-in on, a visitor who has not signed in sees a page with a
"Sign in" button (Streamlit's `st.login`, the OIDC provider of project.yaml's `auth:`), and a
signed-in person whom `allow` does not list (`dashboard.access.is_allowed`, against `allow` as
project.yaml says it now: `allow_list`) sees a refusal and a "Sign out" button. Neither page holds
anything of the project: not its name, a metric or a number.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

import streamlit as st

from dashboard import escape
from dashboard.access import is_allowed

GATE_CSS = """
<style>
  [data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"] { display: none !important; }
</style>
"""


def _section(name: str) -> dict[str, Any] | None:
    try:
        value = st.secrets.get(name)
    except Exception:  # no secrets file at all, or an unreadable one
        return None
    return dict(value) if value is not None else None


def sign_in_required() -> bool:
    return os.environ.get("NORTHSTAR_SIGN_IN", "").strip().lower() == "oidc" or _section("auth") is not None


def _started_allow() -> list[str]:
    settings = _section("northstar") or {}
    allow = settings.get("allow")
    return [str(a) for a in allow] if isinstance(allow, list) else []


@functools.lru_cache(maxsize=4)
def _allow_in_file(folder: str, stamp: tuple[tuple[str, int, int], ...]) -> tuple[str, ...] | None:
    from metrics.load import load_project

    try:
        project = load_project(Path(folder), check_data=False, check_values=False)
    except Exception:  # load_project reports problems rather than raising; this is belt and braces
        return None
    auth = project.settings.auth
    return None if auth is None else tuple(auth.allow)


def allow_list(folder: Path | None) -> list[str]:
    """Who may see the dashboard now: `auth.allow` as project.yaml says it at this moment (re-read when
    a project file changes), so removing someone takes effect on their next click, not at the next
    restart. When project.yaml has no valid `auth:` block any more (a typo, or the block deleted),
    the list the server started with applies: an edit can never open the dashboard to everyone."""
    started = _started_allow()
    if folder is None:
        return started
    from dashboard.cache import yaml_stamp

    current = _allow_in_file(str(folder), yaml_stamp(str(folder)))
    return list(current) if current is not None else started


def gate(folder: Path | None = None) -> str | None:
    """Stop this run unless the visitor may see the project; the signed-in email (None when sign-in
    is off). `folder`: the project's config folder, whose project.yaml says who is allowed now."""
    if not sign_in_required():
        return None
    if _section("auth") is None:  # told to require sign-in but given no provider: refuse everyone
        st.error("Sign-in is required here but not configured; start the dashboard with `northstar serve`.")
        st.stop()
    if not st.user.is_logged_in:
        st.markdown(GATE_CSS, unsafe_allow_html=True)
        st.title("Northstar")
        st.write("Sign in to see this dashboard.")
        if st.button("Sign in", type="primary", icon=":material/login:"):
            st.login()
        st.stop()
    email = st.user.get("email")
    if not is_allowed(email, st.user.get("email_verified"), allow_list(folder)):
        st.markdown(GATE_CSS, unsafe_allow_html=True)
        st.title("Northstar")
        who = escape.markdown_code(email) if isinstance(email, str) and email else "This account"
        st.error(
            f"{who} is not allowed to see this dashboard. Ask its owner to add you, or sign out "
            "and sign in with another account.",
            icon=":material/block:",
        )
        if st.button("Sign out", icon=":material/logout:"):
            st.logout()
        st.stop()
    return str(email)


def signed_in_box(email: str) -> None:
    """Who is signed in, and the way out, at the foot of the sidebar."""
    with st.sidebar:
        st.caption(f"Signed in as {escape.markdown_code(email)}")
        if st.button("Sign out", icon=":material/logout:", key="_sign_out"):
            st.logout()

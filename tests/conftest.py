"""Shared test helpers: services and Chromium skip on a laptop but fail loudly in CI (CI=true)."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
ROOT = Path(__file__).resolve().parent.parent
SERVICES = {"postgres": ("127.0.0.1", 5432), "mariadb": ("127.0.0.1", 3306)}
POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
MARIADB_URL = "mysql+pymysql://root@127.0.0.1:3306/test"
CHROMIUM = "/usr/bin/chromium"
# Without the networking flags Chromium keeps dialling out on this closed network.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def require_service(name: str) -> None:
    """Skip when the service is down on a laptop; fail when CI=true."""
    if name == "chromium":
        if shutil.which(CHROMIUM) or Path(CHROMIUM).exists():
            return
        message = f"Chromium is not installed at {CHROMIUM} (apt-get install -y chromium)"
    else:
        host, port = SERVICES[name]
        if _reachable(host, port):
            return
        message = f"{name} is not reachable at {host}:{port}"
    if IN_CI:
        pytest.fail(f"{message}; CI=true requires it", pytrace=False)
    pytest.skip(message)


@pytest.fixture
def postgres_url() -> str:
    require_service("postgres")
    return POSTGRES_URL


@pytest.fixture
def mariadb_url() -> str:
    require_service("mariadb")
    return MARIADB_URL


@pytest.fixture
def chromium_path() -> str:
    require_service("chromium")
    return CHROMIUM


DEMO_END = dt.date(2026, 11, 20)


@pytest.fixture(scope="session")
def small_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped config/ on a small generated demo (30k events ending DEMO_END): returns the config dir.

    Layout mirrors the repo (config/ beside data/demo/) so the shipped relative paths resolve.
    """
    from metrics.demo.generate import generate_demo

    root = tmp_path_factory.mktemp("demo")
    generate_demo(root / "data" / "demo", events=30_000, seed=7, end=DEMO_END)
    (root / "config").mkdir()
    for path in (ROOT / "config").glob("*.yaml"):
        (root / "config" / path.name).write_text(path.read_text())
    return root / "config"


@pytest.fixture(scope="module")
def made_today() -> Iterator[dt.date]:
    """Today pinned (`NORTHSTAR_TODAY`) to the day after the last day of `app_support.make_demo`'s
    demo, for a module's tests and the fixtures they share: `pytestmark =
    pytest.mark.usefixtures("made_today")`. Served app processes get it from `app_support.pinned_env`."""
    from metrics.definitions.clock import TODAY_VARIABLE
    from tests.app_support import MADE_TODAY

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(TODAY_VARIABLE, MADE_TODAY.isoformat())
        yield MADE_TODAY


@pytest.fixture(scope="session", autouse=True)
def _user_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> None:
    """`validate` keeps GX's verdicts in the user's cache folder: in tests, a temporary one (inherited
    by the subprocesses tests start), never the real ~/.cache."""
    os.environ["NORTHSTAR_CACHE_DIR"] = str(tmp_path_factory.mktemp("user-cache"))
    # Every test computes from the data, not from an answer another test (or an earlier state of a
    # database in the same test) left in the result store: a second compute after a change must run
    # its own statement. The store's own tests pass a store of their own (tests/test_result_store.py).
    os.environ["NORTHSTAR_RESULT_STORE"] = "off"

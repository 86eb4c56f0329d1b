"""Browser tests: the real service (``audit serve`` in a process of its own, on a store made
from the shipped county), driven by Playwright in Debian's Chromium.

Chromium must be at /usr/bin/chromium (``apt-get install chromium``; ``.ci/run`` installs
it): these tests fail, they do not skip, when it is missing, so a green run always means
the browser ran. Set AUDIT_BROWSER=/path/to/chromium to use another build.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import COUNTY

CHROMIUM = os.environ.get("AUDIT_BROWSER", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
USERS = {"inspector1": "inspector", "inspector2": "inspector", "finance1": "finance", "finance2": "finance",
         "disclosure1": "disclosure", "admin1": "admin"}


def password(name: str) -> str:
    return f"demo-password-{name}"


@dataclass(frozen=True)
class Live:
    base: str
    database_url: str
    env: dict[str, str]

    def rows(self, sql: str, **params: Any) -> list[tuple[Any, ...]]:
        """Rows of a query on the live store (as the service's role on PostgreSQL)."""
        from sqlalchemy import create_engine, text
        from sqlalchemy.pool import NullPool

        engine = create_engine(self.database_url, poolclass=NullPool)
        try:
            with engine.connect() as conn:
                return [tuple(row) for row in conn.execute(text(sql), params)]
        finally:
            engine.dispose()

    def audit(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "audit", *args], env=self.env, input=stdin, text=True,
                              capture_output=True, timeout=600, check=True)


def _postgres_live(owner_url: str) -> tuple[str, str]:
    """A database of the browser tests' own beside the suite's: (service URL, owner URL)."""
    from sqlalchemy import create_engine, make_url, text

    owner = make_url(owner_url)
    name = f"{owner.database}_live"
    admin = create_engine(owner.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    live_owner = owner.set(database=name)
    service = live_owner.set(username="audit_app", password=None)
    return service.render_as_string(hide_password=False), live_owner.render_as_string(hide_password=False)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """The service on the shipped county, detection run, one user per role, served."""
    folder = tmp_path_factory.mktemp("live")
    env = {**os.environ, "AUDIT_LOG_CHECKPOINT_PATH": str(folder / "checkpoints.jsonl"), "COLUMNS": "200"}
    owner = os.environ.get("AUDIT_TEST_DATABASE_URL")
    if owner:
        # On the PostgreSQL pass the service runs as it would in production: its own
        # database, migrated by the owner, served as the service's role.
        url, migration_url = _postgres_live(owner)
        env.update({"AUDIT_DATABASE_URL": url, "AUDIT_MIGRATION_DATABASE_URL": migration_url,
                    "AUDIT_ENV": "production"})
    else:
        url = f"sqlite:///{folder / 'live.db'}"
        env.update({"AUDIT_DATABASE_URL": url, "AUDIT_ENV": "development"})
        env.pop("AUDIT_MIGRATION_DATABASE_URL", None)
    port = _free_port()
    service = Live(f"http://127.0.0.1:{port}", url, env)
    service.audit("db", "upgrade")
    if owner:
        service.audit("db", "create-roles", "--role", "audit_app")
    service.audit("import", str(COUNTY))
    service.audit("detect")
    for name, role in USERS.items():
        service.audit("users", "create", name, "--role", role, "--password-stdin", stdin=password(name) + "\n")
    server = subprocess.Popen([sys.executable, "-m", "audit", "serve", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{service.base}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            raise RuntimeError("the service did not start: " + (server.stderr.read(4000).decode() if server.stderr
                                                                 else ""))
        yield service
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Chromium, for one module: Playwright's sync API keeps an event loop running in the
    main thread while it is open, which later tests' asyncio.run() would trip over."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is not at {CHROMIUM}: install Debian's chromium (apt-get install chromium), "
                    "as .ci/run does", pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield launched
        launched.close()


class Watched:
    """A page whose console errors, failed or foreign requests and server errors are kept."""

    def __init__(self, page: Any, base: str) -> None:
        self.page = page
        self.base = base
        self.console_errors: list[str] = []
        self.foreign: list[str] = []
        self.server_errors: list[str] = []
        page.on("console", lambda message: self.console_errors.append(message.text)
                if message.type == "error" else None)
        page.on("pageerror", lambda error: self.console_errors.append(str(error)))
        page.on("request", lambda request: self.foreign.append(request.url)
                if not request.url.startswith((base, "data:", "blob:", "about:")) else None)
        page.on("response", lambda response: self.server_errors.append(f"{response.status} {response.url}")
                if response.status >= 500 else None)

    def problems(self) -> list[str]:
        return ([f"console: {e}" for e in self.console_errors] + [f"foreign request: {u}" for u in self.foreign]
                + [f"server error: {s}" for s in self.server_errors])


def sign_in(browser: Any, live: Live, name: str, viewport: dict[str, int] | None = None) -> Watched:
    context = browser.new_context(viewport=viewport or {"width": 1360, "height": 900}, locale="zh-CN",
                                  accept_downloads=True)
    watched = Watched(context.new_page(), live.base)
    page = watched.page
    page.goto(f"{live.base}/")
    assert page.url.startswith(f"{live.base}/login"), page.url
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", password(name))
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert not page.url.startswith(f"{live.base}/login"), page.content()[:500]
    return watched


def sign_out(watched: Watched) -> None:
    watched.page.click("header form button[type=submit]")
    watched.page.wait_for_load_state("networkidle")
    watched.page.context.close()

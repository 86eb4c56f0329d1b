"""Test databases: SQLite by default, PostgreSQL when AUDIT_TEST_DATABASE_URL names one.

Every database is built with ``alembic upgrade head`` (never ``create_all``), once per run,
and emptied before each test.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.engine import make_url

from audit.config import get_settings
from audit.db import make_engine
from audit.migrate import upgrade
from audit.models import AuditEntry, Base
from tests.sweep import SWEEP, SweepHandler, SweptApp

# A long key of the tests' own: PostgreSQL counts as production, which refuses the default.
os.environ.setdefault("AUDIT_LOG_KEY", "test-suite-log-key-" + "k" * 40)
# The role the service connects as on PostgreSQL (``audit db create-roles``): it may append
# to the audit trail but not alter, disable, truncate or own it. The suite runs as it.
SERVICE_ROLE = "audit_app"

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"
COUNTY = FIXTURES / "county-small"
BAD = FIXTURES / "county-small-bad"


@pytest.fixture(scope="session")
def owner_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The database as its owner sees it: migrations run as the owner, and so do the
    harness's cleanups and the tests that tamper as an attacker with owner rights."""
    url = os.environ.get("AUDIT_TEST_DATABASE_URL")
    if not url:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'audit-test.db'}"
    else:
        name = make_url(url).database or ""
        # The suite drops everything in this database: refuse one not meant for tests.
        if "test" not in name:
            raise pytest.UsageError(f"AUDIT_TEST_DATABASE_URL must name a test database, not {name!r}")
        engine = make_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    upgrade("head", url)
    if url.startswith("postgresql"):
        from audit.roles import create_service_role

        engine = make_engine(url)
        with engine.begin() as conn:
            create_service_role(conn, SERVICE_ROLE)
        engine.dispose()
    return url


@pytest.fixture(scope="session")
def database_url(owner_url: str) -> str:
    """The database as the service connects to it: on PostgreSQL its own role."""
    if not owner_url.startswith("postgresql"):
        return owner_url
    return make_url(owner_url).set(username=SERVICE_ROLE, password=None).render_as_string(hide_password=False)


def empty_all(engine: Engine) -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            # The audit trail refuses TRUNCATE; only the test harness lifts that, and only here.
            conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
            conn.execute(text("ALTER TABLE audit_log ENABLE TRIGGER USER"))
        else:
            for table in tables:
                conn.execute(text(f"DELETE FROM {table}"))
        # The county-level unit every user joins by default, as migration 0007 made it.
        conn.execute(text("INSERT INTO units (id, name, scope) VALUES (1, '县级', 'county')"))
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT setval(pg_get_serial_sequence('units', 'id'), 1)"))


def tamper(engine: Engine, *statements: Any) -> None:
    """Change the audit trail as an attacker with the table owner's rights would. On
    PostgreSQL the service's own role may not (permission denied), so this connects as
    the owner (``AUDIT_MIGRATION_DATABASE_URL``, set by the ``engine`` fixture) and lifts
    the table's append-only trigger for the change."""
    if engine.dialect.name != "postgresql":
        with engine.begin() as conn:
            for statement in statements:
                conn.execute(statement)
        return
    owner = make_engine(os.environ["AUDIT_MIGRATION_DATABASE_URL"])
    try:
        with owner.begin() as conn:
            conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
            for statement in statements:
                conn.execute(statement)
            conn.execute(text("ALTER TABLE audit_log ENABLE TRIGGER USER"))
    finally:
        owner.dispose()


@pytest.fixture
def owner_engine(owner_url: str) -> Iterator[Engine]:
    engine = make_engine(owner_url)
    yield engine
    engine.dispose()


@pytest.fixture
def engine(database_url: str, owner_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Engine]:
    monkeypatch.setenv("AUDIT_DATABASE_URL", database_url)
    monkeypatch.setenv("AUDIT_MIGRATION_DATABASE_URL", owner_url)
    # Checkpoints of this test's trail only: the next test empties the database again.
    monkeypatch.setenv("AUDIT_LOG_CHECKPOINT_PATH", str(tmp_path / "audit-checkpoints.jsonl"))
    get_settings.cache_clear()
    owner = make_engine(owner_url)
    empty_all(owner)
    owner.dispose()
    engine = make_engine(database_url)
    yield engine
    with engine.connect() as conn:  # the trail this test wrote, for the sweep
        entries = conn.execute(select(AuditEntry.id, AuditEntry.action, AuditEntry.subject, AuditEntry.detail)).all()
    # Swept once the connection is closed: the sweep reads the store's accounts on a
    # connection of its own, which on SQLite would wait 60 s for this one's turn and then
    # count every Luhn-valid code (a household ID) as a card number.
    for entry in entries:
        SWEEP.audit_entry(entry.id, entry.action, entry.subject, entry.detail)
    engine.dispose()
    get_settings.cache_clear()


@pytest.fixture(scope="session", autouse=True)
def sweep_everything() -> Iterator[None]:
    """Route every test client's responses and every log record through the sweep."""
    from starlette.testclient import TestClient

    original = TestClient.__init__

    def swept_init(self: Any, app: Any, *args: Any, **kwargs: Any) -> None:
        original(self, app if isinstance(app, SweptApp) else SweptApp(app), *args, **kwargs)

    handler = SweepHandler()
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)  # what a deployment logs
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(TestClient, "__init__", swept_init)
        yield
    root.removeHandler(handler)
    root.setLevel(level)


@pytest.fixture(autouse=True)
def no_unmasked_id_numbers() -> Iterator[None]:
    """Fails the test during which a full ID or card number reached anyone but an inspector."""
    SWEEP.take()
    yield
    leaks = SWEEP.take()
    if leaks:
        pytest.fail("unmasked ID or card numbers outside an inspector's view:\n" + "\n".join(leaks[:20]), pytrace=False)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    terminalreporter.write_line(
        f"ID- and card-number sweep: {SWEEP.responses} responses, {SWEEP.log_lines} log lines and "
        f"{SWEEP.audit_entries} audit-trail entries searched")


def row_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
                for t in Base.metadata.sorted_tables}


def data_counts(engine: Engine) -> dict[str, int]:
    """Rows in the interchange tables (bookkeeping tables excluded)."""
    from audit.importer.spec import TABLES

    counts = row_counts(engine)
    return {spec.name: counts[spec.name] for spec in TABLES}


@pytest.fixture
def county_copy(tmp_path: Path) -> Path:
    """A writable copy of the shipped county, for tests that alter it."""
    target = tmp_path / "county"
    shutil.copytree(COUNTY, target, ignore=shutil.ignore_patterns("truth.json"))
    return target


PASSWORD = "correct horse battery"


def logged_in(engine: Engine, users: dict[str, str], units: dict[str, str] | None = None
              ) -> tuple[Any, dict[str, dict[str, str]]]:
    """A test client of the service and a bearer header per user ({name: role}), each in
    the county's unit or the one ``units`` names. Machine users get an API token."""
    from fastapi.testclient import TestClient

    from audit.api.app import create_app
    from audit.auth.service import create_user, issue_token

    tokens: dict[str, str] = {}
    with engine.begin() as conn:
        for name, role in users.items():
            user_id = create_user(conn, name, role, PASSWORD, unit=(units or {}).get(name))
            if role == "machine":
                tokens[name], _ = issue_token(conn, user_id, "api", "test")
    client = TestClient(create_app())
    headers = {}
    for name in users:
        if name not in tokens:
            response = client.post("/api/auth/login", json={"name": name, "password": PASSWORD})
            assert response.status_code == 200, response.text
            tokens[name] = response.json()["access_token"]
        headers[name] = {"Authorization": f"Bearer {tokens[name]}"}
    return client, headers

"""Engine and session construction, the same for SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from audit.config import get_settings

_engines: dict[str, Engine] = {}


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # noqa: ANN001 - DB-API types
    cursor = dbapi_connection.cursor()
    # Foreign keys are off by default in SQLite; the schema relies on them.
    cursor.execute("PRAGMA foreign_keys=ON")
    # WAL lets readers (the API) see the last committed state while an import runs.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA cache_size=-200000")
    cursor.close()
    # Let SQLAlchemy, not the driver, decide when a transaction begins (see _sqlite_begin):
    # the driver's lazy BEGIN would leave DDL such as staging tables outside the transaction.
    dbapi_connection.isolation_level = None


def _sqlite_begin(conn) -> None:  # noqa: ANN001
    # IMMEDIATE takes the write lock at the start: a transaction that reads first and writes
    # later (a request: token lookup, then the change) would otherwise fail at once with
    # SQLITE_BUSY when another writer commits in between. Writers queue instead (up to the
    # 60 s busy timeout); PostgreSQL is the database for concurrent production use.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 60})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=get_settings().pool_size, max_overflow=20)


def get_engine(url: str | None = None) -> Engine:
    url = url or get_settings().database_url
    if url not in _engines:
        _engines[url] = make_engine(url)
    return _engines[url]


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


@contextmanager
def session_scope(url: str | None = None) -> Iterator[Session]:
    """A unit of work for commands: commits on success, rolls back on any error."""
    session = sessionmaker(bind=get_engine(url), expire_on_commit=False)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()

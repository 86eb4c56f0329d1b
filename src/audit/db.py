"""Engine and session construction, the same for SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import DBAPIError
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
    # PostgreSQL has md5(); the keyed ordering of masked reads (records.service) needs it here too.
    dbapi_connection.create_function("md5", 1, _md5, deterministic=True)
    # Let SQLAlchemy, not the driver, decide when a transaction begins (see _sqlite_begin):
    # the driver's lazy BEGIN would leave DDL such as staging tables outside the transaction.
    dbapi_connection.isolation_level = None


def _md5(value: Any) -> str | None:
    return None if value is None else hashlib.md5(str(value).encode(), usedforsecurity=False).hexdigest()


SQLITE_WAIT_SECONDS = 60


class _Turns:
    """The transactions on one SQLite file within this process, taking turns in the order
    they arrived. SQLite's own busy handler makes a waiting writer sleep and retry, so
    under load an unlucky request can lose the race again and again (seen: 9 s at p99
    with 20 clients); a queue served first come, first served does not starve anyone."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._waiting: deque[threading.Event] = deque()
        self._taken = False

    def take(self) -> None:
        with self._guard:
            if not self._taken:
                self._taken = True
                return
            turn = threading.Event()
            self._waiting.append(turn)
        if turn.wait(SQLITE_WAIT_SECONDS):
            return
        with self._guard:
            if turn.is_set():  # handed over just as the wait ran out
                return
            self._waiting.remove(turn)
        raise sqlite3.OperationalError(f"database is locked: no turn within {SQLITE_WAIT_SECONDS} s")

    def give_back(self) -> None:
        with self._guard:
            if self._waiting:
                self._waiting.popleft().set()  # the turn passes straight to the next in line
            else:
                self._taken = False


_turns: dict[str, _Turns] = {}
_turns_guard = threading.Lock()


def _turns_for(path: str) -> _Turns:
    with _turns_guard:
        return _turns.setdefault(path, _Turns())


class _TurnTakingConnection(sqlite3.Connection):
    """A DB-API connection that gives its turn back once its transaction has ended."""

    turns: _Turns | None = None
    holds_turn = False

    def _end(self, finish: Any) -> None:
        try:
            finish()
        finally:
            if self.holds_turn and self.turns is not None:
                self.holds_turn = False
                self.turns.give_back()

    def commit(self) -> None:
        self._end(super().commit)

    def rollback(self) -> None:
        self._end(super().rollback)

    def close(self) -> None:
        self._end(super().close)


def _sqlite_begin(conn) -> None:  # noqa: ANN001
    # IMMEDIATE takes the write lock at the start: a transaction that reads first and writes
    # later (a request: token lookup, then the change) would otherwise fail at once with
    # SQLITE_BUSY when another writer commits in between. Writers queue instead: in this
    # process in arrival order (_Turns), across processes on SQLite's 60 s busy timeout.
    # PostgreSQL is the database for concurrent production use.
    dbapi = conn.connection.driver_connection
    if conn.info.get("read_only"):
        # A reader in WAL mode sees the last committed state beside a writer: no turn,
        # no write lock (see audit.api.deps.get_read_connection).
        conn.exec_driver_sql("BEGIN DEFERRED")
        return
    if isinstance(dbapi, _TurnTakingConnection) and dbapi.turns is not None and not dbapi.holds_turn:
        dbapi.turns.take()
        dbapi.holds_turn = True
    try:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    except BaseException:
        if isinstance(dbapi, _TurnTakingConnection):
            dbapi.rollback()  # nothing to undo; gives the turn back
        raise


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": SQLITE_WAIT_SECONDS, "factory": _TurnTakingConnection})
        turns = _turns_for(engine.url.database or ":memory:")

        def _with_turns(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.turns = turns

        event.listen(engine, "connect", _with_turns)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=get_settings().pool_size, max_overflow=20)


def get_engine(url: str | None = None) -> Engine:
    url = url or get_settings().database_url
    if url not in _engines:
        _engines[url] = make_engine(url)
    return _engines[url]


def dispose_engines_not_for(url: str) -> None:
    """Drop the engines of other databases (a worker process given new settings)."""
    for other in [u for u in _engines if u != url]:
        _engines.pop(other).dispose()


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


@contextmanager
def read_connection(url: str | None = None) -> Iterator[Any]:
    """A connection whose transaction only reads, rolled back at the end. On SQLite it
    begins DEFERRED and takes no turn: in WAL mode it reads the last committed state
    while a writer (an import) holds the write lock, instead of queueing behind it."""
    with get_engine(url).connect() as conn:
        # The info dict belongs to the pooled DB-API connection: set for this checkout only.
        conn.info["read_only"] = True
        try:
            with conn.begin() as transaction:
                try:
                    yield conn
                finally:
                    transaction.rollback()
        finally:
            conn.info.pop("read_only", None)


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


LIKE_ESCAPE = "\\"


def contains_pattern(text: str) -> str:
    """A LIKE pattern matching ``text`` anywhere, its wildcards taken literally (use with
    ``escape=LIKE_ESCAPE``)."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def may_set_temp_file_limit(conn: Connection) -> bool:
    """Whether this session may set ``temp_file_limit`` (a superuser's setting: a superuser,
    or on PostgreSQL 15 and later a role granted SET on it, as ``audit db create-roles`` does)."""
    if conn.exec_driver_sql("SHOW is_superuser").scalar_one() == "on":
        return True
    if int(conn.exec_driver_sql("SHOW server_version_num").scalar_one()) < 150000:
        return False
    return bool(conn.exec_driver_sql("SELECT has_parameter_privilege('temp_file_limit', 'SET')").scalar_one())


@contextmanager
def temp_file_bound(conn: Connection, megabytes: int) -> Iterator[bool]:
    """PostgreSQL: each statement on ``conn`` inside the block may write at most ``megabytes``
    of temporary files (``temp_file_limit``; the server stops the one that would write more).
    Yields whether the bound is in force: 0 sets none, SQLite has none, and a role that may
    not set it (a server older than 15 where the service is no superuser) runs unbounded."""
    if conn.dialect.name != "postgresql" or megabytes <= 0 or not may_set_temp_file_limit(conn):
        yield False
        return
    previous = conn.exec_driver_sql("SHOW temp_file_limit").scalar_one()
    conn.exec_driver_sql(f"SET LOCAL temp_file_limit = '{int(megabytes)}MB'")
    try:
        yield True
    finally:
        if not conn.invalidated and conn.in_transaction():
            try:
                conn.exec_driver_sql("SELECT set_config('temp_file_limit', %(v)s, true)", {"v": previous})
            except DBAPIError:  # the transaction failed (the bound itself): it is rolled back anyway
                pass


@contextmanager
def work_memory(conn: Connection, megabytes: int) -> Iterator[None]:
    """PostgreSQL: the statements on ``conn`` inside the block may each sort or hash up to
    ``megabytes`` in memory before spilling to temporary files (``work_mem``, which any role
    may set; 0 keeps the server's). SQLite's page cache is set once per connection."""
    if conn.dialect.name != "postgresql" or megabytes <= 0:
        yield
        return
    previous = conn.exec_driver_sql("SHOW work_mem").scalar_one()
    conn.exec_driver_sql(f"SET LOCAL work_mem = '{int(megabytes)}MB'")
    try:
        yield
    finally:
        if not conn.invalidated and conn.in_transaction():
            try:
                conn.exec_driver_sql("SELECT set_config('work_mem', %(v)s, true)", {"v": previous})
            except DBAPIError:
                pass


@contextmanager
def statement_deadline(conn: Connection, seconds: float) -> Iterator[None]:
    """Statements on ``conn`` inside the block are stopped after ``seconds`` (each one on
    PostgreSQL, all of them together on SQLite): the database raises, as it does for any
    cancelled statement, and the block's caller says what was stopped."""
    if conn.dialect.name == "postgresql":
        previous = conn.exec_driver_sql("SHOW statement_timeout").scalar_one()
        conn.exec_driver_sql(f"SET LOCAL statement_timeout = {max(1, int(seconds * 1000))}")
        try:
            yield
        finally:
            if not conn.invalidated and conn.in_transaction():
                try:
                    conn.exec_driver_sql("SELECT set_config('statement_timeout', %(v)s, true)", {"v": previous})
                except DBAPIError:  # the transaction failed (the timeout itself): it is rolled back anyway
                    pass
        return
    raw = conn.connection.driver_connection
    deadline = time.monotonic() + seconds
    # SQLite calls this every N virtual-machine steps; a true answer interrupts the statement.
    raw.set_progress_handler(lambda: time.monotonic() > deadline, 20_000)
    try:
        yield
    finally:
        raw.set_progress_handler(None, 0)

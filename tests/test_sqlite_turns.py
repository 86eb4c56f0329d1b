"""SQLite transactions in one process take turns first come, first served (audit.db._Turns)."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from audit import db


def test_waiting_transactions_are_served_in_arrival_order() -> None:
    turns = db._Turns()
    turns.take()
    served: list[int] = []

    def wait_then_serve(number: int) -> None:
        turns.take()
        served.append(number)
        turns.give_back()

    threads = []
    for number in range(5):
        thread = threading.Thread(target=wait_then_serve, args=(number,))
        thread.start()
        threads.append(thread)
        time.sleep(0.05)  # arrive one after another
    assert served == []  # all wait while the first holds its turn
    turns.give_back()
    for thread in threads:
        thread.join(5)
    assert served == [0, 1, 2, 3, 4]


def test_a_wait_past_the_limit_fails_as_a_locked_database(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(db, "SQLITE_WAIT_SECONDS", 0.1)
    turns = db._Turns()
    turns.take()
    with pytest.raises(sqlite3.OperationalError, match="database is locked"):
        turns.take()
    turns.give_back()
    turns.take()  # the timed-out waiter left the queue: the turn is free again


def test_a_second_connection_begins_only_after_the_first_commits(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'turns.db'}"
    first_engine, second_engine = db.make_engine(url), db.make_engine(url)
    with first_engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (n INTEGER)"))
    events: list[str] = []

    def second() -> None:
        with second_engine.begin() as conn:
            events.append("second began")
            conn.execute(text("INSERT INTO t VALUES (2)"))

    with first_engine.begin() as conn:
        conn.execute(text("INSERT INTO t VALUES (1)"))
        thread = threading.Thread(target=second)
        thread.start()
        time.sleep(0.2)
        events.append("first commits")
    thread.join(10)
    assert events == ["first commits", "second began"]
    with first_engine.connect() as conn:
        assert conn.execute(text("SELECT n FROM t ORDER BY n")).scalars().all() == [1, 2]
    first_engine.dispose()
    second_engine.dispose()

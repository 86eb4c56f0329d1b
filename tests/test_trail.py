"""The audit trail's checkpoints: written every N entries and at a stop, naming committed
entries only, and what verification makes of a trail whose tail was deleted, that was
emptied, rewritten under the default key, or whose checkpoint file was forged. On
PostgreSQL the tampering is done as an attacker with the table owner's rights would: with
the append-only trigger lifted."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, select, update

from audit import trail
from audit.api.deps import get_connection
from audit.config import get_settings
from audit.models import AuditEntry
from tests.conftest import logged_in, tamper


def commit_entries(engine: Engine, count: int, action: str = "test") -> None:
    """``count`` entries, each in a transaction of its own followed by the service's
    after-commit check, as requests would leave them."""
    for n in range(count):
        with engine.connect() as conn:
            with conn.begin():
                trail.append(conn, "tester", action, f"thing {n}", {"n": n})
            trail.maybe_checkpoint(conn)


def verify(engine: Engine) -> trail.Verdict:
    with engine.connect() as conn:
        return trail.verify(conn)


def written(engine: Engine) -> list[dict[str, Any]]:
    path = trail.checkpoint_file(engine)
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.fixture
def trail_of_45(engine: Engine) -> Engine:
    """45 honest entries: checkpoints at 20 and 40 on the way, and at 45 when it stops."""
    commit_entries(engine, 45)
    assert trail.checkpoint(engine) is not None
    assert [c["head_id"] for c in written(engine)] == [20, 40, 45]
    return engine


def test_an_honest_trail_checkpoints_every_n_entries_and_at_a_stop_and_verifies(
        engine: Engine, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="audit.trail"):
        commit_entries(engine, 45)
    logged = [r.getMessage() for r in caplog.records if r.name == "audit.trail"]
    assert [c["head_id"] for c in written(engine)] == [20, 40]
    assert trail.checkpoint(engine).head_id == 45  # a stop: the head moved at all
    assert trail.checkpoint(engine) is None  # ... and did not move since
    lines = written(engine)
    with engine.connect() as conn:
        hashes = dict(conn.execute(select(AuditEntry.id, AuditEntry.hash)).all())
    assert [(c["entries"], c["head_hash"]) for c in lines] == [(20, hashes[20]), (40, hashes[40]), (45, hashes[45])]
    assert set(lines[0]) == {"entries", "head_id", "head_hash", "at", "hmac"}
    assert len(logged) == 2 and json.loads(logged[0].split(" ", 2)[2]) == lines[0]
    verdict = verify(engine)
    assert verdict.ok and verdict.entries == 45 and verdict.checkpoint.head_id == 45
    assert verdict.reason.startswith("it matches the checkpoint of ")
    commit_entries(engine, 3)  # entries past the last checkpoint are the chain's to vouch for
    assert verify(engine).ok


def test_no_checkpoint_file_yet_is_no_error_and_says_so(engine: Engine) -> None:
    commit_entries(engine, 3)
    verdict = verify(engine)
    assert verdict.ok and verdict.entries == 3 and verdict.checkpoint is None
    assert verdict.reason.startswith("no checkpoint file at ") and str(trail.checkpoint_file(engine)) in verdict.reason


def test_deleting_the_last_entries_is_named(trail_of_45: Engine) -> None:
    engine = trail_of_45
    tamper(engine, AuditEntry.__table__.delete().where(AuditEntry.id > 44))
    assert verify(engine).reason.startswith("entry 45 is gone: the checkpoint of ")
    tamper(engine, AuditEntry.__table__.delete().where(AuditEntry.id > 40))
    verdict = verify(engine)
    assert not verdict.ok and verdict.first_bad == 41 and verdict.entries == 40
    assert verdict.reason.startswith("entries 41…45 are gone: the checkpoint of ")
    assert verdict.reason.endswith(" saw 45") and verdict.checkpoint.when in verdict.reason


def test_deleting_every_entry_is_named(trail_of_45: Engine) -> None:
    engine = trail_of_45
    tamper(engine, AuditEntry.__table__.delete())
    verdict = verify(engine)
    assert not verdict.ok and verdict.first_bad == 1 and verdict.entries == 0
    assert verdict.reason.startswith("the log is empty: entries 1…45 are gone: the checkpoint of ")
    assert trail.checkpoint(engine) is None  # an empty log is nothing to record


def test_a_chain_rewritten_under_the_default_key_is_named(trail_of_45: Engine) -> None:
    engine = trail_of_45
    # The attacker knows the key (the default one, or a leaked one): the chain alone holds.
    with engine.connect() as conn:
        rows = conn.execute(select(AuditEntry).order_by(AuditEntry.id)).all()
    # Entry 5 says something else, and every hash from there on is recomputed with the key.
    statements, prev = [], rows[3].hash
    for row in rows[4:]:
        detail = {"n": "rewritten"} if row.id == 5 else row.detail
        digest = trail._digest(row.id, row.at, row.actor, row.action, row.subject, detail, prev)
        statements.append(update(AuditEntry).where(AuditEntry.id == row.id)
                          .values(detail=detail, prev_hash=prev, hash=digest))
        prev = digest
    tamper(engine, *statements)
    verdict = verify(engine)
    assert not verdict.ok and verdict.first_bad == 20
    assert verdict.reason.startswith("entry 20 has another hash than the checkpoint of ")
    assert verdict.reason.endswith("saw: the chain was rewritten")


def test_a_tail_deleted_and_written_again_is_named_even_after_a_later_checkpoint(trail_of_45: Engine) -> None:
    engine = trail_of_45
    tamper(engine, AuditEntry.__table__.delete().where(AuditEntry.id > 30))
    commit_entries(engine, 20, action="after")  # ids 31-50 again, chained to entry 30
    assert trail.checkpoint(engine).head_id == 50  # the service records the head it now has
    verdict = verify(engine)
    assert not verdict.ok and verdict.first_bad == 40
    assert verdict.reason.startswith("entry 40 has another hash than the checkpoint of ")
    assert "rewritten after entry 20, which the checkpoint of " in verdict.reason


def test_a_forged_checkpoint_line_is_named(trail_of_45: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = trail_of_45
    path = trail.checkpoint_file(engine)
    forged = {**written(engine)[-1], "head_id": 1000, "entries": 1000}  # the HMAC no longer fits
    own_key = get_settings().log_key
    monkeypatch.setenv("AUDIT_LOG_KEY", "someone-elses-key-" + "x" * 40)  # long: PostgreSQL is production
    get_settings.cache_clear()
    other_key = trail.Checkpoint(entries=46, head_id=46, head_hash="0" * 64, at=datetime.now(UTC)).as_json()
    monkeypatch.setenv("AUDIT_LOG_KEY", own_key)
    get_settings.cache_clear()
    with path.open("a") as file:
        file.write(json.dumps(forged) + "\n" + other_key + "\nnot json\n")
    verdict = verify(engine)
    assert not verdict.ok and verdict.first_bad is None and verdict.bad_checkpoint_lines == [4, 5, 6]
    assert verdict.checkpoint.head_id == 45  # a line that fails its HMAC is never believed
    assert f"lines 4, 5, 6 of {path} fail their HMAC: forged, or written under another key" in verdict.reason


def test_a_rolled_back_transaction_leaves_no_checkpoint_and_no_gap(engine: Engine) -> None:
    commit_entries(engine, 19)
    with engine.connect() as conn:
        transaction = conn.begin()
        for n in range(5):
            trail.append(conn, "tester", "rolled back", f"thing {n}")
        with pytest.raises(RuntimeError, match="after the commit"):
            trail.maybe_checkpoint(conn)  # inside the transaction, the head may not be committed
        transaction.rollback()
        assert trail.maybe_checkpoint(conn) is None  # the committed head is 19: under 20
    assert written(engine) == []
    assert trail.checkpoint(engine).head_id == 19
    commit_entries(engine, 1)
    with engine.connect() as conn:  # ids are dense: the rolled-back ones were given back
        assert conn.execute(select(AuditEntry.id).order_by(AuditEntry.id)).scalars().all() == list(range(1, 21))
    assert verify(engine).ok


def test_a_request_that_fails_after_appending_leaves_no_checkpoint(engine: Engine) -> None:
    """The request dependency checkpoints after its commit; a request rolled back, its
    entries with it, checkpoints nothing."""
    requests = get_connection(None)
    conn = next(requests)
    for n in range(25):
        trail.append(conn, "tester", "rolled back", f"thing {n}")
    with pytest.raises(RuntimeError, match="the route failed"):
        requests.throw(RuntimeError("the route failed"))
    assert written(engine) == [] and verify(engine).entries == 0
    requests = get_connection(None)
    conn = next(requests)
    for n in range(20):
        trail.append(conn, "tester", "committed", f"thing {n}")
    with pytest.raises(StopIteration):
        next(requests)  # the route returned: commit, then the checkpoint
    assert [(c["entries"], c["head_id"]) for c in written(engine)] == [(20, 20)]
    assert verify(engine).ok


def test_the_service_checkpoints_after_its_commits(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUDIT_LOG_CHECKPOINT_EVERY", "3")
    get_settings.cache_clear()
    client, headers = logged_in(engine, {"admin1": "admin"})  # one login: entry 1
    for _ in range(4):  # failed logins are on the trail too, committed under their 401: entries 2-5
        assert client.post("/api/auth/login", json={"name": "admin1", "password": "wrong"}).status_code == 401
    assert [c["head_id"] for c in written(engine)] == [3]
    for _ in range(2):  # entries 6 and 7
        assert client.post("/api/auth/login", json={"name": "admin1", "password": "correct horse battery"}
                           ).status_code == 200
    assert [c["head_id"] for c in written(engine)] == [3, 6]
    verdict = client.get("/api/log/verify", headers=headers["admin1"]).json()
    assert verdict["ok"] and verdict["checkpoint"]["head_id"] == 6 and verdict["bad_checkpoint_lines"] == []


def test_the_default_checkpoint_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("AUDIT_LOG_CHECKPOINT_PATH", raising=False)
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    try:
        assert trail.checkpoint_file(create_engine("sqlite:////srv/audit/store.db")) == \
            Path("/srv/audit/store-checkpoints.jsonl")
        assert trail.checkpoint_file(create_engine("postgresql+psycopg://u@h/db")) == \
            tmp_path / "audit-checkpoints.jsonl"
    finally:
        get_settings.cache_clear()


def test_every_command_that_appended_checkpoints_at_its_end(engine: Engine, database_url: str) -> None:
    def audit(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "AUDIT_DATABASE_URL": database_url, "COLUMNS": "200"}
        return subprocess.run([sys.executable, "-m", "audit", *args], input=stdin, capture_output=True, text=True,
                              env=env, timeout=120)

    made = audit("users", "create", "admin1", "--role", "admin", "--password-stdin", stdin="a long password\n")
    assert made.returncode == 0, made.stderr
    assert [c["head_id"] for c in written(engine)] == [1] and "audit-trail checkpoint" in made.stderr
    again = audit("users", "create", "admin1", "--role", "admin", "--password-stdin", stdin="a long password\n")
    assert again.returncode == 1 and len(written(engine)) == 1  # refused and rolled back: nothing new
    held = audit("log", "verify")
    assert held.returncode == 0 and "的检查点相符" in held.stdout  # the CLI speaks the catalogue's Chinese
    tamper(engine, AuditEntry.__table__.delete())
    broken = audit("log", "verify")
    assert broken.returncode == 1
    assert "审计日志自第 1 条起校验不通过：审计日志是空的：第 1 条已不存在" in broken.stderr

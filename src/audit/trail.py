"""The tamper-evident audit trail: every state change appends one entry, in the same
transaction as the change, chained to the entry before it by an HMAC-SHA256 under
``Settings.log_key``. :func:`verify` recomputes the chain and names the first entry
that was changed, deleted, reordered or inserted. On PostgreSQL the table also refuses
UPDATE, DELETE and TRUNCATE (see the 0003 migration)."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, insert, select, text, update

from audit.config import get_settings
from audit.models import AuditEntry

GENESIS = "0" * 64
TRAIL_LOCK = 727_002  # PostgreSQL advisory lock taken by every append (imports take 727_001)


def _digest(entry_id: int, at: datetime, actor: str, action: str, subject: str, detail: dict[str, Any],
            prev_hash: str) -> str:
    body = json.dumps([entry_id, at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"), actor, action, subject,
                       detail, prev_hash], ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hmac.new(get_settings().log_key.encode(), body.encode(), hashlib.sha256).hexdigest()


def append(conn: Connection, actor: str, action: str, subject: str = "", detail: dict[str, Any] | None = None
           ) -> int:
    """Append one entry on ``conn``'s transaction; returns its id."""
    detail = json.loads(json.dumps(detail or {}, ensure_ascii=False, default=str))
    at = datetime.now(UTC)
    table = AuditEntry.__table__
    if conn.dialect.name == "postgresql":
        # Writers queue here, so two entries never chain off the same predecessor. An
        # advisory lock, not LOCK TABLE: the service's role holds no right to lock the
        # trail's table in a mode that excludes writers (only to read and insert).
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": TRAIL_LOCK})
        last = conn.execute(select(table.c.id, table.c.hash).order_by(table.c.id.desc()).limit(1)).first()
        entry_id = (last.id + 1) if last else 1
        prev = last.hash if last else GENESIS
        conn.execute(insert(table).values(id=entry_id, at=at, actor=actor, action=action, subject=subject,
                                          detail=detail, prev_hash=prev,
                                          hash=_digest(entry_id, at, actor, action, subject, detail, prev)))
        return entry_id
    # SQLite: writing first takes the database's write lock before the predecessor is read.
    placeholder = f"pending-{id(conn)}-{at.timestamp()}"
    entry_id = conn.execute(insert(table).values(at=at, actor=actor, action=action, subject=subject, detail=detail,
                                                 prev_hash="", hash=placeholder).returning(table.c.id)).scalar_one()
    last = conn.execute(select(table.c.hash).where(table.c.id < entry_id).order_by(table.c.id.desc()).limit(1)
                        ).scalar_one_or_none()
    prev = last or GENESIS
    conn.execute(update(table).where(table.c.id == entry_id).values(
        prev_hash=prev, hash=_digest(entry_id, at, actor, action, subject, detail, prev)))
    return entry_id


@dataclass
class Verdict:
    entries: int
    first_bad: int | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.first_bad is None


def verify(conn: Connection) -> Verdict:
    """Walk the chain in id order; the first entry whose link or hash does not hold is named."""
    table = AuditEntry.__table__
    expected_prev, count = GENESIS, 0
    for row in conn.execute(select(table).order_by(table.c.id)):
        count += 1
        if row.prev_hash != expected_prev:
            return Verdict(count, row.id, "its link to the entry before does not match: an entry before it was "
                                          "deleted, inserted or reordered")
        at = row.at if row.at.tzinfo else row.at.replace(tzinfo=UTC)
        if _digest(row.id, at, row.actor, row.action, row.subject, row.detail, row.prev_hash) != row.hash:
            return Verdict(count, row.id, "its content does not match its hash: it was changed")
        expected_prev = row.hash
    return Verdict(count)

"""The tamper-evident audit trail: every state change appends one entry, in the same
transaction as the change, chained to the entry before it by an HMAC-SHA256 under
``Settings.log_key``. :func:`verify` recomputes the chain and names the first entry
that was changed, deleted, reordered or inserted. On PostgreSQL the table also refuses
UPDATE, DELETE and TRUNCATE (see the 0003 migration).

A chain cannot show its own end: deleting the last entries, or all of them, leaves a
shorter chain that holds, and whoever knows the key (the default one, say) can rewrite it
whole. So the service also writes checkpoints, each naming the committed head (entry
count, the head entry's id and hash, the time) under an HMAC of the same key, every
``log_checkpoint_every`` entries (:func:`maybe_checkpoint`, after a commit) and at every
stop (:func:`checkpoint`), to an append-only file and to the log (logger ``audit.trail``).
:func:`verify` then holds the table to every checkpoint: one naming an entry that is gone,
or whose entry now has another hash, gives the truncation or the rewrite away, and a line
that fails its HMAC was forged or written under another key."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import Connection, Engine, insert, select, text, update

from audit.config import get_settings
from audit.models import AuditEntry

GENESIS = "0" * 64
TRAIL_LOCK = 727_002  # PostgreSQL advisory lock taken by every append (imports take 727_001)
log = logging.getLogger(__name__)

# Set in a connection's info by append(): whether a read of the head after its commit can
# find anything new. Connection.info lives as long as the DB-API connection, so a flag
# left by a rolled-back transaction only costs one needless read, never a wrong checkpoint.
_APPENDED = "audit.trail.appended"
_appended_in_process = 0


def appended_in_process() -> int:
    """How many entries this process has appended, committed or not: lets a command tell
    at its end whether it owes a checkpoint without reading the database."""
    return _appended_in_process


def _stamp(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _digest(entry_id: int, at: datetime, actor: str, action: str, subject: str, detail: dict[str, Any],
            prev_hash: str) -> str:
    body = json.dumps([entry_id, _stamp(at), actor, action, subject, detail, prev_hash], ensure_ascii=False,
                      sort_keys=True, separators=(",", ":"))
    return hmac.new(get_settings().log_key.encode(), body.encode(), hashlib.sha256).hexdigest()


def append(conn: Connection, actor: str, action: str, subject: str = "", detail: dict[str, Any] | None = None
           ) -> int:
    """Append one entry on ``conn``'s transaction; returns its id."""
    global _appended_in_process
    _appended_in_process += 1
    conn.info[_APPENDED] = True
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



def entry_holds(row: Any) -> bool:
    """Whether a stored entry's hash is still the one its content and link give (a case file's
    verifier checks the entries it lists one by one; :func:`verify` walks the whole chain)."""
    at = row.at if row.at.tzinfo else row.at.replace(tzinfo=UTC)
    return hmac.compare_digest(_digest(row.id, at, row.actor, row.action, row.subject, row.detail, row.prev_hash),
                               row.hash)




# ---------------------------------------------------------------------- checkpoints

@dataclass(frozen=True)
class Checkpoint:
    """What the trail held at one moment: its entry count, its head entry's id and hash."""

    entries: int
    head_id: int
    head_hash: str
    at: datetime
    line: int = 0  # its line in the checkpoint file (1-based); 0 for one not read from a file

    def mac(self) -> str:
        # "checkpoint" first, so that no checkpoint's body can ever be an entry's.
        body = json.dumps(["checkpoint", self.entries, self.head_id, self.head_hash, _stamp(self.at)],
                          separators=(",", ":"))
        return hmac.new(get_settings().log_key.encode(), body.encode(), hashlib.sha256).hexdigest()

    def as_json(self) -> str:
        return json.dumps({"entries": self.entries, "head_id": self.head_id, "head_hash": self.head_hash,
                           "at": _stamp(self.at), "hmac": self.mac()}, separators=(",", ":"))

    @property
    def when(self) -> str:
        """Its time as a verdict quotes it."""
        return self.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _parse(raw: bytes, line: int) -> Checkpoint | None:
    """The checkpoint on one line of the file, or None if the line is not one whose HMAC
    verifies under the log key."""
    try:
        data = json.loads(raw)
        found = Checkpoint(entries=data["entries"], head_id=data["head_id"], head_hash=data["head_hash"],
                           at=datetime.strptime(data["at"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC),
                           line=line)
        claimed = data["hmac"]
    except (ValueError, KeyError, TypeError):
        return None
    if not (isinstance(found.entries, int) and isinstance(found.head_id, int) and isinstance(found.head_hash, str)
            and isinstance(claimed, str)):
        return None
    return found if hmac.compare_digest(found.mac().encode(), claimed.encode()) else None


def checkpoint_file(bind: Engine | Connection) -> Path:
    """Where ``bind``'s database keeps its checkpoints: the ``log_checkpoint_path`` setting,
    else beside an SQLite database file (``audit.db`` -> ``audit-checkpoints.jsonl``), else
    ``audit-checkpoints.jsonl`` in the working directory."""
    configured = get_settings().log_checkpoint_path
    if configured is not None:
        return configured
    url = bind.engine.url
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        database = Path(url.database)
        return database.with_name(f"{database.stem}-checkpoints.jsonl")
    return Path.cwd() / "audit-checkpoints.jsonl"


@dataclass
class CheckpointFile:
    """Every line of a checkpoint file, sorted into the checkpoints that verify and the lines
    that do not."""

    path: Path
    exists: bool
    checkpoints: list[Checkpoint] = field(default_factory=list)
    bad_lines: list[int] = field(default_factory=list)


def read_checkpoints(path: Path) -> CheckpointFile:
    """Every line of ``path`` checked against the log key (a file not there yet has none)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return CheckpointFile(path, exists=False)
    read = CheckpointFile(path, exists=True)
    for number, line in enumerate(raw.split(b"\n"), start=1):
        if not line.strip():
            continue
        found = _parse(line, number)
        if found is None:
            read.bad_lines.append(number)
        else:
            read.checkpoints.append(found)
    return read


def _last_written(path: Path) -> Checkpoint | None:
    """The file's last checkpoint that verifies, read from the end in blocks: this runs after
    every commit that appended, and the file only grows."""
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        return None
    with handle:
        position = handle.seek(0, os.SEEK_END)
        carry = b""  # a block's first piece: the end of a line that starts further back
        while position > 0:
            step = min(8192, position)
            position -= step
            handle.seek(position)
            pieces = (handle.read(step) + carry).split(b"\n")
            carry = pieces.pop(0) if position > 0 else b""
            for piece in reversed(pieces):
                found = _parse(piece, 0) if piece.strip() else None
                if found is not None:
                    return found
    return None


class _Head(NamedTuple):
    id: int
    hash: str


def _committed_head(bind: Engine | Connection) -> _Head | None:
    """The trail's last committed entry. Ids are dense from 1 on both databases (SQLite reuses
    no rowid a rollback gave back, and on PostgreSQL append() numbers entries itself under a
    table lock), so the head's id is also the number of entries."""
    if isinstance(bind, Engine):
        with bind.connect() as conn:
            return _committed_head(conn)
    if bind.in_transaction():
        # Inside a transaction the head may be an entry that a rollback will take back.
        raise RuntimeError("a checkpoint names committed entries only: call it after the commit")
    query = "SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1"
    if bind.dialect.name == "sqlite":
        # Every transaction this project begins on SQLite is BEGIN IMMEDIATE, with a turn in
        # the process's queue of writers (audit.db): a read after each commit would wait
        # behind every queued writer. The driver, in autocommit, reads the committed state
        # without either.
        driver: Any = bind.connection.driver_connection  # the sqlite3.Connection
        cursor = driver.cursor()
        try:
            row = cursor.execute(query).fetchone()
        finally:
            cursor.close()
    else:
        row = bind.exec_driver_sql(query).first()
        bind.rollback()  # ends the read's own transaction; nothing to undo
    return _Head(row[0], row[1]) if row else None


def _checkpoint(bind: Engine | Connection, every: int) -> Checkpoint | None:
    head = _committed_head(bind)
    if head is None:
        return None
    path = checkpoint_file(bind)
    last = _last_written(path)
    if head.id - (last.head_id if last else 0) < every:
        return None  # a head behind the last checkpoint is verify's to name, never to record
    written = Checkpoint(entries=head.id, head_id=head.id, head_hash=head.hash, at=datetime.now(UTC))
    line = written.as_json()
    # The log is the second copy (journald, syslog: off the machine), so it comes first and
    # survives a file that cannot be written.
    log.info("audit-trail checkpoint %s", line)
    data = (line + "\n").encode()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # One write on an O_APPEND descriptor: lines from several processes never interleave.
        handle = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            if os.write(handle, data) != len(data):
                raise OSError(f"a short write to {path}")
            os.fsync(handle)
        finally:
            os.close(handle)
    except OSError as exc:
        # The change it names is committed already: refusing it now would only mislead the
        # caller. The log line above holds the checkpoint; this one says the file lacks it.
        log.error("could not write the audit-trail checkpoint to %s: %s", path, exc)
    return written


def maybe_checkpoint(bind: Engine | Connection) -> Checkpoint | None:
    """Call after a commit: writes a checkpoint if the committed head is ``log_checkpoint_every``
    entries or more past the file's last one, and returns it. Given a connection that has
    appended nothing since its last call, returns at once without reading the database."""
    if isinstance(bind, Connection) and not bind.info.pop(_APPENDED, False):
        return None
    return _checkpoint(bind, get_settings().log_checkpoint_every)


def checkpoint(bind: Engine | Connection) -> Checkpoint | None:
    """At a stop: writes a checkpoint if the committed head moved past the file's last one at
    all, and returns it."""
    if isinstance(bind, Connection):
        bind.info.pop(_APPENDED, None)
    return _checkpoint(bind, 1)


# ---------------------------------------------------------------------- verification

@dataclass
class Verdict:
    entries: int
    first_bad: int | None = None
    # What the verification found, as messages of the catalogue with their fields.
    findings: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    # The latest checkpoint whose HMAC verifies (furthest along), if any.
    checkpoint: Checkpoint | None = None
    # Lines of the checkpoint file that fail their HMAC: forged, or written under another key.
    bad_checkpoint_lines: list[int] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.first_bad is None and not self.bad_checkpoint_lines

    def text(self, lang: str = "en") -> str:
        from audit.i18n import t

        return t("trail.separator", lang).join(t(message, lang, **fields) for message, fields in self.findings)

    @property
    def reason(self) -> str:
        """The findings in English (logs, tests); readers get :meth:`text` in their language."""
        return self.text("en")


def _clause(message_id: str, **fields: Any) -> dict[str, Any]:
    return {"message": message_id, "args": fields}


def verify(conn: Connection, path: Path | None = None) -> Verdict:
    """Walk the chain in id order and name the first entry whose link or hash does not hold;
    then hold the table to every checkpoint in the file (``path``, default
    :func:`checkpoint_file`) whose HMAC verifies, and name the lines that fail theirs."""
    read = read_checkpoints(path or checkpoint_file(conn))
    latest = max(read.checkpoints, key=lambda c: (c.head_id, c.line), default=None)
    wanted = {c.head_id for c in read.checkpoints}
    table = AuditEntry.__table__
    expected_prev, count, last_id = GENESIS, 0, 0
    seen: dict[int, tuple[int, str]] = {}  # id named by a checkpoint -> (entries up to it, hash)

    def verdict(first_bad: int | None, message_id: str, **fields: Any) -> Verdict:
        findings = [(message_id, fields)]
        if read.bad_lines:
            findings.append(_bad_lines(read))
        return Verdict(count, first_bad, findings, latest, list(read.bad_lines))

    for row in conn.execute(select(table).order_by(table.c.id)):
        count += 1
        if row.prev_hash != expected_prev:
            return verdict(row.id, "trail.link_broken")
        at = row.at if row.at.tzinfo else row.at.replace(tzinfo=UTC)
        if _digest(row.id, at, row.actor, row.action, row.subject, row.detail, row.prev_hash) != row.hash:
            return verdict(row.id, "trail.content_changed")
        expected_prev, last_id = row.hash, row.id
        if row.id in wanted:
            seen[row.id] = (count, row.hash)

    held: Checkpoint | None = None  # the furthest checkpoint the table still matches
    for saw in sorted(read.checkpoints, key=lambda c: (c.head_id, c.line)):
        if saw.head_id > last_id:  # named by the furthest checkpoint: the whole of what is gone
            furthest = latest or saw
            first, upto = last_id + 1, furthest.head_id
            empty = _clause("trail.log_is_empty") if count == 0 else ""
            return verdict(first, "trail.entry_gone" if first == upto else "trail.entries_gone", empty=empty,
                           first=first, upto=upto, when=furthest.when)
        entries, hash_ = seen.get(saw.head_id, (None, None))
        since = _clause("trail.since", entry=held.head_id, when=held.when) if held else ""
        if hash_ is None:  # ids are dense, so only a rewrite that renumbered leaves this hole
            return verdict(saw.head_id, "trail.checkpointed_entry_gone", entry=saw.head_id, when=saw.when,
                           since=since)
        if hash_ != saw.head_hash:
            return verdict(saw.head_id, "trail.hash_differs", entry=saw.head_id, when=saw.when, since=since)
        if entries != saw.entries:
            return verdict(saw.head_id, "trail.count_differs", entry=saw.head_id, when=saw.when, saw=saw.entries,
                           entries=entries, since=since)
        held = saw
    if latest is None:
        return verdict(None, "trail.no_checkpoint_file" if not read.exists else "trail.no_valid_checkpoint",
                       path=str(read.path))
    return verdict(None, "trail.matches", when=latest.when, entries=latest.entries, since=count - latest.entries)


def _bad_lines(read: CheckpointFile) -> tuple[str, dict[str, Any]]:
    lines = read.bad_lines
    shown = ", ".join(map(str, lines[:10]))
    more = _clause("trail.and_more", count=len(lines) - 10) if len(lines) > 10 else ""
    return ("trail.bad_line" if len(lines) == 1 else "trail.bad_lines",
            {"lines": shown, "more": more, "path": str(read.path)})
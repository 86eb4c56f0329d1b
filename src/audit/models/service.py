"""The service's own tables: units and users and their tokens, logins, the tamper-evident
audit trail, the review of cases (decisions with a second inspector's approval,
rectification), pre-release checks and their releases, and background jobs."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Date, DateTime, ForeignKey, Index, Integer, LargeBinary, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from audit.models.base import Base

# The states of a decision or a release that hold a case's or a line's one slot: a second
# one is refused by a unique index while one of these stands.
LIVE_STATES = "state IN ('pending', 'effective')"


class Unit(Base):
    """The office a user works for, and its scope: the whole county, or one town (乡镇),
    whose finance office or disclosure staff see and act on that town's villages only."""

    __tablename__ = "units"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    # county | town
    scope: Mapped[str] = mapped_column(String(16))
    town_code: Mapped[str | None] = mapped_column(String(64))


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    # inspector | finance | disclosure | admin | machine (a program, never a person)
    role: Mapped[str] = mapped_column(String(24))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    # zh | en; empty: the browser's Accept-Language decides
    language: Mapped[str | None] = mapped_column(String(8))
    # Set when an administrator chose the password (a new account, a reset): until the
    # user picks their own, a login may do nothing but change it.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    # When an administrator last set this account's password (None: the user's own, or
    # set by the server operator): four-eyes approvals wait a while after it.
    password_reset_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    password_reset_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class LoginAttempt(Base):
    """Every login, failed or not, written in its own transaction so a failure survives
    the 401: what the lockout counts."""

    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    name: Mapped[str] = mapped_column(String(80))
    address: Mapped[str] = mapped_column(String(64))
    ok: Mapped[bool] = mapped_column(Boolean)

    __table_args__ = (Index("ix_login_attempts_name_at", "name", "at"),
                      Index("ix_login_attempts_address_at", "address", "at"))


class ApiToken(Base):
    """A bearer token: only its SHA-256 is stored, so a leaked table leaks no token."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # session (from a password login) | api (for machine clients)
    kind: Mapped[str] = mapped_column(String(16))
    label: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    # Who issued it: the user themselves, or an admin for a machine user.
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AuditEntry(Base):
    """One state change, chained to the one before by hash: changing, deleting, reordering
    or inserting a row breaks the chain from there on."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(60))
    subject: Mapped[str] = mapped_column(String(200))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class CaseDecision(Base):
    """A reviewer's decision on a case. A confirmation takes effect only when a second
    inspector approves it (four eyes); decisions are never overwritten, only followed."""

    __tablename__ = "case_decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    # confirmed | dismissed | referred
    decision: Mapped[str] = mapped_column(String(24))
    reason: Mapped[str] = mapped_column(Text)
    decided_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # pending (awaiting a second inspector) | effective | rejected (by the second inspector)
    state: Mapped[str] = mapped_column(String(16))
    reviewed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    review_note: Mapped[str | None] = mapped_column(Text)

    # One pending or effective decision per case, whatever races: the database refuses a
    # second (10 concurrent decisions give one success and nine conflicts).
    __table_args__ = (Index("uq_case_decisions_live", "case_id", unique=True,
                            sqlite_where=text(LIVE_STATES), postgresql_where=text(LIVE_STATES)),)


class Rectification(Base):
    """整改 of a confirmed case: a deadline, money recovered (追回), people held accountable."""

    __tablename__ = "rectifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), unique=True)
    deadline: Mapped[date] = mapped_column(Date)
    # The first deadline set: an extension moves ``deadline`` only, with a reason in the
    # case's history, and a case past this date stays on the overdue list.
    original_deadline: Mapped[date] = mapped_column(Date)
    recovered_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    accountable: Mapped[list[str]] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class PreReleaseCheck(Base):
    """A finance officer's check of lines before money moves: each line's verdict (pass or
    hold) with the findings or errors behind it. The lines never enter the store's data;
    an uploaded roster file is kept beside its verdicts (the record of what was checked, and
    what the annotated sheet for the bank is made from)."""

    __tablename__ = "prerelease_checks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # disbursements | card_roster
    kind: Mapped[str] = mapped_column(String(24))
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The town whose lines these are (None: a county-level check): a town's finance
    # office reads its own checks only.
    town_code: Mapped[str | None] = mapped_column(String(64), index=True)
    # [{"key": ..., "verdict": "pass"|"hold", "reasons": [...]}]
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    # The file as uploaded (None for lines sent as JSON) and its name as the user knows it.
    source_file: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    source_name: Mapped[str | None] = mapped_column(String(200))
    source_sheet: Mapped[str | None] = mapped_column(String(200))
    # The counts, so a list of checks need not read every check's lines.
    line_count: Mapped[int | None] = mapped_column(Integer)
    held_count: Mapped[int | None] = mapped_column(Integer)


class Release(Base):
    """A held line released by a finance officer, with the reason: an override on record.
    A line held for what could be theft of a card's money (one person two identities,
    death, a shared card, detention) waits for a second finance officer's approval."""

    __tablename__ = "prerelease_releases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    check_id: Mapped[int] = mapped_column(ForeignKey("prerelease_checks.id"), index=True)
    line_key: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    released_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    released_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # pending (awaiting a second finance officer) | effective | rejected
    state: Mapped[str] = mapped_column(String(16))
    reviewed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    review_note: Mapped[str | None] = mapped_column(Text)

    # A line is released once: a second release of it is refused while one stands.
    __table_args__ = (Index("uq_prerelease_releases_live", "check_id", "line_key", unique=True,
                            sqlite_where=text(LIVE_STATES), postgresql_where=text(LIVE_STATES)),)


class IdempotencyKey(Base):
    """The first response to a request carrying an Idempotency-Key: the same key and body
    get it again; the same key with another body is refused."""

    __tablename__ = "idempotency_keys"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Job(Base):
    """Work too long for a request (an import, a large roster check, a detection run), run
    by a worker thread of the server; the screens poll its progress."""

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # import | roster_check | detection
    kind: Mapped[str] = mapped_column(String(24))
    # queued | running | done | failed
    state: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # {"step": ..., "done": n, "total": n}
    progress: Mapped[dict[str, Any]] = mapped_column(JSON)
    # What the job's request would have answered (the import report, the check's id...).
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # The status the result carries (200, 422 ...), and a failure's message id and fields.
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class CountySetting(Base):
    """A setting of the county that its administrator edits on screen (the county's name,
    its 监督电话, the issuing units of notices, the notice period, a red flag's
    thresholds): the value in force. Each change is a row of :class:`SettingChange`."""

    __tablename__ = "county_settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SettingChange(Base):
    """The history of the county's settings: who changed what from what to what, when and why."""

    __tablename__ = "setting_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), index=True)
    old_value: Mapped[Any] = mapped_column(JSON)
    new_value: Mapped[Any] = mapped_column(JSON)
    reason: Mapped[str | None] = mapped_column(Text)
    changed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

"""Clue hand-out (集中交办): the county's discipline office bundles cases into a batch for one
town with a deadline; the town's inspectors decide each case and record what it led to
(its outcomes), then return the batch; the county closes it. The outcomes are what the
county reports upward (交办统计)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, Date, DateTime, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from audit.models.base import Base


class HandoutBatch(Base):
    """A batch of cases handed to one town (交办批次), e.g. 2026年第3批."""

    __tablename__ = "handout_batches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(120))
    # The town whose discipline office (its town-scoped inspectors) receives the batch.
    town_code: Mapped[str] = mapped_column(String(64), index=True)
    deadline: Mapped[date] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    # open (with the town) | returned (the town has decided every case) | closed (by the county)
    status: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    returned_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    returned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class HandoutBatchCase(Base):
    """A case in a batch. ``live`` while the batch is not closed: a case is in one live
    batch at a time (the database refuses a second), and may be handed out again only
    once that batch is closed."""

    __tablename__ = "handout_batch_cases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("handout_batches.id"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    live: Mapped[bool] = mapped_column(Boolean)

    __table_args__ = (Index("uq_handout_batch_cases_live", "case_id", unique=True,
                            sqlite_where=text("live"), postgresql_where=text("live")),)


class CaseOutcome(Base):
    """What a confirmed case led to, one row per outcome: 取消资格 (disqualified), 清退
    (refunded: money the subject returned), 追回 (recovered: money taken back), 立案
    (filed), 问责 (accountability: how many people, and how), 整改 (rectified). Outcomes
    are only added, never edited: a correction is a further row with its note."""

    __tablename__ = "case_outcomes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    # The batch the case was handed out in when the outcome was recorded (None: not handed out).
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("handout_batches.id"), index=True)
    # disqualified | refunded | recovered | filed | accountability | rectified
    kind: Mapped[str] = mapped_column(String(24))
    # The money of a refund or a recovery, in fen (0 for the other kinds).
    amount_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    # The people held accountable and how (问责 only; 0 and None otherwise).
    people: Mapped[int] = mapped_column(Integer, default=0)
    accountability_kind: Mapped[str | None] = mapped_column(String(24))
    note: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

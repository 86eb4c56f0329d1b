"""Watchlists (我的关注): an inspector watches a person, household, official, organization
or account, and is told in the workspace when a detection run finds something new about it
or an import writes a record about it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from audit.models.base import Base


class Watch(Base):
    """One user's watch on one subject, keyed as findings name it: a person by ID number, a
    household by its household ID, an account by its number, an official by official ID, an
    organization by its credit code (USCC)."""

    __tablename__ = "watches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # person | household | official | organization | account
    subject_kind: Mapped[str] = mapped_column(String(24))
    subject_key: Mapped[str] = mapped_column(String(64))
    # The subject's name when it was watched (a person's, the head of a household's).
    label: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    # One watch per user and subject; the user's list reads the same index.
    __table_args__ = (Index("ix_watches_user_subject", "user_id", "subject_kind", "subject_key", unique=True),)


class Notification(Base):
    """Something new about a watched subject: a finding a detection run added (``finding``:
    the finding, its case and code, the run) or a record an import wrote (``record``: the
    table and the record's key, the import batch). Unread until its user marks it read."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # Removing a watch removes its notifications (they were about the watch).
    watch_id: Mapped[int] = mapped_column(ForeignKey("watches.id", ondelete="CASCADE"), index=True)
    # finding | record
    kind: Mapped[str] = mapped_column(String(16))
    finding_id: Mapped[int | None] = mapped_column(ForeignKey("findings.id"))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    code: Mapped[str | None] = mapped_column(String(8))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("detection_runs.id"))
    # The interchange table and the record's key (key columns joined by "|").
    table_name: Mapped[str | None] = mapped_column(String(40))
    record_key: Mapped[str | None] = mapped_column(String(200))
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batches.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        # The bell's count and the unread list: one user's unread, from the index alone.
        Index("ix_notifications_user_read", "user_id", "read_at"),
        # A finding is told to a user once; a record once per import that wrote it.
        Index("ix_notifications_user_finding", "user_id", "finding_id", unique=True),
        Index("ix_notifications_user_record", "user_id", "table_name", "record_key", "batch_id", unique=True),
    )

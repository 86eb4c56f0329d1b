"""Bookkeeping of imports: each batch, the rows it quarantined, and the earlier values of
rows it changed (an append-only history, so an update never erases what was there)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from audit.models.base import Base


class ImportBatch(Base):
    __tablename__ = "import_batches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    imported_by: Mapped[str] = mapped_column(String(128))
    source: Mapped[str] = mapped_column(Text)
    # {file name: sha256} of every file the dataset was read from.
    source_hashes: Mapped[dict[str, str]] = mapped_column(JSON)
    partial: Mapped[bool]
    # committed | rejected | committed_partial
    outcome: Mapped[str] = mapped_column(String(24))
    # {table: {read, inserted, updated, unchanged, rejected}}
    counts: Mapped[dict[str, Any]] = mapped_column(JSON)
    error_count: Mapped[int] = mapped_column(Integer, default=0)
    warning_count: Mapped[int] = mapped_column(Integer, default=0)


class RowHistory(Base):
    """The values a row had before an import changed it."""

    __tablename__ = "row_history"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("import_batches.id"), index=True)
    table_name: Mapped[str] = mapped_column(String(40))
    # The row's key as the interchange format names it; composite keys joined by "|".
    row_key: Mapped[str] = mapped_column(String(200))
    old_values: Mapped[dict[str, Any]] = mapped_column(JSON)
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_row_history_table_key", "table_name", "row_key"),)


class QuarantinedRow(Base):
    """A row a partial import refused, kept with its reasons so it can be fixed and re-sent."""

    __tablename__ = "quarantined_rows"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("import_batches.id"), index=True)
    table_name: Mapped[str] = mapped_column(String(40))
    row_number: Mapped[int] = mapped_column(Integer)
    raw: Mapped[dict[str, Any]] = mapped_column(JSON)
    errors: Mapped[list[dict[str, Any]]] = mapped_column(JSON)

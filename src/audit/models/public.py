"""The villagers' window (民生资金查询): what its rate limits count, and the complaints (投诉)
residents file from it, which inspectors read and answer on record."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from audit.models.base import Base


class PublicAttempt(Base):
    """One lookup or complaint at the public window, written in the transaction that
    answers it: what the limits per address and per ID number count. The ID number is
    kept only as an HMAC under the service's key (``id_key``), never in plain text."""

    __tablename__ = "public_attempts"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    # lookup | complaint
    kind: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(64))
    id_key: Mapped[str] = mapped_column(String(64))
    # A lookup whose ID number and name matched one person; a complaint that was filed.
    ok: Mapped[bool] = mapped_column(Boolean)

    __table_args__ = (Index("ix_public_attempts_address_kind_at", "address", "kind", "at"),
                      Index("ix_public_attempts_id_key_kind_at", "id_key", "kind", "at"))


class Complaint(Base):
    """A resident's complaint (投诉) about one payment or about their household's money in
    general: a lead for inspectors, linked to the household (and the payment) it names,
    answered on record (who, when, what)."""

    __tablename__ = "complaints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # 查询编号: what the resident is shown and quotes later (TS20171203-K7QM2P).
    reference: Mapped[str] = mapped_column(String(24), unique=True)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    household_id: Mapped[str] = mapped_column(ForeignKey("households.household_id"), index=True)
    # The payment it is about (None: about the household's money in general).
    payment_id: Mapped[str | None] = mapped_column(ForeignKey("card_payments.payment_id"), index=True)
    # Who filed it: the name that matched their ID number (the number itself is not kept).
    name: Mapped[str] = mapped_column(String(200))
    # The number to call back: a mobile (13812345678) or a landline with its area code (0730-5218726).
    phone: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text)
    # Where the household lives when it was filed: what a town's inspectors' scope reads.
    village_code: Mapped[str | None] = mapped_column(String(64))
    town_code: Mapped[str | None] = mapped_column(String(64))
    # new | answered
    status: Mapped[str] = mapped_column(String(16))
    answer: Mapped[str | None] = mapped_column(Text)
    answered_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    # The screen's list and the home page's count: by status within a town.
    __table_args__ = (Index("ix_complaints_status_town", "status", "town_code"),)

"""Detection runs, the findings they produce, and the cases findings gather into.

A finding is keyed by its fingerprint (code + the records it names), so running detection
again updates it instead of adding a copy; a finding a later run no longer produces is
marked stale, never deleted. Findings about the same subject share a case. A case a
reviewer has decided keeps its decision: later runs only add to its history.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Date, DateTime, Float, ForeignKey, Index, Integer, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from audit.models.base import Base


class DetectionRun(Base):
    __tablename__ = "detection_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    as_of: Mapped[date] = mapped_column(Date)
    # running | completed | failed
    outcome: Mapped[str] = mapped_column(String(24))
    codes: Mapped[list[str]] = mapped_column(JSON)
    # {code: {"version": n, "settings": {...}, "seconds": s, "findings": n, "new": n, "stale": n}}
    detectors: Mapped[dict[str, Any]] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)


class Case(Base):
    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject_kind: Mapped[str] = mapped_column(String(40))
    subject_key: Mapped[str] = mapped_column(String(200))
    # The subject's name (a person's, a project's), shown beside its key; the title a
    # reader sees is rendered from it and the codes in their language.
    label: Mapped[str | None] = mapped_column(String(200))
    # Every name and key a reader may search the case by: its subject's, and those of its
    # open findings' subjects (a second identity, an official, a contractor), kept by each
    # detection run, so a search reads one column instead of every finding.
    search_text: Mapped[str | None] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text)
    score: Mapped[float] = mapped_column(Float)
    amount_at_risk_fen: Mapped[int] = mapped_column(BigInteger)
    # Money owed to the subject (the ME family's findings, 应享未享): summed apart, never
    # added into the money at risk.
    amount_owed_fen: Mapped[int] = mapped_column(BigInteger, server_default="0")
    codes: Mapped[list[str]] = mapped_column(JSON)
    # open | confirmed | dismissed | referred | closed (the review workflow sets the last four)
    status: Mapped[str] = mapped_column(String(24), default="open")
    assigned_to: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Where the subject lives (a person's or household's village, a project's): what a
    # town's scope and the workspace's filters by town and village read. None when the
    # subject has no village (an organization, an account, a paying unit).
    village_code: Mapped[str | None] = mapped_column(String(64))
    town_code: Mapped[str | None] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # What the score was computed from (audit.cases.triage: each code's detector score and
    # hit rate, the prior, the formula's version), so a score can be explained.
    score_basis: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # 1 | 2 | 3 (一级 / 二级 / 三级) for an open case, and why (money, complaints, repeat
    # subjects, the best code's rate); None until triage has run over the case.
    tier: Mapped[int | None] = mapped_column(SmallInteger)
    tier_basis: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    __table_args__ = (Index("ix_cases_subject", "subject_kind", "subject_key", unique=True),
                      Index("ix_cases_score", "score"),
                      # The home page's counts by status and money by town read these alone.
                      Index("ix_cases_status_amount", "status", "amount_at_risk_fen"),
                      # The case list's first page: open cases by score, read in the index's order.
                      Index("ix_cases_status_score", "status", "score"),
                      Index("ix_cases_status_town_amount", "status", "town_code", "amount_at_risk_fen"),
                      # The case list's default order: open cases by tier, then score.
                      Index("ix_cases_status_tier_score", "status", "tier", "score"))


class Finding(Base):
    __tablename__ = "findings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    code: Mapped[str] = mapped_column(String(8), index=True)
    family: Mapped[str] = mapped_column(String(4))
    title: Mapped[str] = mapped_column(String(120))
    score: Mapped[float] = mapped_column(Float)
    subjects: Mapped[list[dict[str, str]]] = mapped_column(JSON)
    records: Mapped[list[dict[str, str]]] = mapped_column(JSON)
    amount_at_risk_fen: Mapped[int] = mapped_column(BigInteger)
    amount_owed_fen: Mapped[int] = mapped_column(BigInteger, server_default="0")  # an ME finding's standard unpaid
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    detector_version: Mapped[int] = mapped_column(Integer)
    # open | stale (the facts are gone); the case carries the review decision
    status: Mapped[str] = mapped_column(String(16), default="open")
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    first_run_id: Mapped[int] = mapped_column(ForeignKey("detection_runs.id"))
    last_run_id: Mapped[int] = mapped_column(ForeignKey("detection_runs.id"), index=True)
    detected_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    # Findings by red flag, and the cases of one code (the case list's filter), from the
    # index alone.
    __table_args__ = (Index("ix_findings_status_code_case", "status", "code", "case_id"),)


class CaseEvent(Base):
    """The history of a case: what detection and reviewers did to it, in order."""

    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # created | finding_added | finding_stale | rescored | finding_after_decision | ...
    kind: Mapped[str] = mapped_column(String(40))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("detection_runs.id"))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)

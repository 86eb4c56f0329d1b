"""The second pair of eyes: one rule for everything that waits for a colleague's approval
(a case's confirmation, dismissal or referral; the release of a line held for a serious
red flag).

The approver is never the one who asked, and never an account whose password an
administrator set recently (until the cool-down has passed it may be in the
administrator's hands). A pending row is settled once: the update names the state it
expects, so of two approvers acting at the same moment one settles it and the other gets
409 with the state it found.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, update

from audit.auth.service import Principal, may_approve_for_others
from audit.config import get_settings
from audit.errors import ServiceError


def refuse_same_eyes(asked_by: int | None, approver: Principal, same_person: str) -> None:
    """Refuse an approval by the one who asked (``same_person`` names the refusal), or by an
    account still in its cool-down after an administrator's password reset."""
    if asked_by == approver.id:
        raise ServiceError(403, same_person)
    if not may_approve_for_others(approver):
        raise ServiceError(403, "error.approval_after_reset", hours=get_settings().four_eyes_after_reset_hours)


def require_reason(note: str) -> None:
    """A rejection says why (checked before anything else, as the form is what is wrong)."""
    if not note.strip():
        raise ServiceError(422, "error.rejection_needs_reason")


def settle(conn: Connection, table: Any, row_id: int, outcome: str, approver: Principal, not_pending: str,
           note: str | None = None, **fields: Any) -> None:
    """Move a pending row of ``table`` to ``outcome`` (effective or rejected) with who and
    when. ``not_pending`` and ``fields`` name the refusal
    when someone settled it first."""
    values: dict[str, Any] = {"state": outcome, "reviewed_by": approver.id, "reviewed_at": datetime.now(UTC)}
    if note is not None:
        values["review_note"] = note
    done = conn.execute(update(table).where(table.id == row_id, table.state == "pending").values(**values)).rowcount
    if done != 1:
        raise ServiceError(409, not_pending, state=outcome, **fields)

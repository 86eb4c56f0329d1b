"""Routes of clue hand-out (集中交办): batches of cases for a town, their outcomes, bulk
decisions and the report. The same service as the 交办批次 and 交办统计 screens."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from audit.api.deps import Lang, SessionDep, allowed
from audit.api.types import Day, LongText, RowId, Yuan
from audit.auth.service import Principal
from audit.handouts import service

router = APIRouter(tags=["handouts"])
Reader = Annotated[Principal, allowed("handouts:read")]
Ids = Annotated[list[Annotated[int, Field(ge=1, le=2_147_483_647)]], Field(min_length=1, max_length=service.MAX_CASES)]


class BatchIn(BaseModel):
    title: Annotated[str, Field(min_length=1, max_length=service.MAX_TITLE)]
    town_code: Annotated[str, Field(min_length=1, max_length=64)]
    deadline: Day
    case_ids: Ids
    note: str | None = Field(default=None, max_length=4000)


class Created(BaseModel):
    id: int


@router.get("/handouts")
def list_batches(conn: SessionDep, user: Reader,
                 batch_status: Annotated[Literal["open", "returned", "closed"] | None, Query(alias="status")] = None
                 ) -> list[dict[str, Any]]:
    """The batches of the reader's scope (a town's inspectors: their town's), newest first,
    each with its cases, decided, confirmed and pending counts and whether it is late."""
    return service.list_batches(conn, user, date.today(), batch_status)


@router.post("/handouts", response_model=Created, status_code=201)
def create_batch(body: BatchIn, conn: SessionDep, user: Annotated[Principal, allowed("handouts:create")]) -> Created:
    """Hand open cases of one town to its inspectors in a batch, by a deadline (county only)."""
    return Created(id=service.create_batch(conn, user, body.title, body.town_code, body.deadline, body.case_ids,
                                           body.note))


@router.get("/handouts/report")
def report(conn: SessionDep, user: Reader) -> dict[str, Any]:
    """交办统计: by town, by batch and by red flag, cases handed out, decided, confirmed, money
    recovered (清退 + 追回, ``recovered_fen`` in fen) and people held accountable."""
    return service.report(conn, user)


@router.get("/handouts/{batch_id}")
def get_batch(batch_id: RowId, conn: SessionDep, user: Reader, lang: Lang) -> dict[str, Any]:
    """A batch with each case (numbers masked), its decision and its outcomes."""
    return service.batch_detail(conn, batch_id, user, lang, date.today())


@router.post("/handouts/{batch_id}/return", status_code=204)
def return_batch(batch_id: RowId, conn: SessionDep, user: Annotated[Principal, allowed("handouts:return")]) -> None:
    """报结: send the batch back to the county once every case of it is decided."""
    service.return_batch(conn, batch_id, user)


@router.post("/handouts/{batch_id}/close", status_code=204)
def close_batch(batch_id: RowId, conn: SessionDep, user: Annotated[Principal, allowed("handouts:create")]) -> None:
    """Close a returned batch (county only); its cases may then be handed out again."""
    service.close_batch(conn, batch_id, user)


class OutcomeIn(BaseModel):
    kind: Literal["disqualified", "refunded", "recovered", "filed", "accountability", "rectified"]
    amount: Yuan = "0"
    people: Annotated[int, Field(ge=0, le=10_000)] = 0
    accountability_kind: Literal["talk", "admonish", "organisational", "party_discipline",
                                 "government_sanction"] | None = None
    note: str | None = Field(default=None, max_length=4000)


@router.post("/handouts/cases/{case_id}/outcomes", response_model=Created, status_code=201)
def record_outcome(case_id: RowId, body: OutcomeIn, conn: SessionDep,
                   user: Annotated[Principal, allowed("handouts:outcome")]) -> Created:
    """Record what a confirmed case led to: ``refunded`` and ``recovered`` with an
    ``amount`` in yuan, ``accountability`` with ``people`` and ``accountability_kind``."""
    return Created(id=service.record_outcome(conn, case_id, user, body.kind, body.amount, body.people,
                                             body.accountability_kind, body.note))


@router.get("/handouts/cases/{case_id}/outcomes")
def outcomes(case_id: RowId, conn: SessionDep, user: Reader) -> list[dict[str, Any]]:
    """A case's outcomes, oldest first."""
    return service.outcomes_of(conn, case_id, user)


class BulkDecisionIn(BaseModel):
    case_ids: Ids
    decision: Literal["confirmed", "dismissed", "referred"]
    reason: LongText


@router.post("/handouts/decisions", status_code=201)
def bulk_decide(body: BulkDecisionIn, conn: SessionDep, user: Annotated[Principal, allowed("cases:decide")]
                ) -> list[dict[str, Any]]:
    """One decision with one reason on several cases, all or none; each is the review's own
    decision (confirmations, and serious dismissals, wait for a second inspector)."""
    return service.bulk_decide(conn, user, body.case_ids, body.decision, body.reason)


class BulkApprovalIn(BaseModel):
    decision_ids: Ids


@router.post("/handouts/approvals")
def bulk_approve(body: BulkApprovalIn, conn: SessionDep, user: Annotated[Principal, allowed("cases:approve")]
                 ) -> dict[str, list[int]]:
    """Approve several colleagues' pending decisions at once, all or none (one's own is refused)."""
    return {"cases": service.bulk_approve(conn, user, body.decision_ids)}

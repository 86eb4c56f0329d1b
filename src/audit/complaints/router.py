"""Routes of residents' complaints (群众投诉) for inspectors: the list, one complaint with
what it is linked to, and the answer on record. The same service as the 群众投诉 screen."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from audit.api.deps import Lang, SessionDep, allowed
from audit.api.types import RowId
from audit.auth.service import Principal
from audit.cases.service import place_names, summary, user_names
from audit.complaints import service

router = APIRouter(tags=["complaints"])
Reader = Annotated[Principal, allowed("complaints:read")]


class ComplaintPage(BaseModel):
    total: int
    items: list[dict[str, Any]]


@router.get("/complaints", response_model=ComplaintPage)
def list_complaints(conn: SessionDep, user: Reader,
                    complaint_status: Annotated[Literal["new", "answered", "all"], Query(alias="status")] = "new",
                    limit: Annotated[int, Query(ge=1, le=500)] = 50,
                    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0) -> ComplaintPage:
    """Residents' complaints within the reader's scope, newest first: unanswered (``new``) by
    default, ``answered`` or ``all``; each with its household, place and payment."""
    total, items = service.list_complaints(conn, user, None if complaint_status == "all" else complaint_status,
                                           limit, offset)
    return ComplaintPage(total=total, items=items)


@router.get("/complaints/{complaint_id}")
def get_complaint(complaint_id: RowId, conn: SessionDep, user: Reader, lang: Lang) -> dict[str, Any]:
    """One complaint: the text, the number to call back, the household and payment it names,
    the cases about either (masked), and the answer on record."""
    found = service.detail(conn, complaint_id, user)
    names, places = user_names(conn), place_names(conn)
    return {**found, "cases": [summary(c, lang, True, names, places) for c in found["cases"]]}


class AnswerIn(BaseModel):
    text: Annotated[str, Field(min_length=1, max_length=service.MAX_ANSWER)]


@router.post("/complaints/{complaint_id}/answer", status_code=204)
def answer(complaint_id: RowId, body: AnswerIn, conn: SessionDep,
           user: Annotated[Principal, allowed("complaints:answer")]) -> None:
    """Answer a complaint on record (who and when are recorded, and it goes on the trail);
    a complaint is answered once (a second answer is a 409)."""
    service.answer(conn, complaint_id, body.text, user)

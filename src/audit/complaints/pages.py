"""The inspectors' 群众投诉 screen: residents' complaints from the public window, each with
the household, the payment and the cases it is linked to, answered on record. Pages parse,
authorise and shape; the complaints service does the work, as for the API."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from audit.api.types import RowId
from audit.auth.service import Principal
from audit.cases.service import place_names, summary, user_names
from audit.complaints import service
from audit.db import get_engine, read_connection
from audit.errors import ServiceError
from audit.web.session import Csrf, page_allowed
from audit.web.templating import language, page

router = APIRouter(include_in_schema=False)
Reader = Annotated[Principal, page_allowed("complaints:read")]
PAGE_SIZE = 50
Status = Annotated[str, Query(pattern="^(new|answered|all)$")]


@router.get("/complaints", response_class=HTMLResponse)
def complaint_list(request: Request, user: Reader, status: Status = "new",
                   page_number: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1) -> Response:
    """群众投诉: the complaints of the reader's scope, newest first, unanswered or answered."""
    with read_connection() as conn:
        total, items = service.list_complaints(conn, user, None if status == "all" else status, PAGE_SIZE,
                                               (page_number - 1) * PAGE_SIZE)
        waiting = service.unanswered(conn, user)
    return page(request, "complaints/list.html", items=items, total=total, chosen=status, waiting=waiting,
                page_number=page_number, pages=max(1, -(-total // PAGE_SIZE)))


def _detail(request: Request, user: Principal, complaint_id: int, error: str | None = None,
            fields: dict[str, Any] | None = None, status: int = 200, draft: str = "") -> Response:
    lang = language(request)
    with read_connection() as conn:
        found = service.detail(conn, complaint_id, user)
        names, places = user_names(conn), place_names(conn)
    cases = [summary(c, lang, True, names, places) for c in found.pop("cases")]
    return page(request, "complaints/detail.html", status=status, complaint=found, cases=cases, error=error,
                fields=fields or {}, draft=draft)


@router.get("/complaints/{complaint_id}", response_class=HTMLResponse)
def complaint_page(request: Request, complaint_id: RowId, user: Reader) -> Response:
    """A complaint: what the resident wrote and the number to call back, the household and the
    payment it names (their record pages), the cases about them, and the answer on record."""
    return _detail(request, user, complaint_id)


@router.post("/complaints/{complaint_id}/answer")
def answer(request: Request, complaint_id: RowId, user: Annotated[Principal, page_allowed("complaints:answer")],
           text: Annotated[str, Form(max_length=service.MAX_ANSWER)] = "", _: None = Csrf) -> Response:
    """答复: what the resident was told, on record (who and when with it; on the trail)."""
    try:
        with get_engine().begin() as conn:
            service.answer(conn, complaint_id, text, user)
    except ServiceError as exc:
        return _detail(request, user, complaint_id, error=exc.message_id, fields=exc.fields, status=exc.status,
                       draft=text)
    return RedirectResponse(f"/complaints/{complaint_id}?done=complaint_answered", status_code=303)

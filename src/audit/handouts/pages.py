"""The 交办批次 screens (a batch list, a new batch, a batch with its cases, bulk decisions,
bulk approvals and outcomes) and 交办统计 (the report, on screen and as .xlsx). Pages parse,
authorise and shape; the handouts service does the work, as for the API."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from audit.api.types import RowId
from audit.auth.service import Principal
from audit.cases.service import place_names, summary, user_names
from audit.db import get_engine, read_connection
from audit.detectors.base import yuan
from audit.errors import ServiceError
from audit.handouts import service
from audit.i18n import t
from audit.web import forms
from audit.web.session import Csrf, page_allowed
from audit.web.templating import language, page

router = APIRouter(include_in_schema=False)
Reader = Annotated[Principal, page_allowed("handouts:read")]
Creator = Annotated[Principal, page_allowed("handouts:create")]
Status = Annotated[str, Query(pattern="^(open|returned|closed|all)$")]
Text64 = Annotated[str | None, Query(max_length=64)]
AMOUNT = re.compile(r"[0-9]{1,13}(\.[0-9]{1,2})?")


@router.get("/handouts", response_class=HTMLResponse)
def batch_list(request: Request, user: Reader, status: Status = "all") -> Response:
    """交办批次: the batches of the reader's scope (a town's inspectors see their town's), each
    with its deadline, progress and a late flag; the county hands out new ones from here."""
    today = date.today()
    with read_connection() as conn:
        batches = service.list_batches(conn, user, today, None if status == "all" else status)
        late = service.late_count(conn, user, today)
    return page(request, "handouts/list.html", batches=batches, chosen=status, late=late,
                may_create=user.town is None)


def _new(request: Request, user: Principal, town: str | None, error: str | None = None,
         fields: dict[str, Any] | None = None, status: int = 200, draft: dict[str, Any] | None = None) -> Response:
    lang = language(request)
    with read_connection() as conn:
        towns = forms.towns(conn, user)
        offered = service.open_cases_of_town(conn, town) if town else []
        names, places = user_names(conn), place_names(conn)
    return page(request, "handouts/new.html", status=status, towns=towns, town=town or "", error=error,
                fields=fields or {}, cases=[summary(r, lang, True, names, places) for r in offered],
                draft=draft or {"title": "", "deadline": (date.today() + timedelta(days=30)).isoformat(),
                                "note": "", "case_ids": []})


@router.get("/handouts/new", response_class=HTMLResponse)
def new_batch(request: Request, user: Creator, town: Text64 = None) -> Response:
    """新建交办批次: pick a town, then its open cases (by score) not already handed out, a
    title and a deadline."""
    return _new(request, user, town or None)


@router.post("/handouts")
def create_batch(request: Request, user: Creator, town: Annotated[str, Form(min_length=1, max_length=64)],
                 title: Annotated[str, Form(max_length=service.MAX_TITLE)] = "",
                 deadline: Annotated[str, Form(max_length=10)] = "",
                 note: Annotated[str, Form(max_length=4000)] = "",
                 case_id: Annotated[list[int] | None, Form(max_length=service.MAX_CASES)] = None,
                 _: None = Csrf) -> Response:
    """交办: the batch goes to the town's inspectors; back to its page."""
    chosen = case_id or []
    draft = {"title": title, "deadline": deadline, "note": note, "case_ids": chosen}
    try:
        day = forms.form_day(deadline)
        if day is None:
            raise ServiceError(422, "error.not_a_date", value=deadline)
        with get_engine().begin() as conn:
            batch_id = service.create_batch(conn, user, title, town, day, chosen, note)
    except ServiceError as exc:
        return _new(request, user, town, error=exc.message_id, fields=exc.fields, status=exc.status, draft=draft)
    return RedirectResponse(f"/handouts/{batch_id}?done=handout_created", status_code=303)


# ---------------------------------------------------------------------- the report

@router.get("/handouts/report", response_class=HTMLResponse)
def report_page(request: Request, user: Reader) -> Response:
    """交办统计: by town, by batch and by red flag, cases handed out, decided, confirmed, money
    recovered (清退 + 追回) and people held accountable; downloadable as .xlsx."""
    with read_connection() as conn:
        figures = service.report(conn, user)
    return page(request, "handouts/report.html", report=figures, yuan=yuan)


@router.get("/handouts/report.xlsx")
def report_sheet(request: Request, user: Reader) -> Response:
    """交办统计 as an .xlsx workbook: a sheet by town, by batch and by red flag, each with its
    total line; money in yuan as numbers shown to the fen (the same figures as the screen)."""
    import xlsxwriter

    lang = language(request)
    with read_connection() as conn:
        figures = service.report(conn, user)
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    bold = book.add_format({"bold": True, "bg_color": "#EEF2F7", "border": 1})
    amount = book.add_format({"num_format": "#,##0.00"})
    bold_amount = book.add_format({"bold": True, "num_format": "#,##0.00"})
    numbers = [t(f"ui.handouts.col.{c}", lang) for c in ("handed_out", "decided", "confirmed", "recovered", "people")]
    sheets = (("town", [[r["town"]] for r in figures["towns"]], figures["towns"]),
              ("batch", [[r["title"], r["town"]] for r in figures["batches"]], figures["batches"]),
              ("code", [[r["code"], t(f"flag.{r['code']}", lang)] for r in figures["codes"]], figures["codes"]))
    for kind, labels, rows in sheets:
        sheet = book.add_worksheet(t(f"ui.handouts.sheet.{kind}", lang))
        heads = {"town": ["town"], "batch": ["batch", "town"], "code": ["code", "flag"]}[kind]
        headings = [t(f"ui.handouts.col.{h}", lang) for h in heads] + numbers
        sheet.write_row(0, 0, headings, bold)
        width = len(heads)
        for index, (label, row) in enumerate(zip(labels, rows, strict=True), start=1):
            sheet.write_row(index, 0, label)
            _figures(sheet, index, width, row, amount)
        last = len(rows) + 1
        sheet.write_string(last, 0, t("ui.handouts.total", lang), bold)
        _figures(sheet, last, width, figures["total"], bold_amount)
        sheet.set_column(0, width - 1, 24)
        sheet.set_column(width, width + 4, 14)
        sheet.freeze_panes(1, 0)
    book.close()
    filename = quote(t("ui.handouts.report_file", lang) + f"-{date.today().isoformat()}.xlsx")
    return Response(buffer.getvalue(), media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{filename}"})


def _figures(sheet: Any, row: int, column: int, figures: dict[str, int], money_format: Any) -> None:
    sheet.write_number(row, column, figures["handed_out"])
    sheet.write_number(row, column + 1, figures["decided"])
    sheet.write_number(row, column + 2, figures["confirmed"])
    # xlsx stores doubles; from the exact yuan string, shown to the fen.
    sheet.write_number(row, column + 3, float(yuan(figures["recovered_fen"])), money_format)
    sheet.write_number(row, column + 4, figures["people"])


# ---------------------------------------------------------------------- a batch

def _detail(request: Request, user: Principal, batch_id: int, error: str | None = None,
            fields: dict[str, Any] | None = None, status: int = 200) -> Response:
    lang = language(request)
    today = date.today()
    with read_connection() as conn:
        batch = service.batch_detail(conn, batch_id, user, lang, today)
        waiting = service.pending_for_me(conn, batch_id, user)
    confirmed = [c for c in batch["cases"] if c["decision"] and c["decision"]["state"] == "effective"
                 and c["decision"]["decision"] == "confirmed"]
    return page(request, "handouts/detail.html", status=status, batch=batch, waiting=waiting, confirmed=confirmed,
                error=error, fields=fields or {}, outcomes=service.OUTCOMES,
                accountability_kinds=service.ACCOUNTABILITY_KINDS, may_close=user.town is None)


@router.get("/handouts/{batch_id}", response_class=HTMLResponse)
def batch_page(request: Request, batch_id: RowId, user: Reader) -> Response:
    """A batch: its town, deadline and progress (late when past the deadline with cases
    undecided), each case with its decision and outcomes; bulk decisions and approvals,
    outcomes, 报结 (return) and, for the county, closing."""
    return _detail(request, user, batch_id)


def _act(request: Request, user: Principal, batch_id: int, done: str, action: Any) -> Response:
    """One action in a transaction; back to the batch page with a line saying it was done,
    or the refusal in the reader's language (nothing of a refused bulk action stands)."""
    try:
        with get_engine().begin() as conn:
            action(conn)
    except ServiceError as exc:
        return _detail(request, user, batch_id, error=exc.message_id, fields=exc.fields, status=exc.status)
    return RedirectResponse(f"/handouts/{batch_id}?done={done}", status_code=303)


def _in_batch(conn: Any, batch_id: int, user: Principal, case_ids: list[int]) -> None:
    """The batch page acts on the batch's own cases only."""
    detail = service.batch_detail(conn, batch_id, user, "zh", date.today())
    mine = {c["id"] for c in detail["cases"]}
    stray = next((c for c in case_ids if c not in mine), None)
    if stray is not None:
        raise ServiceError(404, "error.no_case", case_id=stray)


@router.post("/handouts/{batch_id}/decide")
def bulk_decide(request: Request, batch_id: RowId, user: Annotated[Principal, page_allowed("cases:decide")],
                decision: Annotated[str, Form(pattern="^(confirmed|dismissed|referred)$")],
                reason: Annotated[str, Form(max_length=4000)] = "",
                case_id: Annotated[list[int] | None, Form(max_length=service.MAX_CASES)] = None,
                _: None = Csrf) -> Response:
    """批量处置: one decision with one reason on the ticked cases, all or none; confirmations
    and serious dismissals wait for a second inspector."""
    chosen = case_id or []

    def act(conn: Any) -> None:
        _in_batch(conn, batch_id, user, chosen)
        service.bulk_decide(conn, user, chosen, decision, reason)

    return _act(request, user, batch_id, "bulk_decided", act)


@router.post("/handouts/{batch_id}/approve")
def bulk_approve(request: Request, batch_id: RowId, user: Annotated[Principal, page_allowed("cases:approve")],
                 decision_id: Annotated[list[int] | None, Form(max_length=service.MAX_CASES)] = None,
                 _: None = Csrf) -> Response:
    """批量审核通过: approve the ticked colleagues' decisions on this batch's cases at once."""
    chosen = decision_id or []

    def act(conn: Any) -> None:
        offered = {w.id for w in service.pending_for_me(conn, batch_id, user)}
        stray = next((d for d in chosen if d not in offered), None)
        if stray is not None:
            # Not one of this batch's colleagues' pending decisions (one's own among them).
            raise ServiceError(409, "error.bulk_not_offered", decision_id=stray)
        service.bulk_approve(conn, user, chosen)

    return _act(request, user, batch_id, "bulk_approved", act)


@router.post("/handouts/{batch_id}/outcome")
def record_outcome(request: Request, batch_id: RowId, user: Annotated[Principal, page_allowed("handouts:outcome")],
                   case_id: Annotated[int, Form(ge=1, le=2_147_483_647)],
                   kind: Annotated[str, Form(pattern="^(disqualified|refunded|recovered|filed|accountability|"
                                                     "rectified)$")],
                   amount: Annotated[str, Form(max_length=16)] = "",
                   people: Annotated[str, Form(max_length=6)] = "",
                   accountability_kind: Annotated[str, Form(max_length=24)] = "",
                   note: Annotated[str, Form(max_length=4000)] = "", _: None = Csrf) -> Response:
    """处置结果: what a confirmed case of the batch led to (清退/追回 with the amount, 问责 with
    the number of people and how)."""
    money = amount.strip() or "0"
    count = people.strip() or "0"

    def act(conn: Any) -> None:
        if not AMOUNT.fullmatch(money):
            raise ServiceError(422, "error.not_an_amount", value=amount)
        if not count.isascii() or not count.isdigit():
            raise ServiceError(422, "error.outcome_needs_people")
        _in_batch(conn, batch_id, user, [case_id])
        service.record_outcome(conn, case_id, user, kind, money, int(count),
                               accountability_kind or None if kind == "accountability" else None, note)

    return _act(request, user, batch_id, "outcome_recorded", act)


@router.post("/handouts/{batch_id}/return")
def return_batch(request: Request, batch_id: RowId, user: Annotated[Principal, page_allowed("handouts:return")],
                 _: None = Csrf) -> Response:
    """报结: back to the county once every case is decided."""
    return _act(request, user, batch_id, "handout_returned",
                lambda conn: service.return_batch(conn, batch_id, user))


@router.post("/handouts/{batch_id}/close")
def close_batch(request: Request, batch_id: RowId, user: Creator, _: None = Csrf) -> Response:
    """办结: the county closes a returned batch."""
    return _act(request, user, batch_id, "handout_closed", lambda conn: service.close_batch(conn, batch_id, user))

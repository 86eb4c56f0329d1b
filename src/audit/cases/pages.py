"""The inspectors' screens: 工作台 (home), 案件列表 (the case list, exported to Excel) and
案件详情 (a case, its evidence, and every action on it). Pages parse, authorise and shape;
the cases service does the work, exactly as for the API."""

from __future__ import annotations

import io
import json
from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from audit.api.types import RowId, normal_code
from audit.auth.service import Principal
from audit.cases import service, triage
from audit.complaints import service as complaints
from audit.db import get_engine, read_connection
from audit.detection.coverage import blind
from audit.detectors.base import yuan
from audit.detectors.catalogue import CODES, FAMILIES
from audit.errors import ServiceError
from audit.evidence import case_title, field_value, flag_title, key_shown
from audit.handouts import service as handouts
from audit.i18n import t
from audit.models import User
from audit.records.links import record_link
from audit.web import forms
from audit.web.session import Csrf, page_allowed
from audit.watch import service as watches
from audit.watch.pages import case_button, may_watch
from audit.web.templating import language, page

router = APIRouter(include_in_schema=False)
Inspector = Annotated[Principal, page_allowed("cases:read")]
PAGE_SIZE = 50
STATUSES = ("open", "confirmed", "dismissed", "referred", "closed")


def inspector_home(request: Request, user: Principal) -> Response:
    """工作台: open cases by tier (一级 first) and score, each red flag's learned hit rate (the
    county's), money at risk by town, findings by red flag, rectifications due and overdue,
    colleagues' decisions awaiting me, the cases assigned to me, the residents'
    complaints waiting for an answer, and the clue hand-out batches of my scope that are late
    (the hand-out service's own rule)."""
    lang = language(request)
    today = date.today()
    with read_connection() as conn:
        stats = service.overview(conn, user)
        _, top = service.list_cases(conn, user, status="open", sort="tier", limit=10)
        tiers = triage.tier_counts(conn, service.in_scope(user))
        rates = triage.hit_rates(conn)
        # A code's variants as sub-rows, only where decisions reached more than one of them.
        variants = {code: found for code, found in triage.variant_rates(conn).items() if len(found) > 1}
        towns = service.money_by_town(conn, user)
        codes = service.findings_by_code(conn, user)
        _, mine = service.list_cases(conn, user, status=None, assigned_to=user.name, sort="updated", limit=10)
        overdue = service.overdue(conn, user, today)
        due = service.due(conn, user, today, days=30)
        waiting = service.awaiting_approval(conn, user)
        names, places = service.user_names(conn), service.place_names(conn)
        unseen = blind(conn)
        complaints_new = complaints.unanswered(conn, user)
        handouts_late = handouts.late_count(conn, user, today)
        watch_news = watches.latest_unread(conn, user) if may_watch(user) else []
    chart = {"labels": [name or t("ui.home.no_town", lang) for name, _, _ in towns[:15]],
             "values": [round(total / 100, 2) for _, _, total in towns[:15]], "unit": t("ui.yuan", lang),
             "format": "money", "color": "#b3261e"}
    return page(request, "cases/home.html", stats=stats, complaints_new=complaints_new, watch_news=watch_news,
                handouts_late=handouts_late,
                tiers=tiers, rates=list(rates.values()), variants=variants,
                top=[service.summary(r, lang, True, names, places) for r in top],
                mine=[service.summary(r, lang, True, names, places) for r in mine],
                towns=towns, chart=json.dumps(chart, ensure_ascii=False), codes=codes,
                overdue=[_fix(r, lang) for r in overdue], due=[_fix(r, lang) for r in due],
                waiting=[{"id": w.id, "case_id": w.case_id, "decision": w.decision, "by": w.by,
                          "at": w.decided_at, "amount": yuan(w.amount_at_risk_fen),
                          "title": case_title(w.subject_kind, w.subject_key, w.label, w.codes, lang, True)}
                         for w in waiting], money=yuan,
                blind=[{"code": code, "title": flag_title(code, lang),
                        "tables": [t(f"enum.table.{table}", lang) for table in tables]}
                       for code, tables in unseen])


def _fix(row: Any, lang: str) -> dict[str, Any]:
    return {"case_id": row.case_id, "deadline": row.deadline, "original_deadline": row.original_deadline,
            "recovered": yuan(row.recovered_fen),
            "title": case_title(row.subject_kind, row.subject_key, row.label, row.codes, lang, True)}


# ---------------------------------------------------------------------- the list

def _filters(status: str | None, code: str | None, family: str | None, town: str | None, village: str | None,
             assigned_to: str | None, min_score: float | None, min_amount: str | None, max_amount: str | None,
             since: date | None, until: date | None, q: str | None) -> dict[str, Any]:
    return {"status": status or None, "code": normal_code(code) if code else None, "family": family or None,
            "town": town or None, "village": village or None, "assigned_to": assigned_to or None,
            "min_score": min_score, "min_amount": min_amount or None, "max_amount": max_amount or None,
            "since": since, "until": until, "search": q.strip() if q and q.strip() else None}


Status = Annotated[str | None, Query(pattern="^(open|confirmed|dismissed|referred|closed|all)?$")]
OptionalCode = Annotated[str | None, Query(pattern=r"^([A-Za-z]{2}-?[0-9]{2})?$")]
OptionalFamily = Annotated[str | None, Query(pattern="^(FP|DC|DV|AN|ME)?$")]
Text64 = Annotated[str | None, Query(max_length=64)]
OptionalYuan = Annotated[str | None, Query(pattern=r"^([0-9]{1,13}(\.[0-9]{1,2})?)?$")]
Sort = Annotated[str, Query(pattern="^(tier|score|amount|updated|created|id)$")]
OptionalTier = Annotated[str | None, Query(pattern="^[123]?$")]


def _blank_is_none(value: str | None) -> str | None:
    return value if value else None


@router.get("/cases", response_class=HTMLResponse)
def case_list(request: Request, user: Inspector, status: Status = "open", code: OptionalCode = None,
              family: OptionalFamily = None, town: Text64 = None, village: Text64 = None,
              assigned_to: Annotated[str | None, Query(max_length=80)] = None,
              min_score: Annotated[float | None, Query(ge=0, le=1)] = None, min_amount: OptionalYuan = None,
              max_amount: OptionalYuan = None, since: Annotated[str | None, Query(max_length=10)] = None,
              until: Annotated[str | None, Query(max_length=10)] = None,
              q: Annotated[str | None, Query(max_length=80)] = None, sort: Sort = "tier",
              tier: OptionalTier = None,
              page_number: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1) -> Response:
    """案件列表: filter (by tier too), search (a name or part of it, an ID or its last digits, a
    project's or a company's name), sort (一级 first, then by score, unless asked otherwise)
    and page; the table alone when htmx asks for it."""
    lang = language(request)
    filters = _filters(None if status == "all" else status, code, family, town, village, assigned_to, min_score,
                       min_amount, max_amount, forms.form_day(since), forms.form_day(until), q)
    with read_connection() as conn:
        total, rows = service.list_cases(conn, user, **filters, sort=sort, limit=PAGE_SIZE,
                                         offset=(page_number - 1) * PAGE_SIZE,
                                         tier=int(tier) if tier else None)
        names, places = service.user_names(conn), service.place_names(conn)
        towns = forms.towns(conn, user)
        villages = forms.villages(conn, user, town)
        inspectors = _inspectors(conn)
    query = {k: v for k, v in request.query_params.items() if k != "page" and v}
    context = {
        "items": [service.summary(r, lang, True, names, places) for r in rows], "total": total,
        "page_number": page_number, "pages": max(1, -(-total // PAGE_SIZE)), "query": query,
        "query_string": urlencode(query), "statuses": STATUSES, "codes": CODES, "families": FAMILIES,
        "towns": towns, "villages": villages, "inspectors": inspectors, "sort": sort, "tiers": triage.TIERS,
        "selected": {"status": status or "", "code": code or "", "family": family or "", "town": town or "",
                     "village": village or "", "assigned_to": assigned_to or "", "min_score": min_score,
                     "min_amount": min_amount or "", "max_amount": max_amount or "", "since": since or "",
                     "until": until or "", "q": q or "", "tier": tier or ""},
    }
    template = "cases/_results.html" if request.headers.get("hx-request") else "cases/list.html"
    return page(request, template, **context)








def _inspectors(conn: Any) -> list[str]:
    from sqlalchemy import select

    return list(conn.execute(select(User.name).where(User.role == "inspector", User.active.is_(True))
                             .order_by(User.name)).scalars())


@router.get("/cases/villages", response_class=HTMLResponse)
def villages_of_town(request: Request, user: Inspector, town: Text64 = None) -> Response:
    """The village choices of a town (the filter form asks when the town changes)."""
    with read_connection() as conn:
        villages = forms.villages(conn, user, town)
    return page(request, "cases/_village_options.html", villages=villages, chosen="")


@router.get("/cases/export.xlsx")
def export_cases(request: Request, user: Inspector, status: Status = "open", code: OptionalCode = None,
                 family: OptionalFamily = None, town: Text64 = None, village: Text64 = None,
                 assigned_to: Annotated[str | None, Query(max_length=80)] = None,
                 min_score: Annotated[float | None, Query(ge=0, le=1)] = None, min_amount: OptionalYuan = None,
                 max_amount: OptionalYuan = None, since: Annotated[str | None, Query(max_length=10)] = None,
                 until: Annotated[str | None, Query(max_length=10)] = None,
                 q: Annotated[str | None, Query(max_length=80)] = None, sort: Sort = "tier",
                 tier: OptionalTier = None) -> Response:
    """The filtered list as an .xlsx workbook (numbers masked; amounts as numbers; the tier,
    一级/二级/三级, in the last column)."""
    from urllib.parse import quote

    import xlsxwriter

    from audit import trail

    lang = language(request)
    filters = _filters(None if status == "all" else status, code, family, town, village, assigned_to, min_score,
                       min_amount, max_amount, forms.form_day(since), forms.form_day(until), q)
    with get_engine().begin() as conn:
        total, rows = service.list_cases(conn, user, **filters, sort=sort, limit=100_000, offset=0,
                                         tier=int(tier) if tier else None)
        names, places = service.user_names(conn), service.place_names(conn)
        items = [service.summary(r, lang, True, names, places) for r in rows]
        trail.append(conn, user.name, "cases_exported", "case list",
                     {"rows": len(items), "filters": {k: str(v) for k, v in filters.items() if v is not None}})
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet(t("ui.cases.sheet", lang))
    bold = book.add_format({"bold": True, "bg_color": "#EEF2F7", "border": 1})
    amount = book.add_format({"num_format": "#,##0.00"})
    headings = [t(f"ui.cases.col.{c}", lang) for c in ("id", "title", "score", "amount", "town", "village",
                                                      "status", "assigned", "created", "owed", "tier")]
    sheet.write_row(0, 0, headings, bold)
    for index, item in enumerate(items, start=1):
        sheet.write_number(index, 0, item["id"])
        sheet.write_string(index, 1, item["title"])
        sheet.write_number(index, 2, item["score"])
        sheet.write_number(index, 3, float(item["amount_at_risk"]), amount)  # xlsx stores doubles; shown to the fen
        sheet.write_string(index, 4, item["town"] or "")
        sheet.write_string(index, 5, item["village"] or "")
        sheet.write_string(index, 6, t(f"enum.case_status.{item['status']}", lang))
        sheet.write_string(index, 7, item["assigned_to"] or "")
        sheet.write_string(index, 8, item["created_at"][:10])
        sheet.write_number(index, 9, float(item["amount_owed"]), amount)  # owed to households (ME), apart
        # The tier last, so the columns a reader's sheet already uses keep their places.
        sheet.write_string(index, 10, t(f"ui.tier.{item['tier']}", lang) if item["tier"] else "")
    sheet.set_column(0, 0, 8)
    sheet.set_column(1, 1, 60)
    sheet.set_column(2, 3, 14)
    sheet.set_column(4, 5, 12)
    sheet.set_column(6, 8, 12)
    sheet.set_column(9, 9, 14)
    sheet.set_column(10, 10, 8)
    sheet.freeze_panes(1, 0)
    sheet.autofilter(0, 0, max(1, len(items)), len(headings) - 1)
    book.close()
    filename = quote(t("ui.cases.file", lang) + f"-{date.today().isoformat()}.xlsx")
    return Response(buffer.getvalue(), media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{filename}"})


# ---------------------------------------------------------------------- a case

def _detail(request: Request, user: Principal, case_id: int, masked: bool, error: str | None = None,
            fields: dict[str, Any] | None = None, status: int = 200) -> Response:
    lang = language(request)
    with read_connection() as conn:
        detail = service.case_detail(conn, case_id, user, lang, masked)
        inspectors = _inspectors(conn)
        watching = case_button(conn, user, detail)  # 关注 / 取消关注 of the case's subject
    for finding in detail["findings"]:
        for step in finding["evidence"]:
            step["link"] = record_link(step["kind"], step.get("record"), step["key"])
            step["key_shown"] = key_shown(step["kind"], step["key"])
            step["shown"] = [(name, shown) for name, value in step["fields"].items()
                             if (shown := field_value(step["kind"], name, value, lang)) is not None]
    pending = next((d for d in detail["decisions"] if d["state"] == "pending"), None)
    effective = next((d for d in detail["decisions"] if d["state"] == "effective"), None)
    return page(request, "cases/detail.html", status=status, case=detail, masked=masked, inspectors=inspectors,
                pending=pending, effective=effective, error=error, fields=fields or {}, watching=watching,
                today=date.today().isoformat(), subject_link=record_link(detail["subject"]["kind"], None,
                                                                         detail["subject"]["key"]))


@router.get("/cases/{case_id}", response_class=HTMLResponse)
def case_page(request: Request, case_id: RowId, user: Inspector) -> Response:
    """案件详情: who it is about, score and money at risk, each finding's evidence chain in the
    reader's language with the records it names, the actions, and the history."""
    return _detail(request, user, case_id, masked=True)


def _case_file(request: Request, case_id: int, user: Principal, fmt: str, reveal_reason: str | None = None
               ) -> Response:
    from urllib.parse import quote

    from audit.cases import casefile

    with get_engine().begin() as conn:
        content, media, name = casefile.download(conn, case_id, user, language(request), fmt, reveal_reason)
    return Response(content, media_type=media,
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"})


@router.get("/cases/{case_id}/file.pdf")
def case_file_pdf(request: Request, case_id: RowId, user: Inspector) -> Response:
    """下载案件材料（PDF）: the case file, numbers masked, each record with its hash; on the trail."""
    return _case_file(request, case_id, user, "pdf")


@router.get("/cases/{case_id}/file.xlsx")
def case_file_xlsx(request: Request, case_id: RowId, user: Inspector) -> Response:
    """下载案件材料（Excel）: the same file as a workbook, with the 校验 sheet to verify it by."""
    return _case_file(request, case_id, user, "xlsx")


@router.post("/cases/{case_id}/file")
def case_file_full(request: Request, case_id: RowId, user: Annotated[Principal, page_allowed("pii:reveal")],
                   fmt: Annotated[str, Form(pattern="^(pdf|xlsx)$")] = "pdf",
                   reason: Annotated[str, Form(max_length=500)] = "", _: None = Csrf) -> Response:
    """案件材料 with the numbers in full (for a referral): a reveal with its reason, on the trail
    before the download (a POST, so the reason never sits in a URL); without a reason, the
    case page says one is needed."""
    try:
        return _case_file(request, case_id, user, fmt, reason)
    except ServiceError as exc:
        return _detail(request, user, case_id, masked=True, error=exc.message_id, fields=exc.fields,
                       status=exc.status)


@router.post("/cases/{case_id}/reveal", response_class=HTMLResponse)
def reveal(request: Request, case_id: RowId, user: Annotated[Principal, page_allowed("pii:reveal")],
           reason: Annotated[str, Form(max_length=500)] = "", _: None = Csrf) -> Response:
    """查看完整号码: with a reason, which goes on the trail; the page comes back unmasked (a
    POST, so no full number ever sits in a URL or the browser's history)."""
    try:
        with get_engine().begin() as conn:
            service.reveal(conn, case_id, user, reason)
    except ServiceError as exc:
        return _detail(request, user, case_id, masked=True, error=exc.message_id, fields=exc.fields,
                       status=exc.status)
    return _detail(request, user, case_id, masked=False)


def _act(request: Request, user: Principal, case_id: int, done: str, action: Any) -> Response:
    """Run one action on the case in a transaction; back to the case page, with a line that
    says it was done, or the refusal in the reader's language."""
    try:
        with get_engine().begin() as conn:
            action(conn)
    except ServiceError as exc:
        return _detail(request, user, case_id, masked=True, error=exc.message_id, fields=exc.fields,
                       status=exc.status)
    return RedirectResponse(f"/cases/{case_id}?done={done}", status_code=303)


@router.post("/cases/{case_id}/assign")
def assign(request: Request, case_id: RowId, user: Annotated[Principal, page_allowed("cases:assign")],
           to: Annotated[str, Form(min_length=1, max_length=80)], _: None = Csrf) -> Response:
    """Assign the case to an inspector."""
    return _act(request, user, case_id, "case_assigned", lambda conn: service.assign(conn, case_id, to, user))


@router.post("/cases/{case_id}/comment")
def comment(request: Request, case_id: RowId, user: Annotated[Principal, page_allowed("cases:comment")],
            text: Annotated[str, Form(min_length=1, max_length=4000)], _: None = Csrf) -> Response:
    """Add a comment to the history."""
    return _act(request, user, case_id, "case_commented", lambda conn: service.comment(conn, case_id, text, user))


@router.post("/cases/{case_id}/decide")
def decide(request: Request, case_id: RowId, user: Annotated[Principal, page_allowed("cases:decide")],
           decision: Annotated[str, Form(pattern="^(confirmed|dismissed|referred)$")],
           reason: Annotated[str, Form(max_length=4000)] = "", _: None = Csrf) -> Response:
    """确认 / 排除 / 移送, with the reason; serious ones wait for a second inspector."""
    return _act(request, user, case_id, "case_decided",
                lambda conn: service.decide(conn, case_id, decision, reason, user))


@router.post("/cases/{case_id}/decisions/{decision_id}/approve")
def approve(request: Request, case_id: RowId, decision_id: RowId,
            user: Annotated[Principal, page_allowed("cases:approve")], _: None = Csrf) -> Response:
    """Approve a colleague's decision (the second pair of eyes)."""
    return _act(request, user, case_id, "decision_approved",
                lambda conn: service.approve(conn, case_id, decision_id, user))


@router.post("/cases/{case_id}/decisions/{decision_id}/reject")
def reject(request: Request, case_id: RowId, decision_id: RowId,
           user: Annotated[Principal, page_allowed("cases:approve")],
           note: Annotated[str, Form(max_length=4000)] = "", _: None = Csrf) -> Response:
    """Reject a colleague's decision, with the reason; the case stays open."""
    return _act(request, user, case_id, "decision_rejected",
                lambda conn: service.reject(conn, case_id, decision_id, note, user))


@router.post("/cases/{case_id}/rectification")
def rectify(request: Request, case_id: RowId, user: Annotated[Principal, page_allowed("cases:rectify")],
            deadline: Annotated[str, Form(max_length=10)], recovered: Annotated[str, Form(max_length=16)] = "0",
            accountable: Annotated[str, Form(max_length=2000)] = "", note: Annotated[str, Form(max_length=4000)] = "",
            extension_reason: Annotated[str, Form(max_length=4000)] = "", _: None = Csrf) -> Response:
    """整改: the deadline (整改期限), money recovered (追回金额), people held accountable (责任人)."""
    day = forms.form_day(deadline)
    if day is None:
        raise ServiceError(422, "error.not_a_date", value=deadline)
    people = [p.strip() for p in accountable.replace("，", ",").replace("、", ",").split(",") if p.strip()][:50]
    amount = recovered.strip() or "0"
    import re

    if not re.fullmatch(r"[0-9]{1,13}(\.[0-9]{1,2})?", amount):
        raise ServiceError(422, "error.not_an_amount", value=recovered)
    return _act(request, user, case_id, "case_rectified",
                lambda conn: service.rectify(conn, case_id, day, amount, people, note or None,
                                             extension_reason or None, user))


@router.post("/cases/{case_id}/close")
def close(request: Request, case_id: RowId, user: Annotated[Principal, page_allowed("cases:rectify")],
          _: None = Csrf) -> Response:
    """已办结: close a rectified, dismissed or referred case."""
    return _act(request, user, case_id, "case_closed", lambda conn: service.close(conn, case_id, user))


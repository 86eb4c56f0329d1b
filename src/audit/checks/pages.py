"""发放前核查, the finance officers' screens: upload a roster or a disbursement batch (drag
and drop or the file picker; it is checked as a background job with a progress bar), read
the verdicts as a table filtered by verdict and reason, release a held line with a reason
(two officers where the controls say so), take the file back annotated for the bank, a
blank template per program, one disbursement checked by a form, and the history of checks.
Pages parse, authorise and shape; the checks service does the work, as for the API."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from audit.api.types import RowId
from audit.api.uploads import shipped_profile, spool_upload, start_upload
from audit.auth.service import Principal
from audit.checks import service, sheets
from audit.checks.router import ROSTER_MEDIA, xlsx_response
from audit.db import get_engine, read_connection
from audit.errors import ServiceError
from audit.i18n import t
from audit.jobs import service as jobs
from audit.models import Program
from audit.web.session import Csrf, page_allowed
from audit.web.templating import language, page

router = APIRouter(include_in_schema=False)
Runner = Annotated[Principal, page_allowed("checks:run")]
Releaser = Annotated[Principal, page_allowed("checks:release")]
Approver = Annotated[Principal, page_allowed("checks:approve")]
KINDS = ("card_roster", "disbursements")
PAGE_SIZE = 100


def _programs() -> list[Any]:
    with read_connection() as conn:
        return list(conn.execute(select(Program.program_code, Program.name, Program.period)
                                 .order_by(Program.program_code)))


def finance_home(request: Request, user: Principal, error: str | None = None, fields: dict[str, Any] | None = None,
                 status: int = 200) -> Response:
    """工作台 of a finance officer: a new check (upload), the templates, the latest checks."""
    with read_connection() as conn:
        total, checks = service.list_checks(conn, user, 20, 0)
    return page(request, "checks/home.html", status=status, checks=checks, total=total, programs=_programs(),
                kinds=KINDS, error=error, fields=fields or {})


@router.get("/finance/checks", response_class=HTMLResponse)
def history(request: Request, user: Runner, offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0) -> Response:
    """核查记录: every check of my scope, newest first."""
    with read_connection() as conn:
        total, checks = service.list_checks(conn, user, 50, offset)
    return page(request, "checks/history.html", checks=checks, total=total, offset=offset, size=50)


@router.post("/finance/checks", response_class=HTMLResponse)
async def upload(request: Request, user: Runner, _: None = Csrf) -> Response:
    """Upload a file of lines from the form; it is checked as a job and the page follows it."""
    try:
        sent = await spool_upload(request, ROSTER_MEDIA, "roster")
    except ServiceError as exc:
        return finance_home(request, user, exc.message_id, exc.fields, exc.status)
    kind = sent.fields.get("kind") if sent.fields.get("kind") in KINDS else "card_roster"
    sheet = sent.fields.get("sheet") or None
    try:
        chosen = shipped_profile(sent.fields.get("profile"))
    except ServiceError as exc:
        sent.path.unlink(missing_ok=True)
        return finance_home(request, user, exc.message_id, exc.fields, exc.status)
    job = await start_upload("roster_check", user, sent.path, "check_file",
                             {"kind": kind, "suffix": sent.suffix, "user": user.name, "lang": language(request),
                              "sheet": sheet, "filename": sent.filename, "profile": chosen})
    return RedirectResponse(f"/finance/jobs/{job.job_id}", status_code=303)


def _job(user: Principal, job_id: int) -> dict[str, Any]:
    with read_connection() as conn:
        return jobs.get(conn, job_id, user)


@router.get("/finance/jobs/{job_id}", response_class=HTMLResponse)
def job_page(request: Request, job_id: RowId, user: Runner) -> Response:
    """核查进度: the job's progress bar, polled until the check is ready."""
    job = _job(user, job_id)
    if job["state"] == "done":
        return RedirectResponse(f"/finance/checks/{job['result']['check_id']}", status_code=303)
    return page(request, "checks/job.html", job=job, programs=_programs(), kinds=KINDS)


@router.get("/finance/jobs/{job_id}/progress", response_class=HTMLResponse)
def job_progress(request: Request, job_id: RowId, user: Runner) -> Response:
    """The progress bar alone (htmx polls it); when the check is ready, the browser goes there."""
    job = _job(user, job_id)
    if job["state"] == "done":
        response = HTMLResponse("")
        response.headers["HX-Redirect"] = f"/finance/checks/{job['result']['check_id']}"
        return response
    return page(request, "checks/_progress.html", job=job, programs=_programs(), kinds=KINDS)


def _reason_codes(lines: list[dict[str, Any]]) -> list[str]:
    return sorted({r["code"] for line in lines for r in line["reasons"]})


@router.get("/finance/checks/{check_id}", response_class=HTMLResponse)
def check_page(request: Request, check_id: RowId, user: Runner,
               verdict: Annotated[str | None, Query(pattern="^(pass|hold|released|pending)?$")] = None,
               reason: Annotated[str | None, Query(max_length=16)] = None,
               offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0) -> Response:
    """核查结果: counts, the lines filtered by verdict and reason, each hold's reasons and
    evidence, and the forms to release, approve or reject."""
    return _check_page(request, user, check_id, verdict or None, reason or None, offset)  # "" is the form's 全部


def _state(line: dict[str, Any]) -> str:
    released = line.get("released")
    if line["verdict"] == "hold" and released:
        return {"effective": "released", "pending": "pending"}.get(released["state"], "hold")
    return str(line["verdict"])


def _check_page(request: Request, user: Principal, check_id: int, verdict: str | None, reason: str | None,
                offset: int, error: str | None = None, fields: dict[str, Any] | None = None,
                status: int = 200) -> Response:
    lang = language(request)
    with read_connection() as conn:
        check = service.get_check(conn, check_id, user, lang)
        owner, has_file = service.check_source(conn, check_id)
    lines = [{**line, "two": service.needs_second_officer({r["code"] for r in line["reasons"]})}
             for line in check["lines"]]
    counts = {state: sum(1 for line in lines if _state(line) == state)
              for state in ("pass", "hold", "pending", "released")}
    by_reason = {code: sum(1 for line in lines if any(r["code"] == code for r in line["reasons"]))
                 for code in _reason_codes(lines)}
    shown = [line for line in lines
             if (verdict is None or _state(line) == verdict)
             and (reason is None or any(r["code"] == reason for r in line["reasons"]))]
    # Held lines first: they are the work.
    shown.sort(key=lambda line: (line["verdict"] != "hold", _state(line) == "released"))
    query = {k: v for k, v in {"verdict": verdict, "reason": reason}.items() if v}
    return page(request, "checks/check.html", status=status, check=check, counts=counts, by_reason=by_reason,
                lines=shown[offset:offset + PAGE_SIZE], shown=len(shown), offset=offset, size=PAGE_SIZE,
                verdict=verdict, reason=reason, query=urlencode(query), uploader=owner == user.id,
                has_file=has_file, me=user.name, error=error, fields=fields or {})


def _act(request: Request, user: Principal, check_id: int, done: str, action: Any) -> Response:
    try:
        with get_engine().begin() as conn:
            action(conn)
    except ServiceError as exc:
        return _check_page(request, user, check_id, None, None, 0, exc.message_id, exc.fields, exc.status)
    return RedirectResponse(f"/finance/checks/{check_id}?done={done}", status_code=303)


@router.post("/finance/checks/{check_id}/release")
def release(request: Request, check_id: RowId, user: Releaser, line: Annotated[str, Form(min_length=1, max_length=64)],
            reason: Annotated[str, Form(max_length=4000)] = "", _: None = Csrf) -> Response:
    """放行: release a held line with the reason (a second officer approves where required)."""
    return _act(request, user, check_id, "line_released",
                lambda conn: service.release(conn, check_id, line, reason, user))


@router.post("/finance/checks/{check_id}/releases/{release_id}/approve")
def approve(request: Request, check_id: RowId, release_id: RowId, user: Approver, _: None = Csrf) -> Response:
    """复核通过: approve a colleague's release (the second pair of eyes)."""
    return _act(request, user, check_id, "release_approved",
                lambda conn: service.approve_release(conn, check_id, release_id, user))


@router.post("/finance/checks/{check_id}/releases/{release_id}/reject")
def reject(request: Request, check_id: RowId, release_id: RowId, user: Approver,
           note: Annotated[str, Form(max_length=4000)] = "", _: None = Csrf) -> Response:
    """复核不通过: reject a colleague's release, with the reason; the line stays held."""
    return _act(request, user, check_id, "release_rejected",
                lambda conn: service.reject_release(conn, check_id, release_id, note, user))


@router.get("/finance/checks/{check_id}/sheet.xlsx")
def annotated_sheet(request: Request, check_id: RowId, user: Runner,
                    full: Annotated[bool, Query(description="the uploader's own file, numbers as sent")] = False
                    ) -> Response:
    """下载核查结果: the file back with 核查结果, 原因 and 处理意见 beside every line."""
    engine = get_engine()
    with engine.begin() as conn:  # a full download goes on the trail
        name, body = sheets.annotated(conn, check_id, user, language(request), full=full)
    return xlsx_response(name, body)


@router.get("/finance/template.xlsx")
def template(request: Request, user: Runner,
             kind: Annotated[str, Query(pattern="^(card_roster|disbursements)$")] = "card_roster",
             program: Annotated[str | None, Query(max_length=64)] = None) -> Response:
    """下载模板: a blank roster for one program (or a disbursement batch), with instructions."""
    with read_connection() as conn:
        name, body = sheets.template(conn, kind, program or None, language(request))
    return xlsx_response(name, body)


DISBURSEMENT_FIELDS = ("disbursement_id", "allocation_id", "project_id", "payer_unit", "payee_kind", "payee_id",
                       "payee_account", "amount", "paid_on", "voucher_number", "invoice_number", "purpose_text",
                       "approved_by")


@router.get("/finance/disbursement", response_class=HTMLResponse)
def disbursement_form(request: Request, user: Runner) -> Response:
    """单笔拨付核查: one disbursement, checked before it is paid."""
    return page(request, "checks/disbursement.html", values={"paid_on": date.today().isoformat(),
                                                             "payee_kind": "org"}, error=None, fields={})


@router.post("/finance/disbursement", response_class=HTMLResponse)
async def check_disbursement(request: Request, user: Runner, _: None = Csrf) -> Response:
    """Check the form's disbursement; the verdict opens as a check like any other."""
    form = await request.form()
    values = {name: str(form.get(name) or "").strip()[:500] for name in DISBURSEMENT_FIELDS}
    line = {name: (value or None) for name, value in values.items()}
    missing = [name for name in ("disbursement_id", "allocation_id", "payer_unit", "payee_kind", "payee_id",
                                 "payee_account", "amount", "paid_on") if not line[name]]
    if missing:
        return page(request, "checks/disbursement.html", status=422, values=values, error="error.form_missing",
                    fields={"fields": [t(f"ui.finance.field.{name}", language(request)) for name in missing]})
    try:
        with get_engine().begin() as conn:
            done = service.check_lines(conn, "disbursements", [line], user)
    except ServiceError as exc:
        return page(request, "checks/disbursement.html", status=exc.status, values=values, error=exc.message_id,
                    fields=exc.fields)
    return RedirectResponse(f"/finance/checks/{done['check_id']}", status_code=303)

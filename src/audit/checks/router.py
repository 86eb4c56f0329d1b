"""Routes of the finance officers' pre-release checks."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from audit.api.deps import Lang, ReadSessionDep, SessionDep, allowed
from audit.api.types import LongText, RowId
from audit.api.uploads import run_upload, shipped_profile, spool_upload
from audit.auth.service import Principal
from audit.checks import service, sheets
from audit.errors import ServiceError
from audit.db import read_connection

router = APIRouter(tags=["pre-release checks"])
Runner = Annotated[Principal, allowed("checks:run")]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class CardPaymentLine(BaseModel):
    payment_id: str = Field(min_length=1, max_length=64)
    program_code: str = Field(min_length=1, max_length=64)
    id_number: str = Field(min_length=1, max_length=20)
    household_id: str | None = Field(default=None, max_length=64)
    card_account: str = Field(min_length=1, max_length=40)
    amount: str = Field(min_length=1, max_length=20)
    period: str = Field(min_length=1, max_length=10)
    paid_on: str = Field(min_length=1, max_length=12)
    paying_unit: str = Field(min_length=1, max_length=200)
    allocation_id: str | None = Field(default=None, max_length=64)
    status: str | None = Field(default=None, max_length=10, description="paid, failed, returned, pending (or 成功…)")
    failure_reason: str | None = Field(default=None, max_length=200)
    reissue_of: str | None = Field(default=None, max_length=64)


class RosterIn(BaseModel):
    card_payments: list[CardPaymentLine] = Field(min_length=1, max_length=20000)


class DisbursementLine(BaseModel):
    disbursement_id: str = Field(min_length=1, max_length=64)
    allocation_id: str = Field(min_length=1, max_length=64)
    project_id: str | None = Field(default=None, max_length=64)
    payer_unit: str = Field(min_length=1, max_length=200)
    payee_kind: Literal["org", "person"]
    payee_id: str = Field(min_length=1, max_length=20)
    payee_account: str = Field(min_length=1, max_length=40)
    amount: str = Field(min_length=1, max_length=20)
    paid_on: str = Field(min_length=1, max_length=12)
    voucher_number: str | None = Field(default=None, max_length=64)
    invoice_number: str | None = Field(default=None, max_length=64)
    purpose_text: str | None = Field(default=None, max_length=500)
    approved_by: str | None = Field(default=None, max_length=64)


class DisbursementsIn(BaseModel):
    disbursements: list[DisbursementLine] = Field(min_length=1, max_length=5000)


@router.post("/checks/card-roster")
def check_roster(body: RosterIn, conn: SessionDep, user: Runner, lang: Lang) -> dict[str, Any]:
    """Check a card-payment roster before it goes to the bank: pass or hold per line, with reasons."""
    done = service.check_lines(conn, "card_roster", [line.model_dump() for line in body.card_payments], user)
    return service.get_check(conn, done["check_id"], user, lang)


FILE_BODY = {"requestBody": {"required": True, "content": {
    "text/csv": {"schema": {"type": "string"}}, XLSX: {"schema": {"type": "string", "format": "binary"}},
    "multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": {
        "file": {"type": "string", "format": "binary"}, "sheet": {"type": "string"}}}}}}}
ROSTER_MEDIA = {"text/csv": ".csv", XLSX: ".xlsx"}


async def check_upload(request: Request, kind: str, user: Principal, lang: str, background: bool,
                       sheet: str | None, profile: str | None = None) -> Any:
    """A file of lines (raw CSV or .xlsx, or a browser's multipart form) checked as a
    background job: 202 with the job, or the check when it is done."""
    upload = await spool_upload(request, ROSTER_MEDIA, service.TABLE[kind])
    sheet = sheet or upload.fields.get("sheet") or None
    try:
        profile = shipped_profile(profile or upload.fields.get("profile"))
    except ServiceError:
        upload.path.unlink(missing_ok=True)
        raise

    def answer(_status: int, result: dict[str, Any]) -> dict[str, Any]:
        with read_connection() as conn:
            return service.get_check(conn, result["check_id"], user, lang)

    return await run_upload("roster_check", user, upload.path, background, "check_file",
                            {"kind": kind, "suffix": upload.suffix, "user": user.name, "lang": lang,
                             "sheet": sheet, "filename": upload.filename, "profile": profile}, answer)


Background = Annotated[bool, Query(description="answer 202 with a job to poll")]
Sheet = Annotated[str | None, Query(max_length=200, description="the workbook's sheet to check")]
Profile = Annotated[str | None, Query(max_length=64, description=(
    "an import profile that ships (yikatong-payments): the file is the one-card system's own export"))]


@router.post("/checks/card-roster/file", openapi_extra=FILE_BODY)
async def check_roster_file(request: Request, user: Runner, lang: Lang, background: Background = False,
                            sheet: Sheet = None, profile: Profile = None) -> Any:
    """Check a card-payment roster sent as a file: CSV (UTF-8 or GB18030) or .xlsx with any
    sheet name (the one sheet, or ``sheet``), the county's own Chinese headers, programs by
    code, name or alias; or the one-card system's own export with ``profile``. It runs as a
    background job; with ``background=true`` the answer is the job (202), else the check."""
    return await check_upload(request, "card_roster", user, lang, background, sheet, profile)


@router.post("/checks/disbursements/file", openapi_extra=FILE_BODY)
async def check_disbursements_file(request: Request, user: Runner, lang: Lang, background: Background = False,
                                   sheet: Sheet = None) -> Any:
    """Check a batch of disbursements sent as a file (as a roster is), before they are paid."""
    return await check_upload(request, "disbursements", user, lang, background, sheet)


@router.post("/checks/disbursements")
def check_disbursements(body: DisbursementsIn, conn: SessionDep, user: Runner, lang: Lang) -> dict[str, Any]:
    """Check disbursements before they are paid: pass or hold per line, with reasons."""
    done = service.check_lines(conn, "disbursements", [line.model_dump() for line in body.disbursements], user)
    return service.get_check(conn, done["check_id"], user, lang)


@router.get("/checks")
def list_checks(conn: ReadSessionDep, user: Runner, limit: Annotated[int, Query(ge=1, le=200)] = 50,
                offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0) -> dict[str, Any]:
    """The checks of one's scope, newest first."""
    total, items = service.list_checks(conn, user, limit, offset)
    return {"total": total, "items": items}


def xlsx_response(name: str, body: bytes) -> Response:
    return Response(body, media_type=XLSX, headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"})


XLSX_ANSWER = {200: {"content": {XLSX: {}}}}


@router.get("/checks/template", response_class=Response, responses=XLSX_ANSWER)
def roster_template(conn: ReadSessionDep, user: Runner, lang: Lang,
                    kind: Annotated[Literal["card_roster", "disbursements"], Query()] = "card_roster",
                    program: Annotated[str | None, Query(max_length=64)] = None) -> Response:
    """A blank roster for one program (or a disbursement batch) as .xlsx: the county's
    headers, identifiers as text, and a sheet of instructions."""
    return xlsx_response(*sheets.template(conn, kind, program, lang))


@router.get("/checks/{check_id}/sheet", response_class=Response, responses=XLSX_ANSWER)
def annotated_sheet(check_id: RowId, conn: SessionDep, user: Runner, lang: Lang,
                    full: Annotated[bool, Query(description="the uploader's own file, numbers as sent")] = False
                    ) -> Response:
    """The checked file back as .xlsx with 核查结果, 原因 and 处理意见 added (masked; as sent,
    for the bank, to its uploader alone, on the trail)."""
    return xlsx_response(*sheets.annotated(conn, check_id, user, lang, full=full))


@router.get("/checks/{check_id}")
def get_check(check_id: RowId, conn: ReadSessionDep, user: Runner, lang: Lang) -> dict[str, Any]:
    """A stored check: each line's verdict, reasons and any release."""
    return service.get_check(conn, check_id, user, lang)


class ReleaseIn(BaseModel):
    line: str = Field(min_length=1, max_length=64)
    reason: LongText


class ReleaseOut(BaseModel):
    release_id: int
    state: str


@router.post("/checks/{check_id}/release", response_model=ReleaseOut, status_code=201)
def release_line(check_id: RowId, body: ReleaseIn, conn: SessionDep,
                 user: Annotated[Principal, allowed("checks:release")]) -> ReleaseOut:
    """Release a held line, with the reason; a line held for DC-02, DC-06, DC-08 or DC-12
    waits for a second finance officer (state pending). A line is released once."""
    release_id, state = service.release(conn, check_id, body.line, body.reason, user)
    return ReleaseOut(release_id=release_id, state=state)


@router.post("/checks/{check_id}/releases/{release_id}/approve", status_code=204)
def approve_release(check_id: RowId, release_id: RowId, conn: SessionDep,
                    user: Annotated[Principal, allowed("checks:approve")]) -> None:
    """Approve a colleague's pending release (four eyes)."""
    service.approve_release(conn, check_id, release_id, user)


class RejectIn(BaseModel):
    note: LongText


@router.post("/checks/{check_id}/releases/{release_id}/reject", status_code=204)
def reject_release(check_id: RowId, release_id: RowId, body: RejectIn, conn: SessionDep,
                   user: Annotated[Principal, allowed("checks:approve")]) -> None:
    """Reject a colleague's pending release, with the reason: the line stays held."""
    service.reject_release(conn, check_id, release_id, body.note, user)

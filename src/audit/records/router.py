"""Routes of records: dataset uploads, single records created idempotently, paged reads."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import JSONResponse

from audit.api.deps import Lang, SessionDep, allowed
from audit.api.uploads import run_upload, shipped_profile, spool
from audit.auth.service import Principal
from audit.errors import ServiceError
from audit.importer.report import ImportReport
from audit.records import service

router = APIRouter(tags=["records"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ZIP = "application/zip"
CSV = "text/csv"


def report_json(report: ImportReport, lang: str) -> dict[str, Any]:
    """An import report for the API: each problem's reason in the reader's language beside
    its message id and fields, every quoted cell and personal field masked as its name says."""
    return report.as_dict(lang, masked=True)


@router.post("/datasets", openapi_extra={"requestBody": {"required": True, "content": {
    ZIP: {"schema": {"type": "string", "format": "binary"}}, XLSX: {"schema": {"type": "string", "format": "binary"}},
    CSV: {"schema": {"type": "string"}}}}})
async def upload_dataset(request: Request, user: Annotated[Principal, allowed("datasets:import")], lang: Lang,
                         partial: bool = False,
                         background: Annotated[bool, Query(description="answer 202 with a job to poll")] = False,
                         profile: Annotated[str | None, Query(max_length=64, description=(
                             "an import profile that ships (yikatong-payments, fpxt-members): the file is a "
                             "county's own export, a CSV or one workbook sheet"))] = None,
                         ) -> Any:
    """Import a dataset (a .zip of CSV files or an .xlsx workbook) with the same importer and
    report as ``audit import``: 422 when rejected, nothing stored; with ``profile``, a
    county's own export (CSV or .xlsx). It runs as a background job; with
    ``background=true`` the answer is the job (202), else the report."""
    profile = shipped_profile(profile)  # before the body is read: an unknown profile costs nothing
    kind = request.headers.get("content-type", "").split(";")[0].strip()
    media = {ZIP: ".zip", XLSX: ".xlsx", **({CSV: ".csv"} if profile else {})}
    if kind not in media:
        raise ServiceError(415, "error.dataset_media_type")
    path = await spool(request, media[kind])

    # The report is rendered in the worker, in the language of whoever sent the upload
    # (a job polled later shows it in that language).
    def answer(status: int, result: dict[str, Any]) -> Response:
        return Response(json.dumps(result, ensure_ascii=False), media_type="application/json", status_code=status)

    return await run_upload("import", user, path, background, "import",
                            {"partial": partial, "user": user.name, "lang": lang, "profile": profile}, answer)


@router.post("/records/{table}", status_code=201)
def create_record(table: Literal["projects", "disbursements", "card_payments"],
                  values: dict[str, str | None], conn: SessionDep,
                  user: Annotated[Principal, allowed("records:create")], lang: Lang,
                  idempotency_key: Annotated[str, Header(min_length=8, max_length=200)]) -> Response:
    """Create one project approval, disbursement or card payment; a retry with the same
    Idempotency-Key and body gets the first response, never a second record."""
    status_code, body = service.create(conn, table, values, idempotency_key, user, lang)
    return JSONResponse(body, status_code=status_code)


@router.get("/records/{table}")
def read_records(table: str, request: Request, conn: SessionDep, user: Annotated[Principal, allowed("records:read")],
                 limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                 offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0) -> dict[str, Any]:
    """Rows of an interchange table, filtered by ``column=value`` query parameters (a name
    matches in part), paged. Numbers are masked except for inspectors, whose reads are on
    the audit trail; only inspectors filter by an ID or account number."""
    filters = {k: v for k, v in request.query_params.items() if k not in {"limit", "offset"}}
    return service.read(conn, table, filters, limit, offset, user)

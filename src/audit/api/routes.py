"""Routes: they parse, authorise (one policy operation each) and shape responses; the
logic lives in the services."""

from __future__ import annotations

from datetime import date, datetime
from urllib.parse import quote
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, HTTPException, Path, Query, Request, Response, status
from pydantic import BaseModel, Field

from audit import trail
from audit.api.deps import CurrentUser, SessionDep, allowed
from audit.api.masking import mask
from audit.detectors.base import yuan
from audit.review import service as review
from audit.users import authenticate, issue_token

router = APIRouter()
# Keys of stored rows: bounded, so an absurd number is a 422, not a database overflow.
RowId = Annotated[int, Path(ge=1, le=2_147_483_647)]


def _review(call: Any, *args: Any) -> Any:
    try:
        return call(*args)
    except review.ReviewError as exc:
        raise HTTPException(exc.status, str(exc)) from None


# ---------------------------------------------------------------------- auth

class Login(BaseModel):
    name: str = Field(min_length=1, max_length=80)
    password: str = Field(min_length=1, max_length=200)


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_at: str
    role: str


@router.post("/auth/login", response_model=TokenOut, tags=["auth"])
def login(body: Login, conn: SessionDep) -> TokenOut:
    """Exchange a name and password for a bearer token that expires."""
    user = authenticate(conn, body.name, body.password)
    if user is None:
        trail.append(conn, body.name, "login_failed")
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong name or password")
    token, expires = issue_token(conn, user.id, "session")
    trail.append(conn, user.name, "login")
    return TokenOut(access_token=token, expires_at=expires.isoformat(), role=user.role)


class ApiTokenIn(BaseModel):
    user: str = Field(min_length=1, max_length=80)
    label: str = Field(min_length=1, max_length=120)


@router.post("/auth/api-tokens", response_model=TokenOut, status_code=201, tags=["auth"])
def create_api_token(body: ApiTokenIn, conn: SessionDep, admin: Annotated[Any, allowed("tokens:create")]
                     ) -> TokenOut:
    """Issue a long-lived API token for a machine client acting as a user (admins only)."""
    from sqlalchemy import select

    from audit.models import User

    target = conn.execute(select(User).where(User.name == body.user, User.active.is_(True))).first()
    if target is None:
        raise HTTPException(404, f"no active user {body.user}")
    token, expires = issue_token(conn, target.id, "api", body.label)
    trail.append(conn, admin.name, "api_token_created", f"user {target.name}", {"label": body.label})
    return TokenOut(access_token=token, expires_at=expires.isoformat(), role=target.role)


class Me(BaseModel):
    name: str
    role: str


@router.get("/me", response_model=Me, tags=["auth"])
def me(user: CurrentUser) -> Me:
    """Who the token belongs to, and their role."""
    return Me(name=user.name, role=user.role)


# ---------------------------------------------------------------------- cases

class CaseSummary(BaseModel):
    id: int
    subject: dict[str, str]
    title: str
    score: float
    amount_at_risk: str
    codes: list[str]
    status: str


class CasePage(BaseModel):
    total: int
    items: list[CaseSummary]


@router.get("/cases", response_model=CasePage, tags=["review"])
def list_cases(
    conn: SessionDep, _: Annotated[Any, allowed("cases:read")],
    case_status: Annotated[Literal["open", "confirmed", "dismissed", "referred", "closed"] | None,
                           Query(alias="status")] = "open",
    code: Annotated[str | None, Query(pattern=r"^[A-Za-z]{2}-?\d{2}$")] = None,
    family: Annotated[Literal["FP", "DC", "DV", "AN"] | None, Query()] = None,
    min_score: Annotated[float | None, Query(ge=0, le=1)] = None,
    min_amount: Annotated[str | None, Query(pattern=r"^\d{1,12}(\.\d{1,2})?$")] = None,
    assigned_to: str | None = None,
    sort: Literal["score", "amount", "updated", "id"] = "score",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> CasePage:
    """Cases, filtered and sorted; identity and account numbers are masked in this list."""
    if code and "-" not in code:
        code = f"{code[:2]}-{code[2:]}"
    total, rows = review.list_cases(conn, status=case_status, code=code, family=family, min_score=min_score,
                                    min_amount=min_amount, assigned_to=assigned_to, sort=sort, limit=limit,
                                    offset=offset)
    items = [CaseSummary(id=r.id, subject=mask({"kind": r.subject_kind, "key": r.subject_key}),
                         title=mask(r.title), score=r.score, amount_at_risk=yuan(r.amount_at_risk_fen),
                         codes=r.codes, status=r.status) for r in rows]
    return CasePage(total=total, items=items)


@router.get("/cases/{case_id}", tags=["review"])
def get_case(case_id: RowId, conn: SessionDep, user: Annotated[Any, allowed("cases:read")],
             reveal: bool = False) -> dict[str, Any]:
    """A case with its findings, each evidence step resolved into the record it names.

    Numbers are masked unless ``reveal=true``; a reveal is written to the audit trail."""
    detail = _review(review.case_detail, conn, case_id)
    if not reveal:
        return mask(detail)
    trail.append(conn, user.name, "reveal", f"case {case_id}", {"reason": "case review"})
    return detail


class AssignIn(BaseModel):
    to: str = Field(min_length=1, max_length=80)


@router.post("/cases/{case_id}/assign", status_code=204, tags=["review"])
def assign(case_id: RowId, body: AssignIn, conn: SessionDep, user: Annotated[Any, allowed("cases:assign")]) -> None:
    """Assign a case to an inspector."""
    _review(review.assign, conn, case_id, body.to, user)


class CommentIn(BaseModel):
    text: str = Field(min_length=1, max_length=4000)


@router.post("/cases/{case_id}/comments", status_code=204, tags=["review"])
def comment(case_id: RowId, body: CommentIn, conn: SessionDep, user: Annotated[Any, allowed("cases:comment")]
            ) -> None:
    """Add a comment to a case's history."""
    _review(review.comment, conn, case_id, body.text, user)


class DecisionIn(BaseModel):
    decision: Literal["confirmed", "dismissed", "referred"]
    reason: str = Field(min_length=1, max_length=4000)


class DecisionOut(BaseModel):
    decision_id: RowId
    state: str


@router.post("/cases/{case_id}/decisions", response_model=DecisionOut, status_code=201, tags=["review"])
def decide(case_id: RowId, body: DecisionIn, conn: SessionDep, user: Annotated[Any, allowed("cases:decide")]
           ) -> DecisionOut:
    """Decide a case; a confirmation waits for a second inspector's approval."""
    decision_id = _review(review.decide, conn, case_id, body.decision, body.reason, user)
    return DecisionOut(decision_id=decision_id, state="pending" if body.decision == "confirmed" else "effective")


@router.post("/cases/{case_id}/decisions/{decision_id}/approve", status_code=204, tags=["review"])
def approve(case_id: RowId, decision_id: RowId, conn: SessionDep, user: Annotated[Any, allowed("cases:approve")]
            ) -> None:
    """Approve another inspector's confirmation (four eyes)."""
    _review(review.approve, conn, case_id, decision_id, user)


class RectificationIn(BaseModel):
    deadline: date
    recovered: str = Field(default="0.00", pattern=r"^\d{1,12}(\.\d{1,2})?$")
    accountable: list[Annotated[str, Field(min_length=1, max_length=120)]] = Field(default_factory=list,
                                                                                    max_length=50)
    note: str | None = Field(default=None, max_length=4000)


@router.put("/cases/{case_id}/rectification", status_code=204, tags=["review"])
def rectify(case_id: RowId, body: RectificationIn, conn: SessionDep, user: Annotated[Any, allowed("cases:rectify")]
            ) -> None:
    """Record a confirmed case's rectification: deadline, money recovered, people held accountable."""
    _review(review.rectify, conn, case_id, body.deadline, body.recovered, body.accountable, body.note, user)


@router.post("/cases/{case_id}/close", status_code=204, tags=["review"])
def close(case_id: RowId, conn: SessionDep, user: Annotated[Any, allowed("cases:rectify")]) -> None:
    """Close a rectified, dismissed or referred case."""
    _review(review.close, conn, case_id, user)


@router.get("/rectifications/overdue", tags=["review"])
def overdue(conn: SessionDep, _: Annotated[Any, allowed("cases:read")]) -> list[dict[str, Any]]:
    """Rectifications past their deadline and not closed."""
    return [{"case_id": r.case_id, "title": mask(r.title), "deadline": r.deadline.isoformat(),
             "recovered": yuan(r.recovered_fen)} for r in review.overdue(conn, date.today())]


# ---------------------------------------------------------------------- detection and users

class DetectIn(BaseModel):
    codes: list[Annotated[str, Field(pattern=r"^[A-Za-z]{2}-?\d{2}$")]] | None = Field(default=None, max_length=27)
    as_of: date | None = None


@router.post("/detect", tags=["detection"])
def run_detect(body: DetectIn, conn: SessionDep, user: Annotated[Any, allowed("detect:run")]) -> dict[str, Any]:
    """Run the red-flag detectors over the whole store (the same run as `audit detect`)."""
    from audit.detection.service import run_detection

    try:
        report = run_detection(conn, codes=body.codes, as_of=body.as_of, actor=user.name)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    return {"run_id": report.run_id, "as_of": report.as_of.isoformat(), "findings": report.findings,
            "detectors": {code: {k: d[k] for k in ("findings", "new", "stale", "seconds")}
                          for code, d in report.detectors.items()}}


@router.get("/users", tags=["auth"])
def list_users(conn: SessionDep, _: Annotated[Any, allowed("users:read")]) -> list[dict[str, Any]]:
    """The service's users and their roles (admins only)."""
    from sqlalchemy import select

    from audit.models import User

    return [{"name": u.name, "role": u.role, "active": u.active}
            for u in conn.execute(select(User.name, User.role, User.active).order_by(User.name))]


# ---------------------------------------------------------------------- the trail

class CheckpointOut(BaseModel):
    entries: int
    head_id: int
    at: datetime


class Verdict(BaseModel):
    ok: bool
    entries: int
    first_bad: int | None
    reason: str
    checkpoint: CheckpointOut | None = None  # the latest checkpoint that verifies
    bad_checkpoint_lines: list[int] = []  # checkpoint-file lines that fail their HMAC


@router.get("/log/verify", response_model=Verdict, tags=["audit trail"])
def verify_log(conn: SessionDep, _: Annotated[Any, allowed("log:verify")]) -> Verdict:
    """Recompute the audit trail's hash chain, hold it to its checkpoints, and name what does not hold."""
    verdict = trail.verify(conn)
    seen = verdict.checkpoint
    return Verdict(ok=verdict.ok, entries=verdict.entries, first_bad=verdict.first_bad, reason=verdict.reason,
                   checkpoint=CheckpointOut(entries=seen.entries, head_id=seen.head_id, at=seen.at) if seen else None,
                   bad_checkpoint_lines=verdict.bad_checkpoint_lines)


@router.get("/health", tags=["service"])
def health() -> dict[str, str]:
    """Liveness: the service answers."""
    return {"status": "ok"}


# ---------------------------------------------------------------------- pre-release checks

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


def _checked(call: Any, *args: Any) -> Any:
    from audit.checks.service import CheckError
    from audit.importer.read import DatasetError

    try:
        return mask(call(*args))
    except CheckError as exc:
        raise HTTPException(exc.status, str(exc)) from None
    except DatasetError as exc:
        raise HTTPException(422, str(exc)) from None


@router.post("/checks/card-roster", tags=["pre-release checks"])
def check_roster(body: RosterIn, conn: SessionDep, user: Annotated[Any, allowed("checks:run")]) -> dict[str, Any]:
    """Check a card-payment roster before it goes to the bank: pass or hold per line, with reasons."""
    from audit.checks.service import check_lines

    return _checked(check_lines, conn, "card_roster", [line.model_dump() for line in body.card_payments], user)


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.post("/checks/card-roster/file", tags=["pre-release checks"], openapi_extra={"requestBody": {
    "required": True, "content": {"text/csv": {"schema": {"type": "string"}},
                                  XLSX: {"schema": {"type": "string", "format": "binary"}}}}})
async def check_roster_file(request: Request, user: Annotated[Any, allowed("checks:run")],
                            conn: SessionDep) -> dict[str, Any]:
    """Check a roster sent as a CSV or .xlsx file in the card_payments format."""
    from audit.checks.service import check_file

    kind = request.headers.get("content-type", "").split(";")[0].strip()
    if kind not in {"text/csv", XLSX}:
        raise HTTPException(415, "send the roster as text/csv or as an .xlsx workbook")
    content = await request.body()
    if not content or len(content) > 50 * 1024 * 1024:
        raise HTTPException(422, "the roster is empty or larger than 50 MB")
    return _checked(check_file, conn, "card_roster", content, ".csv" if kind == "text/csv" else ".xlsx", user)


@router.post("/checks/disbursements", tags=["pre-release checks"])
def check_disbursements(body: DisbursementsIn, conn: SessionDep, user: Annotated[Any, allowed("checks:run")]
                        ) -> dict[str, Any]:
    """Check disbursements before they are paid: pass or hold per line, with reasons."""
    from audit.checks.service import check_lines

    return _checked(check_lines, conn, "disbursements", [line.model_dump() for line in body.disbursements], user)


@router.get("/checks/{check_id}", tags=["pre-release checks"])
def get_check(check_id: RowId, conn: SessionDep, _: Annotated[Any, allowed("checks:run")]) -> dict[str, Any]:
    """A stored check: each line's verdict, reasons and any release."""
    from audit.checks.service import get_check as load

    return _checked(load, conn, check_id)


class ReleaseIn(BaseModel):
    line: str = Field(min_length=1, max_length=64)
    reason: str = Field(min_length=1, max_length=4000)


@router.post("/checks/{check_id}/release", status_code=204, tags=["pre-release checks"])
def release_line(check_id: RowId, body: ReleaseIn, conn: SessionDep,
                 user: Annotated[Any, allowed("checks:release")]) -> None:
    """Release a held line, with the reason; the override goes into the audit trail."""
    from audit.checks.service import release

    _checked(release, conn, check_id, body.line, body.reason, user)


# ---------------------------------------------------------------------- public notices

MEDIA = {"csv": "text/csv; charset=utf-8", "xlsx": XLSX, "pdf": "application/pdf"}
NoticeFormat = Literal["csv", "xlsx", "pdf"]


def _notice(conn: Any, user: Any, what: str, build: Any, fmt: str) -> Response:
    from audit.disclosure.service import NoticeError, render

    try:
        title, columns, rows = build()
        content = render(title, columns, [tuple(mask(list(row))) for row in rows], fmt)
    except NoticeError as exc:
        raise HTTPException(exc.status, str(exc)) from None
    trail.append(conn, user.name, "notice_exported", what, {"format": fmt, "rows": len(rows)})
    filename = quote(f"{title}.{fmt}")
    return Response(content, media_type=MEDIA[fmt],
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{filename}"})


@router.get("/notices/projects", tags=["public notices"], response_class=Response,
            responses={200: {"content": {m: {} for m in MEDIA.values()}}})
def notice_projects(conn: SessionDep, user: Annotated[Any, allowed("notices:export")],
                    village: Annotated[str, Query(min_length=1, max_length=64)],
                    fmt: Annotated[NoticeFormat, Query(alias="format")] = "csv") -> Response:
    """A village's projects with their money, for the portal or the village board."""
    from audit.disclosure.service import PROJECT_COLUMNS, project_rows

    def build() -> tuple[str, tuple[str, ...], list[tuple[Any, ...]]]:
        title, rows = project_rows(conn, village)
        return title, PROJECT_COLUMNS, rows

    return _notice(conn, user, f"projects of {village}", build, fmt)


@router.get("/notices/beneficiaries", tags=["public notices"], response_class=Response,
            responses={200: {"content": {m: {} for m in MEDIA.values()}}})
def notice_beneficiaries(conn: SessionDep, user: Annotated[Any, allowed("notices:export")],
                         program: Annotated[str, Query(min_length=1, max_length=64)],
                         period: Annotated[str, Query(pattern=r"^\d{4}(-\d{2})?$")],
                         village: Annotated[str, Query(min_length=1, max_length=64)],
                         fmt: Annotated[NoticeFormat, Query(alias="format")] = "csv") -> Response:
    """Beneficiaries of a program for a period and village, with their amounts; numbers masked."""
    from audit.disclosure.service import BENEFICIARY_COLUMNS, beneficiary_rows

    def build() -> tuple[str, tuple[str, ...], list[tuple[Any, ...]]]:
        title, rows = beneficiary_rows(conn, program, period, village)
        return title, BENEFICIARY_COLUMNS, rows

    return _notice(conn, user, f"{program}/{period}/{village}", build, fmt)


class NoticeIn(BaseModel):
    subject_kind: Literal["project", "payment_batch"]
    subject_ref: str = Field(min_length=1, max_length=160)
    channel: Literal["portal", "village_board", "both"]
    start_on: date
    end_on: date
    url: str | None = Field(default=None, max_length=500)


@router.post("/notices", status_code=201, tags=["public notices"])
def publish_notice(body: NoticeIn, conn: SessionDep, user: Annotated[Any, allowed("notices:publish")]
                   ) -> dict[str, str]:
    """Record a published notice (channel, start, end), so the disclosure check knows of it."""
    from audit.disclosure.service import NoticeError, publish

    try:
        disclosure_id = publish(conn, body.subject_kind, body.subject_ref, body.channel, body.start_on,
                                body.end_on, body.url, user)
    except NoticeError as exc:
        raise HTTPException(exc.status, str(exc)) from None
    return {"disclosure_id": disclosure_id}


@router.get("/notices/compliance", tags=["public notices"])
def notice_compliance(conn: SessionDep, _: Annotated[Any, allowed("notices:export")]) -> list[dict[str, Any]]:
    """Projects and payment batches that were paid without a proper notice."""
    from audit.disclosure.service import compliance

    return mask(compliance(conn))


# ---------------------------------------------------------------------- records

def _records(call: Any, *args: Any) -> Any:
    from audit.records.service import RecordError

    try:
        return call(*args)
    except RecordError as exc:
        raise HTTPException(exc.status, exc.detail if exc.detail is not None else str(exc)) from None


ZIP = "application/zip"


@router.post("/datasets", tags=["records"], openapi_extra={"requestBody": {"required": True, "content": {
    ZIP: {"schema": {"type": "string", "format": "binary"}}, XLSX: {"schema": {"type": "string", "format": "binary"}}}}})
async def upload_dataset(request: Request, user: Annotated[Any, allowed("datasets:import")], conn: SessionDep,
                         partial: bool = False) -> Response:
    """Import a dataset (a .zip of CSV files or an .xlsx workbook): the same importer and report."""
    import json as json_module

    from audit.importer.read import DatasetError
    from audit.records.service import upload

    kind = request.headers.get("content-type", "").split(";")[0].strip()
    if kind not in {ZIP, XLSX}:
        raise HTTPException(415, "send the dataset as application/zip or as an .xlsx workbook")
    content = await request.body()
    if not content or len(content) > 200 * 1024 * 1024:
        raise HTTPException(422, "the dataset is empty or larger than 200 MB")
    try:
        report = upload(conn, content, ".zip" if kind == ZIP else ".xlsx", partial, user)
    except DatasetError as exc:
        raise HTTPException(422, str(exc)) from None
    body = mask(report.as_dict())
    return Response(json_module.dumps(body, ensure_ascii=False), media_type="application/json",
                    status_code=200 if report.stored else 422)


@router.post("/records/{table}", status_code=201, tags=["records"])
def create_record(table: Literal["projects", "disbursements", "card_payments"],
                  values: dict[str, str | None], conn: SessionDep,
                  user: Annotated[Any, allowed("records:create")],
                  idempotency_key: Annotated[str, Header(min_length=8, max_length=200)]) -> Response:
    """Create one project approval, disbursement or card payment; a retry with the same
    Idempotency-Key and body gets the first response, never a second record."""
    import json as json_module

    from audit.records.service import create

    status_code, body = _records(create, conn, table, values, idempotency_key, user)
    return Response(json_module.dumps(body, ensure_ascii=False), media_type="application/json",
                    status_code=status_code)


@router.get("/records/{table}", tags=["records"])
def read_records(table: str, request: Request, conn: SessionDep, user: Annotated[Any, allowed("records:read")],
                 limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                 offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0) -> dict[str, Any]:
    """Rows of an interchange table, filtered by ``column=value`` query parameters, paged;
    numbers masked except for inspectors."""
    from audit.records.service import read

    filters = {k: v for k, v in request.query_params.items() if k not in {"limit", "offset"}}
    page = _records(read, conn, table, filters, limit, offset)
    return page if user.role == "inspector" else mask(page)

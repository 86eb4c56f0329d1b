"""Routes of the inspectors' review: cases, decisions with four eyes, rectifications."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Query, Response, UploadFile
from pydantic import BaseModel, Field

from audit.api.deps import Lang, SessionDep, allowed
from audit.api.types import Code, Day, LongText, Name, RowId, Yuan, normal_code
from audit.auth.service import Principal
from audit.cases import casefile, service, triage
from audit.config import get_settings
from audit.detectors.base import yuan
from audit.evidence import case_title

router = APIRouter(tags=["review"])
Inspector = Annotated[Principal, allowed("cases:read")]
Status = Literal["open", "confirmed", "dismissed", "referred", "closed"]


class CaseSummary(BaseModel):
    id: int
    subject: dict[str, str | None]
    title: str
    score: float
    amount_at_risk: str
    amount_owed: str  # owed to the subject (ME findings, 应享未享): never part of the money at risk
    codes: list[str]
    status: str
    town_code: str | None
    village_code: str | None
    town: str
    village: str
    assigned_to: str | None
    created_at: str
    updated_at: str
    tier: int | None = None  # 1 | 2 | 3 (一级 / 二级 / 三级) for an open case (audit.cases.triage)


class CasePage(BaseModel):
    total: int
    items: list[CaseSummary]


@router.get("/cases", response_model=CasePage)
def list_cases(
    conn: SessionDep, user: Inspector, lang: Lang,
    case_status: Annotated[Status | None, Query(alias="status")] = "open",
    code: Code | None = None,
    family: Literal["FP", "DC", "DV", "AN", "ME"] | None = None,
    town: Annotated[str | None, Query(max_length=64)] = None,
    village: Annotated[str | None, Query(max_length=64)] = None,
    min_score: Annotated[float | None, Query(ge=0, le=1)] = None,
    min_amount: Yuan | None = None,
    max_amount: Yuan | None = None,
    assigned_to: Annotated[str | None, Query(max_length=80)] = None,
    q: Annotated[str | None, Query(max_length=80, description="part of a name, an ID number or its last digits")]
    = None,
    since: Day | None = None,
    until: Day | None = None,
    tier: Annotated[int | None, Query(ge=1, le=3)] = None,
    sort: Literal["tier", "score", "amount", "updated", "created", "id"] = "tier",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> CasePage:
    """Cases, filtered, searched and sorted (by default the first tier first, then by
    score), paged in SQL; numbers are masked in this list."""
    total, rows = service.list_cases(
        conn, user, status=case_status, code=normal_code(code) if code else None, family=family, town=town,
        village=village, min_score=min_score, min_amount=min_amount, max_amount=max_amount, assigned_to=assigned_to,
        search=q, since=since, until=until, sort=sort, limit=limit, offset=offset, tier=tier)
    names, places = service.user_names(conn), service.place_names(conn)
    return CasePage(total=total, items=[CaseSummary(**service.summary(r, lang, True, names, places)) for r in rows])


class HitRateOut(BaseModel):
    code: str
    decided: int  # cases of the code whose decision is in force
    confirmed: int  # of them confirmed or referred
    rate: float  # (confirmed + k·p0) / (decided + k): the Beta prior of the settings
    low_yield: bool


class VariantRateOut(HitRateOut):
    variant: str  # what the evidence tells apart (DC-07: vehicle, public_employee, organization)


class HitRates(BaseModel):
    prior: float
    weight: float
    codes: list[HitRateOut]
    variants: list[VariantRateOut]  # per code and variant, for the codes whose evidence tells variants apart


@router.get("/stats/hit-rates", response_model=HitRates)
def hit_rates(conn: SessionDep, user: Inspector) -> HitRates:
    """Each red flag's learned hit rate in the county: of its decided cases, how many were
    confirmed, and the rate through the prior that the cases' scores are moved by; and the
    same per variant, where a code's evidence tells its variants apart."""
    settings = get_settings()
    rates = triage.hit_rates(conn, settings)
    variants = triage.variant_rates(conn, settings)
    return HitRates(prior=settings.hit_rate_prior, weight=settings.hit_rate_prior_weight,
                    codes=[HitRateOut(**rate.as_dict()) for rate in rates.values()],
                    variants=[VariantRateOut(**rate.as_dict()) for rows in variants.values() for rate in rows])


@router.get("/cases/{case_id}")
def get_case(case_id: RowId, conn: SessionDep, user: Inspector, lang: Lang, reveal: bool = False,
             reason: Annotated[str | None, Query(max_length=500)] = None) -> dict[str, Any]:
    """A case with its findings, each evidence step in the reader's language and resolved
    into the record it names. Numbers are masked unless ``reveal=true`` with a ``reason``;
    the reveal and its reason go on the audit trail."""
    if reveal:
        service.reveal(conn, case_id, user, reason or "")
    return service.case_detail(conn, case_id, user, lang, masked=not reveal)


def _case_file(conn: Any, case_id: int, user: Principal, lang: str, fmt: str, reveal: bool, reason: str | None
               ) -> Response:
    from urllib.parse import quote

    content, media, name = casefile.download(conn, case_id, user, lang, fmt, (reason or "") if reveal else None)
    return Response(content, media_type=media,
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"})


@router.get("/cases/{case_id}/file.pdf", response_class=Response,
            responses={200: {"content": {"application/pdf": {}}}})
def case_file_pdf(case_id: RowId, conn: SessionDep, user: Inspector, lang: Lang, reveal: bool = False,
                  reason: Annotated[str | None, Query(max_length=500)] = None) -> Response:
    """案件材料 as a PDF: the subject, findings with evidence and each record's hash, detector
    settings, decisions, rectification, history and trail entries; masked unless
    ``reveal=true`` with a ``reason`` (on the trail). The download goes on the trail."""
    return _case_file(conn, case_id, user, lang, "pdf", reveal, reason)


@router.get("/cases/{case_id}/file.xlsx", response_class=Response,
            responses={200: {"content": {casefile.XLSX_TYPE: {}}}})
def case_file_xlsx(case_id: RowId, conn: SessionDep, user: Inspector, lang: Lang, reveal: bool = False,
                   reason: Annotated[str | None, Query(max_length=500)] = None) -> Response:
    """案件材料 as an .xlsx workbook, with the 校验 sheet that ``POST /cases/files/verify`` and
    ``audit casefile verify`` check against the store; masked unless revealed with a reason."""
    return _case_file(conn, case_id, user, lang, "xlsx", reveal, reason)


class CaseFileVerdict(BaseModel):
    case_id: int | None
    ok: bool
    rows: int
    lines: list[str]


@router.post("/cases/files/verify", response_model=CaseFileVerdict)
def verify_case_file(conn: SessionDep, user: Inspector, lang: Lang,
                     file: Annotated[UploadFile, File(description="a case file's .xlsx workbook")]
                     ) -> CaseFileVerdict:
    """Check an uploaded case file's workbook against the store: each listed row's hash
    recomputed, each row changed or gone since named (in the reader's language)."""
    data = file.file.read(casefile.MAX_UPLOAD + 1)
    if len(data) > casefile.MAX_UPLOAD:
        raise casefile.CaseFileError(413, "error.casefile_too_large", limit=casefile.MAX_UPLOAD // 1_000_000)
    verdict = casefile.verify(conn, data, user)
    return CaseFileVerdict(case_id=verdict.case_id, ok=verdict.ok, rows=verdict.rows, lines=verdict.lines(lang))


class AssignIn(BaseModel):
    to: Name


@router.post("/cases/{case_id}/assign", status_code=204)
def assign(case_id: RowId, body: AssignIn, conn: SessionDep, user: Annotated[Principal, allowed("cases:assign")]
           ) -> None:
    """Assign a case to an inspector."""
    service.assign(conn, case_id, body.to, user)


class CommentIn(BaseModel):
    text: LongText


@router.post("/cases/{case_id}/comments", status_code=204)
def comment(case_id: RowId, body: CommentIn, conn: SessionDep,
            user: Annotated[Principal, allowed("cases:comment")]) -> None:
    """Add a comment to a case's history."""
    service.comment(conn, case_id, body.text, user)


class DecisionIn(BaseModel):
    decision: Literal["confirmed", "dismissed", "referred"]
    reason: LongText


class DecisionOut(BaseModel):
    decision_id: int
    state: str


@router.post("/cases/{case_id}/decisions", response_model=DecisionOut, status_code=201)
def decide(case_id: RowId, body: DecisionIn, conn: SessionDep, user: Annotated[Principal, allowed("cases:decide")]
           ) -> DecisionOut:
    """Decide a case. A confirmation, and a dismissal or referral of a serious case (score or
    money at risk at the four-eyes settings), wait for a second inspector's approval."""
    decision_id, state = service.decide(conn, case_id, body.decision, body.reason, user)
    return DecisionOut(decision_id=decision_id, state=state)


@router.post("/cases/{case_id}/decisions/{decision_id}/approve", status_code=204)
def approve(case_id: RowId, decision_id: RowId, conn: SessionDep,
            user: Annotated[Principal, allowed("cases:approve")]) -> None:
    """Approve another inspector's pending decision (four eyes)."""
    service.approve(conn, case_id, decision_id, user)


class RejectIn(BaseModel):
    note: LongText


@router.post("/cases/{case_id}/decisions/{decision_id}/reject", status_code=204)
def reject(case_id: RowId, decision_id: RowId, body: RejectIn, conn: SessionDep,
           user: Annotated[Principal, allowed("cases:approve")]) -> None:
    """Reject another inspector's pending decision, with the reason; the case stays open."""
    service.reject(conn, case_id, decision_id, body.note, user)


class RectificationIn(BaseModel):
    deadline: Day
    recovered: Yuan = "0.00"
    accountable: list[Annotated[str, Field(min_length=1, max_length=120)]] = Field(default_factory=list,
                                                                                    max_length=50)
    note: str | None = Field(default=None, max_length=4000)
    extension_reason: str | None = Field(default=None, max_length=4000)


@router.put("/cases/{case_id}/rectification", status_code=204)
def rectify(case_id: RowId, body: RectificationIn, conn: SessionDep,
            user: Annotated[Principal, allowed("cases:rectify")]) -> None:
    """Record a confirmed case's rectification: deadline, money recovered, people held
    accountable. A later deadline needs ``extension_reason``; a recovery above the money
    at risk needs a ``note``."""
    service.rectify(conn, case_id, body.deadline, body.recovered, body.accountable, body.note,
                    body.extension_reason, user)


@router.post("/cases/{case_id}/close", status_code=204)
def close(case_id: RowId, conn: SessionDep, user: Annotated[Principal, allowed("cases:rectify")]) -> None:
    """Close a rectified, dismissed or referred case."""
    service.close(conn, case_id, user)


@router.get("/rectifications/overdue")
def overdue(conn: SessionDep, user: Inspector, lang: Lang) -> list[dict[str, Any]]:
    """Rectifications past their deadline, or past the first deadline set, and not closed."""
    return [{"case_id": r.case_id, "title": case_title(r.subject_kind, r.subject_key, r.label, r.codes, lang, True),
             "deadline": r.deadline.isoformat(), "original_deadline": r.original_deadline.isoformat(),
             "recovered": yuan(r.recovered_fen)} for r in service.overdue(conn, user, date.today())]

"""Routes of the disclosure staff: notices for the portal and village boards."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from audit import trail
from audit.api.deps import Lang, SessionDep, allowed
from audit.api.types import Day
from audit.auth.service import Principal
from audit.notices import service
from audit.notices.render import render

router = APIRouter(tags=["public notices"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MEDIA = {"csv": "text/csv; charset=utf-8", "xlsx": XLSX, "pdf": "application/pdf"}
NoticeFormat = Literal["csv", "xlsx", "pdf"]
Exporter = Annotated[Principal, allowed("notices:export")]


def _notice(conn: Any, user: Principal, notice: service.Notice, fmt: str) -> Response:
    content = render(notice, fmt)
    trail.append(conn, user.name, "notice_exported", notice.title, {"format": fmt, "rows": len(notice.rows),
                                                                    **notice.query})
    filename = quote(f"{notice.title}.{fmt}")
    return Response(content, media_type=MEDIA[fmt],
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{filename}"})


Text64 = Annotated[str, Query(min_length=1, max_length=64)]
OptionalText = Annotated[str | None, Query(max_length=64)]
Year = Annotated[str | None, Query(pattern=r"^[0-9]{4}$")]


@router.get("/notices/projects", response_class=Response, responses={200: {"content": {m: {} for m in MEDIA.values()}}})
def notice_projects(conn: SessionDep, user: Exporter, village: Text64, town: OptionalText = None,
                    period: Year = None, project: OptionalText = None, start: Day | None = None,
                    fmt: Annotated[NoticeFormat, Query(alias="format")] = "csv") -> Response:
    """A village's projects (of a year, or one project) with their money, sources, units and
    dates, the 公示期, issuing unit and 监督电话: the project notice for the portal or the
    village board. The village by its code or its name (``town`` when names repeat)."""
    notice = service.project_notice(conn, village, user, period, project or None, start, town)
    return _notice(conn, user, notice, fmt)


@router.get("/notices/beneficiaries", response_class=Response,
            responses={200: {"content": {m: {} for m in MEDIA.values()}}})
def notice_beneficiaries(conn: SessionDep, user: Exporter, program: Text64,
                         period: Annotated[str, Query(pattern=r"^[0-9]{4}(-[0-9]{2})?$")],
                         village: Text64, town: OptionalText = None, start: Day | None = None,
                         fmt: Annotated[NoticeFormat, Query(alias="format")] = "csv") -> Response:
    """Beneficiaries of a program for a period and village, with their amounts and totals;
    numbers masked. The program by code or name, the village by code or name; a year for a
    monthly program is refused naming its months."""
    notice = service.beneficiary_notice(conn, program, period, village, user, start, town)
    return _notice(conn, user, notice, fmt)


class NoticeIn(BaseModel):
    subject_kind: Literal["project", "payment_batch"]
    subject_ref: str = Field(min_length=1, max_length=160)
    channel: Literal["portal", "village_board", "both"]
    start_on: Day
    end_on: Day
    url: str | None = Field(default=None, max_length=500)


@router.post("/notices", status_code=201)
def publish_notice(body: NoticeIn, conn: SessionDep, user: Annotated[Principal, allowed("notices:publish")]
                   ) -> dict[str, str]:
    """Record a published notice (channel, start, end) of a project or a payment batch that
    exists, so the disclosure check knows of it."""
    disclosure_id = service.publish(conn, body.subject_kind, body.subject_ref, body.channel, body.start_on,
                                    body.end_on, body.url, user)
    return {"disclosure_id": disclosure_id}


@router.get("/notices/compliance")
def notice_compliance(conn: SessionDep, user: Exporter, lang: Lang) -> list[dict[str, Any]]:
    """Projects and payment batches that were paid without a proper notice, with their village."""
    return service.compliance(conn, user, lang)

"""The disclosure staff's screens: 公告公示 (pick town → village, the program and period or
the year, preview the notice, export it as CSV, XLSX or PDF, record its posting) and 公示缺漏
(what was paid without a proper notice, by town and village, each opening its notice).
Pages parse, authorise and shape; the notices service does the work, as for the API.

``/notices?kind=beneficiaries&village=<code>&program=<code>&period=<YYYY-MM>`` opens the
screen on that batch (the finance screen links here for an FP-03 hold).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from audit import trail
from audit.api.policy import allows
from audit.auth.service import Principal
from audit.db import get_engine, read_connection
from audit.errors import ServiceError
from audit.i18n import t
from audit.notices import service
from audit.notices.render import render
from audit.web import forms
from audit.web.session import Csrf, page_allowed
from audit.web.templating import language, page

router = APIRouter(include_in_schema=False)
Exporter = Annotated[Principal, page_allowed("notices:export")]
Publisher = Annotated[Principal, page_allowed("notices:publish")]
Kind = Annotated[str, Query(pattern="^(beneficiaries|projects)$")]
Text = Annotated[str | None, Query(max_length=64)]
When = Annotated[str | None, Query(max_length=10)]
MEDIA = {"csv": "text/csv; charset=utf-8", "pdf": "application/pdf",
         "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}




def _build(conn: Any, user: Principal, kind: str, town: str | None, village: str | None, program: str | None,
           period: str | None, project: str | None, start: date | None, year: str | None = None
           ) -> service.Notice | None:
    """The notice the screen's choices name, or None while they are incomplete. A project
    notice's year is ``year`` (or a ``period`` that is a year, as a link may say it)."""
    if not village:
        return None
    if kind == "projects":
        if not year and period and service.YEAR.match(period):
            year = period
        return service.project_notice(conn, village, user, year or None, project or None, start, town)
    if not program or not period:
        return None
    return service.beneficiary_notice(conn, program, period, village, user, start, town)


def _screen(request: Request, user: Principal, kind: str, town: str | None, village: str | None,
            program: str | None, period: str | None, project: str | None, start: str | None,
            posted: int = 0, error: tuple[str, dict[str, Any], int] | None = None, year: str | None = None
            ) -> Response:
    lang = language(request)
    status, message, notice, postings = 200, None, None, []
    chosen: dict[str, Any] = {"kind": kind, "town": town or "", "village": village or "", "program": program or "",
                              "period": period or "", "project": project or "", "start": start or "",
                              "year": year or (period if kind == "projects" and period and service.YEAR.match(period)
                                               else "")}
    with read_connection() as conn:
        towns = forms.towns(conn, user)
        programs = service.programs(conn)
        village_row = program_row = None
        try:
            if village and town and request.headers.get("hx-request") and village not in {
                    part for pair in forms.villages(conn, user, town) for part in pair}:
                # The town was changed on the screen: the village chosen before is not in it.
                village, chosen["village"] = None, ""
            if village:
                village_row = service.find_village(conn, village, user, town)
                chosen["village"], chosen["town"] = village_row.village_code, village_row.town_code
            if program:
                program_row = service.find_program(conn, program)
                chosen["program"] = program_row.program_code
                monthly = program_row.period == "month"
                if (period and request.headers.get("hx-request") and kind == "beneficiaries"
                        and bool(service.MONTH.match(period)) != monthly):
                    # The program was changed on the screen to one counted the other way: offer
                    # its own periods instead of refusing the one left from before.
                    period, chosen["period"] = None, ""
            notice = _build(conn, user, kind, chosen["town"] or None, chosen["village"] or None,
                            chosen["program"] or None, period, project, forms.form_day(start), chosen["year"] or None)
            if notice is not None:
                chosen.update(notice.query)
                postings = service.postings(conn, notice.subjects)
        except ServiceError as exc:
            status, message = exc.status, t(exc.message_id, lang, **exc.fields)
        if error is not None:
            message, status = t(error[0], lang, **error[1]), error[2]
        villages = forms.villages(conn, user, chosen["town"] or None)
        periods = (service.period_choices(conn, program_row, chosen["village"] or None)
                   if program_row is not None else [])
        years = service.project_years(conn, chosen["village"]) if village_row is not None else []
        projects = service.projects_of(conn, chosen["village"]) if village_row is not None and kind == "projects" else []
    if chosen["period"] and chosen["period"] not in periods and kind == "beneficiaries":
        periods = [chosen["period"], *periods]  # a period asked for (a batch not paid yet) stays chosen
    context = {"towns": towns, "villages": villages, "programs": programs, "periods": periods, "years": years,
               "projects": projects, "chosen": chosen, "doc": notice, "error": message, "postings": postings,
               "posted": posted, "channels": service.CHANNELS, "period_text": service.period_text,
               "may_publish": allows(user.role, "notices:publish", user.scope),
               "cell": (lambda column, value: notice.cell_text(column, value)) if notice else None}
    if request.headers.get("hx-request"):
        # htmx swaps only a 2xx answer: the refusal is shown in place, the full page keeps its status.
        return page(request, "notices/_screen.html", **context)
    return page(request, "notices/screen.html", status=status, **context)


@router.get("/notices", response_class=HTMLResponse)
def notices(request: Request, user: Exporter, kind: Kind = "beneficiaries", town: Text = None, village: Text = None,
            program: Text = None, period: Annotated[str | None, Query(max_length=7)] = None,
            project: Text = None, start: When = None, year: Annotated[str | None, Query(pattern=r"^([0-9]{4})?$")] = None,
            posted: Annotated[int, Query(ge=0, le=10_000)] = 0) -> Response:
    """公告公示: choose town → village, the program and period (months for a monthly program,
    years otherwise) or the projects' year; the notice shows below (htmx swaps the screen in
    place), with its exports and the posting form. A village, program or project that does
    not exist answers 404, with the reason on the screen."""
    return _screen(request, user, kind, town, village, program, period, project, start, posted, year=year)


@router.get("/notices/export")
def export(request: Request, user: Exporter, kind: Kind = "beneficiaries", town: Text = None, village: Text = None,
           program: Text = None, period: Annotated[str | None, Query(max_length=7)] = None, project: Text = None,
           start: When = None, year: Annotated[str | None, Query(pattern=r"^([0-9]{4})?$")] = None,
           fmt: Annotated[str, Query(alias="format", pattern="^(csv|xlsx|pdf)$")] = "pdf") -> Response:
    """The notice shown, as a CSV, XLSX or PDF file (on the audit trail)."""
    with get_engine().begin() as conn:
        notice = _build(conn, user, kind, town, village, program, period, project, forms.form_day(start), year)
        if notice is None:  # no subject named: there is no such notice
            raise ServiceError(404, "error.notice_incomplete")
        content = render(notice, fmt)
        trail.append(conn, user.name, "notice_exported", notice.title, {"format": fmt, "rows": len(notice.rows),
                                                                        **notice.query})
    filename = quote(f"{notice.title}.{fmt}")
    return Response(content, media_type=MEDIA[fmt],
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{filename}"})


@router.post("/notices/postings")
def post_notice(request: Request, user: Publisher, kind: Annotated[str, Form(pattern="^(beneficiaries|projects)$")],
                village: Annotated[str, Form(min_length=1, max_length=64)],
                channel: Annotated[str, Form(pattern="^(portal|village_board|both)$")],
                start_on: Annotated[str, Form(max_length=10)], end_on: Annotated[str, Form(max_length=10)],
                program: Annotated[str, Form(max_length=64)] = "", period: Annotated[str, Form(max_length=7)] = "",
                project: Annotated[str, Form(max_length=64)] = "", url: Annotated[str, Form(max_length=500)] = "",
                year: Annotated[str, Form(pattern=r"^([0-9]{4})?$")] = "", _: None = Csrf) -> Response:
    """登记张贴: the posting (channel, start, end) of the notice on the screen — its batch, or
    every project it lists — so FP-03 and the pre-release check know of it."""
    try:
        with get_engine().begin() as conn:
            first, last = forms.form_day(start_on), forms.form_day(end_on)
            if first is None or last is None:
                raise ServiceError(422, "error.not_a_date", value=start_on if first is None else end_on)
            notice = _build(conn, user, kind, None, village, program or None, period or None, project or None, first,
                            year or None)
            if notice is None:
                raise ServiceError(422, "error.notice_incomplete")
            ids = service.publish_notice(conn, notice, channel, first, last, url or None, user)
    except ServiceError as exc:
        return _screen(request, user, kind, None, village, program or None, period or None, project or None,
                       start_on, error=(exc.message_id, exc.fields, exc.status), year=year or None)
    query = {**notice.query, "start": first.isoformat(), "posted": str(len(ids))}
    return RedirectResponse(f"/notices?{urlencode(query)}", status_code=303)


@router.get("/notices/gaps", response_class=HTMLResponse)
def gaps(request: Request, user: Exporter) -> Response:
    """公示缺漏: projects and payment batches paid without a proper notice, by town and
    village (by name), each with a button that opens its notice."""
    lang = language(request)
    with read_connection() as conn:
        found = service.compliance(conn, user, lang)
    return page(request, "notices/gaps.html", towns=service.compliance_by_place(found), total=len(found),
                link=lambda opens: "/notices?" + urlencode(opens))

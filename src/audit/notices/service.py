"""Notice lists for the government portal and village boards.

Two lists: the projects of a village (name, category, budget, fund sources, implementing
unit, contractor, dates) and the beneficiaries of a program for a period and village
(name, village, program, amount). No full ID or account number ever appears: where two
beneficiaries share a name, an ID is shown as its first 2 and last 3 characters
(43*************12X), never with a birth date. Publishing a notice records a disclosure,
so the FP-03 check knows of it.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select

from audit import trail
from audit.auth.service import Principal
from audit.detectors.base import yuan
from audit.detectors.members import payment_household
from audit.errors import ServiceError
from audit.evidence import fact_text
from audit.i18n import enum
from audit.masking import mask_id
from audit.models import (
    Allocation,
    Case,
    CardPayment,
    Disbursement,
    Disclosure,
    Finding,
    Household,
    Organization,
    Person,
    Program,
    Project,
    Town,
    Village,
)

PROJECT_COLUMNS = ("项目编号", "项目名称", "村", "类别", "预算(元)", "资金来源", "实施单位", "施工/供货单位",
                   "批复日期", "计划开工", "计划完工")
BENEFICIARY_COLUMNS = ("姓名", "身份证号(部分)", "村", "补贴项目", "所属期", "金额(元)")


class NoticeError(ServiceError):
    def __init__(self, status: int, message_id: str, /, **fields: Any) -> None:
        super().__init__(status, message_id, **fields)


def masked_id(id_number: str) -> str:
    return mask_id(id_number)


def _village(conn: Connection, code: str, user: Principal | None = None) -> Any:
    """A village within the user's scope (a town's staff reach their town's villages)."""
    village = conn.execute(select(Village).where(Village.village_code == code)).first()
    if village is None or (user is not None and user.town is not None and village.town_code != user.town):
        raise NoticeError(404, "error.no_village", village=code)
    return village


def project_rows(conn: Connection, village_code: str, user: Principal | None = None
                 ) -> tuple[str, list[tuple[Any, ...]]]:
    village = _village(conn, village_code, user)
    names = dict(conn.execute(select(Organization.uscc, Organization.name)).all())
    sources: dict[str, set[str]] = {}
    for project_id, doc in conn.execute(
            select(Disbursement.project_id, Allocation.doc_number).distinct()
            .join(Allocation, Allocation.allocation_id == Disbursement.allocation_id)
            .join(Project, Project.project_id == Disbursement.project_id)
            .where(Project.village_code == village_code)):
        sources.setdefault(project_id, set()).add(doc)
    rows = []
    for p in conn.execute(select(Project).where(Project.village_code == village_code).order_by(Project.approved_on)):
        rows.append((p.project_id, p.name, village.village_name, enum("purpose", p.category), yuan(p.budget_fen),
                     "；".join(sorted(sources.get(p.project_id, set()))), names.get(p.implementing_uscc, ""),
                     names.get(p.contractor_uscc, ""), p.approved_on.isoformat(),
                     p.planned_start.isoformat() if p.planned_start else "",
                     p.planned_end.isoformat() if p.planned_end else ""))
    return f"{village.village_name} 扶贫项目公示", rows


def beneficiary_rows(conn: Connection, program: str, period: str, village_code: str,
                     user: Principal | None = None) -> tuple[str, list[tuple[Any, ...]]]:
    village = _village(conn, village_code, user)
    program_row = conn.execute(select(Program).where(Program.program_code == program)).first()
    if program_row is None:
        raise NoticeError(404, "error.no_program", program=program)
    household = payment_household()
    name = func.coalesce(Person.name, Household.head_name)
    paid = conn.execute(
        select(CardPayment.id_number, name.label("name"), func.sum(CardPayment.amount_fen).label("amount"))
        .outerjoin(Person, Person.id_number == CardPayment.id_number)
        .join(Household, Household.household_id == household)
        .where(CardPayment.program_code == program, CardPayment.period == period,
               Household.village_code == village_code)
        .group_by(CardPayment.id_number, name).order_by(name, CardPayment.id_number)).all()
    namesakes = Counter(row.name for row in paid)
    rows = [(row.name, masked_id(row.id_number) if namesakes[row.name] > 1 else "", village.village_name,
             program_row.name, period, yuan(row.amount)) for row in paid]
    return f"{village.village_name} {program_row.name} {period} 发放公示", rows


def render(title: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]], fmt: str) -> bytes:
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(columns)
        writer.writerows(rows)
        return out.getvalue().encode("utf-8-sig")  # the BOM makes Excel read it as UTF-8
    if fmt == "xlsx":
        import xlsxwriter

        buffer = io.BytesIO()
        workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
        sheet = workbook.add_worksheet("公示")
        bold = workbook.add_format({"bold": True})
        sheet.write(0, 0, title, bold)
        sheet.write_row(1, 0, columns, bold)
        for index, row in enumerate(rows, start=2):
            sheet.write_row(index, 0, [str(v) for v in row])
        sheet.set_column(0, len(columns) - 1, 16)
        workbook.close()
        return buffer.getvalue()
    if fmt == "pdf":
        return _pdf(title, columns, rows)
    raise NoticeError(422, "error.notice_format")


def _pdf(title: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import SimpleDocTemplate, Table, TableStyle

    # A CID font of the Adobe Asian set: Chinese renders without shipping a font file.
    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    buffer = io.BytesIO()
    size = landscape(A4)

    def frame(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont("STSong-Light", 12)
        canvas.drawString(36, size[1] - 30, title)
        canvas.setFont("STSong-Light", 9)
        canvas.drawRightString(size[0] - 36, 20, f"第 {doc.page} 页")
        canvas.restoreState()

    document = SimpleDocTemplate(buffer, pagesize=size, topMargin=48, bottomMargin=36, title=title,
                                 invariant=1, pageCompression=0)
    table = Table([list(columns)] + [[str(v) for v in row] for row in rows], repeatRows=1)
    table.setStyle(TableStyle([("FONT", (0, 0), (-1, -1), "STSong-Light", 8),
                               ("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
                               ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke)]))
    document.build([table], onFirstPage=frame, onLaterPages=frame)
    return buffer.getvalue()


def _subject_village(conn: Connection, subject_kind: str, subject_ref: str) -> str:
    """The village a notice's subject is in; a subject that does not exist is refused."""
    if subject_kind == "project":
        village = conn.execute(select(Project.village_code).where(Project.project_id == subject_ref)).scalar()
        if village is None:
            raise NoticeError(404, "error.no_project", project=subject_ref)
        return village
    parts = subject_ref.split("/")
    if len(parts) != 3:
        raise NoticeError(422, "error.batch_ref_form", ref=subject_ref)
    program, period, village = parts
    if conn.execute(select(Program.program_code).where(Program.program_code == program)).first() is None:
        raise NoticeError(404, "error.no_program", program=program)
    if conn.execute(select(Village.village_code).where(Village.village_code == village)).first() is None:
        raise NoticeError(404, "error.no_village", village=village)
    return village


def publish(conn: Connection, subject_kind: str, subject_ref: str, channel: str, start_on: date, end_on: date,
            url: str | None, user: Principal) -> str:
    if end_on < start_on:
        raise NoticeError(422, "error.notice_ends_before_start")
    _village(conn, _subject_village(conn, subject_kind, subject_ref), user)
    count = conn.execute(select(func.count()).select_from(Disclosure)).scalar_one()
    disclosure_id = f"GS-{datetime.now(UTC):%Y%m%d}-{count + 1:06d}"
    conn.execute(insert(Disclosure).values(disclosure_id=disclosure_id, subject_kind=subject_kind,
                                           subject_ref=subject_ref, channel=channel, start_on=start_on,
                                           end_on=end_on, url=url))
    trail.append(conn, user.name, "notice_published", subject_ref, {"channel": channel, "start_on": start_on,
                                                                   "end_on": end_on, "id": disclosure_id})
    return disclosure_id


def compliance(conn: Connection, user: Principal, lang: str) -> list[dict[str, Any]]:
    """Projects and payment batches paid without a proper notice (FP-03's open findings),
    with their village, within the user's scope."""
    query = (select(Finding.subjects, Finding.amount_at_risk_fen, Finding.evidence, Case.village_code,
                    Case.town_code, Case.label)
             .join(Case, Case.id == Finding.case_id)
             .where(Finding.code == "FP-03", Finding.status == "open")
             .order_by(Finding.amount_at_risk_fen.desc()))
    if user.town is not None:
        query = query.where(Case.town_code == user.town)
    places = {row.village_code: (row.town_name, row.village_name) for row in conn.execute(
        select(Village.village_code, Village.village_name, Town.town_name).join(Town, Town.town_code == Village.town_code))}
    out = []
    for f in conn.execute(query):
        town, village = places.get(f.village_code or "", ("", ""))
        out.append({"subject": f.subjects[0], "label": f.label, "village_code": f.village_code, "village": village,
                    "town_code": f.town_code, "town": town, "amount_at_risk": yuan(f.amount_at_risk_fen),
                    "why": fact_text(f.evidence[-1], lang, masked=True)})
    return out

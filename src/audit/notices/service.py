"""Notices for the government portal and village boards (公告公示), as notices.md says a
posted notice must read.

Two notices: a village's projects (扶贫项目公告公示: name, place, what is built and how
much of it, money and its sources, the units, who answers for it, the dates, households
served, category) and a payment batch's beneficiaries (到户资金公示: a program for a period
and village: name, standard, amount). Each carries its totals, its 公示期 (the county's
``notice_days``), the issuing unit and date, and the 监督电话 (the county's number, the
national hotline 12317, the discipline office's when set), all from the county settings.

No full ID or account number ever appears: where two beneficiaries share a name, an ID is
shown as its first 2 and last 3 characters (43*************12X), never with a birth date;
an account number never. Recording a posting (channel, start, end) stores a disclosure, so
the FP-03 check knows of it; a subject that does not exist is refused.

Villages are found by code or by name (within a town when names repeat), programs by
code, name or alias (interchange v1.1's ``aliases``); a name the store does not know is
refused.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, false, func, insert, select

from audit import trail
from audit.auth.service import Principal
from audit.county import service as county
from audit.detectors.base import yuan
from audit.detectors.members import payment_household
from audit.errors import ServiceError
from audit.evidence import fact_text
from audit.i18n import enum, t
from audit.masking import mask_id
from audit.models import (
    Allocation,
    CardPayment,
    Case,
    Disbursement,
    Disclosure,
    Finding,
    Household,
    Official,
    Organization,
    Person,
    Program,
    Project,
    Town,
    Village,
)

# A notice is a public document in Chinese whatever the clerk's own screen language: the
# villagers read it on their board.
NOTICE_LANG = "zh"
KINDS = ("beneficiaries", "projects")
CHANNELS = ("portal", "village_board", "both")
MONTH = re.compile(r"^([0-9]{4})-(0[1-9]|1[0-2])$")
YEAR = re.compile(r"^[0-9]{4}$")


class NoticeError(ServiceError):
    def __init__(self, status: int, message_id: str, /, **fields: Any) -> None:
        super().__init__(status, message_id, **fields)


def masked_id(id_number: str) -> str:
    return mask_id(id_number)


def _t(message_id: str, **fields: Any) -> str:
    return t(message_id, NOTICE_LANG, **fields)


# ---------------------------------------------------------------------- finding the subject

def find_village(conn: Connection, text: str, user: Principal | None = None, town: str | None = None) -> Any:
    """A village by its code or its name, within the user's scope (a town's staff reach
    their town's villages). A name found in two towns is refused unless the town is given."""
    text = (text or "").strip()
    columns = (Village.village_code, Village.village_name, Village.town_code, Town.town_name)
    base = select(*columns).join(Town, Town.town_code == Village.town_code)
    village = conn.execute(base.where(Village.village_code == text)).first()
    if village is None and text:
        query = base.where(Village.village_name == text)
        if town:
            query = query.where((Village.town_code == town) | (Town.town_name == town))
        if user is not None and user.town is not None:
            query = query.where(Village.town_code == user.town)
        found = conn.execute(query.order_by(Village.village_code)).all()
        if len(found) > 1:
            raise NoticeError(422, "error.notice_village_ambiguous", village=text,
                              towns="、".join(row.town_name for row in found))
        village = found[0] if found else None
    if village is None or (user is not None and user.town is not None and village.town_code != user.town):
        raise NoticeError(404, "error.no_village", village=text)
    return village


def _aliases(program: Any) -> list[str]:
    raw = program.aliases or ""
    return [part.strip() for part in str(raw).split("|") if part.strip()]


def find_program(conn: Connection, text: str) -> Any:
    """A program by its code, its name or one of its aliases."""
    text = (text or "").strip()
    program = conn.execute(select(Program).where(Program.program_code == text)).first()
    if program is None and text:
        program = conn.execute(select(Program).where(Program.name == text).order_by(Program.program_code)).first()
    if program is None and text:
        program = next((p for p in conn.execute(select(Program)) if text in _aliases(p)), None)
    if program is None:
        raise NoticeError(404, "error.no_program", program=text)
    return program


def _periods_paid(conn: Connection, program_code: str, village_code: str | None) -> list[str]:
    query = select(CardPayment.period).distinct().where(CardPayment.program_code == program_code)
    if village_code:
        household = payment_household(CardPayment)
        query = (query.outerjoin(Person, Person.id_number == CardPayment.id_number)
                 .join(Household, Household.household_id == household)
                 .where(Household.village_code == village_code))
    return sorted(conn.execute(query).scalars(), reverse=True)


def check_period(conn: Connection, program: Any, period: str, village_code: str | None = None) -> str:
    """The period as the program counts them: a month (2017-05) for a monthly program, a
    year (2017) otherwise. A year given for a monthly program is refused naming the months
    paid in it, never answered with an empty list."""
    period = (period or "").strip()
    monthly = program.period == "month"
    if monthly and MONTH.match(period):
        return period
    if not monthly and YEAR.match(period):
        return period
    if monthly and YEAR.match(period):
        months = [p for p in _periods_paid(conn, program.program_code, village_code) if p.startswith(period + "-")]
        raise NoticeError(422, "error.notice_period_monthly", program=program.name, period=period,
                          months="、".join(sorted(months)) or "—")
    if not monthly and MONTH.match(period):
        raise NoticeError(422, "error.notice_period_yearly", program=program.name, period=period,
                          year=period[:4])
    raise NoticeError(422, "error.notice_period_form", period=period)


def period_text(period: str) -> str:
    """``2017-05`` as 2017年5月, ``2017`` as 2017年度."""
    match = MONTH.match(period)
    if match:
        return _t("notice.period.month", year=match.group(1), month=int(match.group(2)))
    return _t("notice.period.year", year=period)


def period_choices(conn: Connection, program: Any, village_code: str | None) -> list[str]:
    """What the screen offers: the periods the program paid in (in that village when
    chosen), months for a monthly program, years otherwise, newest first."""
    return _periods_paid(conn, program.program_code, village_code)


def project_years(conn: Connection, village_code: str) -> list[str]:
    years = {d.year for d in conn.execute(select(Project.approved_on).where(Project.village_code == village_code))
             .scalars() if d is not None}
    return [str(y) for y in sorted(years, reverse=True)]






def programs(conn: Connection) -> list[tuple[str, str, str]]:
    return [(r.program_code, r.name, r.period) for r in conn.execute(
        select(Program.program_code, Program.name, Program.period).order_by(Program.program_code))]


def projects_of(conn: Connection, village_code: str) -> list[tuple[str, str]]:
    return [(r.project_id, r.name) for r in conn.execute(
        select(Project.project_id, Project.name).where(Project.village_code == village_code)
        .order_by(Project.approved_on, Project.project_id))]


# ---------------------------------------------------------------------- the notice

@dataclass(frozen=True)
class Column:
    key: str
    label: str
    money: bool = False  # cells are fen (int): printed as yuan, stored as numbers in xlsx
    wide: bool = False  # free text that wraps


@dataclass
class Notice:
    kind: str
    title: str
    intro: str
    columns: list[Column]
    rows: list[list[Any]]
    totals: list[str]
    total_row: dict[str, Any]  # column key -> the total row's value (the first column holds 合计)
    start_on: date
    end_on: date
    days: int
    unit: str
    issued_on: date
    hotlines: list[str]
    subjects: list[tuple[str, str]]  # (subject_kind, subject_ref): what a posting records
    village_code: str
    town_code: str
    query: dict[str, str] = field(default_factory=dict)  # the screen's parameters for this notice

    @property
    def term(self) -> str:
        return _t("notice.term", start=self.start_on.isoformat(), end=self.end_on.isoformat(), days=self.days)

    @property
    def issuing(self) -> list[str]:
        return [_t("notice.issued_by", unit=self.unit or "—"), _t("notice.issued_on", date=self.issued_on.isoformat())]

    def cell_text(self, column: Column, value: Any) -> str:
        if value is None or value == "":
            return ""
        return _money(value) if column.money else str(value)


def _money(fen: int) -> str:
    text = yuan(fen)
    whole, _, cents = text.partition(".")
    sign = "-" if whole.startswith("-") else ""
    return f"{sign}{int(whole.lstrip('-')):,}.{cents}"


def _frame(conn: Connection, town_code: str, start_on: date | None) -> dict[str, Any]:
    """公示期, issuing unit and date, 监督电话: what every notice carries, from the county's
    settings."""
    settings = county.current(conn)
    days = int(settings["notice_days"])
    start = start_on or date.today()
    hotlines = [_t("notice.hotline.county", phone=settings["hotline"])] if settings["hotline"] else []
    hotlines.append(_t("notice.hotline.national", phone=county.NATIONAL_HOTLINE))
    if settings["discipline_phone"]:
        hotlines.append(_t("notice.hotline.discipline", phone=settings["discipline_phone"]))
    return {"start_on": start, "end_on": start + timedelta(days=days), "days": days,
            "unit": county.issuing_unit(conn, town_code), "issued_on": start, "hotlines": hotlines}


def _scale(project: Any) -> str:
    parts = [project.description or ""]
    quantity = f"{project.quantity:g}" if project.quantity is not None else ""
    if quantity and quantity not in parts[0]:  # a description that states its size says it once
        unit = enum("unit", project.unit, NOTICE_LANG) if project.unit else ""
        parts.append(_t("notice.quantity", quantity=quantity, unit=unit))
    return "，".join(p for p in parts if p)


def project_notice(conn: Connection, village_text: str, user: Principal | None = None, year: str | None = None,
                   project_id: str | None = None, start_on: date | None = None, town: str | None = None) -> Notice:
    """A village's projects (of a year when given; one project when named), as the project
    notice prints them."""
    village = find_village(conn, village_text, user, town)
    query = select(Project).where(Project.village_code == village.village_code)
    if project_id:
        query = query.where(Project.project_id == project_id)
    if year:
        if not YEAR.match(year):
            raise NoticeError(422, "error.notice_period_form", period=year)
        query = query.where(Project.approved_on >= date(int(year), 1, 1), Project.approved_on <= date(int(year), 12, 31))
    projects = conn.execute(query.order_by(Project.approved_on, Project.project_id)).all()
    if project_id and not projects:
        raise NoticeError(404, "error.no_project", project=project_id)
    ids = [p.project_id for p in projects]
    usccs = {u for p in projects for u in (p.implementing_uscc, p.contractor_uscc) if u}
    orgs = {r.uscc: r for r in conn.execute(select(Organization.uscc, Organization.name, Organization.legal_rep_name)
                                            .where(Organization.uscc.in_(usccs)))} if usccs else {}
    approvers = {p.approver_official_id for p in projects if p.approver_official_id}
    officials = dict(conn.execute(select(Official.official_id, Official.name)
                                  .where(Official.official_id.in_(approvers))).all()) if approvers else {}
    # The money that reached each project, by the level and document it came under.
    sources: dict[str, dict[tuple[str, str], int]] = {}
    for row in conn.execute(
            select(Disbursement.project_id, Allocation.source_level, Allocation.doc_number,
                   func.sum(Disbursement.amount_fen).label("paid"))
            .join(Allocation, Allocation.allocation_id == Disbursement.allocation_id)
            .where(Disbursement.project_id.in_(ids) if ids else false())
            .group_by(Disbursement.project_id, Allocation.source_level, Allocation.doc_number)):
        sources.setdefault(row.project_id, {})[(row.source_level, row.doc_number)] = int(row.paid or 0)
    columns = [Column("no", _t("notice.col.no")), Column("name", _t("notice.col.project"), wide=True),
               Column("place", _t("notice.col.place")), Column("scale", _t("notice.col.scale"), wide=True),
               Column("budget", _t("notice.col.budget"), money=True),
               Column("sources", _t("notice.col.sources"), wide=True),
               Column("implementer", _t("notice.col.implementer"), wide=True),
               Column("contractor", _t("notice.col.contractor"), wide=True),
               Column("responsible", _t("notice.col.responsible")), Column("term", _t("notice.col.term")),
               Column("households", _t("notice.col.households")), Column("category", _t("notice.col.category"))]
    rows: list[list[Any]] = []
    by_level: dict[str, int] = {}
    for index, p in enumerate(projects, start=1):
        implementer = orgs.get(p.implementing_uscc or "")
        contractor = orgs.get(p.contractor_uscc or "")
        responsible = officials.get(p.approver_official_id or "") or (implementer.legal_rep_name if implementer else "")
        money = sources.get(p.project_id, {})
        for (level, _), paid in money.items():
            by_level[level] = by_level.get(level, 0) + paid
        source_text = "；".join(_t("notice.source", level=enum("source_level", level, NOTICE_LANG), doc=doc)
                               for level, doc in sorted(money))
        term = (_t("notice.span", start=p.planned_start.isoformat(), end=p.planned_end.isoformat())
                if p.planned_start and p.planned_end else (p.planned_start or p.planned_end or ""))
        rows.append([index, p.name, f"{village.town_name}{village.village_name}", _scale(p), int(p.budget_fen),
                     source_text, implementer.name if implementer else "", contractor.name if contractor else "",
                     responsible or "", str(term), p.beneficiary_households if p.beneficiary_households is not None
                     else "", enum("purpose", p.category, NOTICE_LANG)])
    budget = sum(int(p.budget_fen) for p in projects)
    totals = [_t("notice.total.projects", count=len(projects), total=budget)]
    levels = ("central", "provincial", "municipal", "county", "backer_unit", "social")
    for level in sorted(by_level, key=lambda lv: levels.index(lv) if lv in levels else len(levels)):
        totals.append(_t("notice.total.source", level=enum("source_level", level, NOTICE_LANG), amount=by_level[level]))
    households = sum(p.beneficiary_households or 0 for p in projects)
    if households:
        totals.append(_t("notice.total.households", count=households))
    years = sorted({p.approved_on.year for p in projects})
    year_text = year or (str(years[0]) if len(years) == 1 else
                         (f"{years[0]}—{years[-1]}" if years else str(date.today().year)))
    if project_id and projects:
        title = _t("notice.title.project", name=projects[0].name)
    else:
        title = _t("notice.title.projects", town=village.town_name, village=village.village_name, year=year_text)
    query = {"kind": "projects", "village": village.village_code, "year": year or ""}
    if project_id:
        query["project"] = project_id
    return Notice(kind="projects", title=title, intro=_t("notice.intro.projects", village=village.village_name),
                  columns=columns, rows=rows, totals=totals,
                  total_row={"budget": budget, "households": households or ""},
                  subjects=[("project", p.project_id) for p in projects], village_code=village.village_code,
                  town_code=village.town_code, query={k: v for k, v in query.items() if v},
                  **_frame(conn, village.town_code, start_on))


# What a notice lists as paid: paid lines, and those on their way (pending).
PAYING = ("paid", "pending")


def beneficiary_notice(conn: Connection, program_text: str, period: str, village_text: str,
                       user: Principal | None = None, start_on: date | None = None, town: str | None = None) -> Notice:
    """The beneficiaries of a program for a period in a village, with their amounts."""
    village = find_village(conn, village_text, user, town)
    program = find_program(conn, program_text)
    period = check_period(conn, program, period, village.village_code)
    household = payment_household(CardPayment)
    name = func.coalesce(Person.name, Household.head_name)
    paid = conn.execute(
        select(CardPayment.id_number, name.label("name"), func.sum(CardPayment.amount_fen).label("amount"))
        .outerjoin(Person, Person.id_number == CardPayment.id_number)
        .join(Household, Household.household_id == household)
        .where(CardPayment.program_code == program.program_code, CardPayment.period == period,
               Household.village_code == village.village_code,
               # a failed or returned payment paid nothing: its reissue is the line posted
               CardPayment.status.in_(PAYING))
        .group_by(CardPayment.id_number, name).order_by(name, CardPayment.id_number)).all()
    namesakes = Counter(row.name for row in paid)
    shared = any(count > 1 for count in namesakes.values())
    person = program.basis == "person"
    columns = [Column("no", _t("notice.col.no")),
               Column("name", _t("notice.col.person" if person else "notice.col.head"))]
    if shared:
        # Only where two share a name, and then as 2 + 3 characters: never a birth date.
        columns.append(Column("id", _t("notice.col.id")))
    columns += [Column("standard", _t("notice.col.standard"), money=program.standard_amount_fen is not None),
                Column("amount", _t("notice.col.amount"), money=True)]
    standard: Any = (int(program.standard_amount_fen) if program.standard_amount_fen is not None
                     else _t("notice.standard_varies"))
    rows = []
    for index, row in enumerate(paid, start=1):
        cells: list[Any] = [index, row.name]
        if shared:
            cells.append(masked_id(row.id_number) if namesakes[row.name] > 1 else "")
        rows.append(cells + [standard, int(row.amount or 0)])
    total = sum(int(row.amount or 0) for row in paid)
    shown = period_text(period)
    totals = [_t("notice.total.people" if person else "notice.total.households_paid", count=len(paid), total=total)]
    return Notice(kind="beneficiaries",
                  title=_t("notice.title.beneficiaries", village=village.village_name, program=program.name,
                           period=shown),
                  intro=_t("notice.intro.beneficiaries", town=village.town_name, village=village.village_name,
                           program=program.name, period=shown),
                  columns=columns, rows=rows, totals=totals, total_row={"amount": total},
                  subjects=[("payment_batch", f"{program.program_code}/{period}/{village.village_code}")],
                  village_code=village.village_code, town_code=village.town_code,
                  query={"kind": "beneficiaries", "village": village.village_code, "program": program.program_code,
                         "period": period}, **_frame(conn, village.town_code, start_on))


# ---------------------------------------------------------------------- postings

def _subject_village(conn: Connection, subject_kind: str, subject_ref: str) -> tuple[str, str]:
    """The village a notice's subject is in, and the subject's reference as stored (codes,
    never names); a subject that does not exist is refused."""
    if subject_kind == "project":
        village = conn.execute(select(Project.village_code).where(Project.project_id == subject_ref)).scalar()
        if village is None:
            raise NoticeError(404, "error.no_project", project=subject_ref)
        return village, subject_ref
    parts = subject_ref.split("/")
    if len(parts) != 3:
        raise NoticeError(422, "error.batch_ref_form", ref=subject_ref)
    program_text, period, village_text = parts
    program = find_program(conn, program_text)
    village = find_village(conn, village_text)
    period = check_period(conn, program, period, village.village_code)
    return village.village_code, f"{program.program_code}/{period}/{village.village_code}"


def publish(conn: Connection, subject_kind: str, subject_ref: str, channel: str, start_on: date, end_on: date,
            url: str | None, user: Principal) -> str:
    """Record that a notice of the subject was posted (channel, start, end); returns its id."""
    if end_on < start_on:
        raise NoticeError(422, "error.notice_ends_before_start")
    if channel not in CHANNELS:
        raise NoticeError(422, "error.notice_channel", channel=channel)
    village_code, subject_ref = _subject_village(conn, subject_kind, subject_ref)
    find_village(conn, village_code, user)  # within the user's scope
    count = conn.execute(select(func.count()).select_from(Disclosure)).scalar_one()
    disclosure_id = f"GS-{datetime.now(UTC):%Y%m%d}-{count + 1:06d}"
    while conn.execute(select(Disclosure.disclosure_id).where(Disclosure.disclosure_id == disclosure_id)).first():
        count += 1  # an imported disclosure may already hold the next number
        disclosure_id = f"GS-{datetime.now(UTC):%Y%m%d}-{count + 1:06d}"
    conn.execute(insert(Disclosure).values(disclosure_id=disclosure_id, subject_kind=subject_kind,
                                           subject_ref=subject_ref, channel=channel, start_on=start_on,
                                           end_on=end_on, url=url))
    trail.append(conn, user.name, "notice_published", subject_ref, {"channel": channel, "start_on": start_on,
                                                                   "end_on": end_on, "id": disclosure_id})
    return disclosure_id


def publish_notice(conn: Connection, notice: Notice, channel: str, start_on: date, end_on: date,
                   url: str | None, user: Principal) -> list[str]:
    """Record the posting of the notice shown: every project it lists, or its batch."""
    if not notice.subjects:
        raise NoticeError(422, "error.notice_nothing_to_post")
    return [publish(conn, kind, ref, channel, start_on, end_on, url, user) for kind, ref in notice.subjects]


def postings(conn: Connection, subjects: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """The postings recorded for these subjects, newest first."""
    refs = [ref for _, ref in subjects]
    if not refs:
        return []
    rows = conn.execute(select(Disclosure).where(Disclosure.subject_ref.in_(refs[:500]))
                        .order_by(Disclosure.start_on.desc(), Disclosure.disclosure_id.desc())).all()
    return [{"id": r.disclosure_id, "subject_kind": r.subject_kind, "subject_ref": r.subject_ref,
             "channel": r.channel, "start_on": r.start_on, "end_on": r.end_on,
             "days": (r.end_on - r.start_on).days} for r in rows]


# ---------------------------------------------------------------------- compliance

def compliance(conn: Connection, user: Principal, lang: str) -> list[dict[str, Any]]:
    """Projects and payment batches paid without a proper notice (FP-03's open findings),
    with their town and village by name and the notice screen's parameters that open the
    missing notice, within the user's scope."""
    query = (select(Finding.subjects, Finding.amount_at_risk_fen, Finding.evidence, Case.village_code,
                    Case.town_code, Case.label)
             .join(Case, Case.id == Finding.case_id)
             .where(Finding.code == "FP-03", Finding.status == "open")
             .order_by(Finding.amount_at_risk_fen.desc()))
    if user.town is not None:
        query = query.where(Case.town_code == user.town)
    places = {row.village_code: (row.town_name, row.village_name, row.town_code) for row in conn.execute(
        select(Village.village_code, Village.village_name, Town.town_name, Town.town_code)
        .join(Town, Town.town_code == Village.town_code))}
    program_names = dict(conn.execute(select(Program.program_code, Program.name)).all())
    project_places = {}
    out = []
    for f in conn.execute(query):
        subject = f.subjects[0]
        village_code = f.village_code
        if subject["kind"] == "payment_batch":
            program, period, batch_village = (subject["key"].split("/") + ["", "", ""])[:3]
            village_code = village_code or batch_village
            opens = {"kind": "beneficiaries", "village": batch_village, "program": program, "period": period}
            label = f"{program_names.get(program, program)} {period_text(period) if period else ''}".strip()
        else:
            if not village_code:
                if not project_places:
                    project_places.update(conn.execute(select(Project.project_id, Project.village_code)).all())
                village_code = project_places.get(subject["key"])
            opens = {"kind": "projects", "village": village_code or "", "project": subject["key"]}
            label = f.label or subject.get("label") or subject["key"]
        town, village, town_code = places.get(village_code or "", ("", "", f.town_code))
        out.append({"subject": subject, "label": label, "village_code": village_code, "village": village,
                    "town_code": town_code, "town": town, "amount_at_risk": yuan(f.amount_at_risk_fen),
                    "why": fact_text(f.evidence[-1], lang, masked=True), "opens": opens})
    return out


def compliance_by_place(gaps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The gaps grouped by town, then village, by name (the screen's list)."""
    towns_seen: dict[str, dict[str, Any]] = {}
    for gap in gaps:
        town = towns_seen.setdefault(gap["town_code"] or "", {"name": gap["town"], "villages": {}, "count": 0})
        village = town["villages"].setdefault(gap["village_code"] or "", {"name": gap["village"], "gaps": []})
        village["gaps"].append(gap)
        town["count"] += 1
    return [{"code": code, "name": town["name"], "count": town["count"],
             "villages": [{"code": v, **data} for v, data in sorted(town["villages"].items())]}
            for code, town in sorted(towns_seen.items())]

"""Record pages' content: a household, a person, a project, an organization, an official,
with what the store knows around them (members, payments, disbursements, kin, posts,
projects) and the cases they are in. Within the reader's scope; numbers masked unless the
page was revealed (an inspector, with a reason on the trail)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import Connection, func, or_, select

from audit.api.policy import allows
from audit.auth.service import Principal
from audit.complaints import service as complaints
from audit.detectors.base import yuan
from audit.errors import ServiceError
from audit.evidence import plain_row
from audit.masking import mask_fields
from audit.models import (
    Account,
    Allocation,
    CardPayment,
    Case,
    Disbursement,
    Disclosure,
    Household,
    Kinship,
    Official,
    Organization,
    Person,
    Program,
    Project,
    Shareholder,
    Town,
    Village,
)

RELATION_ORDER = {"head": 0, "spouse": 1, "parent": 2, "child": 3, "grandchild": 4, "other": 5}


def _shown(row: dict[str, Any], masked: bool) -> dict[str, Any]:
    return mask_fields(row) if masked else row


def _place(conn: Connection, village_code: str | None) -> dict[str, Any]:
    if not village_code:
        return {"village_code": None, "village": "", "town_code": None, "town": ""}
    row = conn.execute(select(Village.village_name, Village.town_code, Town.town_name)
                       .join(Town, Town.town_code == Village.town_code)
                       .where(Village.village_code == village_code)).first()
    if row is None:
        return {"village_code": village_code, "village": village_code, "town_code": None, "town": ""}
    return {"village_code": village_code, "village": row.village_name, "town_code": row.town_code,
            "town": row.town_name}


def _in_scope(user: Principal, place: dict[str, Any], what: str, key: str) -> None:
    if user.town is not None and place.get("town_code") != user.town:
        raise ServiceError(404, "error.no_record", kind=what, key=key)


def _cases(conn: Connection, user: Principal, subjects: list[tuple[str, str]]) -> list[Any]:
    """Cases about any of these subjects, or whose findings name one of them."""
    if not subjects:
        return []
    conditions = [(Case.subject_kind == kind) & (Case.subject_key == key) for kind, key in subjects]
    query = select(Case).where(or_(*conditions)).order_by(Case.score.desc(), Case.id)
    if user.town is not None:
        query = query.where(Case.town_code == user.town)
    return list(conn.execute(query.limit(100)))


def household(conn: Connection, household_id: str, user: Principal, masked: bool) -> dict[str, Any]:
    row = conn.execute(select(Household).where(Household.household_id == household_id)).first()
    if row is None:
        raise ServiceError(404, "error.no_record", kind="household", key=household_id)
    place = _place(conn, row.village_code)
    _in_scope(user, place, "household", household_id)
    members = sorted((plain_row(m) for m in conn.execute(select(Person).where(Person.household_id == household_id))),
                     key=lambda m: (RELATION_ORDER.get(m["relation"], 9), m["name"]))
    ids = {m["id_number"] for m in members} | {row.head_id_number}
    payments = conn.execute(
        select(CardPayment.payment_id, CardPayment.program_code, Program.name.label("program"), CardPayment.period,
               CardPayment.amount_fen, CardPayment.paid_on, CardPayment.id_number, CardPayment.card_account,
               CardPayment.paying_unit, CardPayment.status, CardPayment.failure_reason, CardPayment.reissue_of)
        .join(Program, Program.program_code == CardPayment.program_code)
        .where(or_(CardPayment.household_id == household_id,
                   (CardPayment.household_id.is_(None)) & CardPayment.id_number.in_(sorted(ids))))
        .order_by(CardPayment.program_code, CardPayment.period, CardPayment.paid_on)).all()
    by_program: dict[str, dict[str, Any]] = {}
    names = {m["id_number"]: m["name"] for m in members} | {row.head_id_number: row.head_name}
    for p in payments:
        group = by_program.setdefault(p.program_code, {"program": p.program, "code": p.program_code, "rows": [],
                                                         "total_fen": 0, "not_paid": {}})
        group["rows"].append(_shown({"payment_id": p.payment_id, "period": p.period, "amount": yuan(p.amount_fen),
                                     "paid_on": p.paid_on.isoformat(), "name": names.get(p.id_number, ""),
                                     "id_number": p.id_number, "card_account": p.card_account,
                                     "paying_unit": p.paying_unit, "status": p.status,
                                     "failure_reason": p.failure_reason, "reissue_of": p.reissue_of}, masked))
        # The subtotal is money that reached the card; failed, returned and pending money apart.
        if p.status == "paid":
            group["total_fen"] += p.amount_fen
        else:
            group["not_paid"][p.status] = group["not_paid"].get(p.status, 0) + p.amount_fen
    kin = _kin_officials(conn, ids)
    return {"household": _shown(plain_row(row), masked), "place": place,
            "members": [_shown(m, masked) for m in members], "payments": list(by_program.values()),
            "paid_total": yuan(sum(group["total_fen"] for group in by_program.values())),
            "kin": [_shown(k, masked) for k in kin],
            "cases": _cases(conn, user, [("household", household_id)] + [("person", i) for i in sorted(ids)]),
            # Residents' complaints about the household: for those who read complaints (None: not shown).
            "complaints": complaints.for_household(conn, household_id, user)
            if allows(user.role, "complaints:read", user.scope) else None}


def _kin_officials(conn: Connection, ids: set[str]) -> list[dict[str, Any]]:
    """Officials among the kin of these people: who, how related, their post."""
    if not ids:
        return []
    wanted = sorted(ids)
    pairs = conn.execute(select(Kinship.id_number_a, Kinship.id_number_b, Kinship.kind, Kinship.source)
                         .where(or_(Kinship.id_number_a.in_(wanted), Kinship.id_number_b.in_(wanted)))).all()
    others = {b if a in ids else a: (a if a in ids else b, kind, source) for a, b, kind, source in pairs}
    if not others:
        return []
    found = []
    for official in conn.execute(select(Official).where(Official.id_number.in_(sorted(others)))):
        member, kind, source = others[official.id_number]
        place = _place(conn, official.village_code)
        found.append({"official_id": official.official_id, "name": official.name, "id_number": official.id_number,
                      "role": official.role, "unit": official.unit, "village": place["village"],
                      "kind": kind, "source": source, "member_id_number": member,
                      "from_on": official.from_on.isoformat() if official.from_on else None,
                      "to_on": official.to_on.isoformat() if official.to_on else None})
    return found


def person(conn: Connection, household_id: str, name: str, user: Principal, masked: bool) -> dict[str, Any]:
    rows = conn.execute(select(Person).where(Person.household_id == household_id, Person.name == name)).all()
    if not rows:
        raise ServiceError(404, "error.no_record", kind="person", key=name)
    home = household(conn, household_id, user, masked)
    people = []
    for row in rows:
        payments = conn.execute(
            select(CardPayment.payment_id, Program.name.label("program"), CardPayment.period, CardPayment.amount_fen,
                   CardPayment.paid_on, CardPayment.card_account, CardPayment.paying_unit)
            .join(Program, Program.program_code == CardPayment.program_code)
            .where(CardPayment.id_number == row.id_number).order_by(CardPayment.paid_on)).all()
        people.append({"person": _shown(plain_row(row), masked),
                       "payments": [_shown({"payment_id": p.payment_id, "program": p.program, "period": p.period,
                                            "amount": yuan(p.amount_fen), "paid_on": p.paid_on.isoformat(),
                                            "card_account": p.card_account, "paying_unit": p.paying_unit}, masked)
                                    for p in payments],
                       "kin": [_shown(k, masked) for k in _kin_officials(conn, {row.id_number})]})
    return {"people": people, "household": home["household"], "place": home["place"],
            "cases": _cases(conn, user, [("person", row.id_number) for row in rows])}


def project(conn: Connection, project_id: str, user: Principal, masked: bool) -> dict[str, Any]:
    row = conn.execute(select(Project).where(Project.project_id == project_id)).first()
    if row is None:
        raise ServiceError(404, "error.no_record", kind="project", key=project_id)
    place = _place(conn, row.village_code)
    _in_scope(user, place, "project", project_id)
    orgs = {o.uscc: o.name for o in conn.execute(select(Organization.uscc, Organization.name).where(
        Organization.uscc.in_([u for u in (row.contractor_uscc, row.implementing_uscc) if u])))}
    approver = (conn.execute(select(Official).where(Official.official_id == row.approver_official_id)).first()
                if row.approver_official_id else None)
    paid = conn.execute(select(Disbursement.__table__, Allocation.doc_number)
                        .join(Allocation, Allocation.allocation_id == Disbursement.allocation_id)
                        .where(Disbursement.project_id == project_id).order_by(Disbursement.paid_on)).all()
    notices = [plain_row(d) for d in conn.execute(select(Disclosure).where(Disclosure.subject_kind == "project",
                                                                         Disclosure.subject_ref == project_id)
                                               .order_by(Disclosure.start_on))]
    return {"project": plain_row(row), "place": place, "contractor": orgs.get(row.contractor_uscc or ""),
            "implementer": orgs.get(row.implementing_uscc or ""),
            "approver": _shown(plain_row(approver), masked) if approver else None,
            "disbursements": [_shown(plain_row(d), masked) for d in paid],
            "paid_total": yuan(sum(d.amount_fen for d in paid)), "notices": notices,
            "cases": _cases(conn, user, [("project", project_id)])}


def organization(conn: Connection, uscc: str, user: Principal, masked: bool) -> dict[str, Any]:
    row = conn.execute(select(Organization).where(Organization.uscc == uscc)).first()
    if row is None:
        raise ServiceError(404, "error.no_record", kind="organization", key=uscc)
    projects = conn.execute(select(Project).where(or_(Project.contractor_uscc == uscc,
                                                      Project.implementing_uscc == uscc))
                            .order_by(Project.approved_on)).all()
    if user.town is not None:
        towns = {_place(conn, p.village_code)["town_code"] for p in projects}
        if user.town not in towns:
            raise ServiceError(404, "error.no_record", kind="organization", key=uscc)
    holders = conn.execute(select(Shareholder.id_number, Shareholder.share_pct).where(Shareholder.uscc == uscc)).all()
    names: dict[str, str] = {}
    wanted = sorted({h.id_number for h in holders} | ({row.legal_rep_id_number} if row.legal_rep_id_number else set()))
    if wanted:
        for query in (select(Person.id_number, Person.name).where(Person.id_number.in_(wanted)),
                      select(Official.id_number, Official.name).where(Official.id_number.in_(wanted))):
            names.update({i: n for i, n in conn.execute(query)})
    accounts = [plain_row(a) for a in conn.execute(select(Account).where(Account.holder_kind == "org",
                                                                      Account.holder_id == uscc))]
    received = conn.execute(select(func.count(), func.coalesce(func.sum(Disbursement.amount_fen), 0))
                            .where(Disbursement.payee_kind == "org", Disbursement.payee_id == uscc)).one()
    return {"organization": _shown(plain_row(row), masked),
            "shareholders": [_shown({"id_number": h.id_number, "name": names.get(h.id_number, ""),
                                     "share_pct": h.share_pct}, masked) for h in holders],
            "legal_rep": names.get(row.legal_rep_id_number or "", row.legal_rep_name or ""),
            "projects": [{**plain_row(p), "role": "contractor" if p.contractor_uscc == uscc else "implementer"}
                         for p in projects],
            "accounts": [_shown(a, masked) for a in accounts], "received_count": int(received[0]),
            "received_total": yuan(int(received[1])), "cases": _cases(conn, user, [("organization", uscc)])}


def official(conn: Connection, official_id: str, user: Principal, masked: bool) -> dict[str, Any]:
    row = conn.execute(select(Official).where(Official.official_id == official_id)).first()
    if row is None:
        raise ServiceError(404, "error.no_record", kind="official", key=official_id)
    place = _place(conn, row.village_code)
    if user.town is not None and place.get("town_code") not in {user.town, None}:
        raise ServiceError(404, "error.no_record", kind="official", key=official_id)
    posts = [{**plain_row(p), **{k: v for k, v in _place(conn, p.village_code).items() if k in {"village", "town"}}}
             for p in conn.execute(select(Official).where(Official.id_number == row.id_number)
                                   .order_by(Official.from_on))]
    kin_rows = conn.execute(select(Kinship).where(or_(Kinship.id_number_a == row.id_number,
                                                      Kinship.id_number_b == row.id_number))).all()
    relatives = [k.id_number_b if k.id_number_a == row.id_number else k.id_number_a for k in kin_rows]
    names: dict[str, str] = {}
    homes: dict[str, str] = {}
    if relatives:
        for p in conn.execute(select(Person.id_number, Person.name, Person.household_id)
                              .where(Person.id_number.in_(relatives))):
            names[p.id_number], homes[p.id_number] = p.name, p.household_id
    kin = [{"id_number": other, "name": names.get(other, ""), "household_id": homes.get(other),
            "kind": k.kind, "source": k.source} for k, other in zip(kin_rows, relatives, strict=True)]
    ids = [p["official_id"] for p in posts]
    villages = sorted({p["village_code"] for p in posts if p["village_code"] and
                       p["role"] in {"village_secretary", "village_director", "village_committee"}})
    power = conn.execute(select(Project).where(or_(Project.approver_official_id.in_(ids),
                                                   Project.village_code.in_(villages)))
                         .order_by(Project.approved_on)).all()
    approved = conn.execute(select(func.count(), func.coalesce(func.sum(Disbursement.amount_fen), 0))
                            .where(Disbursement.approved_by.in_(ids))).one()
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for p in power:
        grouped["approved" if p.approver_official_id in ids else "village"].append(plain_row(p))
    return {"official": _shown(plain_row(row), masked), "place": place, "posts": [_shown(p, masked) for p in posts],
            "kin": [_shown(k, masked) for k in kin], "villages": [_place(conn, v) for v in villages],
            "projects": grouped, "approved_count": int(approved[0]), "approved_total": yuan(int(approved[1])),
            "cases": _cases(conn, user, [("official", i) for i in ids])}

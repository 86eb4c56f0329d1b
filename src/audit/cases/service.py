"""The review workflow. A case is assigned, commented, decided (confirmed / dismissed with a
reason / referred); a confirmation, and a dismissal or referral of a case whose score or
money at risk reaches a setting, take effect only when a second inspector approves them
(four eyes); a confirmed case is rectified (整改) against a deadline with the money
recovered (追回) and the people held accountable, then closed. A case holds one pending or
effective decision at a time, which the database enforces. Nothing is overwritten: every
step is a case event and an audit-trail entry written in the caller's transaction.

A town's inspectors (a unit whose scope is one town) see and act on that town's cases only.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Date, Integer, and_, func, insert, or_, select, true, update
from sqlalchemy.exc import IntegrityError

from audit import trail
from audit.auth import four_eyes
from audit.auth.service import Principal
from audit.cases import triage
from audit.complaints import service as complaints
from audit.config import get_settings
from audit.db import LIKE_ESCAPE, contains_pattern
from audit.detectors.base import fen_of, yuan
from audit.detectors.facts import Facts
from audit.errors import ServiceError
from audit.evidence import case_title, plain_row, render_finding
from audit.importer.spec import BY_NAME
from audit.masking import mask_fields, mask_key
from audit.models import Case, CaseDecision, CaseEvent, Finding, Rectification, Town, User, Village

DECISIONS = ("confirmed", "dismissed", "referred")
# "tier" (the default): the first tier first (cases not yet tiered last), then by score.
SORTS = {"tier": (Case.tier.asc().nulls_last(), Case.score.desc()), "score": (Case.score.desc(),),
         "amount": (Case.amount_at_risk_fen.desc(),), "updated": (Case.updated_at.desc(),),
         "created": (Case.created_at.desc(),), "id": (Case.id,)}


class ReviewError(ServiceError):
    def __init__(self, status: int, message_id: str, /, **fields: Any) -> None:
        super().__init__(status, message_id, **fields)


def _now() -> datetime:
    return datetime.now(UTC)


def in_scope(user: Principal) -> Any:
    """The cases a user's scope reaches: all of them for the county, a town's own."""
    town = user.town
    return Case.town_code == town if town else true()


def _case(conn: Connection, case_id: int, user: Principal, lock: bool = False) -> Any:
    query = select(Case).where(Case.id == case_id, in_scope(user))
    if lock and conn.dialect.name == "postgresql":
        # Decisions on one case queue here: each sees the one before it (SQLite's writers
        # queue already, its transactions begin IMMEDIATE).
        query = query.with_for_update()
    case = conn.execute(query).first()
    if case is None:
        raise ReviewError(404, "error.no_case", case_id=case_id)
    return case


def history(conn: Connection, case_id: int, user: Principal, kind: str, detail: dict[str, Any]) -> None:
    """A line in the case's history (the case page shows it), by ``user``; the caller puts
    the action on the trail."""
    conn.execute(insert(CaseEvent).values(case_id=case_id, at=_now(), kind=kind, run_id=None,
                                          detail={"by": user.name, **detail}))


def _event(conn: Connection, case_id: int, user: Principal, kind: str, detail: dict[str, Any]) -> None:
    history(conn, case_id, user, kind, detail)
    trail.append(conn, user.name, f"case_{kind}", f"case {case_id}", detail)


# ---------------------------------------------------------------------- lists

def search_condition(query_text: str) -> Any:
    """Cases whose subject, or any subject of their findings, matches: part of a name (a
    person's, a project's, a company's), a whole ID number or its last digits (the words
    each case keeps in ``search_text``)."""
    text = query_text.strip()
    conditions = [Case.search_text.like(contains_pattern(text), escape=LIKE_ESCAPE), Case.subject_key == text]
    return or_(*conditions)


def list_cases(conn: Connection, user: Principal, *, status: str | None = "open", code: str | None = None,
               family: str | None = None, town: str | None = None, village: str | None = None,
               min_score: float | None = None, min_amount: str | None = None, max_amount: str | None = None,
               assigned_to: str | None = None, search: str | None = None, since: date | None = None,
               until: date | None = None, sort: str = "tier", limit: int = 50, offset: int = 0,
               tier: int | None = None) -> tuple[int, list[Any]]:
    query = select(Case).where(in_scope(user))
    if tier is not None:
        query = query.where(Case.tier == tier)
    if status:
        query = query.where(Case.status == status)
    if code or family:
        # The cases with an open finding of the code (or a code of the family), read from
        # the (status, code, case_id) index rather than probed case by case.
        wanted = [Finding.status == "open"]
        if code:
            wanted.append(Finding.code == code.upper())
        if family:
            wanted.append(Finding.code.like(f"{family.upper()}-%"))
        query = query.where(Case.id.in_(select(Finding.case_id).where(and_(*wanted))))
    if town:
        query = query.where(Case.town_code == town)
    if village:
        query = query.where(Case.village_code == village)
    if min_score is not None:
        query = query.where(Case.score >= min_score)
    if min_amount is not None:
        query = query.where(Case.amount_at_risk_fen >= fen_of(min_amount))
    if max_amount is not None:
        query = query.where(Case.amount_at_risk_fen <= fen_of(max_amount))
    if since is not None:
        query = query.where(Case.created_at >= datetime.combine(since, datetime.min.time(), UTC))
    if until is not None:
        query = query.where(Case.created_at < datetime.combine(until + timedelta(days=1), datetime.min.time(), UTC))
    if assigned_to:
        query = query.join(User, User.id == Case.assigned_to).where(User.name == assigned_to)
    if search and search.strip():
        query = query.where(search_condition(search))
    total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = conn.execute(query.order_by(*SORTS[sort], Case.id).limit(limit).offset(offset)).all()
    return total, rows


def summary(row: Any, lang: str, masked: bool, names: dict[int, str] | None = None,
            places: dict[str, tuple[str, str]] | None = None) -> dict[str, Any]:
    """One case of a list as a reader sees it."""
    town, village = (places or {}).get(row.village_code or "", ("", ""))
    return {
        "id": row.id, "subject": {"kind": row.subject_kind,
                                  "key": mask_key(row.subject_kind, row.subject_key) if masked else row.subject_key,
                                  "label": row.label},
        "title": case_title(row.subject_kind, row.subject_key, row.label, row.codes, lang, masked),
        "score": row.score, "amount_at_risk": yuan(row.amount_at_risk_fen),
        "amount_owed": yuan(row.amount_owed_fen or 0), "codes": row.codes,
        "status": row.status, "town_code": row.town_code, "village_code": row.village_code,
        "town": town, "village": village, "assigned_to": (names or {}).get(row.assigned_to),
        "created_at": row.created_at.isoformat(), "updated_at": row.updated_at.isoformat(),
        "tier": row.tier,
    }


def place_names(conn: Connection) -> dict[str, tuple[str, str]]:
    """{village code: (town name, village name)}: a county has a few hundred villages."""
    return {row.village_code: (row.town_name, row.village_name) for row in conn.execute(
        select(Village.village_code, Village.village_name, Town.town_name).join(Town, Town.town_code == Village.town_code))}


def user_names(conn: Connection) -> dict[int, str]:
    return dict(conn.execute(select(User.id, User.name)).all())


# ---------------------------------------------------------------------- a case

KINDS = {spec.kind: spec for spec in BY_NAME.values()}


def resolve_all(conn: Connection, steps: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any] | None]:
    """The stored row each evidence step names (None for a derived step), loaded in one
    query per kind of record rather than one per step."""
    facts = Facts(conn)
    wanted: dict[str, dict[tuple[str, str], Any]] = {}
    for step in steps:
        spec = KINDS.get(step["kind"])
        parts = step["key"].split("|") if step["key"] else []
        if spec is None or len(parts) != len(spec.key):
            continue
        columns = [spec.model.__table__.c[spec.by_name[k].db_name] for k in spec.key]
        try:
            # Keys are text; a date or a number in a compound key (a certificate's issue date,
            # an enrolment's school year) is read back as what its column holds.
            typed = [date.fromisoformat(v) if isinstance(c.type, Date) else int(v) if isinstance(c.type, Integer)
                     else v for c, v in zip(columns, parts, strict=True)]
        except ValueError:
            continue
        wanted.setdefault(spec.name, {})[(step["kind"], step["key"])] = typed[0] if len(typed) == 1 else tuple(typed)
    found: dict[tuple[str, str], dict[str, Any] | None] = {}
    for table, keys in wanted.items():
        rows = facts.load(table, keys.values())
        for ref, key in keys.items():
            row = rows.get(key)
            found[ref] = None if row is None else plain_row(row)
    return found


def case_detail(conn: Connection, case_id: int, user: Principal, lang: str, masked: bool) -> dict[str, Any]:
    case = _case(conn, case_id, user)
    findings = conn.execute(select(Finding).where(Finding.case_id == case_id).order_by(Finding.score.desc(),
                                                                                       Finding.id)).all()
    records = resolve_all(conn, [step for finding in findings for step in finding.evidence])
    resolved = []
    for finding in findings:
        shown = render_finding({"id": f"f-{finding.id:06d}", "code": finding.code, "family": finding.family,
                                "score": finding.score, "status": finding.status, "subjects": finding.subjects,
                                "records": finding.records, "amount_at_risk": yuan(finding.amount_at_risk_fen),
                                "amount_owed": yuan(finding.amount_owed_fen or 0),
                                "params": finding.params, "detector_version": finding.detector_version,
                                "detected_at": finding.detected_at.isoformat(), "evidence": finding.evidence},
                               lang, masked)
        for step, stored in zip(shown["evidence"], finding.evidence, strict=True):
            row = records.get((stored["kind"], stored["key"]))
            step["record"] = None if row is None else (mask_fields(row) if masked else row)
        resolved.append(shown)
    decisions = conn.execute(select(CaseDecision).where(CaseDecision.case_id == case_id)
                             .order_by(CaseDecision.id)).all()
    names = user_names(conn)
    events = conn.execute(select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)).all()
    fix = conn.execute(select(Rectification).where(Rectification.case_id == case_id)).first()
    return {
        **summary(case, lang, masked, names, place_names(conn)), "findings": resolved,
        "owed": owed_to(findings, resolved),
        # What the score and the tier were computed from (audit.cases.triage).
        "score_basis": case.score_basis, "tier_basis": case.tier_basis,
        "decisions": [{"id": d.id, "decision": d.decision, "reason": d.reason, "by": names.get(d.decided_by),
                       "at": d.decided_at.isoformat(), "state": d.state, "reviewed_by": names.get(d.reviewed_by),
                       "reviewed_at": d.reviewed_at.isoformat() if d.reviewed_at else None,
                       "review_note": d.review_note} for d in decisions],
        "history": [{"at": e.at.isoformat(), "kind": e.kind, "detail": e.detail} for e in events],
        # Residents' complaints linked to the case (its household, its subject's, or a payment it names).
        "complaints": complaints.for_case(conn, case_id),
        "rectification": None if fix is None else {
            "deadline": fix.deadline.isoformat(), "original_deadline": fix.original_deadline.isoformat(),
            "recovered": yuan(fix.recovered_fen), "accountable": fix.accountable, "note": fix.note,
            "closed_at": fix.closed_at.isoformat() if fix.closed_at else None},
    }


def owed_to(findings: list[Any], shown: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What an ME case's open findings say is owed, and who is to pay it: for each, the
    program and period (from its batch step), the amount, the paying unit that paid the
    village's batch (the line department, its second subject) and whom it is owed to."""
    owed = []
    for finding, item in zip(findings, shown, strict=True):
        if finding.family != "ME" or finding.status != "open" or not finding.amount_owed_fen:
            continue
        batch = next((step for step in finding.evidence if step["kind"] == "payment_batch"), None)
        args = (batch or {}).get("args") or {}
        unit = next((s["key"] for s in finding.subjects if s["kind"] == "paying_unit"), "")
        owed.append({"finding": item["id"], "code": finding.code, "program": args.get("program", ""),
                     "period": args.get("period", ""), "unit": unit, "amount": yuan(finding.amount_owed_fen),
                     "to": item["subjects"][0]})
    return owed


def reveal(conn: Connection, case_id: int, user: Principal, reason: str) -> None:
    """An inspector's reveal of a case's full numbers goes on the trail with its reason."""
    if not reason or not reason.strip():
        raise ReviewError(422, "error.reveal_needs_reason")
    _case(conn, case_id, user)
    trail.append(conn, user.name, "reveal", f"case {case_id}", {"reason": reason.strip()[:500]})


# ---------------------------------------------------------------------- actions

def assign(conn: Connection, case_id: int, assignee: str, user: Principal) -> None:
    _case(conn, case_id, user)
    from audit.models import Unit

    target = conn.execute(select(User.id, User.role, Unit.scope, Unit.town_code).join(Unit, Unit.id == User.unit_id)
                          .where(User.name == assignee, User.active.is_(True))).first()
    reaches = target is not None and (target.scope == "county" or target.town_code == user.town
                                      or (user.town is None and target.town_code is not None))
    if target is None or target.role != "inspector" or not reaches:
        raise ReviewError(422, "error.not_an_inspector", user=assignee)
    conn.execute(update(Case).where(Case.id == case_id).values(assigned_to=target.id, updated_at=_now()))
    _event(conn, case_id, user, "assigned", {"to": assignee})


def comment(conn: Connection, case_id: int, text: str, user: Principal) -> None:
    _case(conn, case_id, user)
    if not text.strip():
        raise ReviewError(422, "error.comment_needs_text")
    _event(conn, case_id, user, "comment", {"text": text})


def needs_second_inspector(case: Any, decision: str) -> bool:
    """A confirmation always waits for a second inspector; a dismissal or a referral does
    when the case is serious (its score or its money at risk reaches the settings)."""
    if decision == "confirmed":
        return True
    settings = get_settings()
    return (case.score >= settings.four_eyes_min_score
            or Decimal(case.amount_at_risk_fen) / 100 >= settings.four_eyes_min_amount)


def decide(conn: Connection, case_id: int, decision: str, reason: str, user: Principal) -> tuple[int, str]:
    """Record a decision; returns its id and state (pending or effective)."""
    case = _case(conn, case_id, user, lock=True)
    if decision not in DECISIONS:
        raise ReviewError(422, "error.decision_unknown", decision=decision)
    if not reason.strip():
        raise ReviewError(422, "error.decision_needs_reason")
    live = conn.execute(select(CaseDecision.id, CaseDecision.state).where(
        CaseDecision.case_id == case_id, CaseDecision.state.in_(("pending", "effective")))).first()
    if live is not None:
        raise ReviewError(409, "error.decision_pending" if live.state == "pending" else "error.decision_stands",
                          decision_id=live.id, case_id=case_id)
    if case.status != "open":
        raise ReviewError(409, "error.case_not_open", case_id=case_id, status=case.status)
    state = "pending" if needs_second_inspector(case, decision) else "effective"
    savepoint = conn.begin_nested()
    try:
        decision_id = conn.execute(insert(CaseDecision).values(
            case_id=case_id, decision=decision, reason=reason, decided_by=user.id, decided_at=_now(), state=state,
        ).returning(CaseDecision.id)).scalar_one()
        savepoint.commit()
    except IntegrityError:
        # A concurrent decision on this case won the one slot (the unique index).
        savepoint.rollback()
        raise ReviewError(409, "error.decision_raced", case_id=case_id) from None
    if state == "effective":
        conn.execute(update(Case).where(Case.id == case_id).values(status=decision, updated_at=_now()))
    _event(conn, case_id, user, "decided", {"decision": decision, "reason": reason, "state": state,
                                            "decision_id": decision_id})
    if state == "effective":
        # The decision teaches its codes' hit rates: the open cases it touches are rescored.
        triage.after_decision(conn, case_id, user.name)
    return decision_id, state


def _pending(conn: Connection, case_id: int, decision_id: int, user: Principal) -> Any:
    _case(conn, case_id, user, lock=True)
    row = conn.execute(select(CaseDecision).where(CaseDecision.id == decision_id,
                                                  CaseDecision.case_id == case_id)).first()
    if row is None:
        raise ReviewError(404, "error.no_decision", decision_id=decision_id, case_id=case_id)
    if row.state != "pending":
        raise ReviewError(409, "error.decision_not_pending", decision_id=decision_id, state=row.state)
    four_eyes.refuse_same_eyes(row.decided_by, user, "error.second_inspector_needed")
    return row


def approve(conn: Connection, case_id: int, decision_id: int, user: Principal) -> None:
    row = _pending(conn, case_id, decision_id, user)
    four_eyes.settle(conn, CaseDecision, decision_id, "effective", user, "error.decision_not_pending",
                     decision_id=decision_id)
    conn.execute(update(Case).where(Case.id == case_id).values(status=row.decision, updated_at=_now()))
    _event(conn, case_id, user, "approved", {"decision_id": decision_id, "decision": row.decision})
    triage.after_decision(conn, case_id, user.name)


def reject(conn: Connection, case_id: int, decision_id: int, note: str, user: Principal) -> None:
    """The second inspector does not agree: the decision is rejected and the case stays open."""
    four_eyes.require_reason(note)
    row = _pending(conn, case_id, decision_id, user)
    four_eyes.settle(conn, CaseDecision, decision_id, "rejected", user, "error.decision_not_pending", note=note,
                     decision_id=decision_id)
    _event(conn, case_id, user, "rejected", {"decision_id": decision_id, "decision": row.decision, "note": note})


def rectify(conn: Connection, case_id: int, deadline: date, recovered: str, accountable: list[str],
            note: str | None, extension_reason: str | None, user: Principal) -> None:
    """整改: a deadline, the money recovered, the people held accountable. A recovery above the
    money at risk needs a note saying why; a later deadline needs a reason, and the first
    deadline stays on record (the overdue list still counts from it)."""
    case = _case(conn, case_id, user, lock=True)
    if case.status != "confirmed":
        raise ReviewError(409, "error.rectify_confirmed_only", case_id=case_id, status=case.status)
    recovered_fen = fen_of(recovered)
    if recovered_fen > case.amount_at_risk_fen and not (note and note.strip()):
        raise ReviewError(422, "error.recovery_above_risk", recovered=recovered,
                          at_risk=yuan(case.amount_at_risk_fen))
    existing = conn.execute(select(Rectification).where(Rectification.case_id == case_id)).first()
    detail: dict[str, Any] = {"deadline": deadline.isoformat(), "recovered": recovered, "accountable": accountable,
                              "note": note}
    values = {"deadline": deadline, "recovered_fen": recovered_fen, "accountable": accountable, "note": note,
              "updated_at": _now()}
    if existing is None:
        conn.execute(insert(Rectification).values(case_id=case_id, original_deadline=deadline, **values))
    else:
        if existing.closed_at is not None:
            raise ReviewError(409, "error.case_closed", case_id=case_id)
        if deadline > existing.deadline:
            if not (extension_reason and extension_reason.strip()):
                raise ReviewError(422, "error.extension_needs_reason", deadline=existing.deadline.isoformat())
            detail.update({"extended_from": existing.deadline.isoformat(), "extension_reason": extension_reason})
        conn.execute(update(Rectification).where(Rectification.case_id == case_id).values(values))
    _event(conn, case_id, user, "rectification", detail)


def close(conn: Connection, case_id: int, user: Principal) -> None:
    case = _case(conn, case_id, user, lock=True)
    if case.status == "confirmed":
        fix = conn.execute(select(Rectification).where(Rectification.case_id == case_id)).first()
        if fix is None:
            raise ReviewError(409, "error.close_needs_rectification")
        conn.execute(update(Rectification).where(Rectification.case_id == case_id).values(closed_at=_now()))
    elif case.status not in {"dismissed", "referred"}:
        raise ReviewError(409, "error.close_needs_decision", case_id=case_id, status=case.status)
    conn.execute(update(Case).where(Case.id == case_id).values(status="closed", updated_at=_now()))
    _event(conn, case_id, user, "closed", {"from": case.status})


def overdue(conn: Connection, user: Principal, today: date) -> list[Any]:
    """Rectifications not closed and past their deadline, or past the first deadline set
    (an extension does not take a case off this list)."""
    return conn.execute(select(Rectification.case_id, Rectification.deadline, Rectification.original_deadline,
                               Rectification.recovered_fen, Case.subject_kind, Case.subject_key, Case.label,
                               Case.codes)
                        .join(Case, Case.id == Rectification.case_id)
                        .where(or_(Rectification.deadline < today, Rectification.original_deadline < today),
                               Rectification.closed_at.is_(None), in_scope(user))
                        .order_by(Rectification.original_deadline)).all()


def due(conn: Connection, user: Principal, today: date, days: int = 30) -> list[Any]:
    """Rectifications not closed whose deadline falls within the coming ``days``."""
    return conn.execute(select(Rectification.case_id, Rectification.deadline, Rectification.original_deadline,
                               Rectification.recovered_fen, Case.subject_kind, Case.subject_key, Case.label,
                               Case.codes)
                        .join(Case, Case.id == Rectification.case_id)
                        .where(Rectification.deadline >= today, Rectification.deadline <= today + timedelta(days=days),
                               Rectification.original_deadline >= today, Rectification.closed_at.is_(None),
                               in_scope(user))
                        .order_by(Rectification.deadline)).all()


# ---------------------------------------------------------------------- the inspectors' home

def overview(conn: Connection, user: Principal) -> dict[str, Any]:
    """What the home page counts: open cases and their money, decided ones, pending approvals."""
    scoped = in_scope(user)
    by_status = dict(conn.execute(select(Case.status, func.count()).where(scoped).group_by(Case.status)).all())
    at_risk = conn.execute(select(func.coalesce(func.sum(Case.amount_at_risk_fen), 0))
                           .where(scoped, Case.status == "open")).scalar_one()
    # Owed to households (ME, 应享未享): a total of its own, never added into money at risk.
    owed = conn.execute(select(func.coalesce(func.sum(Case.amount_owed_fen), 0))
                        .where(scoped, Case.status == "open")).scalar_one()
    pending = conn.execute(select(func.count()).select_from(CaseDecision).join(Case, Case.id == CaseDecision.case_id)
                           .where(CaseDecision.state == "pending", scoped,
                                  CaseDecision.decided_by != user.id)).scalar_one()
    return {"by_status": by_status, "open": by_status.get("open", 0), "at_risk_fen": int(at_risk),
            "owed_fen": int(owed), "awaiting_me": pending}


def money_by_town(conn: Connection, user: Principal) -> list[tuple[str, int, int]]:
    """(town name, open cases, money at risk in fen) per town, most money first; cases of no
    town (an organization, a paying unit) under the county's own line."""
    rows = conn.execute(select(Case.town_code, func.count(), func.coalesce(func.sum(Case.amount_at_risk_fen), 0))
                        .where(in_scope(user), Case.status == "open").group_by(Case.town_code)).all()
    names = dict(conn.execute(select(Town.town_code, Town.town_name)).all())
    out = [(names.get(code, code) if code else "", int(count), int(total)) for code, count, total in rows]
    return sorted(out, key=lambda row: -row[2])


def findings_by_code(conn: Connection, user: Principal) -> list[tuple[str, int, int]]:
    """(code, open findings, cases) in the catalogue's order: from the findings' index alone
    for the county, through the cases of the town for a town's inspectors."""
    query = (select(Finding.code, func.count(), func.count(func.distinct(Finding.case_id)))
             .where(Finding.status == "open").group_by(Finding.code))
    if user.town is not None:
        query = query.join(Case, Case.id == Finding.case_id).where(in_scope(user))
    rows = conn.execute(query).all()
    from audit.detectors.catalogue import CODES

    order = {code: index for index, code in enumerate(CODES)}
    return sorted(((code, int(n), int(cases)) for code, n, cases in rows), key=lambda row: order.get(row[0], 99))


def awaiting_approval(conn: Connection, user: Principal, limit: int = 20) -> list[Any]:
    """Colleagues' decisions that wait for a second inspector (not one's own)."""
    return conn.execute(select(CaseDecision.id, CaseDecision.case_id, CaseDecision.decision, CaseDecision.decided_at,
                               User.name.label("by"), Case.subject_kind, Case.subject_key, Case.label, Case.codes,
                               Case.amount_at_risk_fen)
                        .join(Case, Case.id == CaseDecision.case_id).join(User, User.id == CaseDecision.decided_by)
                        .where(CaseDecision.state == "pending", CaseDecision.decided_by != user.id, in_scope(user))
                        .order_by(CaseDecision.decided_at).limit(limit)).all()

"""The review workflow. A case is assigned, commented, decided (confirmed / dismissed with a
reason / referred); a confirmation takes effect only when a second inspector approves it;
a confirmed case is rectified (整改) against a deadline with the money recovered (追回) and
the people held accountable, then closed. Nothing is overwritten: every step is a case
event and an audit-trail entry written in the caller's transaction."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, Date, and_, func, insert, select, update

from audit import trail
from audit.detectors.base import fen_of, yuan
from audit.detectors.facts import Facts
from audit.importer.spec import BY_NAME
from audit.models import Case, CaseDecision, CaseEvent, Finding, Rectification, User

DECISIONS = ("confirmed", "dismissed", "referred")
SORTS = {"score": Case.score.desc(), "amount": Case.amount_at_risk_fen.desc(), "updated": Case.updated_at.desc(),
         "id": Case.id}


class ReviewError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _now() -> datetime:
    return datetime.now(UTC)


def _case(conn: Connection, case_id: int) -> Any:
    case = conn.execute(select(Case).where(Case.id == case_id)).first()
    if case is None:
        raise ReviewError(404, f"no case {case_id}")
    return case


def _event(conn: Connection, case_id: int, user: Any, kind: str, detail: dict[str, Any]) -> None:
    conn.execute(insert(CaseEvent).values(case_id=case_id, at=_now(), kind=kind, run_id=None,
                                          detail={"by": user.name, **detail}))
    trail.append(conn, user.name, f"case_{kind}", f"case {case_id}", detail)


def list_cases(conn: Connection, *, status: str | None = "open", code: str | None = None,
               family: str | None = None, min_score: float | None = None, min_amount: str | None = None,
               assigned_to: str | None = None, sort: str = "score", limit: int = 50, offset: int = 0
               ) -> tuple[int, list[Any]]:
    query = select(Case)
    if status:
        query = query.where(Case.status == status)
    if code or family:
        wanted = [Finding.case_id == Case.id, Finding.status == "open"]
        if code:
            wanted.append(Finding.code == code.upper())
        if family:
            wanted.append(Finding.family == family.upper())
        query = query.where(select(Finding.id).where(and_(*wanted)).exists())
    if min_score is not None:
        query = query.where(Case.score >= min_score)
    if min_amount is not None:
        query = query.where(Case.amount_at_risk_fen >= fen_of(min_amount))
    if assigned_to:
        query = query.join(User, User.id == Case.assigned_to).where(User.name == assigned_to)
    total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = conn.execute(query.order_by(SORTS[sort], Case.id).limit(limit).offset(offset)).all()
    return total, rows


KINDS = {spec.kind: spec for spec in BY_NAME.values()}


def _plain_row(row: Any) -> dict[str, Any]:
    """A stored row as a reviewer reads it: money in yuan, dates as ISO text."""
    out: dict[str, Any] = {}
    for name, value in row.items():
        if name == "batch_id":
            continue
        if name.endswith("_fen"):
            out[name[:-4]] = None if value is None else yuan(value)
        else:
            out[name] = value.isoformat() if isinstance(value, date) else value
    return out


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
            typed = [date.fromisoformat(v) if isinstance(c.type, Date) else v for c, v in zip(columns, parts,
                                                                                             strict=True)]
        except ValueError:
            continue
        wanted.setdefault(spec.name, {})[(step["kind"], step["key"])] = typed[0] if len(typed) == 1 else tuple(typed)
    found: dict[tuple[str, str], dict[str, Any] | None] = {}
    for table, keys in wanted.items():
        rows = facts.load(table, keys.values())
        for ref, key in keys.items():
            row = rows.get(key)
            found[ref] = None if row is None else _plain_row(row)
    return found


def case_detail(conn: Connection, case_id: int) -> dict[str, Any]:
    case = _case(conn, case_id)
    findings = conn.execute(select(Finding).where(Finding.case_id == case_id).order_by(Finding.score.desc(),
                                                                                       Finding.id)).all()
    records = resolve_all(conn, [step for finding in findings for step in finding.evidence])
    resolved = []
    for finding in findings:
        steps = [{**step, "record": records.get((step["kind"], step["key"]))} for step in finding.evidence]
        resolved.append({"id": f"f-{finding.id:06d}", "code": finding.code, "title": finding.title,
                         "score": finding.score, "status": finding.status, "subjects": finding.subjects,
                         "records": finding.records, "amount_at_risk": yuan(finding.amount_at_risk_fen),
                         "params": finding.params, "evidence": steps})
    decisions = conn.execute(select(CaseDecision).where(CaseDecision.case_id == case_id)
                             .order_by(CaseDecision.id)).all()
    names = dict(conn.execute(select(User.id, User.name)).all())
    events = conn.execute(select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)).all()
    fix = conn.execute(select(Rectification).where(Rectification.case_id == case_id)).first()
    return {
        "id": case.id, "subject": {"kind": case.subject_kind, "key": case.subject_key}, "title": case.title,
        "score": case.score, "amount_at_risk": yuan(case.amount_at_risk_fen), "codes": case.codes,
        "status": case.status, "assigned_to": names.get(case.assigned_to), "findings": resolved,
        "decisions": [{"id": d.id, "decision": d.decision, "reason": d.reason, "by": names.get(d.decided_by),
                       "at": d.decided_at.isoformat(), "state": d.state, "reviewed_by": names.get(d.reviewed_by)}
                      for d in decisions],
        "history": [{"at": e.at.isoformat(), "kind": e.kind, "detail": e.detail} for e in events],
        "rectification": None if fix is None else {
            "deadline": fix.deadline.isoformat(), "recovered": yuan(fix.recovered_fen),
            "accountable": fix.accountable, "note": fix.note,
            "closed_at": fix.closed_at.isoformat() if fix.closed_at else None},
    }


def assign(conn: Connection, case_id: int, assignee: str, user: Any) -> None:
    _case(conn, case_id)
    target = conn.execute(select(User).where(User.name == assignee, User.active.is_(True))).first()
    if target is None or target.role != "inspector":
        raise ReviewError(422, f"{assignee} is not an active inspector")
    conn.execute(update(Case).where(Case.id == case_id).values(assigned_to=target.id, updated_at=_now()))
    _event(conn, case_id, user, "assigned", {"to": assignee})


def comment(conn: Connection, case_id: int, text: str, user: Any) -> None:
    _case(conn, case_id)
    if not text.strip():
        raise ReviewError(422, "a comment needs text")
    _event(conn, case_id, user, "comment", {"text": text})


def decide(conn: Connection, case_id: int, decision: str, reason: str, user: Any) -> int:
    case = _case(conn, case_id)
    if decision not in DECISIONS:
        raise ReviewError(422, f"decision is one of {', '.join(DECISIONS)}")
    if not reason.strip():
        raise ReviewError(422, "a decision needs its reason")
    if case.status in {"confirmed", "closed"}:
        raise ReviewError(409, f"case {case_id} is {case.status}; its decision stands")
    pending = conn.execute(select(CaseDecision.id).where(CaseDecision.case_id == case_id,
                                                         CaseDecision.state == "pending")).first()
    if pending:
        raise ReviewError(409, f"decision {pending.id} awaits a second inspector's approval")
    # A confirmation needs four eyes; a dismissal or referral takes effect at once.
    state = "pending" if decision == "confirmed" else "effective"
    decision_id = conn.execute(insert(CaseDecision).values(
        case_id=case_id, decision=decision, reason=reason, decided_by=user.id, decided_at=_now(), state=state,
    ).returning(CaseDecision.id)).scalar_one()
    if state == "effective":
        conn.execute(update(Case).where(Case.id == case_id).values(status=decision, updated_at=_now()))
    _event(conn, case_id, user, "decided", {"decision": decision, "reason": reason, "state": state,
                                            "decision_id": decision_id})
    return decision_id


def approve(conn: Connection, case_id: int, decision_id: int, user: Any) -> None:
    _case(conn, case_id)
    row = conn.execute(select(CaseDecision).where(CaseDecision.id == decision_id,
                                                  CaseDecision.case_id == case_id)).first()
    if row is None:
        raise ReviewError(404, f"no decision {decision_id} on case {case_id}")
    if row.state != "pending":
        raise ReviewError(409, f"decision {decision_id} is {row.state}, not awaiting approval")
    if row.decided_by == user.id:
        raise ReviewError(403, "a confirmation needs a second inspector: you made this decision")
    conn.execute(update(CaseDecision).where(CaseDecision.id == decision_id).values(
        state="effective", reviewed_by=user.id, reviewed_at=_now()))
    conn.execute(update(Case).where(Case.id == case_id).values(status=row.decision, updated_at=_now()))
    _event(conn, case_id, user, "approved", {"decision_id": decision_id, "decision": row.decision})


def rectify(conn: Connection, case_id: int, deadline: date, recovered: str, accountable: list[str],
            note: str | None, user: Any) -> None:
    case = _case(conn, case_id)
    if case.status != "confirmed":
        raise ReviewError(409, f"only a confirmed case is rectified; case {case_id} is {case.status}")
    values = {"deadline": deadline, "recovered_fen": fen_of(recovered), "accountable": accountable, "note": note,
              "updated_at": _now()}
    if conn.execute(select(Rectification.id).where(Rectification.case_id == case_id)).first():
        conn.execute(update(Rectification).where(Rectification.case_id == case_id).values(values))
    else:
        conn.execute(insert(Rectification).values(case_id=case_id, **values))
    _event(conn, case_id, user, "rectification", {"deadline": deadline.isoformat(), "recovered": recovered,
                                                  "accountable": accountable, "note": note})


def close(conn: Connection, case_id: int, user: Any) -> None:
    case = _case(conn, case_id)
    if case.status == "confirmed":
        fix = conn.execute(select(Rectification).where(Rectification.case_id == case_id)).first()
        if fix is None:
            raise ReviewError(409, "a confirmed case is closed after its rectification is recorded")
        conn.execute(update(Rectification).where(Rectification.case_id == case_id).values(closed_at=_now()))
    elif case.status not in {"dismissed", "referred"}:
        raise ReviewError(409, f"case {case_id} is {case.status}: decide it first")
    conn.execute(update(Case).where(Case.id == case_id).values(status="closed", updated_at=_now()))
    _event(conn, case_id, user, "closed", {"from": case.status})


def overdue(conn: Connection, today: date) -> list[Any]:
    return conn.execute(select(Rectification.case_id, Rectification.deadline, Rectification.recovered_fen, Case.title)
                        .join(Case, Case.id == Rectification.case_id)
                        .where(Rectification.deadline < today, Rectification.closed_at.is_(None))
                        .order_by(Rectification.deadline)).all()

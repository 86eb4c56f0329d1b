"""Clue hand-out (集中交办) and outcomes.

A county inspector bundles open cases of one town into a batch with a deadline; the town's
inspectors (a unit whose scope is that town) see their town's batches only, decide each
case through the review workflow (:mod:`audit.cases.service`, four eyes as ever), record
what each confirmed case led to (its outcomes) and return the batch once every case is
decided; the county closes it, and its cases may then be handed out again. A batch is late
while it is open, its deadline has passed and a case of it is still undecided.

Bulk decisions run the cases service's own ``decide`` (or ``approve``) once per case in
the caller's one transaction: all of them stand, or none (the refusal names the case).

The report (交办统计) counts, by town, by batch and by red flag: cases handed out, decided
(an effective decision), confirmed, money recovered (清退 + 追回) and people held
accountable (问责); one function (:func:`report`) feeds the screen, the sheet and the API.
Services never commit; every change goes on the trail.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, true, update
from sqlalchemy.exc import IntegrityError

from audit import trail
from audit.auth.service import Principal
from audit.cases import service as cases
from audit.detectors.base import fen_of, yuan
from audit.errors import ServiceError
from audit.models import (
    Case,
    CaseDecision,
    CaseOutcome,
    HandoutBatch,
    HandoutBatchCase,
    Town,
    User,
)

STATUSES = ("open", "returned", "closed")
OUTCOMES = ("disqualified", "refunded", "recovered", "filed", "accountability", "rectified")
# Outcomes that carry money (清退: the subject paid it back; 追回: it was taken back).
MONEY_OUTCOMES = ("refunded", "recovered")
# How people were held accountable (问责方式), the forms a discipline office reports.
ACCOUNTABILITY_KINDS = ("talk", "admonish", "organisational", "party_discipline", "government_sanction")
MAX_CASES = 500  # cases in one batch, and in one bulk decision
MAX_TITLE = 120


class HandoutError(ServiceError):
    def __init__(self, status: int, message_id: str, /, **fields: Any) -> None:
        super().__init__(status, message_id, **fields)


def _now() -> datetime:
    return datetime.now(UTC)


def in_scope(user: Principal) -> Any:
    """The batches a user's scope reaches: every town's for the county, their own town's."""
    return HandoutBatch.town_code == user.town if user.town else true()


def _batch(conn: Connection, batch_id: int, user: Principal, lock: bool = False) -> Any:
    """A batch within the user's scope; another town's is as absent as one that never was."""
    query = select(HandoutBatch).where(HandoutBatch.id == batch_id, in_scope(user))
    if lock and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = conn.execute(query).first()
    if row is None:
        raise HandoutError(404, "error.no_handout", batch_id=batch_id)
    return row


def _decisions(conn: Connection, case_ids: Iterable[int]) -> dict[int, Any]:
    """{case id: its pending or effective decision (id, decision, state, decided_by)}."""
    ids = sorted(set(case_ids))
    found: dict[int, Any] = {}
    for start in range(0, len(ids), 1000):
        for row in conn.execute(select(CaseDecision.id, CaseDecision.case_id, CaseDecision.decision,
                                       CaseDecision.state, CaseDecision.decided_by)
                                .where(CaseDecision.case_id.in_(ids[start:start + 1000]),
                                       CaseDecision.state.in_(("pending", "effective")))):
            found[row.case_id] = row
    return found


# ---------------------------------------------------------------------- batches

def create_batch(conn: Connection, user: Principal, title: str, town_code: str, deadline: date,
                 case_ids: list[int], note: str | None = None, today: date | None = None) -> int:
    """交办: a batch of open cases of one town, for that town's inspectors, by a deadline.
    Only the county hands out; each case must lie in the town and be open, and in no other
    batch that is not closed."""
    if user.town is not None:
        raise HandoutError(403, "error.handout_county_only")
    title = (title or "").strip()
    if not title or len(title) > MAX_TITLE:
        raise HandoutError(422, "error.handout_needs_title")
    if deadline < (today or date.today()):
        raise HandoutError(422, "error.handout_deadline_past", deadline=deadline.isoformat())
    wanted = sorted(set(case_ids))
    if not wanted:
        raise HandoutError(422, "error.handout_needs_cases")
    if len(wanted) > MAX_CASES:
        raise HandoutError(422, "error.handout_too_many", limit=MAX_CASES)
    town = conn.execute(select(Town.town_name).where(Town.town_code == town_code)).first()
    if town is None:
        raise HandoutError(404, "error.no_town", town=town_code)
    found = {row.id: row for row in conn.execute(select(Case.id, Case.town_code, Case.status)
                                                 .where(Case.id.in_(wanted)))}
    for case_id in wanted:
        row = found.get(case_id)
        if row is None:
            raise HandoutError(404, "error.no_case", case_id=case_id)
        if row.town_code != town_code:
            raise HandoutError(422, "error.handout_case_elsewhere", case_id=case_id, town=town.town_name)
        if row.status != "open":
            raise HandoutError(409, "error.case_not_open", case_id=case_id, status=row.status)
    batch_id = conn.execute(insert(HandoutBatch).values(
        title=title, town_code=town_code, deadline=deadline, note=(note or "").strip() or None, status="open",
        created_by=user.id, created_at=_now()).returning(HandoutBatch.id)).scalar_one()
    savepoint = conn.begin_nested()
    try:
        conn.execute(insert(HandoutBatchCase), [{"batch_id": batch_id, "case_id": c, "live": True} for c in wanted])
        savepoint.commit()
    except IntegrityError:
        # A case already in a live batch (the partial unique index): name the first such.
        savepoint.rollback()
        taken = conn.execute(select(HandoutBatchCase.case_id, HandoutBatchCase.batch_id)
                             .where(HandoutBatchCase.case_id.in_(wanted), HandoutBatchCase.live.is_(True))
                             .order_by(HandoutBatchCase.case_id)).first()
        raise HandoutError(409, "error.handout_case_taken", case_id=taken.case_id if taken else wanted[0],
                           batch_id=taken.batch_id if taken else 0) from None
    for case_id in wanted:
        cases.history(conn, case_id, user, "handed_out", {"batch_id": batch_id, "title": title})
    trail.append(conn, user.name, "handout_created", f"handout {batch_id}",
                 {"title": title, "town_code": town_code, "deadline": deadline.isoformat(), "cases": wanted})
    return batch_id


def _progress(conn: Connection, batch_ids: list[int]) -> dict[int, dict[str, int]]:
    """{batch id: cases, decided (effective decision), confirmed, pending} of each batch."""
    counts: dict[int, dict[str, int]] = defaultdict(lambda: {"cases": 0, "decided": 0, "confirmed": 0, "pending": 0})
    if not batch_ids:
        return counts
    rows = conn.execute(select(HandoutBatchCase.batch_id, HandoutBatchCase.case_id)
                        .where(HandoutBatchCase.batch_id.in_(batch_ids))).all()
    decisions = _decisions(conn, [r.case_id for r in rows])
    for row in rows:
        entry = counts[row.batch_id]
        entry["cases"] += 1
        decision = decisions.get(row.case_id)
        if decision is not None and decision.state == "effective":
            entry["decided"] += 1
            entry["confirmed"] += decision.decision == "confirmed"
        elif decision is not None:
            entry["pending"] += 1
    return counts


def is_late(status: str, deadline: date, undecided: int, today: date) -> bool:
    """Late: still with the town, past its deadline, and a case not yet decided."""
    return status == "open" and deadline < today and undecided > 0


def _shape(row: Any, progress: dict[str, int], towns: dict[str, str], names: dict[int, str],
           today: date) -> dict[str, Any]:
    return {"id": row.id, "title": row.title, "town_code": row.town_code, "town": towns.get(row.town_code, ""),
            "deadline": row.deadline.isoformat(), "note": row.note, "status": row.status,
            "created_by": names.get(row.created_by), "created_at": row.created_at.isoformat(),
            "returned_by": names.get(row.returned_by) if row.returned_by else None,
            "returned_at": row.returned_at.isoformat() if row.returned_at else None,
            "closed_by": names.get(row.closed_by) if row.closed_by else None,
            "closed_at": row.closed_at.isoformat() if row.closed_at else None,
            **progress, "undecided": progress["cases"] - progress["decided"],
            "late": is_late(row.status, row.deadline, progress["cases"] - progress["decided"], today)}


def _towns(conn: Connection) -> dict[str, str]:
    return dict(conn.execute(select(Town.town_code, Town.town_name)).all())


def list_batches(conn: Connection, user: Principal, today: date, status: str | None = None) -> list[dict[str, Any]]:
    """The batches of the reader's scope, newest first, each with its progress and late flag."""
    query = select(HandoutBatch).where(in_scope(user))
    if status:
        query = query.where(HandoutBatch.status == status)
    rows = conn.execute(query.order_by(HandoutBatch.id.desc())).all()
    progress = _progress(conn, [r.id for r in rows])
    towns, names = _towns(conn), cases.user_names(conn)
    return [_shape(r, progress[r.id], towns, names, today) for r in rows]


def late_count(conn: Connection, user: Principal, today: date) -> int:
    """How many of the reader's batches are late (what the batch list's heading says)."""
    return sum(1 for batch in list_batches(conn, user, today, status="open") if batch["late"])


def batch_detail(conn: Connection, batch_id: int, user: Principal, lang: str, today: date) -> dict[str, Any]:
    """A batch, its progress, and each case (masked) with its live decision and its outcomes."""
    batch = _batch(conn, batch_id, user)
    case_ids = list(conn.execute(select(HandoutBatchCase.case_id).where(HandoutBatchCase.batch_id == batch_id)
                                 .order_by(HandoutBatchCase.case_id)).scalars())
    rows = {r.id: r for r in conn.execute(select(Case).where(Case.id.in_(case_ids)))} if case_ids else {}
    decisions = _decisions(conn, case_ids)
    names, places = cases.user_names(conn), cases.place_names(conn)
    outcomes = defaultdict(list)
    for o in conn.execute(select(CaseOutcome).where(CaseOutcome.batch_id == batch_id).order_by(CaseOutcome.id)):
        outcomes[o.case_id].append(_outcome(o, names))
    items = []
    for case_id in case_ids:
        decision = decisions.get(case_id)
        items.append({**cases.summary(rows[case_id], lang, True, names, places),
                      "decision": None if decision is None else {
                          "id": decision.id, "decision": decision.decision, "state": decision.state,
                          "by": names.get(decision.decided_by), "mine": decision.decided_by == user.id},
                      "outcomes": outcomes.get(case_id, [])})
    progress = _progress(conn, [batch_id])[batch_id]
    return {**_shape(batch, progress, _towns(conn), names, today), "cases": items}


def _outcome(row: Any, names: dict[int, str]) -> dict[str, Any]:
    return {"id": row.id, "case_id": row.case_id, "batch_id": row.batch_id, "kind": row.kind,
            "amount": yuan(row.amount_fen), "people": row.people, "accountability_kind": row.accountability_kind,
            "note": row.note, "by": names.get(row.recorded_by), "at": row.recorded_at.isoformat()}


def return_batch(conn: Connection, batch_id: int, user: Principal) -> None:
    """报结: the town sends the batch back once every case of it is decided."""
    batch = _batch(conn, batch_id, user, lock=True)
    if batch.status != "open":
        raise HandoutError(409, "error.handout_not_open", batch_id=batch_id, state=batch.status)
    progress = _progress(conn, [batch_id])[batch_id]
    undecided = progress["cases"] - progress["decided"]
    if undecided:
        raise HandoutError(409, "error.handout_undecided", batch_id=batch_id, count=undecided)
    conn.execute(update(HandoutBatch).where(HandoutBatch.id == batch_id)
                 .values(status="returned", returned_by=user.id, returned_at=_now()))
    trail.append(conn, user.name, "handout_returned", f"handout {batch_id}", {"cases": progress["cases"]})


def close_batch(conn: Connection, batch_id: int, user: Principal) -> None:
    """The county closes a returned batch: its cases may be handed out again."""
    if user.town is not None:
        raise HandoutError(403, "error.handout_county_only")
    batch = _batch(conn, batch_id, user, lock=True)
    if batch.status != "returned":
        raise HandoutError(409, "error.handout_not_returned", batch_id=batch_id, state=batch.status)
    conn.execute(update(HandoutBatch).where(HandoutBatch.id == batch_id)
                 .values(status="closed", closed_by=user.id, closed_at=_now()))
    conn.execute(update(HandoutBatchCase).where(HandoutBatchCase.batch_id == batch_id).values(live=False))
    trail.append(conn, user.name, "handout_closed", f"handout {batch_id}", {})


# ---------------------------------------------------------------------- outcomes

def record_outcome(conn: Connection, case_id: int, user: Principal, kind: str, amount: str = "0",
                   people: int = 0, accountability_kind: str | None = None, note: str | None = None) -> int:
    """What a confirmed case led to. 清退 and 追回 carry an amount (more than 0); 问责 the
    number of people and how they were held accountable; the others neither. The outcome
    counts for the batch the case was last handed out in (refused once that is closed)."""
    case = conn.execute(select(Case.id).where(Case.id == case_id, cases.in_scope(user))).first()
    if case is None:
        raise HandoutError(404, "error.no_case", case_id=case_id)
    if kind not in OUTCOMES:
        raise HandoutError(422, "error.outcome_unknown", kind=kind)
    decision = _decisions(conn, [case_id]).get(case_id)
    if decision is None or decision.state != "effective" or decision.decision != "confirmed":
        raise HandoutError(409, "error.outcome_confirmed_only", case_id=case_id)
    amount_fen = fen_of(amount or "0")
    if kind in MONEY_OUTCOMES:
        if amount_fen <= 0:
            raise HandoutError(422, "error.outcome_needs_amount")
    elif amount_fen:
        raise HandoutError(422, "error.outcome_no_amount")
    if kind == "accountability":
        if people < 1 or accountability_kind not in ACCOUNTABILITY_KINDS:
            raise HandoutError(422, "error.outcome_needs_people")
    elif people or accountability_kind:
        raise HandoutError(422, "error.outcome_no_people")
    batch = conn.execute(select(HandoutBatch.id, HandoutBatch.status).join(
        HandoutBatchCase, HandoutBatchCase.batch_id == HandoutBatch.id).where(HandoutBatchCase.case_id == case_id)
        .order_by(HandoutBatch.id.desc()).limit(1)).first()
    if batch is not None and batch.status == "closed":
        raise HandoutError(409, "error.handout_closed", batch_id=batch.id)
    note = (note or "").strip() or None
    outcome_id = conn.execute(insert(CaseOutcome).values(
        case_id=case_id, batch_id=batch.id if batch else None, kind=kind, amount_fen=amount_fen, people=people,
        accountability_kind=accountability_kind if kind == "accountability" else None, note=note,
        recorded_by=user.id, recorded_at=_now()).returning(CaseOutcome.id)).scalar_one()
    detail = {"outcome_id": outcome_id, "kind": kind, "amount": yuan(amount_fen), "people": people,
              "accountability_kind": accountability_kind, "note": note, "batch_id": batch.id if batch else None}
    cases.history(conn, case_id, user, "outcome", detail)
    trail.append(conn, user.name, "case_outcome", f"case {case_id}", detail)
    return outcome_id


def outcomes_of(conn: Connection, case_id: int, user: Principal) -> list[dict[str, Any]]:
    """A case's outcomes, oldest first."""
    if conn.execute(select(Case.id).where(Case.id == case_id, cases.in_scope(user))).first() is None:
        raise HandoutError(404, "error.no_case", case_id=case_id)
    names = cases.user_names(conn)
    return [_outcome(o, names) for o in conn.execute(select(CaseOutcome).where(CaseOutcome.case_id == case_id)
                                                      .order_by(CaseOutcome.id))]


# ---------------------------------------------------------------------- bulk decisions

def _bounded(ids: list[int], empty: str) -> list[int]:
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        raise HandoutError(422, empty)
    if len(wanted) > MAX_CASES:
        raise HandoutError(422, "error.handout_too_many", limit=MAX_CASES)
    return wanted


def bulk_decide(conn: Connection, user: Principal, case_ids: list[int], decision: str, reason: str
                ) -> list[dict[str, Any]]:
    """One decision with one reason on several cases: the review's own ``decide`` on each,
    in the caller's transaction (a refusal on one undoes them all). Confirmations, and
    dismissals or referrals of serious cases, wait for a second inspector as ever."""
    done = []
    for case_id in _bounded(case_ids, "error.bulk_needs_cases"):
        decision_id, state = cases.decide(conn, case_id, decision, reason, user)
        done.append({"case_id": case_id, "decision_id": decision_id, "state": state})
    return done


def bulk_approve(conn: Connection, user: Principal, decision_ids: list[int]) -> list[int]:
    """Approve several colleagues' pending decisions at once (never one's own: that refusal
    undoes them all); returns the cases approved."""
    approved = []
    for decision_id in _bounded(decision_ids, "error.bulk_needs_decisions"):
        case_id = conn.execute(select(CaseDecision.case_id).where(CaseDecision.id == decision_id)).scalar()
        if case_id is None:
            raise HandoutError(404, "error.no_decision", decision_id=decision_id, case_id=0)
        cases.approve(conn, case_id, decision_id, user)
        approved.append(case_id)
    return approved


# ---------------------------------------------------------------------- the report

FIGURES = ("handed_out", "decided", "confirmed", "recovered_fen", "people")


def _zero() -> dict[str, int]:
    return dict.fromkeys(FIGURES, 0)


def report(conn: Connection, user: Principal) -> dict[str, Any]:
    """交办统计, as a county reports upward: for every case handed out (once per batch it was
    in), whether it is decided (an effective decision) and confirmed, the money recovered
    (清退 + 追回, in fen) and the people held accountable (问责) recorded for it in that
    batch; summed by town, by batch and by red flag (a case with two flags counts under
    each, so the flags' rows do not add up to the total), and in total."""
    rows = conn.execute(select(HandoutBatchCase.batch_id, HandoutBatchCase.case_id, HandoutBatch.title,
                               HandoutBatch.town_code, HandoutBatch.status, HandoutBatch.deadline, Case.codes)
                        .join(HandoutBatch, HandoutBatch.id == HandoutBatchCase.batch_id)
                        .join(Case, Case.id == HandoutBatchCase.case_id)
                        .where(in_scope(user)).order_by(HandoutBatch.id, HandoutBatchCase.case_id)).all()
    decisions = _decisions(conn, [r.case_id for r in rows])
    money: dict[tuple[int, int], int] = defaultdict(int)
    people: dict[tuple[int, int], int] = defaultdict(int)
    batch_ids = sorted({r.batch_id for r in rows})
    for start in range(0, len(batch_ids), 1000):
        for o in conn.execute(select(CaseOutcome.batch_id, CaseOutcome.case_id, CaseOutcome.kind,
                                     func.sum(CaseOutcome.amount_fen).label("fen"),
                                     func.sum(CaseOutcome.people).label("people"))
                              .where(CaseOutcome.batch_id.in_(batch_ids[start:start + 1000]))
                              .group_by(CaseOutcome.batch_id, CaseOutcome.case_id, CaseOutcome.kind)):
            if o.kind in MONEY_OUTCOMES:
                money[(o.batch_id, o.case_id)] += int(o.fen or 0)
            if o.kind == "accountability":
                people[(o.batch_id, o.case_id)] += int(o.people or 0)
    towns = _towns(conn)
    by_town: dict[str, dict[str, int]] = defaultdict(_zero)
    by_batch: dict[int, dict[str, int]] = defaultdict(_zero)
    by_code: dict[str, dict[str, int]] = defaultdict(_zero)
    batches: dict[int, Any] = {}
    total = _zero()
    for r in rows:
        decision = decisions.get(r.case_id)
        decided = decision is not None and decision.state == "effective"
        figures = {"handed_out": 1, "decided": int(decided),
                   "confirmed": int(decided and decision.decision == "confirmed"),
                   "recovered_fen": money[(r.batch_id, r.case_id)], "people": people[(r.batch_id, r.case_id)]}
        batches[r.batch_id] = r
        for bucket in (by_town[r.town_code], by_batch[r.batch_id], total, *(by_code[c] for c in (r.codes or []))):
            for name, value in figures.items():
                bucket[name] += value
    from audit.detectors.catalogue import CODES

    order = {code: index for index, code in enumerate(CODES)}
    return {
        "towns": [{"town_code": code, "town": towns.get(code, code), **by_town[code]}
                  for code in sorted(by_town, key=lambda c: (towns.get(c, c), c))],
        "batches": [{"batch_id": b, "title": batches[b].title, "town": towns.get(batches[b].town_code, ""),
                     "status": batches[b].status, "deadline": batches[b].deadline.isoformat(), **by_batch[b]}
                    for b in sorted(by_batch)],
        "codes": [{"code": code, **by_code[code]} for code in sorted(by_code, key=lambda c: (order.get(c, 99), c))],
        "total": total,
    }


def open_cases_of_town(conn: Connection, town_code: str, limit: int = 200) -> list[Any]:
    """The open cases of a town not in a live batch, by score: what a new batch offers."""
    taken = select(HandoutBatchCase.case_id).where(HandoutBatchCase.live.is_(True))
    return conn.execute(select(Case).where(Case.town_code == town_code, Case.status == "open",
                                           Case.id.not_in(taken))
                        .order_by(Case.score.desc(), Case.id).limit(limit)).all()


def pending_for_me(conn: Connection, batch_id: int, user: Principal) -> list[Any]:
    """The pending decisions on a batch's cases that the reader may approve (not their own)."""
    _batch(conn, batch_id, user)
    return conn.execute(select(CaseDecision.id, CaseDecision.case_id, CaseDecision.decision, CaseDecision.reason,
                               User.name.label("by"))
                        .join(HandoutBatchCase, HandoutBatchCase.case_id == CaseDecision.case_id)
                        .join(User, User.id == CaseDecision.decided_by)
                        .where(HandoutBatchCase.batch_id == batch_id, CaseDecision.state == "pending",
                               CaseDecision.decided_by != user.id).order_by(CaseDecision.case_id)).all()

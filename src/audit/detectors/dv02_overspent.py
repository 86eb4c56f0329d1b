"""DV-02 overspent.

What it flags: a project whose disbursements exceed its budget, or an allocation whose
spending (the disbursements and card payments that name it) exceeds its amount.

Why it matters: paying past the approved budget, or past the money that arrived, means
the excess came from somewhere else or was never approved (超预算、挤占).

Settings: none.

The records are the payments that crossed the approved amount, each carrying the part of
it past the line, so a pre-release check holds the line that would overspend.

Evidence, in order: the project or allocation with its approved amount, then the
payments (for an allocation, the ones that crossed it, at most 20), the last one stating
the total and the excess.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import func, literal, or_, select, union_all

from audit.detectors.base import Context, Detector, Evidence, Found, Ref, msg, yuan
from audit.detectors.facts import Facts
from audit.detectors.moved import CardPayment, Disbursement
from audit.models import Allocation, Project

EVIDENCE_SHOWN = 20


class Overspent(Detector):
    code = "DV-02"
    judges = "disbursement"
    version = 2  # the payments that crossed an allocation are records, not only the allocation
    defaults: dict = {}

    def run(self, context: Context) -> Iterator[Found]:
        facts = Facts(context.conn)
        if context.wants("disbursement"):
            yield from self._projects(context, facts)
        yield from self._allocations(context, facts)

    def _projects(self, context: Context, facts: Facts) -> Iterator[Found]:
        spent = (select(Disbursement.project_id, func.sum(Disbursement.amount_fen).label("spent"))
                 .where(Disbursement.project_id.is_not(None), Disbursement.paid_on <= context.as_of,
                        context.among("disbursement", Disbursement.project_id, via=Disbursement.project_id))
                 .group_by(Disbursement.project_id).subquery())
        projects = context.conn.execute(
            select(Project.project_id, Project.name, Project.budget_fen, spent.c.spent)
            .join(spent, spent.c.project_id == Project.project_id)
            .where(spent.c.spent > Project.budget_fen)).all()
        for row in projects:
            payments = context.conn.execute(
                select(literal("disbursement").label("kind"), Disbursement.disbursement_id.label("key"),
                       Disbursement.amount_fen)
                .where(Disbursement.project_id == row.project_id, Disbursement.paid_on <= context.as_of)
                .order_by(Disbursement.paid_on, Disbursement.disbursement_id)).all()
            facts.load("disbursements", [p.key for p in payments])
            excess = row.spent - row.budget_fen
            yield Found(
                subjects=[Ref("project", row.project_id, row.name)],
                records=[Ref("project", row.project_id), *_crossing(payments, row.budget_fen)],
                evidence=[facts.project(row.project_id)] + [facts.disbursement(p.key) for p in payments[:-1]]
                + [facts.disbursement(payments[-1].key,
                                      msg("note.over_budget", spent=yuan(row.spent), excess=yuan(excess)))],
                score=0.85, amount_at_risk_fen=excess)

    def _allocations(self, context: Context, facts: Facts) -> Iterator[Found]:
        def named_by_candidate(column: Any) -> Any:
            return or_(context.among("disbursement", column, via=Disbursement.allocation_id),
                       context.among("card_payment", column, via=CardPayment.allocation_id))

        uses = union_all(
            select(Disbursement.allocation_id, Disbursement.amount_fen, literal("disbursement").label("kind"),
                   Disbursement.disbursement_id.label("key"), Disbursement.paid_on)
            .where(Disbursement.paid_on <= context.as_of, named_by_candidate(Disbursement.allocation_id)),
            select(CardPayment.allocation_id, CardPayment.amount_fen, literal("card_payment"),
                   CardPayment.payment_id, CardPayment.paid_on)
            .where(CardPayment.paid_on <= context.as_of, CardPayment.allocation_id.is_not(None),
                   named_by_candidate(CardPayment.allocation_id))).subquery()
        totals = (select(uses.c.allocation_id, func.sum(uses.c.amount_fen).label("spent"), func.count().label("n"))
                  .group_by(uses.c.allocation_id).subquery())
        allocations = context.conn.execute(
            select(Allocation.allocation_id, Allocation.doc_number, Allocation.amount_fen, totals.c.spent, totals.c.n)
            .join(totals, totals.c.allocation_id == Allocation.allocation_id)
            .where(totals.c.spent > Allocation.amount_fen)).all()
        if not allocations:
            return
        facts.load("allocations", [a.allocation_id for a in allocations])
        payments: dict[str, list[Any]] = {}
        for start in range(0, len(allocations), 500):
            part = [a.allocation_id for a in allocations[start:start + 500]]
            for row in context.conn.execute(select(uses).where(uses.c.allocation_id.in_(part))
                                            .order_by(uses.c.paid_on, uses.c.kind, uses.c.key)):
                payments.setdefault(row.allocation_id, []).append(row)
        crossing = {a.allocation_id: _crossing(payments[a.allocation_id], a.amount_fen) for a in allocations}
        shown_all = [ref for refs in crossing.values() for ref in refs[:EVIDENCE_SHOWN]]
        facts.load("disbursements", [r.key for r in shown_all if r.kind == "disbursement"])
        facts.load("card_payments", [r.key for r in shown_all if r.kind == "card_payment"])
        for row in allocations:
            excess = row.spent - row.amount_fen
            crossed = crossing[row.allocation_id]
            shown = crossed[:EVIDENCE_SHOWN]
            steps: list[Evidence] = [facts.allocation(row.allocation_id, msg(
                "note.allocation_overspent", count=row.n, spent=yuan(row.spent), excess=yuan(excess)))]
            for ref in shown:
                note = msg("note.paid_past_allocation", amount=yuan(row.amount_fen))
                steps.append(facts.disbursement(ref.key, note) if ref.kind == "disbursement"
                             else facts.card_payment(ref.key, note))
            yield Found(
                subjects=[Ref("allocation", row.allocation_id, row.doc_number)],
                records=[Ref("allocation", row.allocation_id), *crossed],
                evidence=steps, score=0.8, amount_at_risk_fen=excess)


def _crossing(payments: Sequence[Any], limit_fen: int) -> list[Ref]:
    """The payments (in the order they were paid) that took the total past ``limit_fen``,
    each carrying the part of its amount beyond the line: together, the excess."""
    running, crossed = 0, []
    for payment in payments:
        before = running
        running += payment.amount_fen
        over = max(0, running - max(before, limit_fen))
        if over:
            crossed.append(Ref(payment.kind, payment.key, amount_fen=over))
    return crossed

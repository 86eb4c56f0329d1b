"""DV-02 overspent.

What it flags: a project whose disbursements exceed its budget, or an allocation whose
spending (the disbursements and card payments that name it) exceeds its amount.

Why it matters: paying past the approved budget, or past the money that arrived, means
the excess came from somewhere else or was never approved (超预算、挤占).

Settings: none.

Evidence, in order: the project or allocation with its approved amount, then the
payments, the last one stating the total and the excess.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import func, literal, select, union_all

from audit.detectors.base import Context, Detector, Found, Ref, yuan
from audit.detectors.facts import Facts
from audit.models import Allocation, CardPayment, Disbursement, Project


class Overspent(Detector):
    code = "DV-02"
    defaults: dict = {}

    def run(self, context: Context) -> Iterator[Found]:
        facts = Facts(context.conn)
        spent = (select(Disbursement.project_id, func.sum(Disbursement.amount_fen).label("spent"))
                 .where(Disbursement.project_id.is_not(None), Disbursement.paid_on <= context.as_of)
                 .group_by(Disbursement.project_id).subquery())
        projects = context.conn.execute(
            select(Project.project_id, Project.name, Project.budget_fen, spent.c.spent)
            .join(spent, spent.c.project_id == Project.project_id)
            .where(spent.c.spent > Project.budget_fen)).all()
        for row in projects:
            payments = context.conn.execute(
                select(Disbursement.disbursement_id, Disbursement.amount_fen)
                .where(Disbursement.project_id == row.project_id, Disbursement.paid_on <= context.as_of)
                .order_by(Disbursement.paid_on, Disbursement.disbursement_id)).all()
            facts.load("disbursements", [p.disbursement_id for p in payments])
            excess = row.spent - row.budget_fen
            # The payments that crossed the budget carry the excess.
            running, records = 0, [Ref("project", row.project_id)]
            for payment in payments:
                before = running
                running += payment.amount_fen
                over = max(0, running - max(before, row.budget_fen))
                if over:
                    records.append(Ref("disbursement", payment.disbursement_id, amount_fen=over))
            yield Found(
                subjects=[Ref("project", row.project_id, row.name)], records=records,
                evidence=[facts.project(row.project_id)] + [facts.disbursement(p.disbursement_id) for p in payments[:-1]]
                + [facts.disbursement(payments[-1].disbursement_id,
                                      f"{yuan(row.spent)} yuan paid in all, {yuan(excess)} over the budget")],
                score=0.85, amount_at_risk_fen=excess)
        uses = union_all(
            select(Disbursement.allocation_id, Disbursement.amount_fen, literal("disbursement").label("kind"),
                   Disbursement.disbursement_id.label("key")).where(Disbursement.paid_on <= context.as_of),
            select(CardPayment.allocation_id, CardPayment.amount_fen, literal("card_payment"),
                   CardPayment.payment_id).where(CardPayment.paid_on <= context.as_of,
                                                 CardPayment.allocation_id.is_not(None))).subquery()
        totals = (select(uses.c.allocation_id, func.sum(uses.c.amount_fen).label("spent"), func.count().label("n"))
                  .group_by(uses.c.allocation_id).subquery())
        allocations = context.conn.execute(
            select(Allocation.allocation_id, Allocation.doc_number, Allocation.amount_fen, totals.c.spent, totals.c.n)
            .join(totals, totals.c.allocation_id == Allocation.allocation_id)
            .where(totals.c.spent > Allocation.amount_fen)).all()
        facts.load("allocations", [a.allocation_id for a in allocations])
        for row in allocations:
            excess = row.spent - row.amount_fen
            yield Found(
                subjects=[Ref("allocation", row.allocation_id, row.doc_number)],
                records=[Ref("allocation", row.allocation_id, amount_fen=excess)],
                evidence=[facts.allocation(row.allocation_id,
                                           f"{row.n} payments name it for {yuan(row.spent)} yuan, "
                                           f"{yuan(excess)} more than it brought")],
                score=0.8, amount_at_risk_fen=excess)

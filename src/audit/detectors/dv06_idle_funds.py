"""DV-06 idle funds (滞留).

What it flags: an allocation with more than ``unspent_share`` of its amount unspent
``days`` days after it was issued (spending: the disbursements and card payments that
name it, paid by then). Allocations younger than that on the as-of date are not judged.

Why it matters: money held back (滞留) in an account is money not reaching households,
and idle balances are where diversion hides.

Settings: ``days`` (default 180), ``unspent_share`` (default 0.2).

Evidence, in order: the allocation, the amount spent by the deadline and the share left.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from sqlalchemy import func, select, union_all

from audit.detectors.base import Context, Detector, Found, Ref, msg, yuan
from audit.detectors.facts import Facts
from audit.detectors.sql import add_days
from audit.detectors.moved import CardPayment, Disbursement
from audit.models import Allocation


class IdleFunds(Detector):
    code = "DV-06"
    judges = "allocation"
    defaults = {"days": 180, "unspent_share": 0.2}

    def run(self, context: Context) -> Iterator[Found]:
        days = context.settings["days"]
        share_pct = int(round(context.settings["unspent_share"] * 100))
        uses = union_all(
            select(Disbursement.allocation_id, Disbursement.amount_fen, Disbursement.paid_on),
            select(CardPayment.allocation_id, CardPayment.amount_fen, CardPayment.paid_on)
            .where(CardPayment.allocation_id.is_not(None))).subquery()
        deadline = add_days(Allocation.issued_on, days)
        spent = (select(Allocation.allocation_id, func.coalesce(func.sum(uses.c.amount_fen), 0).label("spent"))
                 .outerjoin(uses, (uses.c.allocation_id == Allocation.allocation_id) & (uses.c.paid_on <= deadline))
                 .group_by(Allocation.allocation_id).subquery())
        rows = context.conn.execute(
            select(Allocation.allocation_id, Allocation.doc_number, Allocation.amount_fen, spent.c.spent)
            .join(spent, spent.c.allocation_id == Allocation.allocation_id)
            .where(Allocation.issued_on <= context.as_of - timedelta(days=days),
                   (Allocation.amount_fen - spent.c.spent) * 100 > Allocation.amount_fen * share_pct)).all()
        facts = Facts(context.conn)
        facts.load("allocations", [r.allocation_id for r in rows])
        for row in rows:
            unspent = row.amount_fen - row.spent
            share = unspent * 100 // row.amount_fen
            yield Found(
                subjects=[Ref("allocation", row.allocation_id, row.doc_number)],
                records=[Ref("allocation", row.allocation_id, amount_fen=unspent)],
                evidence=[facts.allocation(row.allocation_id, msg("note.idle", spent=yuan(row.spent), days=days,
                                                                  unspent=yuan(unspent), share=share))],
                score=0.6, amount_at_risk_fen=unspent)

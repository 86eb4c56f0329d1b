"""DC-03 mutually exclusive benefits.

What it flags: one beneficiary paid by two programs of the same ``exclusive_group`` for
the same period.

Why it matters: some benefits replace each other by policy (extreme-poverty support
already covers the disability living allowance); drawing both is a false claim even when
each program alone is rightly paid.

Settings: none.

Evidence, in order: the payment of each program, then the programs' shared group.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import and_, select
from sqlalchemy.orm import aliased

from audit.detectors.base import Context, Detector, Evidence, Found, Ref, msg
from audit.detectors.facts import Facts
from audit.detectors.moved import CardPayment
from audit.models import Program


class MutuallyExclusive(Detector):
    code = "DC-03"
    judges = "card_payment"
    needs = ("programs",)
    defaults: dict = {}

    def run(self, context: Context) -> Iterator[Found]:
        first, second = aliased(CardPayment), aliased(CardPayment)
        p1, p2 = aliased(Program), aliased(Program)
        rows = context.conn.execute(
            select(first.id_number, first.period, p1.exclusive_group, first.payment_id.label("a"),
                   second.payment_id.label("b"), first.amount_fen.label("amount_a"),
                   second.amount_fen.label("amount_b"))
            .join(second, and_(second.id_number == first.id_number, second.period == first.period,
                               second.program_code > first.program_code))
            .join(p1, p1.program_code == first.program_code)
            .join(p2, p2.program_code == second.program_code)
            .where(p1.exclusive_group.is_not(None), p1.exclusive_group == p2.exclusive_group,
                   first.paid_on <= context.as_of, second.paid_on <= context.as_of,
                   context.among("card_payment", first.id_number, via=CardPayment.id_number))).all()
        facts = Facts(context.conn)
        facts.load("card_payments", [r.a for r in rows] + [r.b for r in rows])
        for row in rows:
            smaller = min(row.amount_a, row.amount_b)
            yield Found(
                subjects=[Ref("person", row.id_number)],
                records=[Ref("card_payment", row.a, amount_fen=smaller if row.amount_a <= row.amount_b else 0),
                         Ref("card_payment", row.b, amount_fen=smaller if row.amount_a > row.amount_b else 0)],
                evidence=[facts.card_payment(row.a), facts.card_payment(row.b),
                          Evidence("exclusive_group", row.exclusive_group,
                                   msg("evidence.exclusive_group", group=row.exclusive_group, period=row.period),
                                   {"exclusive_group": row.exclusive_group})],
                score=0.85, amount_at_risk_fen=smaller)

"""DC-17 flat split (平均分配).

What it flags: one payment batch (program, period, village) of a program without a
``standard_amount`` — whose amount should follow each household's assessed need, such as
低保 — with at least ``min_payments`` payments, where one amount covers at least ``share``
of them.

Why it matters: a village that hands every household the same 低保 amount has not assessed
anyone (轮流坐庄, 平均分配): the list is a share-out, not an entitlement, and the households
in real need get what the others get.

Settings: ``min_payments`` (10), ``share`` (0.9).

Evidence, in order: the batch (payments, total, the amount that recurs and how often), then
the payments of that amount. Money at risk: none stated: how much was misallocated cannot
be told from the amounts alone; the finding asks for the batch's assessments.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import func, select, tuple_

from audit.detectors.base import Context, Detector, Evidence, Found, Ref, msg, yuan
from audit.detectors.facts import Facts
from audit.detectors.members import payment_household
from audit.detectors.moved import CardPayment
from audit.models import Household, Person, Program


class FlatSplit(Detector):
    code = "DC-17"
    judges = "card_payment"
    needs = ("programs",)
    defaults = {"min_payments": 10, "share": 0.9}

    def run(self, context: Context) -> Iterator[Found]:
        household = payment_household()
        per_amount = (select(CardPayment.program_code, CardPayment.period, Household.village_code,
                             CardPayment.amount_fen, func.count().label("n"))
                      .outerjoin(Person, Person.id_number == CardPayment.id_number)
                      .join(Household, Household.household_id == household)
                      .join(Program, Program.program_code == CardPayment.program_code)
                      .where(Program.standard_amount_fen.is_(None), CardPayment.paid_on <= context.as_of,
                             context.among("card_payment", CardPayment.period, via=CardPayment.period),
                             context.among("card_payment", CardPayment.program_code, via=CardPayment.program_code))
                      .group_by(CardPayment.program_code, CardPayment.period, Household.village_code,
                                CardPayment.amount_fen).subquery())
        batches = (select(per_amount.c.program_code, per_amount.c.period, per_amount.c.village_code,
                          func.sum(per_amount.c.n).label("total"), func.max(per_amount.c.n).label("top"))
                   .group_by(per_amount.c.program_code, per_amount.c.period, per_amount.c.village_code)
                   .having(func.sum(per_amount.c.n) >= int(context.settings["min_payments"]))).subquery()
        flat = context.conn.execute(
            select(batches, per_amount.c.amount_fen)
            .join(per_amount, (per_amount.c.program_code == batches.c.program_code)
                  & (per_amount.c.period == batches.c.period) & (per_amount.c.village_code == batches.c.village_code)
                  & (per_amount.c.n == batches.c.top))
            .where(batches.c.top >= batches.c.total * float(context.settings["share"]))).all()
        keys = [(b.program_code, b.period, b.village_code, b.amount_fen) for b in flat]
        payments: dict[tuple[str, str, str, int], list[Any]] = {}
        for start in range(0, len(keys), 300):
            for row in context.conn.execute(
                    select(CardPayment.payment_id, CardPayment.program_code, CardPayment.period,
                           Household.village_code, CardPayment.amount_fen)
                    .outerjoin(Person, Person.id_number == CardPayment.id_number)
                    .join(Household, Household.household_id == household)
                    .where(tuple_(CardPayment.program_code, CardPayment.period, Household.village_code,
                                  CardPayment.amount_fen).in_(keys[start:start + 300]),
                           CardPayment.paid_on <= context.as_of)
                    .order_by(CardPayment.paid_on, CardPayment.payment_id)):
                payments.setdefault((row.program_code, row.period, row.village_code, int(row.amount_fen)),
                                    []).append(row)
        facts = Facts(context.conn)
        facts.load("card_payments", [p.payment_id for rows in payments.values() for p in rows])
        for batch in flat:
            rows = payments[(batch.program_code, batch.period, batch.village_code, int(batch.amount_fen))]
            ref = f"{batch.program_code}/{batch.period}/{batch.village_code}"
            share = int(batch.top) / int(batch.total)
            yield Found(
                subjects=[Ref("payment_batch", ref)],
                records=[Ref("card_payment", r.payment_id, amount_fen=0) for r in rows],
                evidence=[Evidence("payment_batch", ref, msg(
                    "evidence.flat_batch", program=facts.program_name(batch.program_code), period=batch.period,
                    village=facts.place(batch.village_code)[1], village_code=batch.village_code,
                    total=int(batch.total), same=int(batch.top), amount=yuan(int(batch.amount_fen)),
                    share=f"{share:.0%}"),
                    {"payments": int(batch.total), "same_amount": int(batch.top), "amount": yuan(int(batch.amount_fen)),
                     "program_code": batch.program_code, "period": batch.period, "village_code": batch.village_code})]
                + [facts.card_payment(r.payment_id) for r in rows[:20]],
                score=0.5, amount_at_risk_fen=0)

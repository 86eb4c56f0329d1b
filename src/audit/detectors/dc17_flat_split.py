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
from typing import Any, NamedTuple

from sqlalchemy import func, select

from audit.detectors.base import Context, Detector, Evidence, Found, Ref, msg, yuan
from audit.detectors.facts import Facts
from audit.detectors.members import payment_household
from audit.detectors.moved import CardPayment
from audit.models import Household, Person, Program


class Batch(NamedTuple):
    """A flagged batch: its key, how many payments it made, how many of one amount."""

    program_code: str
    period: str
    village_code: str
    total: int
    top: int
    amount_fen: int


class FlatSplit(Detector):
    code = "DC-17"
    judges = "card_payment"
    needs = ("programs",)
    defaults = {"min_payments": 10, "share": 0.9}

    def run(self, context: Context) -> Iterator[Found]:
        household = payment_household()
        # One pass over the payments: how many of each amount each batch paid (tens of
        # thousands of rows for a million payments), then the batches are judged here and
        # only the flagged batches' payments read again, by program and period (indexed).
        counts = context.conn.execute(
            select(CardPayment.program_code, CardPayment.period, Household.village_code, CardPayment.amount_fen,
                   func.count().label("n"))
            .outerjoin(Person, Person.id_number == CardPayment.id_number)
            .join(Household, Household.household_id == household)
            .join(Program, Program.program_code == CardPayment.program_code)
            .where(Program.standard_amount_fen.is_(None), CardPayment.paid_on <= context.as_of,
                   context.among("card_payment", CardPayment.period, via=CardPayment.period),
                   context.among("card_payment", CardPayment.program_code, via=CardPayment.program_code))
            .group_by(CardPayment.program_code, CardPayment.period, Household.village_code,
                      CardPayment.amount_fen)).all()
        by_batch: dict[tuple[str, str, str], dict[int, int]] = {}
        for row in counts:
            by_batch.setdefault((row.program_code, row.period, row.village_code), {})[int(row.amount_fen)] = int(row.n)
        flat = []
        for (program, period, village), amounts in sorted(by_batch.items()):
            total, top = sum(amounts.values()), max(amounts.values())
            if total >= int(context.settings["min_payments"]) and top >= total * float(context.settings["share"]):
                flat += [Batch(program, period, village, total, top, amount)
                         for amount, n in sorted(amounts.items()) if n == top]
        payments: dict[tuple[str, str, str, int], list[Any]] = {}
        for batch in flat:
            payments[(batch.program_code, batch.period, batch.village_code, batch.amount_fen)] = context.conn.execute(
                select(CardPayment.payment_id)
                .outerjoin(Person, Person.id_number == CardPayment.id_number)
                .join(Household, Household.household_id == household)
                .where(CardPayment.program_code == batch.program_code, CardPayment.period == batch.period,
                       CardPayment.amount_fen == batch.amount_fen, Household.village_code == batch.village_code,
                       CardPayment.paid_on <= context.as_of)
                .order_by(CardPayment.paid_on, CardPayment.payment_id)).all()
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

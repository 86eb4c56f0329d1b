"""DC-06 paid after death.

What it flags: a payment for a period that starts after the beneficiary's death, as the
death and cremation register (死亡/火化登记) records it. A household-basis payment to a
living head is not flagged when another member died.

Why it matters: the dead do not claim; someone else collects (冒领) on their card.

Settings: ``grace_days`` (default 0): days after the death before a period's start counts.

Evidence, in order:
    1. each payment: paid 600.00 yuan for DIS_LIVING, period 2017, on 2017-06-20 …
    2. the death: died on 2016-11-02 (civil-affairs cremation register)
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import select

from audit.detectors.base import Context, Detector, Found, Ref
from audit.detectors.facts import Facts
from audit.detectors.sql import days_between, period_start
from audit.detectors.moved import CardPayment
from audit.models import Death, Person


class PaidAfterDeath(Detector):
    code = "DC-06"
    judges = "card_payment"
    needs = ("deaths",)
    defaults = {"grace_days": 0}

    def run(self, context: Context) -> Iterator[Found]:
        rows = context.conn.execute(
            select(CardPayment.payment_id, CardPayment.id_number, CardPayment.amount_fen, Person.name)
            .join(Death, Death.id_number == CardPayment.id_number)
            .outerjoin(Person, Person.id_number == CardPayment.id_number)
            .where(days_between(Death.died_on, period_start(CardPayment.period)) > context.settings["grace_days"],
                   Death.died_on <= context.as_of, CardPayment.paid_on <= context.as_of,
                   context.among("card_payment", CardPayment.id_number, via=CardPayment.id_number))
            .order_by(CardPayment.id_number, CardPayment.paid_on)).all()
        by_person: dict[str, list[Any]] = {}
        for row in rows:
            by_person.setdefault(row.id_number, []).append(row)
        facts = Facts(context.conn)
        facts.load("card_payments", [r.payment_id for r in rows])
        facts.load("deaths", list(by_person))
        for id_number, payments in by_person.items():
            total = sum(p.amount_fen for p in payments)
            yield Found(
                subjects=[Ref("person", id_number, payments[0].name)],
                records=[Ref("card_payment", p.payment_id, amount_fen=p.amount_fen) for p in payments],
                evidence=[facts.card_payment(p.payment_id) for p in payments] + [facts.death(id_number)],
                score=0.97, amount_at_risk_fen=total)

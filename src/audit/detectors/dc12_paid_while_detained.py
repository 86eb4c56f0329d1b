"""DC-12 paid while detained.

What it flags: a payment of a person-basis program (``basis`` = ``person``) whose whole
period lies inside one of the beneficiary's ``detentions`` (interchange v1.1): detained on
or before the period's first day and not released before its last (or not released).

Why it matters: a person in prison or held for the whole period is not living on the
allowance; audits find that the card goes on being paid, and someone else draws it.

Settings: none.

Evidence, in order: each such payment, then the detention that covers its period. Money at
risk: the payments.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import or_, select

from audit.detectors.base import Context, Detector, Evidence, Found, Ref, msg
from audit.detectors.facts import Facts
from audit.detectors.moved import CardPayment
from audit.detectors.sql import period_end, period_start
from audit.models import Detention, Person, Program


class PaidWhileDetained(Detector):
    code = "DC-12"
    judges = "card_payment"
    needs = ("detentions",)
    defaults: dict = {}

    def run(self, context: Context) -> Iterator[Found]:
        rows = context.conn.execute(
            select(CardPayment.payment_id, CardPayment.id_number, CardPayment.amount_fen, Person.name,
                   Detention.from_on, Detention.to_on, Detention.source)
            .join(Detention, Detention.id_number == CardPayment.id_number)
            .join(Program, Program.program_code == CardPayment.program_code)
            .outerjoin(Person, Person.id_number == CardPayment.id_number)
            .where(Program.basis == "person", Detention.from_on <= period_start(CardPayment.period),
                   or_(Detention.to_on.is_(None), Detention.to_on >= period_end(CardPayment.period)),
                   Detention.from_on <= context.as_of, CardPayment.paid_on <= context.as_of,
                   context.among("card_payment", CardPayment.id_number, via=CardPayment.id_number))
            .order_by(CardPayment.id_number, CardPayment.paid_on)).all()
        by_person: dict[str, list[Any]] = {}
        for row in rows:
            by_person.setdefault(row.id_number, []).append(row)
        facts = Facts(context.conn)
        facts.load("card_payments", [r.payment_id for r in rows])
        for id_number, payments in by_person.items():
            spans = sorted({(p.from_on, p.to_on, p.source) for p in payments}, key=lambda s: s[0])
            yield Found(
                subjects=[Ref("person", id_number, payments[0].name)],
                records=[Ref("card_payment", p.payment_id, amount_fen=p.amount_fen) for p in payments],
                evidence=[facts.card_payment(p.payment_id) for p in payments]
                + [Evidence("detention", f"{id_number}|{start.isoformat()}",
                            msg("evidence.detention" if end else "evidence.detention_open", who=facts.who(id_number),
                                id_number=id_number, from_on=start, to_on=end, source=source or "—"),
                            {"from_on": start, "to_on": end, "source": source}) for start, end, source in spans],
                score=0.9, amount_at_risk_fen=sum(p.amount_fen for p in payments))

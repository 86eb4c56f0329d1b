"""DC-16 household benefit paid to several members.

What it flags: a program whose basis is the household (``basis`` = ``household``: 低保, a
house renovation, a loan's interest) paying two or more different people of one household
for the same period (interchange v1.1, red-flags.md).

Why it matters: a household benefit is paid once, to the household (its head's card);
paying the spouse or a child as well, for the same month, doubles the household's money
while each line alone looks proper.

Settings: none.

Evidence, in order: the household, then each payment of the period, the first marked as
the household's own and each later one to another member noted as paid already. Money at
risk: every payment to a member other than the first paid.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import func, select, tuple_

from audit.detectors.base import Context, Detector, Found, Ref, msg
from audit.detectors.facts import Facts
from audit.detectors.members import paid_to_candidates_households, payment_household
from audit.detectors.moved import CardPayment
from audit.models import Person, Program


class HouseholdBenefitToSeveral(Detector):
    code = "DC-16"
    judges = "card_payment"
    needs = ("programs",)
    defaults: dict = {}

    def run(self, context: Context) -> Iterator[Found]:
        household = payment_household()
        groups = context.conn.execute(
            select(household.label("household"), CardPayment.program_code, CardPayment.period)
            .outerjoin(Person, Person.id_number == CardPayment.id_number)
            .join(Program, Program.program_code == CardPayment.program_code)
            .where(Program.basis == "household", household.is_not(None), CardPayment.paid_on <= context.as_of,
                   paid_to_candidates_households(context))
            .group_by(household, CardPayment.program_code, CardPayment.period)
            .having(func.count(func.distinct(CardPayment.id_number)) >= 2)).all()
        keys = [(g.household, g.program_code, g.period) for g in groups]
        payments: dict[tuple[str, str, str], list[Any]] = {}
        for start in range(0, len(keys), 300):
            for row in context.conn.execute(
                    select(CardPayment.payment_id, CardPayment.id_number, CardPayment.amount_fen,
                           CardPayment.program_code, CardPayment.period, household.label("household"))
                    .outerjoin(Person, Person.id_number == CardPayment.id_number)
                    .where(tuple_(household, CardPayment.program_code, CardPayment.period)
                           .in_(keys[start:start + 300]), CardPayment.paid_on <= context.as_of)
                    .order_by(CardPayment.paid_on, CardPayment.payment_id)):
                payments.setdefault((row.household, row.program_code, row.period), []).append(row)
        facts = Facts(context.conn)
        facts.load("card_payments", [p.payment_id for rows in payments.values() for p in rows])
        facts.load("households", [g.household for g in groups])
        for group in groups:
            rows = payments[(group.household, group.program_code, group.period)]
            first = rows[0].id_number
            extra = [r for r in rows if r.id_number != first]
            steps = [facts.household(group.household)]
            for row in rows:
                note = (msg("note.household_paid_already", first=facts.who(first), id_number=first,
                            program=facts.program_name(group.program_code), period=group.period)
                        if row.id_number != first else msg("note.household_first_payee"))
                steps.append(facts.card_payment(row.payment_id, note))
            yield Found(
                subjects=[Ref("household", group.household)],
                records=[Ref("card_payment", r.payment_id, amount_fen=r.amount_fen if r.id_number != first else 0)
                         for r in rows],
                evidence=steps, score=0.85, amount_at_risk_fen=sum(r.amount_fen for r in extra))

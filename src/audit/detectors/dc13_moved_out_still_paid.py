"""DC-13 moved or married out, still paid (迁出或婚出后仍领取).

What it flags: a payment to a beneficiary who, by the household register (户籍变动,
interchange v1.1), had left the household the payment is for (``move_out`` or
``marry_out`` from it, or with no household named) before the payment's period started,
and had not come back (a later ``move_in`` or ``marry_in`` to that household, or to none
named) by the period's start or the payment date, whichever is later.

Why it matters: a daughter who married into another county, a son who moved his hukou to
the city, are no longer members of the poor household; their allowance goes on being paid
to the family's card, and audits comparing the household register with the payment lists
find it every year.

Settings: none.

Evidence, in order: the beneficiary, the event by which they left (date, kind, where to),
then each payment for a period that started after it. Money at risk: those payments.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import aliased

from audit.detectors.base import Context, Detector, Found, Ref
from audit.detectors.facts import Facts
from audit.detectors.members import payment_household
from audit.detectors.moved import CardPayment
from audit.detectors.sql import period_start
from audit.models import HouseholdEvent, Person

LEFT = ("move_out", "marry_out")
CAME_BACK = ("move_in", "marry_in")


class MovedOutStillPaid(Detector):
    code = "DC-13"
    judges = "card_payment"
    needs = ("household_events",)
    defaults: dict = {}

    def run(self, context: Context) -> Iterator[Found]:
        left = aliased(HouseholdEvent, name="left_household")
        back = aliased(HouseholdEvent, name="came_back")
        household = payment_household()
        starts = period_start(CardPayment.period)
        came_back = exists().where(
            back.id_number == left.id_number, back.event.in_(CAME_BACK), back.event_on > left.event_on,
            back.event_on <= context.as_of, or_(back.event_on <= CardPayment.paid_on, back.event_on <= starts),
            or_(back.to_household.is_(None), back.to_household == household))
        # Reduce first, then join: the people the register says left a household (a few
        # hundred), then their payments by ID number.
        rows = context.conn.execute(
            select(CardPayment.payment_id, CardPayment.id_number, CardPayment.amount_fen, CardPayment.paid_on,
                   household.label("household"), left.event, left.event_on)
            .select_from(left)
            .join(CardPayment, CardPayment.id_number == left.id_number)
            .outerjoin(Person, Person.id_number == CardPayment.id_number)
            .where(left.event.in_(LEFT), left.event_on <= context.as_of, left.event_on < starts,
                   CardPayment.paid_on <= context.as_of, household.is_not(None),
                   or_(left.from_household.is_(None), left.from_household == household), ~came_back,
                   context.among("card_payment", CardPayment.id_number, via=CardPayment.id_number))
            .order_by(CardPayment.paid_on, CardPayment.payment_id)).all()
        # Each payment under the latest departure it follows (one finding per departure).
        latest: dict[str, Any] = {}
        for row in rows:
            if row.payment_id not in latest or row.event_on > latest[row.payment_id].event_on:
                latest[row.payment_id] = row
        groups: dict[tuple[str, str, str, Any], list[Any]] = {}
        for row in latest.values():
            groups.setdefault((row.id_number, row.household, row.event, row.event_on), []).append(row)
        facts = Facts(context.conn)
        facts.load("card_payments", list(latest))
        facts.load("persons", [key[0] for key in groups])
        facts.load("household_events", [(key[0], key[2], key[3]) for key in groups])
        for (id_number, household_id, event, event_on), payments in sorted(groups.items()):
            payments.sort(key=lambda r: (r.paid_on, r.payment_id))
            yield Found(
                subjects=[Ref("person", id_number), Ref("household", household_id)],
                records=[Ref("card_payment", p.payment_id, amount_fen=p.amount_fen) for p in payments],
                evidence=[facts.person(id_number),
                          facts.household_event((id_number, event, event_on), "evidence.household_left", household_id)]
                + [facts.card_payment(p.payment_id) for p in payments],
                score=0.85, amount_at_risk_fen=sum(p.amount_fen for p in payments))


"""DC-11 owns urban housing or a shop (拥有城镇住房或商铺).

What it flags: payments to a household whose beneficiary, or one of whose members (or its
head), held on the payment date a property of a kind in ``kinds`` in the real-estate
register (不动产登记, interchange v1.1): registered on or before the payment date and not
deregistered (sold, transferred) by then.

Why it matters: a family that owns a flat in town or a shop is not poor by the
registration rules (两不愁三保障 names housing first); audits comparing the poverty
register with the property register find them among the beneficiaries, usually through a
son or a spouse whose name is on the deed.

Settings: ``kinds`` (the property kinds that count: ``shop`` and ``urban_home``; a rural
home never does by default; on the settings screen ``shop|urban_home``, or Chinese terms
such as 商铺|城镇住宅).

Evidence, in order: the household, the member, the property (kind, location, area, when
registered and, if so, when deregistered), then each payment made while it was held.
Money at risk: those payments.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from sqlalchemy import and_, or_, select

from audit.detectors.base import Context, Detector, Found, Ref
from audit.detectors.facts import Facts
from audit.detectors.members import candidate_household, household_members, payment_household, payments_to_households
from audit.detectors.moved import CardPayment
from audit.importer.spec import PROPERTY_KIND
from audit.models import Person, RealEstate


def kinds_of(setting: Any) -> list[str]:
    """The ``kinds`` setting as a list of codes: a list, or text such as ``urban_home|shop``
    (the command line's ``--settings`` may give either)."""
    items = re.split(r"[|,，、\s]+", setting) if isinstance(setting, str) else list(setting)
    return sorted({str(item).strip() for item in items if str(item).strip()})


class OwnsUrbanProperty(Detector):
    code = "DC-11"
    judges = "card_payment"
    needs = ("real_estate",)
    defaults = {"kinds": ["shop", "urban_home"]}
    # The values a list setting may take, and the Chinese terms for them.
    choices = {"kinds": PROPERTY_KIND}

    def run(self, context: Context) -> Iterator[Found]:
        kinds = kinds_of(context.settings["kinds"])
        if not kinds:
            return
        owners = select(RealEstate.id_number).where(RealEstate.kind.in_(kinds))
        columns = (RealEstate.property_id,)

        def held(on: Any) -> Any:
            return and_(RealEstate.kind.in_(kinds), RealEstate.registered_on <= on,
                        or_(RealEstate.deregistered_on.is_(None), RealEstate.deregistered_on > on))

        # Reduce first, then join: the members the register names (in a check, only the
        # candidates' households'), then only their households' payments, read by index;
        # the property's dates are tested against each payment's in the join.
        members = household_members(context, among=owners)
        paid = payments_to_households(select(members.c.household_id), context.as_of)
        of_members = (select(paid.c.payment_id, paid.c.amount_fen, paid.c.paid_on,
                             paid.c.household_id.label("household"), members.c.id_number.label("owner"), *columns)
                      .select_from(members)
                      .join(paid, paid.c.household_id == members.c.household_id)
                      .join(RealEstate, and_(RealEstate.id_number == members.c.id_number, held(paid.c.paid_on)))
                      .where(context.among("card_payment", members.c.household_id, via=candidate_household())))
        # The beneficiary's own property, where the beneficiary is no member of the
        # household paid (the rule names the beneficiary as well as the members).
        household = payment_household()
        of_beneficiary = (select(CardPayment.payment_id, CardPayment.amount_fen, CardPayment.paid_on,
                                 household.label("household"), CardPayment.id_number.label("owner"), *columns)
                          .select_from(RealEstate)
                          .join(CardPayment, and_(CardPayment.id_number == RealEstate.id_number,
                                                  held(CardPayment.paid_on)))
                          .outerjoin(Person, Person.id_number == CardPayment.id_number)
                          .where(CardPayment.paid_on <= context.as_of, household.is_not(None),
                                 context.among("card_payment", CardPayment.id_number, via=CardPayment.id_number)))
        groups: dict[tuple[str, str, str], dict[str, Any]] = {}
        for query in (of_members, of_beneficiary):
            for row in context.conn.execute(query):
                groups.setdefault((row.household, row.owner, row.property_id), {})[row.payment_id] = row
        facts = Facts(context.conn)
        facts.load("card_payments", [p for rows in groups.values() for p in rows])
        facts.load("households", [home for home, _, _ in groups])
        facts.load("persons", [owner for _, owner, _ in groups])
        facts.load("real_estate", [(owner, property_id) for _, owner, property_id in groups])
        for (household_id, owner, property_id), by_id in sorted(groups.items()):
            payments = sorted(by_id.values(), key=lambda r: (r.paid_on, r.payment_id))
            yield Found(
                subjects=[Ref("household", household_id), Ref("person", owner)],
                records=[Ref("card_payment", p.payment_id, amount_fen=p.amount_fen) for p in payments]
                + [Ref("real_estate", f"{owner}|{property_id}", amount_fen=0)],
                evidence=[facts.household(household_id), facts.person(owner), facts.real_estate((owner, property_id))]
                + [facts.card_payment(p.payment_id) for p in payments],
                score=0.8, amount_at_risk_fen=sum(p.amount_fen for p in payments))


"""DC-10 kin of officials (优亲厚友).

What it flags: payments to a household one of whose members (or its head) is kin of an
official with power over that money on the payment date: a village cadre of the
household's village, or a finance officer of the paying unit. Kinship is symmetric; an
official of another village, or without power over the money, does not count.

Why it matters: favouring relatives in choosing beneficiaries is the pattern the
county's own rectification work names first among petty graft.

Settings: none.

Evidence, in order: the household, the member, the kinship row, the official (role,
village or unit, term), then the payments made while the official held power.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import and_, or_, select, union_all

from audit.detectors.base import Context, Detector, Found, Ref, msg
from audit.detectors.facts import Facts
from audit.detectors.members import (
    candidate_household,
    household_members,
    payments_to_households,
)
from audit.detectors.power import VILLAGE_ROLES
from audit.models import Household, Kinship, Official


class KinOfOfficials(Detector):
    code = "DC-10"
    judges = "card_payment"
    needs = ("officials", "kinship")
    defaults: dict = {}

    def run(self, context: Context) -> Iterator[Found]:
        kin = union_all(
            select(Kinship.id_number_a.label("member"), Kinship.id_number_b.label("relative"),
                   Kinship.id_number_a.label("a"), Kinship.id_number_b.label("b"), Kinship.kind),
            select(Kinship.id_number_b, Kinship.id_number_a, Kinship.id_number_a, Kinship.id_number_b, Kinship.kind),
        ).subquery()
        # Reduce first, then join: the people with an official among their kin (a few
        # hundred), their households (in a check, only the candidates'), then only those
        # households' payments, read by index; office and power are tested in the join.
        # Never every payment times every member and relation.
        members = household_members(context, among=select(kin.c.member).join(
            Official, Official.id_number == kin.c.relative))
        paid = payments_to_households(select(members.c.household_id), context.as_of)
        in_office = and_(or_(Official.from_on.is_(None), Official.from_on <= paid.c.paid_on),
                         or_(Official.to_on.is_(None), Official.to_on >= paid.c.paid_on))
        power = or_(and_(Official.role.in_(VILLAGE_ROLES), Official.village_code == Household.village_code),
                    and_(Official.role == "finance_officer", Official.unit == paid.c.paying_unit))
        rows = context.conn.execute(
            select(paid.c.payment_id, paid.c.amount_fen, paid.c.household_id.label("household"),
                   members.c.id_number.label("member"), Official.official_id, kin.c.a, kin.c.b, kin.c.kind)
            .select_from(members)
            .join(kin, kin.c.member == members.c.id_number)
            .join(paid, paid.c.household_id == members.c.household_id)
            .join(Household, Household.household_id == members.c.household_id)
            .join(Official, and_(Official.id_number == kin.c.relative, in_office, power))
            .where(context.among("card_payment", members.c.household_id, via=candidate_household()))
            .order_by(paid.c.paid_on)).all()
        groups: dict[tuple[str, str, str], list[Any]] = {}
        for row in rows:
            groups.setdefault((row.household, row.member, row.official_id), []).append(row)
        facts = Facts(context.conn)
        facts.load("card_payments", [r.payment_id for r in rows])
        facts.load("officials", [r.official_id for r in rows])
        facts.load("households", [r.household for r in rows])
        for (household_id, member, official_id), payments in groups.items():
            unique = list({p.payment_id: p for p in payments}.values())
            first = payments[0]
            official = facts.get("officials", official_id)
            assert official is not None
            names = {member: facts.person(member).fields.get("name", member) or member, official["id_number"]: official["name"]}
            yield Found(
                subjects=[Ref("household", household_id), Ref("official", official_id, official["name"])],
                records=[Ref("card_payment", p.payment_id, amount_fen=p.amount_fen) for p in unique],
                evidence=[facts.household(household_id), facts.person(member),
                          facts.kinship(first.a, first.b, first.kind, names),
                          facts.official(official_id, msg("note.power_when_paid"))]
                + [facts.card_payment(p.payment_id) for p in unique],
                score=0.8, amount_at_risk_fen=sum(p.amount_fen for p in unique))

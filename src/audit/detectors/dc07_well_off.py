"""DC-07 well-off beneficiary.

What it flags: payments to a household one of whose members (or its head) was, on the
payment date, on the public payroll (财政供养人员), owned a registered vehicle, or was the
legal representative or a shareholder of a company (cooperatives do not count).

Why it matters: households with a salaried official, a car or a company are not poor by
the registration rules; their benefits are the classic 优亲厚友 and wrong-targeting case.

Settings: none.

Evidence, in order: the household, the member, the register entry (payroll, vehicle,
company), then each payment made while it held.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import and_, literal, or_, select

from audit.detectors.base import Context, Detector, Found, Ref, msg
from audit.detectors.facts import Facts
from audit.detectors.members import (
    candidate_household,
    household_members,
    payments_to_households,
)
from audit.models import Organization, PublicEmployee, Shareholder, Vehicle


class WellOff(Detector):
    code = "DC-07"
    judges = "card_payment"
    needs_any = ("public_employees", "vehicles", "shareholders")
    defaults: dict = {}

    def run(self, context: Context) -> Iterator[Found]:
        def paid_to_members(register_ids: Any, *columns: Any) -> Any:
            # Reduce first, then join: the members the register names (a few hundred;
            # in a check, only the candidates' households'), then only their households'
            # payments, read by index; the register's dates are tested in the join below.
            # Never every payment times every member.
            members = household_members(context, among=register_ids)
            paid = payments_to_households(select(members.c.household_id), context.as_of)
            query = (select(paid.c.payment_id, paid.c.amount_fen, paid.c.household_id.label("household"),
                            members.c.id_number.label("member"), *columns)
                     .select_from(members)
                     .join(paid, paid.c.household_id == members.c.household_id)
                     .where(context.among("card_payment", members.c.household_id, via=candidate_household())))
            return query, members, paid

        rows: list[tuple[str, Any]] = []
        payroll, members, paid = paid_to_members(select(PublicEmployee.id_number), PublicEmployee.id_number,
                                                 PublicEmployee.employer, PublicEmployee.from_on)
        payroll = payroll.join(PublicEmployee, and_(
            PublicEmployee.id_number == members.c.id_number, PublicEmployee.from_on <= paid.c.paid_on,
            or_(PublicEmployee.to_on.is_(None), PublicEmployee.to_on >= paid.c.paid_on)))
        rows += [("payroll", r) for r in context.conn.execute(payroll)]
        cars, members, paid = paid_to_members(select(Vehicle.id_number), Vehicle.id_number, Vehicle.plate)
        cars = cars.join(Vehicle, and_(Vehicle.id_number == members.c.id_number,
                                       Vehicle.registered_on <= paid.c.paid_on))
        rows += [("vehicle", r) for r in context.conn.execute(cars)]

        def company_open(paid: Any) -> Any:
            return or_(Organization.registered_on.is_(None), Organization.registered_on <= paid.c.paid_on)

        reps, members, paid = paid_to_members(
            select(Organization.legal_rep_id_number).where(Organization.kind == "company"),
            Organization.uscc, literal("legal_rep").label("role"))
        reps = reps.join(Organization, and_(Organization.legal_rep_id_number == members.c.id_number,
                                            Organization.kind == "company", company_open(paid)))
        rows += [("company", r) for r in context.conn.execute(reps)]
        owners, members, paid = paid_to_members(select(Shareholder.id_number), Organization.uscc,
                                                literal("shareholder").label("role"))
        owners = owners.join(Shareholder, Shareholder.id_number == members.c.id_number).join(
            Organization, and_(Organization.uscc == Shareholder.uscc, Organization.kind == "company",
                               company_open(paid)))
        rows += [("company", r) for r in context.conn.execute(owners)]

        groups: dict[tuple[str, str, str, Any], list[Any]] = {}
        for kind, row in rows:
            fact_key: Any = {"payroll": lambda r: (r.id_number, r.employer, r.from_on),
                             "vehicle": lambda r: (r.id_number, r.plate),
                             "company": lambda r: (r.uscc, r.role)}[kind](row)
            groups.setdefault((row.household, row.member, kind, fact_key), []).append(row)
        facts = Facts(context.conn)
        facts.load("card_payments", [r.payment_id for _, r in rows])
        facts.load("households", [r.household for _, r in rows])
        facts.load("persons", [r.member for _, r in rows])
        for (household_id, member, kind, key), payments in groups.items():
            unique = list({p.payment_id: p for p in payments}.values())
            if kind == "payroll":
                register = facts.public_employee(key)
            elif kind == "vehicle":
                register = facts.vehicle(key)
            else:
                uscc, role = key
                register = facts.organization(uscc, msg(f"note.member_is_{role}", name=facts.who(member),
                                                        id_number=member))
                if role == "shareholder":
                    register = facts.shareholder(uscc, member)
            total = sum(p.amount_fen for p in unique)
            yield Found(
                subjects=[Ref("household", household_id), Ref("person", member)],
                records=[Ref("card_payment", p.payment_id, amount_fen=p.amount_fen) for p in unique],
                evidence=[facts.household(household_id), facts.person(member), register]
                + [facts.card_payment(p.payment_id) for p in unique],
                score=0.75, amount_at_risk_fen=total)

"""DC-05 not eligible.

What it flags: a payment to a beneficiary who fails the program's criteria on the payment
date: not in a registered household then (before ``registered_on``, after ``exited_on``, or
in no household at all), disability level, school stage, boarding, household attribute.

Why it matters: paying people who are not, or no longer, entitled (wrong targeting,
对象识别不准) is the largest leak by volume, and the one rectification notices name most.

Settings: none (the criteria are the programs' own). Person criteria (disability, school,
boarding) apply to person-basis programs; household criteria to both.

Evidence, in order: the program's criterion, the beneficiary (or household) showing the
fact that fails it, then each payment concerned.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, not_, or_, select

from audit.detectors.base import Context, Detector, Evidence, Found, Msg, Ref, msg
from audit.detectors.facts import Facts
from audit.detectors.members import payment_household
from audit.detectors.sql import in_pipe_list
from audit.detectors.moved import CardPayment
from audit.models import Household, Person, Program


@dataclass(frozen=True)
class Reason:
    """One failed criterion: its kind (findings group by it), the fact that fails it, the
    program's criterion, and whether the household (not the person) shows it."""

    kind: str
    fact: Msg
    criterion: Msg | None
    about_household: bool


def reasons(row: Any) -> list[Reason]:
    """Why one payment fails its program (one reason per failed criterion)."""
    found = []
    if row.household is None:
        return [Reason("no_household", msg("note.in_no_household"), None, False)]
    if row.paid_on < row.registered_on:
        found.append(Reason("before_registration", msg("note.paid_before_registration",
                                                       registered_on=row.registered_on), None, True))
    if row.exited_on is not None and row.paid_on > row.exited_on:
        found.append(Reason("after_exit", msg("note.paid_after_exit", exited_on=row.exited_on), None, True))
    if row.basis == "person":
        if row.min_disability_level is not None and (row.disability_level is None
                                                     or row.disability_level > row.min_disability_level):
            fact = (msg("note.disability_level", level=row.disability_level) if row.disability_level
                    else msg("note.no_disability"))
            found.append(Reason("disability", fact, msg("criterion.disability", level=row.min_disability_level),
                                False))
        if row.program_stage is not None and row.school_stage != row.program_stage:
            fact = (msg("note.school_stage", stage=row.school_stage) if row.school_stage
                    else msg("note.not_in_school"))
            found.append(Reason("school_stage", fact, msg("criterion.school_stage", stage=row.program_stage), False))
        if row.boarding_required and not row.boarding:
            found.append(Reason("boarding", msg("note.not_boarding"), msg("criterion.boarding"), False))
    if row.household_attributes and row.attribute not in row.household_attributes.split("|"):
        found.append(Reason("attribute", msg("note.household_attribute", attribute=row.attribute),
                            msg("criterion.household_attributes", attributes=row.household_attributes.split("|")),
                            True))
    return found


class NotEligible(Detector):
    code = "DC-05"
    judges = "card_payment"
    needs = ("households",)
    defaults: dict = {}

    def run(self, context: Context) -> Iterator[Found]:
        household = payment_household()
        person_rule = Program.basis == "person"
        fails = or_(
            Household.household_id.is_(None),
            CardPayment.paid_on < Household.registered_on,
            and_(Household.exited_on.is_not(None), CardPayment.paid_on > Household.exited_on),
            and_(person_rule, Program.min_disability_level.is_not(None),
                 or_(Person.disability_level.is_(None), Person.disability_level > Program.min_disability_level)),
            and_(person_rule, Program.school_stage.is_not(None),
                 or_(Person.school_stage.is_(None), Person.school_stage != Program.school_stage)),
            and_(person_rule, Program.boarding_required.is_(True),
                 or_(Person.boarding.is_(None), Person.boarding.is_(False))),
            and_(Program.household_attributes.is_not(None),
                 not_(in_pipe_list(Household.attribute, Program.household_attributes))),
        )
        rows = context.conn.execute(
            select(CardPayment.payment_id, CardPayment.id_number, CardPayment.program_code, CardPayment.amount_fen,
                   CardPayment.paid_on, household.label("household"), Household.registered_on, Household.exited_on,
                   Household.attribute, Person.disability_level, Person.school_stage, Person.boarding, Person.name,
                   Program.basis, Program.min_disability_level, Program.school_stage.label("program_stage"),
                   Program.boarding_required, Program.household_attributes)
            .outerjoin(Person, Person.id_number == CardPayment.id_number)
            .outerjoin(Household, Household.household_id == household)
            .join(Program, Program.program_code == CardPayment.program_code)
            .where(CardPayment.paid_on <= context.as_of, fails,
                   context.among("card_payment", CardPayment.id_number, via=CardPayment.id_number))
            .order_by(CardPayment.paid_on, CardPayment.payment_id)).all()
        groups: dict[tuple[str, str, str], list[tuple[Any, Reason]]] = {}
        for row in rows:
            for reason in reasons(row):
                # One finding per beneficiary, program and kind of reason.
                groups.setdefault((row.id_number, row.program_code, reason.kind), []).append((row, reason))
        facts = Facts(context.conn)
        facts.load("card_payments", [r.payment_id for r in rows])
        facts.load("persons", [r.id_number for r in rows])
        facts.load("households", [r.household for r in rows if r.household])
        for (id_number, program, _), items in groups.items():
            first, reason = items[0]
            about = (facts.household(first.household, reason.fact) if first.household and reason.about_household
                     else facts.person(id_number, reason.fact))
            name = facts.program_name(program)
            criterion = (msg("evidence.program_criterion", program=name, criterion=reason.criterion.as_dict())
                         if reason.criterion else msg("evidence.program_criteria", program=name))
            total = sum(r.amount_fen for r, _ in items)
            yield Found(
                subjects=[Ref("person", id_number, first.name)],
                records=[Ref("card_payment", r.payment_id, amount_fen=r.amount_fen) for r, _ in items],
                evidence=[Evidence("program", program, criterion, {}), about]
                + [facts.card_payment(r.payment_id) for r, _ in items],
                score=0.8, amount_at_risk_fen=total)

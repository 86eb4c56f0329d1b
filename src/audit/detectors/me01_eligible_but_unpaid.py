"""ME-01 eligible but unpaid (应享未享).

What it flags: a program with a ``standard_amount`` and at least one criterion the
registers can check (``min_disability_level``, ``school_stage``, ``boarding_required``,
``household_attributes``) paid others in a village for a period (the village's batch,
``program/period/village``), and a person of that village — a household, for a
household-basis program, while its head lives — met every one of its criteria on every
date that batch was paid, yet no ``paid`` or ``pending`` payment of it reached them for that
period. The criteria are read as of each date: the household attribute from the register
(registered on or before, not exited by then), disability level from a
``disability_certificates`` row in force (issued on or before, not revoked by then), school
stage and boarding from ``school_enrolments`` of the school year that is the period's year;
the person alive (``deaths``), registered in that household and not moved or married out
(``household_events``). For a household-basis program with person criteria, one member
meeting them makes the household eligible.

Three readings keep a county whose lists are right from being flagged:

- a program with no criterion a register can check (a house renovation grant, decided by a
  survey of the house) entitles no one by the registers alone: it is not judged;
- a payment of another program of the same ``exclusive_group`` for the same period (extreme-
  poverty support instead of the disability living allowance) is what the person was
  entitled to instead, so nothing is owed; eligible for several programs of one group and
  paid none, the person is owed the largest standard, once;
- a ``once`` program is owed once ever: any payment of it, for any period, settles it; never
  paid, it is owed for the first period the village was paid it.

Why it matters: 应享未享 is what audits find beside false claims: a pupil who boards and
never got the boarding allowance, a certified disabled person left off the list. The money
is owed to the household, and the case goes to the line department that pays the program,
to pay it, not to a sanction.

Settings: none (the criteria and standards are the programs' own).

Evidence, in order: the village's batch (how many were paid, on which dates, by which
paying unit), the program's standard and criteria, the household, the person, each
register row that shows a criterion met (certificate, enrolment), then the search that
found no paid or pending payment. Money at risk: none (0.00); amount owed: the standard
amount.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import func, select

from audit.detectors.base import Context, Detector, Evidence, Found, Ref, msg, yuan
from audit.detectors.facts import Facts
from audit.detectors.members import payment_household
from audit.detectors.moved import CardPayment, EveryCardPayment
from audit.detectors.sql import ValueLists
from audit.models import (
    Death,
    DisabilityCertificate,
    Household,
    HouseholdEvent,
    Person,
    Program,
    SchoolEnrolment,
)

REACHED = ("paid", "pending")  # a payment that reached them, or is on its way
LEFT, BACK = ("move_out", "marry_out"), ("move_in", "marry_in")


@dataclass
class Batch:
    """A village's batch of one program and period: its dates, paying units and size."""

    dates: set[date] = field(default_factory=set)
    units: Counter[str] = field(default_factory=Counter)
    payments: int = 0


@dataclass(frozen=True)
class Owed:
    program: Any
    period: str
    village: str
    household: str
    person: str  # the eligible person (a household-basis program: the member who qualifies, or the head)


def has_criteria(program: Any) -> bool:
    return (program.min_disability_level is not None or program.school_stage is not None
            or bool(program.boarding_required) or bool(program.household_attributes))


def overlaps(a: str, b: str) -> bool:
    """Two period strings cover a common time: equal, or one is the other's year."""
    return a == b or a == b[:4] or b == a[:4]




class EligibleButUnpaid(Detector):
    code = "ME-01"
    judges = "person"
    needs = ("households", "programs")
    needs_any = ("school_enrolments", "disability_certificates")
    defaults: dict = {}

    def run(self, context: Context) -> Iterator[Found]:
        if context.focus is not None:
            return  # it judges what was not paid: no line of a roster can be its finding
        conn, as_of = context.conn, context.as_of
        programs = conn.execute(select(
            Program.program_code, Program.name, Program.standard_amount_fen, Program.period, Program.basis,
            Program.min_disability_level, Program.school_stage, Program.boarding_required,
            Program.household_attributes, Program.exclusive_group)).all()
        judged = {p.program_code: p for p in programs if p.standard_amount_fen is not None and has_criteria(p)}
        if not judged:
            return
        batches = self._batches(context, list(judged))
        groups: dict[str, set[str]] = {}
        for p in programs:
            if p.exclusive_group:
                groups.setdefault(p.exclusive_group, set()).add(p.program_code)
        # Candidates: the people the registers say meet each program's criteria, in the
        # villages it paid (reduce first: certificates, enrolments, a household attribute).
        candidates: dict[str, list[Any]] = {}
        for code, program in judged.items():
            villages = sorted({v for (c, _, v) in batches if c == code})
            years = sorted({int(period[:4]) for (c, period, _) in batches if c == code})
            candidates[code] = self._candidates(context, program, villages, years)
        by_village: dict[tuple[str, str], list[Any]] = {}
        for code, rows in candidates.items():
            for row in rows:
                by_village.setdefault((code, row.village_code), []).append(row)
        people = {row.id_number for rows in candidates.values() for row in rows}
        heads = {row.head_id_number for rows in candidates.values() for row in rows}
        registers = Registers(context, people, people | heads)
        owed: list[Owed] = []
        for (code, period, village), batch in sorted(batches.items()):
            program = judged[code]
            eligible = [row for row in by_village.get((code, village), [])
                        if registers.meets(program, period, row, batch.dates)]
            if program.basis == "household":
                homes: dict[str, Any] = {}
                for row in sorted(eligible, key=lambda r: r.id_number != r.head_id_number):  # the head first
                    if registers.alive(row.head_id_number, batch.dates):
                        homes.setdefault(row.household_id, row)
                owed += [Owed(program, period, village, home, row.id_number) for home, row in homes.items()]
            else:
                owed += [Owed(program, period, village, row.household_id, row.id_number) for row in eligible]
        owed = self._unpaid(context, owed, groups, {p.program_code: p for p in programs})
        yield from self._findings(context, owed, batches, registers)

    # ------------------------------------------------------------------ reading

    @staticmethod
    def _batches(context: Context, codes: list[str]) -> dict[tuple[str, str, str], Batch]:
        household = payment_household()
        rows = context.conn.execute(
            select(CardPayment.program_code, CardPayment.period, Household.village_code, CardPayment.paid_on,
                   CardPayment.paying_unit, func.count().label("n"))
            .outerjoin(Person, Person.id_number == CardPayment.id_number)
            .join(Household, Household.household_id == household)
            .where(CardPayment.program_code.in_(codes), CardPayment.paid_on <= context.as_of)
            .group_by(CardPayment.program_code, CardPayment.period, Household.village_code, CardPayment.paid_on,
                      CardPayment.paying_unit)).all()
        batches: dict[tuple[str, str, str], Batch] = {}
        for row in rows:
            batch = batches.setdefault((row.program_code, row.period, row.village_code), Batch())
            batch.dates.add(row.paid_on)
            batch.units[row.paying_unit] += int(row.n)
            batch.payments += int(row.n)
        return batches

    @staticmethod
    def _candidates(context: Context, program: Any, villages: list[str], years: list[int]) -> list[Any]:
        if not villages:
            return []
        query = (select(Person.id_number, Person.name, Person.household_id, Household.village_code,
                        Household.registered_on, Household.exited_on, Household.attribute, Household.head_id_number)
                 .join(Household, Household.household_id == Person.household_id)
                 .where(Household.village_code.in_(villages), Household.registered_on <= context.as_of))
        if program.household_attributes:
            query = query.where(Household.attribute.in_(program.household_attributes.split("|")))
        if program.min_disability_level is not None:
            query = query.where(Person.id_number.in_(select(DisabilityCertificate.id_number).where(
                DisabilityCertificate.level <= program.min_disability_level,
                DisabilityCertificate.issued_on <= context.as_of)))
        if program.school_stage is not None or program.boarding_required:
            enrolled = select(SchoolEnrolment.id_number).where(SchoolEnrolment.school_year.in_(years))
            if program.school_stage is not None:
                enrolled = enrolled.where(SchoolEnrolment.stage == program.school_stage)
            if program.boarding_required:
                enrolled = enrolled.where(SchoolEnrolment.boarding.is_(True))
            query = query.where(Person.id_number.in_(enrolled))
        return list(context.conn.execute(query.order_by(Person.id_number)))

    @staticmethod
    def _unpaid(context: Context, owed: list[Owed], groups: dict[str, set[str]],
                programs: dict[str, Any]) -> list[Owed]:
        """The entitlements no paid or pending payment settled (of the program, or of another
        of its exclusive group for an overlapping period; a ``once`` program's, ever); of
        several of one group unpaid for one period, the largest standard, once."""
        if not owed:
            return []
        related = {o.program.program_code for o in owed}
        for o in owed:
            related |= groups.get(o.program.exclusive_group or "", set())
        people = {o.person for o in owed if o.program.basis == "person"}
        homes = {o.household for o in owed if o.program.basis == "household"}
        received: dict[str, list[tuple[str, str]]] = {}
        values = ValueLists(context.conn)
        # The programs are kept in Python, not in the SQL: a condition on the program lets a
        # planner read the program's index (every payment of the county's largest program,
        # once per chunk) instead of the person's or household's, a few rows each.
        reached = (EveryCardPayment.status.in_(REACHED), EveryCardPayment.paid_on <= context.as_of)
        columns = (EveryCardPayment.id_number, EveryCardPayment.household_id, EveryCardPayment.program_code,
                   EveryCardPayment.period)
        for part in values.chunks(people):
            for row in context.conn.execute(select(*columns).where(
                    *reached, values.among(EveryCardPayment.id_number, part))):
                if row.program_code in related:
                    received.setdefault(row.id_number, []).append((row.program_code, row.period))
        if homes:
            member_of: dict[str, str] = {}
            for part in values.chunks(homes):
                member_of.update(dict(context.conn.execute(select(Person.id_number, Person.household_id)
                                                           .where(values.among(Person.household_id, part))).all()))
                member_of.update(dict(context.conn.execute(select(Household.head_id_number, Household.household_id)
                                                           .where(values.among(Household.household_id, part))).all()))
            # Two queries, each on its own index (no OR of the two, which no index serves):
            # the payments that name the household, and those to its people that name none.
            for part in values.chunks(homes):
                for row in context.conn.execute(select(*columns).where(
                        *reached, values.among(EveryCardPayment.household_id, part))):
                    if row.program_code in related:
                        received.setdefault(row.household_id, []).append((row.program_code, row.period))
            for part in values.chunks(member_of):
                for row in context.conn.execute(select(*columns).where(
                        *reached, EveryCardPayment.household_id.is_(None),
                        values.among(EveryCardPayment.id_number, part))):
                    home = member_of[row.id_number]
                    if home in homes and row.program_code in related:
                        received.setdefault(home, []).append((row.program_code, row.period))

        def settled(o: Owed) -> bool:
            who = o.household if o.program.basis == "household" else o.person
            code = o.program.program_code
            alternatives = groups.get(o.program.exclusive_group or "", set()) | {code}
            for paid_code, period in received.get(who, []):
                if paid_code == code and o.program.period == "once":
                    return True
                if paid_code in alternatives and overlaps(period, o.period):
                    return True
            return False

        unpaid = [o for o in owed if not settled(o)]
        # A once program: owed for the first period only.
        firsts: dict[tuple[str, str], Owed] = {}
        for o in sorted(unpaid, key=lambda o: o.period):
            if o.program.period == "once":
                firsts.setdefault((o.household if o.program.basis == "household" else o.person,
                                   o.program.program_code), o)
        unpaid = [o for o in unpaid if o.program.period != "once" or o in firsts.values()]
        # One of an exclusive group per person and period: the largest standard.
        best: dict[tuple[str, str, str], Owed] = {}
        rest = []
        for o in unpaid:
            if not o.program.exclusive_group:
                rest.append(o)
                continue
            who = o.household if o.program.basis == "household" else o.person
            key = (who, o.program.exclusive_group, o.period)
            kept = best.get(key)
            if kept is None or (o.program.standard_amount_fen, kept.program.program_code) > (
                    kept.program.standard_amount_fen, o.program.program_code):
                best[key] = o
        return sorted(rest + list(best.values()),
                      key=lambda o: (o.program.program_code, o.period, o.village, o.household, o.person))

    # ------------------------------------------------------------------ stating

    def _findings(self, context: Context, owed: list[Owed], batches: dict[tuple[str, str, str], Batch],
                  registers: Registers) -> Iterator[Found]:
        facts = Facts(context.conn)
        facts.load("households", [o.household for o in owed])
        facts.load("persons", [o.person for o in owed])
        facts.names(o.person for o in owed)  # in bulk: one lookup per finding was a fifth of the run
        for o in owed:
            program, code = o.program, o.program.program_code
            batch = batches[(code, o.period, o.village)]
            ref = f"{code}/{o.period}/{o.village}"
            unit = sorted(batch.units.items(), key=lambda item: (-item[1], item[0]))[0][0]
            name = facts.program_name(code)
            _, village = facts.place(o.village)
            household_basis = program.basis == "household"
            home = facts.get("households", o.household)
            who = home["head_name"] if household_basis and home else None
            criteria = [c.as_dict() for c in criteria_of(program)]
            steps = [
                Evidence("payment_batch", ref, msg(
                    "evidence.batch_paid_others", program=name, period=o.period, village=village,
                    village_code=o.village, payments=batch.payments,
                    dates=[day.isoformat() for day in sorted(batch.dates)],
                    paying_unit=unit), {"program_code": code, "period": o.period, "village_code": o.village,
                                        "payments": batch.payments, "paying_unit": unit}),
                Evidence("program", code, msg("evidence.program_entitlement", program=name,
                                              standard=yuan(program.standard_amount_fen), per=program.period,
                                              criteria=criteria),
                         {"standard": yuan(program.standard_amount_fen)}),
                facts.household(o.household), facts.person(o.person)]
            steps += registers.shown(facts, program, o.period, o.person, batch.dates)
            target = o.household if household_basis else o.person
            steps.append(Evidence(
                "search", f"card_payments/{code}/{o.period}/{target}",
                msg("evidence.not_paid_household" if household_basis else "evidence.not_paid",
                    who=who or facts.who(o.person), id_number=o.person, household_id=o.household, program=name,
                    period=o.period, amount=yuan(program.standard_amount_fen)),
                {"program_code": code, "period": o.period, "amount_owed": yuan(program.standard_amount_fen)}))
            subject = Ref("household", o.household, who) if household_basis else \
                Ref("person", o.person, facts.name_of(o.person))
            yield Found(subjects=[subject, Ref("paying_unit", unit)],
                        records=[Ref(subject.kind, subject.key), Ref("payment_batch", ref)],
                        evidence=steps, score=0.6, amount_at_risk_fen=0,
                        amount_owed_fen=program.standard_amount_fen)


def criteria_of(program: Any) -> list[Any]:
    found = []
    if program.household_attributes:
        found.append(msg("criterion.household_attributes", attributes=program.household_attributes.split("|")))
    if program.min_disability_level is not None:
        found.append(msg("criterion.disability", level=program.min_disability_level))
    if program.school_stage is not None:
        found.append(msg("criterion.school_stage", stage=program.school_stage))
    if program.boarding_required:
        found.append(msg("criterion.boarding"))
    return found


class Registers:
    """What the registers say of the candidates, read once in bulk: deaths, moves out and
    back, disability certificates, school enrolments (each as of the run's date)."""

    def __init__(self, context: Context, people: set[str], alive_of: set[str]) -> None:
        conn, as_of = context.conn, context.as_of
        self.as_of = as_of
        values = ValueLists(conn)
        self.died: dict[str, date] = {}
        self.events: dict[str, list[tuple[date, str]]] = {}
        self.certificates: dict[str, list[Any]] = {}
        self.enrolments: dict[tuple[str, int], Any] = {}
        for part in values.chunks(alive_of):
            self.died.update(dict(conn.execute(select(Death.id_number, Death.died_on).where(
                values.among(Death.id_number, part), Death.died_on <= as_of)).all()))
        for part in values.chunks(people):
            for row in conn.execute(select(HouseholdEvent.id_number, HouseholdEvent.event_on, HouseholdEvent.event)
                                    .where(values.among(HouseholdEvent.id_number, part),
                                           HouseholdEvent.event_on <= as_of,
                                           HouseholdEvent.event.in_(LEFT + BACK))):
                self.events.setdefault(row.id_number, []).append((row.event_on, row.event))
            for row in conn.execute(select(DisabilityCertificate).where(
                    values.among(DisabilityCertificate.id_number, part), DisabilityCertificate.issued_on <= as_of)
                    .order_by(DisabilityCertificate.issued_on)):
                self.certificates.setdefault(row.id_number, []).append(row)
            for row in conn.execute(select(SchoolEnrolment).where(values.among(SchoolEnrolment.id_number, part))):
                self.enrolments[(row.id_number, row.school_year)] = row

    def alive(self, id_number: str, dates: set[date]) -> bool:
        died = self.died.get(id_number)
        return died is None or died > max(dates)

    def in_household(self, id_number: str, day: date) -> bool:
        """Not moved or married out by ``day`` (the latest move on or before it is not an
        out)."""
        moves = sorted(e for e in self.events.get(id_number, []) if e[0] <= day)
        return not moves or moves[-1][1] not in LEFT

    def certificate(self, id_number: str, level: int, day: date) -> Any:
        """A certificate in force on ``day`` whose level is at least as severe as ``level``."""
        return next((c for c in self.certificates.get(id_number, []) if c.level <= level and c.issued_on <= day
                     and (c.revoked_on is None or c.revoked_on > day)), None)

    def enrolment(self, program: Any, id_number: str, period: str) -> Any:
        row = self.enrolments.get((id_number, int(period[:4])))
        if row is None or (program.school_stage is not None and row.stage != program.school_stage) \
                or (program.boarding_required and not row.boarding):
            return None
        return row

    def meets(self, program: Any, period: str, row: Any, dates: set[date]) -> bool:
        """The candidate met every criterion on every date the batch was paid."""
        for day in dates:
            if day < row.registered_on or (row.exited_on is not None and day > row.exited_on):
                return False
            if not self.in_household(row.id_number, day):
                return False
            if program.min_disability_level is not None and \
                    self.certificate(row.id_number, program.min_disability_level, day) is None:
                return False
        if program.basis == "person" and not self.alive(row.id_number, dates):
            return False
        if (program.school_stage is not None or program.boarding_required) and \
                self.enrolment(program, row.id_number, period) is None:
            return False
        return True

    def shown(self, facts: Facts, program: Any, period: str, id_number: str, dates: set[date]) -> list[Evidence]:
        """The register rows that show the criteria met: the certificate in force on the
        batch's first date, the enrolment of the period's school year."""
        steps = []
        if program.min_disability_level is not None:
            cert = self.certificate(id_number, program.min_disability_level, min(dates))
            revoked = cert.revoked_on if cert.revoked_on is not None and cert.revoked_on <= self.as_of else None
            steps.append(Evidence(
                "disability_certificate", f"{id_number}|{cert.issued_on.isoformat()}",
                msg("evidence.disability_certificate_revoked" if revoked else "evidence.disability_certificate",
                    who=facts.who(id_number), id_number=id_number, level=cert.level, category=cert.category or "—",
                    issued_on=cert.issued_on, revoked_on=revoked),
                {"level": cert.level, "category": cert.category, "issued_on": cert.issued_on, "revoked_on": revoked}))
        if program.school_stage is not None or program.boarding_required:
            row = self.enrolment(program, id_number, period)
            steps.append(Evidence(
                "school_enrolment", f"{id_number}|{row.school_year}",
                msg("evidence.school_enrolment" if row.boarding else "evidence.school_enrolment_day",
                    who=facts.who(id_number), id_number=id_number, school_year=row.school_year, stage=row.stage,
                    school=row.school or "—"),
                {"school_year": row.school_year, "stage": row.stage, "boarding": row.boarding, "school": row.school}))
        return steps

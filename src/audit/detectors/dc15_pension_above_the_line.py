"""DC-15 pension above the line (有养老金仍领低保).

What it flags: a payment of a means-tested program (``means_tested``: 低保, 特困供养) for a
period that a pension (``pensions``, interchange v1.1) of at least ``monthly_line`` yuan a
month overlaps: the beneficiary's own, or, for a household-basis program, any member's
(the household's registered members and its head). A pension overlaps a period when it
began on or before the period's last day and had not ended before its first; a pension
that began after the run's "as of" date does not count.

Why it matters: a household with a retired teacher's or an official's pension is above
the income line that 低保 is for; audits find such households kept on the list for years
(有养老金仍领低保), the pension never declared. A small rural pension (城乡居民基本养老保险,
about a hundred yuan a month) is far under the line and is not a reason to stop 低保.

Settings: ``monthly_line`` (1000.00 yuan a month).

Evidence, in order: the household (for a household-basis program), the member who draws
the pension, each pension at or above the line that overlaps a flagged period, then each
payment so covered. Money at risk: those payments.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import and_, or_, select

from audit.detectors.base import Context, Detector, Evidence, Found, Ref, fen_of, msg, yuan
from audit.detectors.facts import Facts
from audit.detectors.members import candidate_household, household_members, payments_to_households
from audit.detectors.moved import CardPayment
from audit.detectors.sql import period_end, period_start
from audit.models import Pension, Program


class PensionAboveTheLine(Detector):
    code = "DC-15"
    judges = "card_payment"
    needs = ("pensions", "programs")
    defaults = {"monthly_line": "1000.00"}

    def run(self, context: Context) -> Iterator[Found]:
        line = fen_of(str(context.settings["monthly_line"]))
        as_of = context.as_of

        def overlapping(id_number: Any, period: Any) -> Any:
            return and_(Pension.id_number == id_number, Pension.monthly_amount_fen >= line,
                        Pension.from_on <= as_of, Pension.from_on <= period_end(period),
                        or_(Pension.to_on.is_(None), Pension.to_on >= period_start(period)))

        pension = (Pension.from_on, Pension.to_on, Pension.monthly_amount_fen, Pension.source)
        # A person's benefit: the pensioners' own payments, read by ID number.
        own = context.conn.execute(
            select(CardPayment.payment_id, CardPayment.amount_fen, CardPayment.program_code,
                   CardPayment.id_number.label("member"), *pension)
            .join(Program, Program.program_code == CardPayment.program_code)
            .join(Pension, overlapping(CardPayment.id_number, CardPayment.period))
            .where(Program.means_tested.is_(True), Program.basis == "person", CardPayment.paid_on <= as_of,
                   context.among("card_payment", CardPayment.id_number, via=CardPayment.id_number))).all()
        # A household's benefit: reduce first, then join. The members the pension register
        # names at or above the line (a few), their households, then only those
        # households' payments, by index.
        members = household_members(context, among=select(Pension.id_number).where(
            Pension.monthly_amount_fen >= line, Pension.from_on <= as_of))
        paid = payments_to_households(select(members.c.household_id), as_of)
        household = context.conn.execute(
            select(paid.c.payment_id, paid.c.amount_fen, paid.c.household_id.label("household"),
                   CardPayment.program_code, members.c.id_number.label("member"), *pension)
            .select_from(members)
            .join(paid, paid.c.household_id == members.c.household_id)
            .join(CardPayment, CardPayment.payment_id == paid.c.payment_id)
            .join(Program, Program.program_code == CardPayment.program_code)
            .join(Pension, overlapping(members.c.id_number, CardPayment.period))
            .where(Program.means_tested.is_(True), Program.basis == "household",
                   context.among("card_payment", members.c.household_id, via=candidate_household()))).all()

        groups: dict[tuple[str | None, str, str], list[Any]] = {}
        for row in own:
            groups.setdefault((None, row.member, row.program_code), []).append(row)
        by_household: dict[tuple[str, str], str] = {}
        for row in household:
            # One finding per household and program, about the first member found drawing a pension.
            first = by_household.setdefault((row.household, row.program_code), row.member)
            groups.setdefault((row.household, first, row.program_code), []).append(row)
        facts = Facts(context.conn)
        facts.load("card_payments", [r.payment_id for rows in groups.values() for r in rows])
        facts.load("persons", [member for _, member, _ in groups])
        facts.load("households", [home for home, _, _ in groups if home])
        for (home, member, program), rows in sorted(groups.items(), key=lambda item: (item[0][1], item[0][2])):
            payments = sorted({r.payment_id: r for r in rows}.values(),
                              key=lambda r: (facts.get("card_payments", r.payment_id)["paid_on"], r.payment_id))
            pensions = sorted({(r.member, r.from_on): r for r in rows}.values(), key=lambda r: (r.member, r.from_on))
            steps = [facts.household(home)] if home else []
            steps.append(facts.person(member))
            steps += [self._pension(facts, p, line, program) for p in pensions]
            steps += [facts.card_payment(p.payment_id) for p in payments]
            subjects = [Ref("household", home), Ref("person", member)] if home else [Ref("person", member)]
            yield Found(subjects=subjects,
                        records=[Ref("card_payment", p.payment_id, amount_fen=p.amount_fen) for p in payments],
                        evidence=steps, score=0.8, amount_at_risk_fen=sum(p.amount_fen for p in payments))

    @staticmethod
    def _pension(facts: Facts, row: Any, line: int, program: str) -> Evidence:
        said = dict(who=facts.who(row.member), id_number=row.member, from_on=row.from_on, to_on=row.to_on,
                    amount=yuan(row.monthly_amount_fen), source=row.source or "—")
        return Evidence("pension", f"{row.member}|{row.from_on.isoformat()}",
                        msg("evidence.pension" if row.to_on else "evidence.pension_open", **said),
                        {"monthly_amount": yuan(row.monthly_amount_fen), "from_on": row.from_on, "to_on": row.to_on,
                         "source": row.source},
                        msg("note.pension_above_line", line=yuan(line), program=facts.program_name(program)))

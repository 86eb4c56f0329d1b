"""DC-01 paid twice.

What it flags: one beneficiary paid by the same program for the same period more than
once, whatever the paying unit; for a ``once`` program, paid more than once ever (per
household for a household-basis program).

Why it matters: duplicate claims (重复享受) — a roster sent twice, or a claim filed with
two offices — are the simplest false claim and the commonest.

Settings: none.

Evidence, in order: every payment of the group, oldest first; the first is the
entitlement, the rest are at risk.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import and_, case, func, or_, select

from audit.detectors.base import Context, Detector, Found, Ref, msg
from audit.detectors.facts import Facts
from audit.detectors.moved import CardPayment
from audit.detectors.sql import bytewise
from audit.models import Program


class PaidTwice(Detector):
    code = "DC-01"
    judges = "card_payment"
    defaults: dict = {}

    def run(self, context: Context) -> Iterator[Found]:
        once = Program.period == "once"
        who = case((once & (Program.basis == "household"),
                    func.coalesce(CardPayment.household_id, CardPayment.id_number)), else_=CardPayment.id_number)
        when = case((once, "ever"), else_=CardPayment.period)
        paid = and_(CardPayment.paid_on <= context.as_of,
                    or_(context.among("card_payment", CardPayment.id_number, via=CardPayment.id_number),
                        context.among("card_payment", CardPayment.household_id, via=CardPayment.household_id)))
        # Reduce first: the (beneficiary, program, period) keys paid more than once, a few
        # among millions, by one aggregate over byte-wise keys; then only their payments, by
        # index. (Joining every payment back to an aggregate the planner guesses at a
        # million rows spilled gigabytes at ten million payments.)
        keys = {tuple(row) for row in context.conn.execute(
            select(bytewise(who), bytewise(CardPayment.program_code), bytewise(when))
            .join(Program, Program.program_code == CardPayment.program_code).where(paid)
            .group_by(bytewise(who), bytewise(CardPayment.program_code), bytewise(when))
            .having(func.count() > 1))}
        beneficiaries = sorted({key[0] for key in keys})
        rows = []
        for start in range(0, len(beneficiaries), 500):
            some = beneficiaries[start:start + 500]
            rows += [row for row in context.conn.execute(
                select(who.label("who"), CardPayment.program_code, when.label("period"), CardPayment.payment_id,
                       CardPayment.amount_fen, CardPayment.paid_on, CardPayment.id_number)
                .join(Program, Program.program_code == CardPayment.program_code)
                .where(paid, or_(CardPayment.id_number.in_(some), CardPayment.household_id.in_(some))))
                if (row.who, row.program_code, row.period) in keys]
        rows.sort(key=lambda r: (r.who, r.program_code, r.paid_on, r.payment_id))
        facts = Facts(context.conn)
        facts.load("card_payments", [r.payment_id for r in rows])
        by_group: dict[tuple[str, str, str], list[Any]] = {}
        for row in rows:
            by_group.setdefault((row.who, row.program_code, row.period), []).append(row)
        for (_, program, period), payments in by_group.items():
            extra = payments[1:]
            at_risk = sum(p.amount_fen for p in extra)
            first = payments[0]
            when = msg("when.ever") if period == "ever" else msg("when.period", period=period)
            yield Found(
                subjects=[Ref("person", first.id_number)],
                records=[Ref("card_payment", first.payment_id, amount_fen=0)]
                + [Ref("card_payment", p.payment_id, amount_fen=p.amount_fen) for p in extra],
                evidence=[facts.card_payment(first.payment_id, msg("note.first_of_payments", count=len(payments),
                                                                    when=when.as_dict()))]
                + [facts.card_payment(p.payment_id, msg("note.paid_again", when=when.as_dict())) for p in extra],
                score=0.95, amount_at_risk_fen=at_risk)

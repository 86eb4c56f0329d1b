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

from sqlalchemy import case, func, or_, select, tuple_

from audit.detectors.base import Context, Detector, Found, Ref, msg
from audit.detectors.facts import Facts
from audit.detectors.moved import CardPayment
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
        base = (select(who.label("who"), CardPayment.program_code, when.label("period"), CardPayment.payment_id,
                       CardPayment.amount_fen, CardPayment.paid_on, CardPayment.id_number)
                .join(Program, Program.program_code == CardPayment.program_code)
                .where(CardPayment.paid_on <= context.as_of,
                       or_(context.among("card_payment", CardPayment.id_number, via=CardPayment.id_number),
                           context.among("card_payment", CardPayment.household_id, via=CardPayment.household_id)))
                .subquery())
        groups = (select(base.c.who, base.c.program_code, base.c.period).group_by(
            base.c.who, base.c.program_code, base.c.period).having(func.count() > 1))
        rows = context.conn.execute(
            select(base).where(tuple_(base.c.who, base.c.program_code, base.c.period).in_(groups))
            .order_by(base.c.who, base.c.program_code, base.c.paid_on, base.c.payment_id)).all()
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

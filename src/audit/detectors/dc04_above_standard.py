"""DC-04 above standard.

What it flags: a beneficiary's payments from one program for one period that add up to
more than the program's ``standard_amount`` (or, when it has none, its ``cap_amount``).

Why it matters: inflated amounts (虚报) — 1,200 yuan paid against a 600-yuan standard —
are how an insider skims a little from many payments.

Settings: none (the standards are the programs' own).

Evidence, in order: the program's standard or cap, then each payment of the period.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import func, select, tuple_

from audit.detectors.base import Context, Detector, Evidence, Found, Ref, msg, yuan
from audit.detectors.facts import Facts
from audit.detectors.moved import CardPayment
from audit.models import Program


class AboveStandard(Detector):
    code = "DC-04"
    judges = "card_payment"
    needs = ("programs",)
    defaults: dict = {}

    def run(self, context: Context) -> Iterator[Found]:
        limit = func.coalesce(Program.standard_amount_fen, Program.cap_amount_fen)
        groups = context.conn.execute(
            select(CardPayment.id_number, CardPayment.program_code, CardPayment.period,
                   func.sum(CardPayment.amount_fen).label("total"), func.max(limit).label("limit"))
            .join(Program, Program.program_code == CardPayment.program_code)
            .where(limit.is_not(None), CardPayment.paid_on <= context.as_of,
                   context.among("card_payment", CardPayment.id_number, via=CardPayment.id_number))
            .group_by(CardPayment.id_number, CardPayment.program_code, CardPayment.period)
            .having(func.sum(CardPayment.amount_fen) > func.max(limit))).all()
        keys = [(g.id_number, g.program_code, g.period) for g in groups]
        payments: dict[tuple[str, str, str], list[Any]] = {}
        for start in range(0, len(keys), 300):
            for row in context.conn.execute(
                    select(CardPayment.payment_id, CardPayment.id_number, CardPayment.program_code,
                           CardPayment.period, CardPayment.amount_fen)
                    .where(tuple_(CardPayment.id_number, CardPayment.program_code, CardPayment.period)
                           .in_(keys[start:start + 300]), CardPayment.paid_on <= context.as_of)
                    .order_by(CardPayment.paid_on)):
                payments.setdefault((row.id_number, row.program_code, row.period), []).append(row)
        facts = Facts(context.conn)
        facts.load("card_payments", [p.payment_id for rows in payments.values() for p in rows])
        facts.load("programs", [g.program_code for g in groups])
        for group in groups:
            rows = payments[(group.id_number, group.program_code, group.period)]
            excess = group.total - group.limit
            program = facts.get("programs", group.program_code)
            kind = "standard" if program and program["standard_amount_fen"] is not None else "cap"
            yield Found(
                subjects=[Ref("person", group.id_number)],
                records=[Ref("card_payment", r.payment_id, amount_fen=min(r.amount_fen, excess)) for r in rows],
                evidence=[Evidence("program", group.program_code,
                                   msg(f"evidence.program_{kind}", program=facts.program_name(group.program_code),
                                       limit=yuan(group.limit), per=program["period"] if program else "year"),
                                   {kind: yuan(group.limit)})]
                + [facts.card_payment(r.payment_id) for r in rows[:-1]]
                + [facts.card_payment(rows[-1].payment_id,
                                      msg(f"note.above_{kind}", total=yuan(group.total), period=group.period,
                                          excess=yuan(excess)))],
                score=0.85, amount_at_risk_fen=excess)

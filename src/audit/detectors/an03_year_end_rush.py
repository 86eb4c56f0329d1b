"""AN-03 year-end rush.

What it flags: a paying unit that pays more than ``december_share`` of its year's
disbursements (by amount) in December.

Why it matters: money spent in a December rush is spent to clear a budget before it
lapses, with the least care for what it buys; it is also when false claims are easiest to
push through.

Settings: ``december_share`` (default 0.4).

Evidence, in order: the unit's year total and December total, then its December payments.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import case, func, select

from audit.detectors.base import Context, Detector, Evidence, Found, Ref, msg, yuan
from audit.detectors.facts import Facts
from audit.detectors.sql import month_of, year_of
from audit.detectors.moved import Disbursement


class YearEndRush(Detector):
    code = "AN-03"
    judges = "disbursement"
    defaults = {"december_share": 0.4}

    def run(self, context: Context) -> Iterator[Found]:
        year = year_of(Disbursement.paid_on)
        december = func.sum(case((month_of(Disbursement.paid_on) == 12, Disbursement.amount_fen), else_=0))
        share_pct = int(round(context.settings["december_share"] * 100))
        units = context.conn.execute(
            select(Disbursement.payer_unit, year.label("year"), func.sum(Disbursement.amount_fen).label("total"),
                   december.label("december"))
            .where(Disbursement.paid_on <= context.as_of)
            .group_by(Disbursement.payer_unit, year)
            .having(december * 100 > func.sum(Disbursement.amount_fen) * share_pct)).all()
        facts = Facts(context.conn)
        for unit in units:
            rows = context.conn.execute(
                select(Disbursement.disbursement_id, Disbursement.amount_fen)
                .where(Disbursement.payer_unit == unit.payer_unit, year == unit.year,
                       month_of(Disbursement.paid_on) == 12, Disbursement.paid_on <= context.as_of)
                .order_by(Disbursement.paid_on)).all()
            facts.load("disbursements", [r.disbursement_id for r in rows])
            share = unit.december * 100 // unit.total
            yield Found(
                subjects=[Ref("paying_unit", unit.payer_unit)],
                records=[Ref("disbursement", r.disbursement_id) for r in rows],
                evidence=[Evidence("paying_unit", f"{unit.payer_unit}/{unit.year}",
                                   msg("evidence.year_end_rush", unit=unit.payer_unit, total=yuan(unit.total),
                                       year=unit.year, december=yuan(unit.december), share=share),
                                   {"year": unit.year, "total": yuan(unit.total), "december": yuan(unit.december),
                                    "share": share / 100})]
                + [facts.disbursement(r.disbursement_id) for r in rows],
                score=0.4, amount_at_risk_fen=0)

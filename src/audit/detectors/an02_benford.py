"""AN-02 Benford deviation.

What it flags: a paying unit whose disbursement amounts' first digits depart from
Benford's law: at least ``min_payments`` payments, mean absolute deviation (MAD) above
``mad``, and a chi-square test rejecting conformity at p < ``p_value``. Small samples are
noisy, so MAD alone would flag ordinary units; both tests must agree.

Why it matters: amounts that are made up rather than incurred cluster on the digits a
person picks (4s and 5s just under a threshold); natural amounts follow Benford.

Settings: ``min_payments`` (default 100), ``mad`` (default 0.015), ``p_value`` (default 0.001).

Evidence, in order: the unit's first-digit counts against Benford's expectation, MAD and
the test; then the disbursements of the most over-represented digit.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from scipy.stats import chisquare
from sqlalchemy import select

from audit.detectors.base import Context, Detector, Evidence, Found, Ref, msg
from audit.detectors.facts import Facts
from audit.detectors.moved import Disbursement

BENFORD = np.log10(1 + 1 / np.arange(1, 10))


def first_digit(fen: int) -> int:
    yuan = fen // 100 or fen
    return int(str(yuan)[0])


class BenfordDeviation(Detector):
    code = "AN-02"
    judges = "disbursement"
    defaults = {"min_payments": 100, "mad": 0.015, "p_value": 0.001}

    def run(self, context: Context) -> Iterator[Found]:
        rows = context.conn.execute(
            select(Disbursement.payer_unit, Disbursement.disbursement_id, Disbursement.amount_fen)
            .where(Disbursement.paid_on <= context.as_of, Disbursement.amount_fen >= 100)).all()
        units: dict[str, list] = {}
        for row in rows:
            units.setdefault(row.payer_unit, []).append(row)
        facts = Facts(context.conn)
        for unit, payments in units.items():
            if len(payments) < context.settings["min_payments"]:
                continue
            digits = np.array([first_digit(p.amount_fen) for p in payments])
            counts = np.array([(digits == d).sum() for d in range(1, 10)], dtype=float)
            observed = counts / counts.sum()
            mad = float(np.abs(observed - BENFORD).mean())
            _, p_value = chisquare(counts, BENFORD * counts.sum())
            if mad <= context.settings["mad"] or p_value >= context.settings["p_value"]:
                continue
            worst = int(np.argmax(observed - BENFORD)) + 1
            table = ", ".join(f"{d}: {int(counts[d - 1])} ({observed[d - 1]:.0%} / {BENFORD[d - 1]:.0%})"
                              for d in range(1, 10))
            heavy = [p for p in payments if first_digit(p.amount_fen) == worst]
            facts.load("disbursements", [p.disbursement_id for p in heavy[:10]])
            yield Found(
                subjects=[Ref("paying_unit", unit)],
                records=[Ref("disbursement", p.disbursement_id) for p in payments],
                evidence=[Evidence("paying_unit", unit,
                                   msg("evidence.benford", unit=unit, payments=len(payments), table=table,
                                       mad=f"{mad:.3f}", limit=context.settings["mad"], p_value=f"{p_value:.1e}"),
                                   {"payments": len(payments), "mad": round(mad, 4), "p_value": float(p_value),
                                    "counts": [int(c) for c in counts]})]
                + [facts.disbursement(p.disbursement_id, msg("note.begins_with", digit=worst)) for p in heavy[:10]],
                score=0.5, amount_at_risk_fen=0)

"""DV-04 split payments.

What it flags: two or more disbursements to the same payee within ``window_days`` days,
each under the approval threshold and together above it.

Why it matters: splitting one payment into several just under the threshold avoids the
approval (and the scrutiny) a single payment would need (化整为零).

Settings: ``threshold`` (default 50000.00 yuan), ``window_days`` (default 30).

Evidence, in order: each payment of the run, oldest first; the last states the total
against the threshold.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import aliased

from audit.detectors.base import Context, Detector, Found, Ref, fen_of, msg, yuan
from audit.detectors.facts import Facts
from audit.detectors.sql import days_between
from audit.detectors.moved import Disbursement


class SplitPayments(Detector):
    code = "DV-04"
    judges = "disbursement"
    defaults = {"threshold": "50000.00", "window_days": 30}

    def run(self, context: Context) -> Iterator[Found]:
        threshold = fen_of(str(context.settings["threshold"]))
        window = context.settings["window_days"]
        other = aliased(Disbursement)
        near = exists().where(other.payee_id == Disbursement.payee_id,
                              other.disbursement_id != Disbursement.disbursement_id,
                              other.amount_fen < threshold, other.paid_on <= context.as_of,
                              days_between(other.paid_on, Disbursement.paid_on).between(-window, window))
        rows = context.conn.execute(
            select(Disbursement.disbursement_id, Disbursement.payee_id, Disbursement.payee_kind,
                   Disbursement.amount_fen, Disbursement.paid_on)
            .where(Disbursement.amount_fen < threshold, Disbursement.paid_on <= context.as_of, near,
                   context.among("disbursement", Disbursement.payee_id, via=Disbursement.payee_id))
            .order_by(Disbursement.payee_id, Disbursement.paid_on, Disbursement.disbursement_id)).all()
        by_payee: dict[str, list[Any]] = {}
        for row in rows:
            by_payee.setdefault(row.payee_id, []).append(row)
        facts = Facts(context.conn)
        facts.load("disbursements", [r.disbursement_id for r in rows])
        for payee, payments in by_payee.items():
            for run in _runs(payments, window, threshold):
                total = sum(p.amount_fen for p in run)
                yield Found(
                    subjects=[Ref("organization" if run[0].payee_kind == "org" else "person", payee)],
                    records=[Ref("disbursement", p.disbursement_id, amount_fen=p.amount_fen) for p in run],
                    evidence=[facts.disbursement(p.disbursement_id) for p in run[:-1]]
                    + [facts.disbursement(run[-1].disbursement_id, msg(
                        "note.split_payments", count=len(run), threshold=yuan(threshold),
                        days=(run[-1].paid_on - run[0].paid_on).days, total=yuan(total)))],
                    score=0.7, amount_at_risk_fen=total)


def _runs(payments: list[Any], window: int, threshold: int) -> list[list[Any]]:
    """Maximal chains of payments each within ``window`` days of the chain's first, whose
    total passes the threshold; a payment belongs to one run at most."""
    runs, index = [], 0
    while index < len(payments):
        first = payments[index]
        chain = [p for p in payments[index:] if (p.paid_on - first.paid_on).days <= window]
        if len(chain) > 1 and sum(p.amount_fen for p in chain) > threshold:
            runs.append(chain)
            index += len(chain)
        else:
            index += 1
    return runs



"""DC-09 reused invoice or voucher.

What it flags: the same invoice (the whole string: invoice code and number) or the same
voucher number behind two or more disbursements.

Why it matters: one invoice claimed twice is a false claim by construction; a voucher
number reused means two payments were booked on one voucher.

Settings: none.

Evidence, in order: each disbursement carrying the invoice or voucher, oldest first.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import func, select

from audit.detectors.base import Context, Detector, Found, Ref, msg
from audit.detectors.facts import Facts
from audit.detectors.moved import Disbursement


class ReusedInvoice(Detector):
    code = "DC-09"
    judges = "disbursement"
    defaults: dict = {}

    def run(self, context: Context) -> Iterator[Found]:
        facts = Facts(context.conn)
        for column, words in ((Disbursement.invoice_number, "invoice"), (Disbursement.voucher_number, "voucher")):
            reused = (select(column).where(column.is_not(None), column != "", Disbursement.paid_on <= context.as_of,
                                           context.among("disbursement", column, via=column))
                      .group_by(column).having(func.count() > 1))
            rows = context.conn.execute(
                select(column.label("number"), Disbursement.disbursement_id, Disbursement.amount_fen)
                .where(column.in_(reused), Disbursement.paid_on <= context.as_of)
                .order_by(column, Disbursement.paid_on, Disbursement.disbursement_id)).all()
            facts.load("disbursements", [r.disbursement_id for r in rows])
            groups: dict[str, list] = {}
            for row in rows:
                groups.setdefault(row.number, []).append(row)
            for number, items in groups.items():
                at_risk = sum(r.amount_fen for r in items[1:])
                yield Found(
                    subjects=[Ref("disbursement", items[0].disbursement_id)],
                    records=[Ref("disbursement", r.disbursement_id, amount_fen=r.amount_fen if i else 0)
                             for i, r in enumerate(items)],
                    evidence=[facts.disbursement(r.disbursement_id, msg(
                        f"note.{words}_reused" if i else f"note.{words}_number", number=number,
                        first=items[0].disbursement_id)) for i, r in enumerate(items)],
                    score=0.9, amount_at_risk_fen=at_risk)

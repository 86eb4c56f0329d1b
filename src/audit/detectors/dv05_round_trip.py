"""DV-05 round trip.

What it flags: money from a disbursement that comes back, through a chain of transfers
within ``max_hops`` hops and ``window_days`` days, to an account of the paying unit or to
another account of the payee.

Why it matters: money that returns to the payer (回流) was never spent on its purpose: the
payment was made to be reported, or to be cashed out through a middleman.

Settings: ``max_hops`` (default 4), ``window_days`` (default 90).

Evidence, in order: the disbursement, each transfer of the loop, the account it came
back to and whose it is.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import select

from audit.detectors.base import Context, Detector, Found, Ref, msg, yuan
from audit.detectors.facts import Facts
from audit.detectors.money_flow import MoneyFlow
from audit.detectors.moved import Disbursement


class RoundTrip(Detector):
    code = "DV-05"
    judges = "disbursement"
    needs = ("transfers",)
    defaults = {"max_hops": 4, "window_days": 90}

    def run(self, context: Context) -> Iterator[Found]:
        flow = MoneyFlow.of(context.conn, context.as_of, context.cache)
        rows = context.conn.execute(
            select(Disbursement.disbursement_id, Disbursement.payee_account, Disbursement.payee_id,
                   Disbursement.payer_unit, Disbursement.paid_on, Disbursement.project_id)
            .where(Disbursement.paid_on <= context.as_of)).all()
        facts = Facts(context.conn)
        for row in rows:
            if row.payee_account not in flow.graph:
                continue
            payer = flow.org_by_name.get(row.payer_unit)
            for path in flow.paths(row.payee_account, row.paid_on, context.settings["window_days"],
                                   context.settings["max_hops"]):
                end = path[-1].target
                _, holder = flow.holder.get(end, ("", ""))
                if len(path) < 2 or holder not in {payer, row.payee_id}:
                    continue
                whose = "note.came_back_to_payer" if holder == payer else "note.came_back_to_payee"
                amount = min(hop.amount_fen for hop in path)
                subject = (Ref("project", row.project_id) if row.project_id else Ref("organization", row.payee_id))
                yield Found(
                    subjects=[subject],
                    records=[Ref("disbursement", row.disbursement_id, amount_fen=amount)]
                    + [Ref("transfer", hop.transfer_id) for hop in path],
                    evidence=[facts.disbursement(row.disbursement_id)]
                    + [facts.transfer(hop.transfer_id) for hop in path]
                    + [facts.account(end, msg(whose, amount=yuan(amount), days=(path[-1].on - row.paid_on).days))],
                    score=0.9, amount_at_risk_fen=amount)
                break

"""DV-03 money reaches insiders.

What it flags: a path of bank transfers, within ``max_hops`` hops and ``window_days`` days
of a disbursement, that carries money from the disbursement's payee account to an
account held by an official with power over that money (the project's approver, the
village cadres of its village, the finance officers of the paying unit, the official
who approved the payment) or by that official's kin. The amount that reached them (the
smallest hop on the path) is stated.

Why it matters: kickbacks (回扣) rarely go straight to the official; they pass through a
contractor's boss or a relative. The path is the evidence.

Settings: ``max_hops`` (default 3), ``window_days`` (default 90).

Evidence, in order: the disbursement, each transfer of the path, the account at the end
and its holder, the kinship row (when a relative holds it), the official.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import select

from audit.detectors.base import Context, Detector, Found, Ref, msg, yuan
from audit.detectors.facts import Facts
from audit.detectors.money_flow import MoneyFlow
from audit.detectors.power import Power
from audit.detectors.moved import Disbursement
from audit.models import Project


class MoneyReachesInsiders(Detector):
    code = "DV-03"
    judges = "disbursement"
    needs = ("officials",)
    defaults = {"max_hops": 3, "window_days": 90}

    def run(self, context: Context) -> Iterator[Found]:
        flow = MoneyFlow.of(context.conn, context.as_of, context.cache)
        power = Power.of(context.conn, context.cache)
        rows = context.conn.execute(
            select(Disbursement.disbursement_id, Disbursement.payee_account, Disbursement.paid_on,
                   Disbursement.amount_fen, Disbursement.payer_unit, Disbursement.approved_by,
                   Disbursement.project_id, Project.village_code, Project.approver_official_id)
            .outerjoin(Project, Project.project_id == Disbursement.project_id)
            .where(Disbursement.paid_on <= context.as_of)).all()
        facts = Facts(context.conn)
        for row in rows:
            if row.payee_account not in flow.graph:
                continue
            holders = power.holders(village=row.village_code, unit=row.payer_unit,
                                    official_ids=(row.approver_official_id, row.approved_by), on=row.paid_on)
            insiders = power.insiders(holders)
            reached: set[str] = set()
            for path in flow.paths(row.payee_account, row.paid_on, context.settings["window_days"],
                                   context.settings["max_hops"]):
                end = path[-1].target
                kind, holder = flow.holder.get(end, ("", ""))
                if kind != "person" or holder not in insiders or holder in reached:
                    continue
                reached.add(holder)
                official_id, kinship = insiders[holder]
                amount = min(hop.amount_fen for hop in path)
                official = facts.get("officials", official_id)
                assert official is not None
                steps = [facts.disbursement(row.disbursement_id)]
                steps += [facts.transfer(hop.transfer_id) for hop in path]
                steps.append(facts.account(end, msg("note.money_reached", amount=yuan(amount),
                                                    days=(path[-1].on - row.paid_on).days)))
                if kinship:
                    steps.append(facts.kinship(*kinship, {official["id_number"]: official["name"]}))
                steps.append(facts.official(official_id, msg(holders[official_id])))
                subjects = [Ref("official", official_id, official["name"])]
                if row.project_id:
                    subjects.append(Ref("project", row.project_id))
                yield Found(
                    subjects=subjects,
                    records=[Ref("disbursement", row.disbursement_id, amount_fen=amount)]
                    + [Ref("transfer", hop.transfer_id) for hop in path],
                    evidence=steps, score=0.95 if kinship is None else 0.9, amount_at_risk_fen=amount)

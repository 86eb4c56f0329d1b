"""FP-01 paid before approval.

What it flags: a disbursement for a project dated before the project's approval
(``approved_on``).

Why it matters: money that moves before a project exists on paper is the commonest trace
of a fictitious or back-dated project (虚假立项): the approval was written to cover a
payment already made.

Settings: ``grace_days`` (default 0): days a payment may precede the approval date.

Evidence, in order:
    1. disbursement BF2017-000231: 汨罗市财政局 paid 225000.00 yuan on 2017-05-10 for
       project XM2017-0201 …
    2. project XM2017-0201: … approved on 2017-05-20; approved 10 days after this payment
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import select

from audit.detectors.base import Context, Detector, Found, Ref, msg
from audit.detectors.facts import Facts
from audit.detectors.sql import days_between
from audit.detectors.moved import Disbursement
from audit.models import Project


class PaidBeforeApproval(Detector):
    code = "FP-01"
    judges = "disbursement"
    needs = ("projects",)
    defaults = {"grace_days": 0}

    def run(self, context: Context) -> Iterator[Found]:
        early = days_between(Disbursement.paid_on, Project.approved_on)
        rows = context.conn.execute(
            select(Disbursement.disbursement_id, Disbursement.project_id, Disbursement.amount_fen, Project.name,
                   early.label("days_early"))
            .join(Project, Project.project_id == Disbursement.project_id)
            .where(early > context.settings["grace_days"], Disbursement.paid_on <= context.as_of,
                   context.among("disbursement", Disbursement.disbursement_id))).all()
        facts = Facts(context.conn)
        facts.load("disbursements", [r.disbursement_id for r in rows])
        facts.load("projects", [r.project_id for r in rows])
        for row in rows:
            yield Found(
                subjects=[Ref("project", row.project_id, row.name)],
                records=[Ref("disbursement", row.disbursement_id, amount_fen=row.amount_fen),
                         Ref("project", row.project_id)],
                evidence=[facts.disbursement(row.disbursement_id),
                          facts.project(row.project_id, msg("note.approved_after_payment", days=row.days_early))],
                score=0.9, amount_at_risk_fen=row.amount_fen)

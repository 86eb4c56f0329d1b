"""FP-02 paid but not accepted.

What it flags: a project that has received at least ``paid_share`` of its budget and has
no acceptance (``accepted_on`` empty) ``grace_days`` after its completion date (or its
planned end when it reports none); or whose acceptance failed while payment went on.

Why it matters: acceptance (验收) is the check that the thing paid for exists. Money paid
in full for works never accepted, or paid after they failed acceptance, is how a
fictitious or unfinished project is paid out.

Settings: ``paid_share`` (default 0.7), ``grace_days`` (default 90).

Evidence, in order:
    1. project XM2017-0034: … budget 360000.00 yuan … completed on 2017-05-25
    2. each disbursement of the project (paid 270000.00 yuan in all, 75% of the budget)
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from sqlalchemy import func, select

from audit.detectors.base import Context, Detector, Found, Ref, msg, yuan
from audit.detectors.facts import Facts
from audit.detectors.moved import Disbursement
from audit.models import Project


class PaidNotAccepted(Detector):
    code = "FP-02"
    judges = "project"
    needs = ("disbursements",)
    defaults = {"paid_share": 0.7, "grace_days": 90}

    def run(self, context: Context) -> Iterator[Found]:
        settings = context.settings
        cutoff = context.as_of - timedelta(days=settings["grace_days"])
        share_pct = int(round(settings["paid_share"] * 100))
        paid = (select(Disbursement.project_id, func.sum(Disbursement.amount_fen).label("paid"))
                .where(Disbursement.project_id.is_not(None), Disbursement.paid_on <= context.as_of)
                .group_by(Disbursement.project_id).subquery())
        never = context.conn.execute(
            select(Project.project_id, Project.name, Project.budget_fen, paid.c.paid)
            .join(paid, paid.c.project_id == Project.project_id)
            .where(paid.c.paid * 100 >= Project.budget_fen * share_pct, Project.accepted_on.is_(None),
                   func.coalesce(Project.completed_on, Project.planned_end) <= cutoff)).all()
        after_fail = context.conn.execute(
            select(Project.project_id, Project.name, Disbursement.disbursement_id, Disbursement.amount_fen)
            .join(Disbursement, Disbursement.project_id == Project.project_id)
            .where(Project.acceptance_result == "fail", Disbursement.paid_on > Project.accepted_on,
                   Disbursement.paid_on <= context.as_of)).all()
        facts = Facts(context.conn)
        facts.load("projects", [r.project_id for r in [*never, *after_fail]])
        payments = context.conn.execute(
            select(Disbursement.project_id, Disbursement.disbursement_id)
            .where(Disbursement.project_id.in_([r.project_id for r in never] or [""]),
                   Disbursement.paid_on <= context.as_of).order_by(Disbursement.paid_on)).all()
        facts.load("disbursements", [p.disbursement_id for p in payments] + [r.disbursement_id for r in after_fail])
        for row in never:
            mine = [p.disbursement_id for p in payments if p.project_id == row.project_id]
            share = row.paid * 100 // row.budget_fen
            yield Found(
                subjects=[Ref("project", row.project_id, row.name)],
                records=[Ref("project", row.project_id, amount_fen=row.paid)],
                evidence=[facts.project(row.project_id, msg("note.not_accepted", days=settings["grace_days"]))]
                + [facts.disbursement(d) for d in mine[:-1]]
                + [facts.disbursement(mine[-1], msg("note.paid_share_of_budget", paid=yuan(row.paid), share=share))],
                score=0.8, amount_at_risk_fen=row.paid)
        by_project: dict[str, list] = {}
        for row in after_fail:
            by_project.setdefault(row.project_id, []).append(row)
        for project_id, rows in by_project.items():
            total = sum(r.amount_fen for r in rows)
            yield Found(
                subjects=[Ref("project", project_id, rows[0].name)],
                records=[Ref("project", project_id)]
                + [Ref("disbursement", r.disbursement_id, amount_fen=r.amount_fen) for r in rows],
                evidence=[facts.project(project_id, msg("note.acceptance_failed"))]
                + [facts.disbursement(r.disbursement_id, msg("note.paid_after_failed_acceptance")) for r in rows],
                score=0.9, amount_at_risk_fen=total)



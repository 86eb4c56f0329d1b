"""FP-07 payee is not the contractor.

What it flags: a disbursement for a project paid to an account held by neither the
project's contractor nor its implementing unit (or to an account in no register).

Why it matters: project money belongs in the contractor's or the implementing unit's
settlement account; paid anywhere else (a boss's personal card, a relative's account) it
has left the project.

Settings: none.

Evidence, in order:
    1. the disbursement (payee and account)
    2. the account (who holds it)
    3. the project (its contractor and implementing unit)
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import and_, func, or_, select

from audit.detectors.base import Context, Detector, Found, Ref, msg
from audit.detectors.facts import Facts
from audit.detectors.moved import Disbursement
from audit.models import Account, Project


class PayeeNotContractor(Detector):
    code = "FP-07"
    judges = "disbursement"
    needs = ("projects",)
    defaults: dict = {}

    def run(self, context: Context) -> Iterator[Found]:
        holder = Account.holder_id
        rows = context.conn.execute(
            select(Disbursement.disbursement_id, Disbursement.project_id, Disbursement.amount_fen,
                   Disbursement.payee_account, Project.name, holder.label("holder"))
            .join(Project, Project.project_id == Disbursement.project_id)
            .outerjoin(Account, Account.account_number == Disbursement.payee_account)
            .where(Disbursement.paid_on <= context.as_of, context.among("disbursement", Disbursement.disbursement_id),
                   or_(holder.is_(None),
                       and_(holder != func.coalesce(Project.contractor_uscc, ""),
                            holder != func.coalesce(Project.implementing_uscc, ""))))).all()
        facts = Facts(context.conn)
        facts.load("disbursements", [r.disbursement_id for r in rows])
        facts.load("projects", [r.project_id for r in rows])
        for row in rows:
            known = row.holder is not None
            yield Found(
                subjects=[Ref("project", row.project_id, row.name)],
                records=[Ref("disbursement", row.disbursement_id, amount_fen=row.amount_fen)],
                evidence=[facts.disbursement(row.disbursement_id),
                          facts.account(row.payee_account, msg("note.neither_contractor_nor_implementer"
                                                               if known else "note.holder_unknown")),
                          facts.project(row.project_id)],
                score=0.85 if known else 0.5, amount_at_risk_fen=row.amount_fen)

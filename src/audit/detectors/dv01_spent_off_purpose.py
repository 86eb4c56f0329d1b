"""DV-01 spent off purpose.

What it flags: a disbursement from an allocation for a project whose category differs
from the allocation's ``purpose``; or a disbursement with no project that pays neither a
member of a registered household nor, from ``village_operation`` money, a village
committee.

Why it matters: earmarked money (专项资金) spent on something else is diversion (挤占挪用)
even when nobody pockets it: the purpose it was voted for goes unfunded.

Settings: none.

Evidence, in order: the disbursement, the allocation (its purpose), then the project
(its category) or the payee (neither a registered member nor a village committee).
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import and_, exists, or_, select

from audit.detectors.base import Context, Detector, Evidence, Found, Ref, msg
from audit.detectors.facts import Facts
from audit.detectors.moved import Disbursement
from audit.models import Allocation, Household, Organization, Person, Project


class SpentOffPurpose(Detector):
    code = "DV-01"
    judges = "disbursement"
    needs = ("allocations",)
    defaults: dict = {}

    def run(self, context: Context) -> Iterator[Found]:
        facts = Facts(context.conn)
        wrong_category = context.conn.execute(
            select(Disbursement.disbursement_id, Disbursement.amount_fen, Disbursement.allocation_id,
                   Project.project_id, Project.name, Project.category, Allocation.purpose)
            .join(Project, Project.project_id == Disbursement.project_id)
            .join(Allocation, Allocation.allocation_id == Disbursement.allocation_id)
            .where(Project.category != Allocation.purpose, Disbursement.paid_on <= context.as_of,
                   context.among("disbursement", Disbursement.disbursement_id))).all()
        # A registered member or a household's head, each by its own index: an EXISTS over the
        # UNION of every member and head is re-evaluated per disbursement on SQLite (47 s of
        # a 100,000-household scan).
        member = or_(exists().where(Person.id_number == Disbursement.payee_id),
                     exists().where(Household.head_id_number == Disbursement.payee_id))
        committee = exists().where(Organization.uscc == Disbursement.payee_id,
                                   Organization.kind == "village_committee")
        allowed = or_(and_(Disbursement.payee_kind == "person", member),
                      and_(Allocation.purpose == "village_operation", committee))
        no_project = context.conn.execute(
            select(Disbursement.disbursement_id, Disbursement.amount_fen, Disbursement.allocation_id,
                   Disbursement.payee_kind, Disbursement.payee_id, Allocation.purpose)
            .join(Allocation, Allocation.allocation_id == Disbursement.allocation_id)
            .where(Disbursement.project_id.is_(None), ~allowed, Disbursement.paid_on <= context.as_of,
                   context.among("disbursement", Disbursement.disbursement_id))).all()
        facts.load("disbursements", [r.disbursement_id for r in [*wrong_category, *no_project]])
        facts.load("allocations", [r.allocation_id for r in [*wrong_category, *no_project]])
        for row in wrong_category:
            yield Found(
                subjects=[Ref("project", row.project_id, row.name)],
                records=[Ref("disbursement", row.disbursement_id, amount_fen=row.amount_fen)],
                evidence=[facts.disbursement(row.disbursement_id),
                          facts.allocation(row.allocation_id, msg("note.earmarked_for", purpose=row.purpose)),
                          facts.project(row.project_id, msg("note.category_not_purpose", category=row.category,
                                                            purpose=row.purpose))],
                score=0.8, amount_at_risk_fen=row.amount_fen)
        for row in no_project:
            why = ("evidence.payee_in_no_household" if row.payee_kind == "person" else
                   "evidence.payee_not_village_committee")
            yield Found(
                subjects=[Ref("person" if row.payee_kind == "person" else "organization", row.payee_id)],
                records=[Ref("disbursement", row.disbursement_id, amount_fen=row.amount_fen)],
                evidence=[facts.disbursement(row.disbursement_id),
                          facts.allocation(row.allocation_id, msg("note.earmarked_for", purpose=row.purpose)),
                          Evidence("search", f"persons,households/{row.payee_id}",
                                   msg(why, payee=facts.payee(row.payee_kind, row.payee_id),
                                       payee_id=row.payee_id, payee_kind=row.payee_kind),
                                   {"payee_id": row.payee_id, "payee_kind": row.payee_kind})],
                score=0.75, amount_at_risk_fen=row.amount_fen)

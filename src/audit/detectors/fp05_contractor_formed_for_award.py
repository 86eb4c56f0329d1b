"""FP-05 contractor formed for the award.

What it flags: a project whose contractor was registered fewer than ``min_age_days``
days before the project's approval (or after it); or whose contractor is a shell: it has
no other project and its accounts pay no one (no transfer from its accounts to a person's
account, i.e. no wages).

Why it matters: a company founded to receive one award, or one that employs nobody,
cannot have done the work; it is how money is passed to whoever set the company up.

Settings: ``min_age_days`` (default 90).

Evidence, in order:
    1. the organization (its registration date, its legal representative)
    2. the project (its approval date) — for a shell, also a search showing that none of
       its accounts ever paid a person
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import exists, func, select
from sqlalchemy.orm import aliased

from audit.detectors.base import Context, Detector, Evidence, Found, Ref, msg
from audit.detectors.facts import Facts
from audit.detectors.sql import days_between
from audit.models import Account, Organization, Project, Transfer


class ContractorFormedForAward(Detector):
    code = "FP-05"
    judges = "project"
    needs = ("organizations",)
    defaults = {"min_age_days": 90}

    def run(self, context: Context) -> Iterator[Found]:
        min_age = context.settings["min_age_days"]
        age = days_between(Organization.registered_on, Project.approved_on)
        young = context.conn.execute(
            select(Project.project_id, Project.name, Project.budget_fen, Organization.uscc, Organization.name.label("org"),
                   age.label("age"))
            .join(Organization, Organization.uscc == Project.contractor_uscc)
            .where(Organization.registered_on.is_not(None), age < min_age,
                   Project.approved_on <= context.as_of)).all()
        source, target = aliased(Account), aliased(Account)
        pays_a_person = (select(Transfer.transfer_id)
                         .join(source, source.account_number == Transfer.from_account)
                         .where(source.holder_id == Organization.uscc, Transfer.transferred_on <= context.as_of,
                                ~exists().where(target.account_number == Transfer.to_account,
                                                target.holder_kind == "org"))
                         .exists())
        projects_per = (select(Project.contractor_uscc, func.count().label("projects"))
                        .where(Project.contractor_uscc.is_not(None), Project.approved_on <= context.as_of)
                        .group_by(Project.contractor_uscc).subquery())
        shells = context.conn.execute(
            select(Organization.uscc, Organization.name.label("org"), Project.project_id, Project.name,
                   Project.budget_fen)
            .join(projects_per, projects_per.c.contractor_uscc == Organization.uscc)
            .join(Project, Project.contractor_uscc == Organization.uscc)
            .where(projects_per.c.projects == 1, ~pays_a_person)).all()
        facts = Facts(context.conn)
        facts.load("organizations", [r.uscc for r in [*young, *shells]])
        facts.load("projects", [r.project_id for r in [*young, *shells]])
        for row in young:
            when = (msg("note.registered_before_approval", days=row.age, project_id=row.project_id) if row.age >= 0
                    else msg("note.registered_after_approval", days=-row.age, project_id=row.project_id))
            yield Found(
                subjects=[Ref("organization", row.uscc, row.org)],
                records=[Ref("project", row.project_id, amount_fen=row.budget_fen), Ref("organization", row.uscc)],
                evidence=[facts.organization(row.uscc, when),
                          facts.project(row.project_id)],
                score=0.75, amount_at_risk_fen=row.budget_fen)
        for row in shells:
            yield Found(
                subjects=[Ref("organization", row.uscc, row.org)],
                records=[Ref("project", row.project_id, amount_fen=row.budget_fen), Ref("organization", row.uscc)],
                evidence=[facts.organization(row.uscc, msg("note.one_project_only")),
                          facts.project(row.project_id),
                          Evidence("search", f"transfers/from accounts of {row.uscc}",
                                   msg("evidence.pays_no_wages", organization=row.org, uscc=row.uscc),
                                   {"table": "transfers", "holder_id": row.uscc, "holder_kind": "org"})],
                score=0.7, amount_at_risk_fen=row.budget_fen)

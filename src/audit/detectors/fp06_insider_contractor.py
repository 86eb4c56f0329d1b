"""FP-06 insider contractor.

What it flags: a project whose contractor's legal representative or a shareholder is an
official with power over the project (its approver, a village cadre of its village, a
finance officer of a unit paying it, an official who approved a payment of it), or that
official's kin, on the approval date. An official of another village, or without power
over this project, does not count.

Why it matters: an official awarding a project to his own or his family's company is
self-dealing, whatever the price; it is how projects are invented to be paid to insiders.

Settings: none.

Evidence, in order: the project, the contractor and the owner's role in it (legal
representative or shareholder row), the kinship row when a relative is the link, the
official and the power they held.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import select

from audit.detectors.base import Context, Detector, Found, Ref, msg
from audit.detectors.facts import Facts
from audit.detectors.power import Power
from audit.detectors.moved import Disbursement
from audit.models import Organization, Project, Shareholder


class InsiderContractor(Detector):
    code = "FP-06"
    judges = "project"
    needs = ("organizations", "officials")
    defaults: dict = {}

    def run(self, context: Context) -> Iterator[Found]:
        power = Power.of(context.conn, context.cache)
        owners: dict[str, list[tuple[str, str]]] = {}
        for uscc, person in context.conn.execute(
                select(Organization.uscc, Organization.legal_rep_id_number)
                .where(Organization.legal_rep_id_number.is_not(None))):
            owners.setdefault(uscc, []).append((person, "legal_rep"))
        for uscc, person in context.conn.execute(select(Shareholder.uscc, Shareholder.id_number)):
            owners.setdefault(uscc, []).append((person, "shareholder"))
        payers: dict[str, set[tuple[str, str | None]]] = {}
        for project_id, unit, approved_by in context.conn.execute(
                select(Disbursement.project_id, Disbursement.payer_unit, Disbursement.approved_by)
                .where(Disbursement.project_id.is_not(None), Disbursement.paid_on <= context.as_of)):
            payers.setdefault(project_id, set()).add((unit, approved_by))
        projects = context.conn.execute(
            select(Project.project_id, Project.name, Project.budget_fen, Project.village_code,
                   Project.contractor_uscc, Project.approver_official_id, Project.approved_on)
            .where(Project.contractor_uscc.is_not(None), Project.approved_on <= context.as_of)).all()
        facts = Facts(context.conn)
        for project in projects:
            people = owners.get(project.contractor_uscc, [])
            if not people:
                continue
            holders: dict[str, str] = {}
            for unit, approved_by in payers.get(project.project_id, {(None, None)}):
                holders.update(power.holders(village=project.village_code, unit=unit,
                                             official_ids=(project.approver_official_id, approved_by),
                                             on=project.approved_on))
            insiders = power.insiders(holders)
            for person, role in people:
                if person not in insiders:
                    continue
                official_id, kinship = insiders[person]
                yield self._found(facts, project, person, role, official_id, kinship, holders[official_id])

    @staticmethod
    def _found(facts: Facts, project: Any, person: str, role: str, official_id: str,
               kinship: tuple[str, str, str] | None, why: str) -> Found:
        official = facts.get("officials", official_id)
        assert official is not None
        link = (facts.organization(project.contractor_uscc, msg("note.the_contractor")) if role == "legal_rep"
                else facts.shareholder(project.contractor_uscc, person))
        steps = [facts.project(project.project_id), link]
        if role == "shareholder":
            steps.insert(1, facts.organization(project.contractor_uscc, msg("note.the_contractor")))
        if kinship:
            steps.append(facts.kinship(*kinship, {official["id_number"]: official["name"]}))
        steps.append(facts.official(official_id, msg("note.power_when_approved", why=msg(why).as_dict())))
        return Found(
            subjects=[Ref("organization", project.contractor_uscc), Ref("official", official_id, official["name"])],
            records=[Ref("project", project.project_id, amount_fen=project.budget_fen)],
            evidence=steps, score=0.9 if kinship is None else 0.85, amount_at_risk_fen=project.budget_fen)

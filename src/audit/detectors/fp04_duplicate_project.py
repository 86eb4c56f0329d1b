"""FP-04 duplicate project (一项目多头申报).

What it flags: two projects in the same village and category whose planned periods
(``planned_start``…``planned_end``) overlap, whose names or descriptions are near-identical
(rapidfuzz similarity ≥ ``similarity``), and that are funded from different allocations.

Why it matters: declaring one project to two funding channels gets it paid twice; the
second "project" is fictitious.

Settings: ``similarity`` (default 0.8).

Evidence, in order: both projects (names, periods), the similarity found, and the
allocations each was paid from.
"""

from __future__ import annotations

from collections.abc import Iterator

from rapidfuzz import fuzz
from sqlalchemy import and_, select
from sqlalchemy.orm import aliased

from audit.detectors.base import Context, Detector, Evidence, Found, Ref, msg
from audit.detectors.facts import Facts
from audit.detectors.moved import Disbursement
from audit.models import Project


class DuplicateProject(Detector):
    code = "FP-04"
    judges = "project"
    defaults = {"similarity": 0.8}

    def run(self, context: Context) -> Iterator[Found]:
        a, b = aliased(Project), aliased(Project)
        pairs = context.conn.execute(
            select(a.project_id.label("a"), b.project_id.label("b"), a.name.label("name_a"), b.name.label("name_b"),
                   a.description.label("desc_a"), b.description.label("desc_b"), b.budget_fen)
            .join(b, and_(b.village_code == a.village_code, b.category == a.category, b.project_id > a.project_id))
            .where(a.planned_start <= b.planned_end, b.planned_start <= a.planned_end,
                   a.approved_on <= context.as_of, b.approved_on <= context.as_of)).all()
        threshold = context.settings["similarity"] * 100
        similar = []
        for pair in pairs:
            score = max(fuzz.ratio(pair.name_a, pair.name_b),
                        fuzz.ratio(pair.desc_a or "", pair.desc_b or "") if pair.desc_a and pair.desc_b else 0)
            if score >= threshold:
                similar.append((pair, score))
        if not similar:
            return
        ids = sorted({p.a for p, _ in similar} | {p.b for p, _ in similar})
        funding: dict[str, set[str]] = {}
        for project_id, allocation_id in context.conn.execute(
                select(Disbursement.project_id, Disbursement.allocation_id).distinct()
                .where(Disbursement.project_id.in_(ids), Disbursement.paid_on <= context.as_of)):
            funding.setdefault(project_id, set()).add(allocation_id)
        facts = Facts(context.conn)
        facts.load("projects", ids)
        for pair, score in similar:
            first, second = funding.get(pair.a, set()), funding.get(pair.b, set())
            if not first or not second or first == second:
                continue
            yield Found(
                subjects=[Ref("project", pair.a, pair.name_a), Ref("project", pair.b, pair.name_b)],
                records=[Ref("project", pair.a), Ref("project", pair.b, amount_fen=pair.budget_fen)],
                evidence=[facts.project(pair.a, msg("note.paid_from", allocations=sorted(first))),
                          facts.project(pair.b, msg("note.paid_from", allocations=sorted(second))),
                          Evidence("comparison", f"{pair.a}|{pair.b}",
                                   msg("evidence.duplicate_project", similarity=f"{score:.0f}"),
                                   {"similarity": round(score / 100, 3)})],
                score=0.8, amount_at_risk_fen=pair.budget_fen)

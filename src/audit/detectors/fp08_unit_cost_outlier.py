"""FP-08 unit-cost outlier.

What it flags: a project whose cost per unit (yuan per km, per kW, per household …) is
far from its peers' — projects sharing both ``category`` and ``unit`` — by a robust
z-score of at least ``z`` on log cost per unit (median and MAD, so the outliers do not
hide themselves by moving the mean). Groups with fewer than ``min_peers`` projects are not
judged.

Why it matters: a road at four times the county's price per km is an inflated budget
(虚增预算): the difference is the money at risk.

Settings: ``z`` (default 3.5), ``min_peers`` (default 5).

Evidence, in order: the project (budget, quantity), then the peer group: median cost per
unit, the typical range, and this project's z-score.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from sqlalchemy import select

from audit.detectors.base import Context, Detector, Evidence, Found, Ref, msg, yuan
from audit.detectors.facts import Facts
from audit.models import Project


class UnitCostOutlier(Detector):
    code = "FP-08"
    judges = "project"
    defaults = {"z": 3.5, "min_peers": 5}

    def run(self, context: Context) -> Iterator[Found]:
        rows = context.conn.execute(
            select(Project.project_id, Project.name, Project.category, Project.unit, Project.budget_fen,
                   Project.quantity)
            .where(Project.quantity > 0, Project.unit.is_not(None), Project.budget_fen > 0,
                   Project.approved_on <= context.as_of)).all()
        groups: dict[tuple[str, str], list] = {}
        for row in rows:
            groups.setdefault((row.category, row.unit), []).append(row)
        facts = Facts(context.conn)
        for (category, unit), peers in groups.items():
            if len(peers) < context.settings["min_peers"]:
                continue
            log_cost = np.log(np.array([p.budget_fen / p.quantity for p in peers], dtype=float))
            median = float(np.median(log_cost))
            mad = float(np.median(np.abs(log_cost - median)))
            if mad == 0:
                continue
            z_scores = (log_cost - median) / (1.4826 * mad)
            low, high = np.exp(np.percentile(log_cost, [5, 95]))
            for peer, z in zip(peers, z_scores, strict=True):
                if abs(z) < context.settings["z"]:
                    continue
                typical_fen = int(round(np.exp(median) * peer.quantity))
                excess = max(0, peer.budget_fen - typical_fen)
                facts.load("projects", [peer.project_id])
                yield Found(
                    subjects=[Ref("project", peer.project_id, peer.name)],
                    records=[Ref("project", peer.project_id, amount_fen=excess)],
                    evidence=[facts.project(peer.project_id, msg("note.cost_per_unit",
                                                                 cost=yuan(int(peer.budget_fen / peer.quantity)),
                                                                 unit=unit)),
                              Evidence("peer_group", f"{category}/{unit}",
                                       msg("evidence.peer_group", peers=len(peers), category=category, unit=unit,
                                           median=yuan(int(np.exp(median))), low=yuan(int(low)),
                                           high=yuan(int(high)), z=f"{z:+.1f}"),
                                       {"peers": len(peers), "median_per_unit": yuan(int(np.exp(median))),
                                        "p5": yuan(int(low)), "p95": yuan(int(high)), "z": round(float(z), 2)})],
                    score=min(0.9, 0.5 + abs(float(z)) / 20), amount_at_risk_fen=excess)

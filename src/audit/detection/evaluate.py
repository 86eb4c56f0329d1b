"""Scoring stored findings against a generator's ``truth.json``.

A finding matches a planted case when its code is the case's code (or one the case may
also raise) and the two share a record or a subject. Recall per code: planted cases of
that code matched by a finding of it. Precision per code: findings of that code that match
a case allowing it. A decoy is flagged when a finding of the decoy's code names one of
its records.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from audit.detection.queries import stored_findings
from audit.detectors.catalogue import CODES


def _keys(items: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {(item["kind"], item["key"]) for item in items}


def evaluate(conn: Connection, truth: dict[str, Any]) -> dict[str, dict[str, Any]]:
    findings = [(f.code, _keys(f.records), _keys(f.records) | _keys(f.subjects), f.id) for f in stored_findings(conn)]
    cases = [(c["code"], set(c.get("may_also", [])), _keys(c["records"]) | _keys(c["subjects"]), c["id"])
             for c in truth["cases"]]
    result: dict[str, dict[str, Any]] = {}
    for code in CODES:
        mine = [f for f in findings if f[0] == code]
        planted = [c for c in cases if c[0] == code]
        found = [c for c in planted if any(c[2] & f[2] for f in mine)]
        allowed = [c for c in cases if c[0] == code or code in c[1]]
        true = [f for f in mine if any(c[2] & f[2] for c in allowed)]
        decoys = [d["id"] for d in truth["decoys"] if d["code"] == code
                  and any(_keys(d["records"]) & f[1] for f in mine)]
        result[code] = {
            "planted": len(planted), "found": len(found),
            "recall": round(len(found) / len(planted), 3) if planted else None,
            "findings": len(mine), "true": len(true),
            "precision": round(len(true) / len(mine), 3) if mine else None,
            "missed": [c[3] for c in planted if c not in found],
            "false": [f[3] for f in mine if f not in true][:20],
            "decoys_flagged": decoys,
        }
    return result

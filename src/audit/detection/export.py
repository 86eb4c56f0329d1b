"""Findings as red-flags.md shapes them: a JSON list, or CSV one finding per line."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection

from audit.detection.queries import stored_findings
from audit.detectors.base import yuan


def finding_dict(row: Any) -> dict[str, Any]:
    return {
        "id": f"f-{row.id:06d}", "code": row.code, "family": row.family, "title": row.title,
        "score": row.score, "subjects": row.subjects, "records": row.records,
        "amount_at_risk": yuan(row.amount_at_risk_fen), "evidence": row.evidence, "params": row.params,
        "detected_at": row.detected_at.strftime("%Y-%m-%dT%H:%M:%SZ"), "status": row.status,
        "case_id": row.case_id,
    }


def findings_json(conn: Connection, codes: Iterable[str] | None = None, include_stale: bool = False) -> str:
    statuses = ("open", "stale") if include_stale else ("open",)
    return json.dumps([finding_dict(r) for r in stored_findings(conn, codes, statuses)], ensure_ascii=False,
                      indent=1) + "\n"


def findings_csv(conn: Connection, codes: Iterable[str] | None = None, include_stale: bool = False) -> str:
    statuses = ("open", "stale") if include_stale else ("open",)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["id", "code", "title", "score", "status", "case_id", "amount_at_risk", "subjects", "records",
                     "evidence", "detected_at"])
    for row in stored_findings(conn, codes, statuses):
        item = finding_dict(row)
        writer.writerow([item["id"], item["code"], item["title"], item["score"], item["status"], item["case_id"],
                         item["amount_at_risk"],
                         "; ".join(f"{s['kind']}:{s['key']}" for s in item["subjects"]),
                         "; ".join(f"{r['kind']}:{r['key']}" for r in item["records"]),
                         " → ".join(e["fact"] for e in item["evidence"]), item["detected_at"]])
    return out.getvalue()

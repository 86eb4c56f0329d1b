"""Findings as red-flags.md shapes them: a JSON list, or CSV one finding per line, with
their texts in the reader's language and personal numbers masked unless revealed."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection

from audit.detection.queries import stored_findings
from audit.detectors.base import yuan
from audit.evidence import render_finding


def finding_dict(row: Any, lang: str = "zh", masked: bool = True) -> dict[str, Any]:
    return render_finding({
        "id": f"f-{row.id:06d}", "code": row.code, "family": row.family,
        "score": row.score, "subjects": row.subjects, "records": row.records,
        "amount_at_risk": yuan(row.amount_at_risk_fen), "amount_owed": yuan(row.amount_owed_fen),
        "evidence": row.evidence, "params": row.params,
        "detected_at": row.detected_at.strftime("%Y-%m-%dT%H:%M:%SZ"), "status": row.status,
        "case_id": row.case_id,
    }, lang, masked)


def findings_json(conn: Connection, codes: Iterable[str] | None = None, include_stale: bool = False, *,
                  lang: str = "zh", masked: bool = True) -> tuple[str, int]:
    statuses = ("open", "stale") if include_stale else ("open",)
    items = [finding_dict(r, lang, masked) for r in stored_findings(conn, codes, statuses)]
    return json.dumps(items, ensure_ascii=False, indent=1) + "\n", len(items)


def findings_csv(conn: Connection, codes: Iterable[str] | None = None, include_stale: bool = False, *,
                 lang: str = "zh", masked: bool = True) -> tuple[str, int]:
    statuses = ("open", "stale") if include_stale else ("open",)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["id", "code", "title", "score", "status", "case_id", "amount_at_risk", "amount_owed", "subjects",
                     "records", "evidence", "detected_at"])
    count = 0
    for row in stored_findings(conn, codes, statuses):
        item = finding_dict(row, lang, masked)
        count += 1
        writer.writerow([item["id"], item["code"], item["title"], item["score"], item["status"], item["case_id"],
                         item["amount_at_risk"], item["amount_owed"],
                         "; ".join(f"{s['kind']}:{s['key']}" for s in item["subjects"]),
                         "; ".join(f"{r['kind']}:{r['key']}" for r in item["records"]),
                         " → ".join(e["fact"] for e in item["evidence"]), item["detected_at"]])
    return out.getvalue(), count

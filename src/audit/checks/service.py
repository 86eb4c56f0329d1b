"""Checking lines before release, with the scan's own importer and detectors.

The candidate lines (disbursements, or a month's card-payment roster) are imported into
the store inside a SAVEPOINT — the same parsing, validation and reference checks as any
import — the detectors that can judge such a line run exactly as in a scan, and the
savepoint is rolled back: nothing of the lines is kept. Each line gets ``pass`` or
``hold``, with the findings (and their evidence) or the import errors behind a hold. The
verdicts are stored; a held line is released only by a finance officer with a reason,
and the release goes into the audit trail.
"""

from __future__ import annotations

import csv
import tempfile
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, insert, select

from audit import trail
from audit.detection.service import find
from audit.importer.read import open_dataset
from audit.importer.service import load_dataset
from audit.importer.spec import BY_NAME
from audit.models import PreReleaseCheck, Release

# The detectors that can judge a line of each kind (all of them, for that kind of record).
CODES = {
    "card_roster": ("FP-03", "DC-01", "DC-02", "DC-03", "DC-04", "DC-05", "DC-06", "DC-07", "DC-08", "DC-10",
                    "DV-02"),
    "disbursements": ("FP-01", "FP-03", "FP-07", "DC-09", "DV-01", "DV-02", "DV-04"),
}
TABLE = {"card_roster": "card_payments", "disbursements": "disbursements"}
KIND = {"card_roster": "card_payment", "disbursements": "disbursement"}


class CheckError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def write_lines(folder: Path, kind: str, lines: list[dict[str, Any]]) -> Path:
    """JSON lines as the interchange CSV the importer reads."""
    table = TABLE[kind]
    columns = [c.name for c in BY_NAME[table].columns]
    with (folder / f"{table}.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, columns, extrasaction="ignore")
        writer.writeheader()
        for line in lines:
            writer.writerow({k: "" if v is None else v for k, v in line.items()})
    return folder


def run_check(conn: Connection, kind: str, dataset_path: Path, user: Any) -> dict[str, Any]:
    table, record_kind = TABLE[kind], KIND[kind]
    with ExitStack() as stack:
        dataset = open_dataset(dataset_path, stack)
        if [t.table for t in dataset.tables] != [table]:
            raise CheckError(422, f"a {kind} check takes one {table} table")
        savepoint = conn.begin_nested()
        try:
            report = load_dataset(conn, dataset, partial=True, imported_by=f"check by {user.name}",
                                  collect_keys=True)
            keys = report.keys.get(table, [])
            found = find(conn, CODES[kind], {record_kind: set(keys)}) if keys else {}
        finally:
            savepoint.rollback()
    reasons: dict[str, list[dict[str, Any]]] = {key: [] for key in keys}
    for code, items in found.items():
        for item in items:
            for record in item.records:
                if record.kind == record_kind and record.key in reasons:
                    reasons[record.key].append({"code": code, "score": item.score,
                                                "evidence": [e.as_dict() for e in item.evidence]})
    lines = [{"key": key, "verdict": "hold" if why else "pass", "reasons": why} for key, why in reasons.items()]
    by_row: dict[int, list[str]] = {}
    for error in report.errors:
        by_row.setdefault(error.row, []).append(f"{error.column} {error.value!r}: {error.reason}")
    lines += [{"key": f"row {row}", "verdict": "hold", "reasons": [{"code": "import", "errors": why}]}
              for row, why in sorted(by_row.items())]
    check_id = conn.execute(insert(PreReleaseCheck).values(
        kind=kind, created_by=user.id, created_at=datetime.now(UTC), lines=lines,
    ).returning(PreReleaseCheck.id)).scalar_one()
    held = [line["key"] for line in lines if line["verdict"] == "hold"]
    trail.append(conn, user.name, "prerelease_check", f"check {check_id}",
                 {"kind": kind, "lines": len(lines), "held": held})
    return {"check_id": check_id, "kind": kind, "lines": lines,
            "summary": {"lines": len(lines), "pass": len(lines) - len(held), "hold": len(held)}}


def check_lines(conn: Connection, kind: str, lines: list[dict[str, Any]], user: Any) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        return run_check(conn, kind, write_lines(Path(folder), kind, lines), user)


def check_file(conn: Connection, kind: str, content: bytes, suffix: str, user: Any) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{TABLE[kind]}{suffix}"
        path.write_bytes(content)
        return run_check(conn, kind, path, user)


def release(conn: Connection, check_id: int, line_key: str, reason: str, user: Any) -> None:
    check = conn.execute(select(PreReleaseCheck).where(PreReleaseCheck.id == check_id)).first()
    if check is None:
        raise CheckError(404, f"no check {check_id}")
    line = next((line for line in check.lines if line["key"] == line_key), None)
    if line is None:
        raise CheckError(404, f"check {check_id} has no line {line_key}")
    if line["verdict"] != "hold":
        raise CheckError(409, f"line {line_key} passed; there is nothing to release")
    if not reason.strip():
        raise CheckError(422, "a release needs its reason")
    conn.execute(insert(Release).values(check_id=check_id, line_key=line_key, reason=reason, released_by=user.id,
                                        released_at=datetime.now(UTC)))
    trail.append(conn, user.name, "prerelease_override", f"check {check_id} line {line_key}",
                 {"reason": reason, "held_for": [r["code"] for r in line["reasons"]]})


def get_check(conn: Connection, check_id: int) -> dict[str, Any]:
    check = conn.execute(select(PreReleaseCheck).where(PreReleaseCheck.id == check_id)).first()
    if check is None:
        raise CheckError(404, f"no check {check_id}")
    released = {r.line_key: {"reason": r.reason, "at": r.released_at.isoformat()}
                for r in conn.execute(select(Release).where(Release.check_id == check_id))}
    return {"check_id": check.id, "kind": check.kind, "created_at": check.created_at.isoformat(),
            "lines": [{**line, "released": released.get(line["key"])} for line in check.lines]}

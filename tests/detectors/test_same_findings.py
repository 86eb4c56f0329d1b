"""Every detector's output on the shipped county, held to the file beside it
(``expected_findings.json``): what each rule finds, about whom, on which
records, with what money, score and evidence steps.

Rewriting a detector for speed (reduce first, then join: issue 13's DC-07 and DC-10) must
not change what it finds; this is the test that says so, on both databases, the way the
narrowing test holds a pre-release check to a scan. When a change is *meant* to change
findings (a new rule, a regenerated county), rewrite the file and read its diff:

    AUDIT_UPDATE_FINDINGS=1 scripts/test tests/detectors/test_same_findings.py
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from audit.detection.queries import latest_date
from audit.detectors.base import Context, Found
from audit.detectors.registry import select_detectors
from audit.importer.service import import_path
from tests.conftest import COUNTY

EXPECTED = Path(__file__).with_name("expected_findings.json")


def canonical(found: Found) -> dict[str, Any]:
    """A finding as plain, ordered data: nothing in it depends on the database's row order."""
    return {
        "subjects": sorted(f"{r.kind}:{r.key}" for r in found.subjects),
        "records": sorted(f"{r.kind}:{r.key}:{r.amount_fen}" for r in found.records),
        "amount_at_risk_fen": found.amount_at_risk_fen,
        "score": found.score,
        "evidence": sorted(f"{e.kind}:{e.key}:{e.message.id}" for e in found.evidence),
    }


def scan(engine: Engine) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    with engine.connect() as conn:
        as_of = latest_date(conn)
        cache: dict[str, Any] = {}
        for detector in select_detectors():
            found = detector.run(Context(conn, as_of, dict(detector.defaults), cache))
            out[detector.code] = sorted((canonical(f) for f in found), key=lambda f: json.dumps(f, sort_keys=True))
    return out


def test_every_detector_finds_on_the_shipped_county_what_it_found_before(engine: Engine) -> None:
    assert import_path(engine, COUNTY).outcome == "committed"
    now = scan(engine)
    if os.environ.get("AUDIT_UPDATE_FINDINGS"):
        EXPECTED.write_text(json.dumps(now, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        pytest.skip(f"rewrote {EXPECTED.name}")
    before = json.loads(EXPECTED.read_text(encoding="utf-8"))
    assert sorted(now) == sorted(before), "the set of codes changed"
    for code in before:
        gone = [f for f in before[code] if f not in now[code]]
        new = [f for f in now[code] if f not in before[code]]
        assert not gone and not new, f"{code}: {len(gone)} findings gone, {len(new)} new; first: {(gone or new)[0]}"

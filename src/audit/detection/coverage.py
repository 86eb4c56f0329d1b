"""Coverage per rule: what each detector could examine on a run, what it flagged, and the
table it needs that is empty (red-flags.md: a rule whose registry is missing sees nothing,
and the service says so instead of silently finding nothing).

A rule "could examine" the records of the kind it judges (money that moved: paid card
payments, effective disbursements; projects; allocations) when every table it compares
them with holds rows (and at least one of those it needs one of); otherwise it examined
none, and the empty tables are named.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, exists, func, select

from audit.detectors import moved
from audit.detectors.base import Detector, Found
from audit.importer.spec import BY_NAME
from audit.models import Allocation, Person, Project

# ME-01 judges people of the register (who was owed and not paid), not payments.
JUDGED = {"card_payment": moved.CardPayment, "disbursement": moved.Disbursement, "project": Project,
          "allocation": Allocation, "person": Person}


class Coverage:
    """Counts read once per run: rows of each judged kind, whether each table holds any."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._judged: dict[str, int] = {}
        self._filled: dict[str, bool] = {}

    def judged(self, kind: str) -> int:
        if kind not in self._judged:
            entity = JUDGED[kind]
            self._judged[kind] = int(self.conn.execute(select(func.count()).select_from(entity)).scalar_one())
        return self._judged[kind]

    def filled(self, table: str) -> bool:
        if table not in self._filled:
            model = BY_NAME[table].model
            self._filled[table] = bool(self.conn.execute(select(exists().select_from(model))).scalar())
        return self._filled[table]

    def of(self, detector: Detector, found: list[Found]) -> dict[str, Any]:
        """{"judges", "examined", "flagged", "missing": [tables]} for one detector's run."""
        missing = [table for table in detector.needs if not self.filled(table)]
        if detector.needs_any and not any(self.filled(table) for table in detector.needs_any):
            missing += list(detector.needs_any)
        flagged = {r.key for item in found for r in item.records if r.kind == detector.judges}
        return {"judges": detector.judges, "examined": 0 if missing else self.judged(detector.judges),
                "flagged": len(flagged), "missing": missing}


def latest(conn: Connection) -> dict[str, Any]:
    """The latest completed run's coverage: {"run_id", "as_of", "rules": {code: coverage}}
    (rules run before coverage was recorded have none); empty before any run."""
    from audit.models import DetectionRun

    run = conn.execute(select(DetectionRun.id, DetectionRun.as_of, DetectionRun.detectors)
                       .where(DetectionRun.outcome == "completed").order_by(DetectionRun.id.desc()).limit(1)).first()
    if run is None:
        return {}
    return {"run_id": run.id, "as_of": run.as_of.isoformat(),
            "rules": {code: entry["coverage"] for code, entry in (run.detectors or {}).items() if "coverage" in entry}}


def blind(conn: Connection) -> list[tuple[str, list[str]]]:
    """The rules that saw nothing on the latest run because a table they need is empty:
    (code, the empty tables), in the catalogue's order."""
    from audit.detectors.catalogue import CODES

    rules = latest(conn).get("rules", {})
    return [(code, rules[code]["missing"]) for code in CODES if code in rules and rules[code]["missing"]]

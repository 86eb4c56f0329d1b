"""One detection run: every selected detector over the whole store, in one transaction.

Findings are keyed by a fingerprint (code + the records they name): a second run updates
them instead of adding copies, and marks stale (never deletes) those whose facts are gone.
Findings gather into cases by their first subject. An open case is rescored from its open
findings, each code's score moved by its learned hit rate, and every open case is tiered
(audit.cases.triage); a decided case keeps its decision and score, and a finding arriving
after the decision is written into the case's history instead. A detector that raises fails the
whole run: nothing is half-written, and the failure is recorded.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, insert, update
from sqlalchemy.exc import OperationalError

from audit import trail
from audit.cases import triage
from audit.config import get_settings
from audit.county import service as county
from audit.db import statement_deadline, temp_file_bound, work_memory
from audit.detection import queries
from audit.detection.coverage import Coverage
from audit.detectors.base import Context, Detector, Found, fen_of, yuan
from audit.detectors.registry import select_detectors
from audit.errors import MessageError
from audit.models import Case, CaseEvent, DetectionRun, Finding

DECIDED = {"confirmed", "dismissed", "referred", "closed"}
ProgressFn = Callable[[str, int, int], None]
# Told as each detector ends: its code and its entry in the run's report (seconds, counts).
FinishedFn = Callable[[str, dict[str, Any]], None]


@dataclass
class RunReport:
    run_id: int
    as_of: date
    detectors: dict[str, dict[str, Any]] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def findings(self) -> int:
        return sum(d["findings"] for d in self.detectors.values())


def fingerprint(code: str, found: Found) -> str:
    keys = sorted(f"{r.kind}:{r.key}" for r in found.records)
    return hashlib.sha256("\n".join([code, *keys]).encode()).hexdigest()


def run_detection(conn: Connection, *, codes: Iterable[str] | None = None, as_of: date | None = None,
                  overrides: dict[str, dict[str, Any]] | None = None, progress: ProgressFn | None = None,
                  finished: FinishedFn | None = None, actor: str = "system") -> RunReport:
    """Run on ``conn`` without committing; the caller commits (see :func:`detect`).
    ``progress`` is told (code, detectors done, detectors in all) as each detector starts and
    once more when the last has ended; ``finished`` (code, report entry) as each one ends."""
    detectors = select_detectors(codes)
    as_of = as_of or queries.latest_date(conn)
    # The county's thresholds in force (set on screen), then this run's own overrides on top.
    in_force = county.detector_overrides(conn)
    overrides = {code: {**in_force.get(code, {}), **(overrides or {}).get(code, {})}
                 for code in {*in_force, *(overrides or {})}}
    now = datetime.now(UTC)
    run_id = conn.execute(insert(DetectionRun).values(
        started_at=now, as_of=as_of, outcome="running", codes=[d.code for d in detectors], detectors={},
    ).returning(DetectionRun.id)).scalar_one()
    report = RunReport(run_id, as_of)
    started = time.perf_counter()
    cache: dict[str, Any] = {}
    touched: dict[int, list[str]] = {}
    coverage = Coverage(conn)
    for index, detector in enumerate(detectors):
        settings = {**detector.defaults, **overrides.get(detector.code, {})}
        unknown = set(overrides.get(detector.code, {})) - set(detector.defaults)
        if unknown:
            raise MessageError("error.detect_unknown_setting", code=detector.code,
                               settings=", ".join(sorted(unknown)), known=", ".join(sorted(detector.defaults)))
        if progress:
            progress(detector.code, index, len(detectors))
        began = time.perf_counter()
        found = _bounded(conn, detector, lambda: list(detector.run(Context(conn, as_of, settings, cache))))
        seconds = time.perf_counter() - began
        counts = _persist(conn, detector, found, settings, run_id, now, touched)
        report.detectors[detector.code] = {"version": detector.version, "settings": settings,
                                           "seconds": round(seconds, 3), **counts,
                                           "coverage": coverage.of(detector, found)}
        if finished:
            finished(detector.code, report.detectors[detector.code])
    if progress and detectors:
        progress(detectors[-1].code, len(detectors), len(detectors))
    _rescore(conn, touched, run_id, now)
    # Tiers read every open case (repeat subjects cross cases): all of them, after the scores.
    triage.refresh(conn)
    # Those who watch a subject of a new finding are told (one query when nobody watches).
    from audit.watch.service import notify_run

    notify_run(conn, run_id)
    report.seconds = time.perf_counter() - started
    conn.execute(update(DetectionRun).where(DetectionRun.id == run_id).values(
        finished_at=datetime.now(UTC), outcome="completed", detectors=report.detectors))
    trail.append(conn, actor, "detection_run", f"run {run_id}", {
        "as_of": as_of.isoformat(), "findings": report.findings,
        "codes": {code: {"version": d["version"], "findings": d["findings"], "new": d["new"], "stale": d["stale"]}
                  for code, d in report.detectors.items()}})
    return report


def _bounded(conn: Connection, detector: Detector, run: Callable[[], list[Found]]) -> list[Found]:
    """One detector's run under the time bound in force (``detector_timeout_seconds``): a
    statement the database stops for it fails the run, naming the detector and the bound."""
    settings = get_settings()
    limit = settings.detector_timeout_seconds
    try:
        with statement_deadline(conn, limit), temp_file_bound(conn, settings.detector_temp_file_limit_mb), \
                work_memory(conn, settings.detector_work_mem_mb):
            return run()
    except OperationalError as exc:
        text = str(exc.orig).lower()
        if "statement timeout" in text or "canceling statement" in text or "interrupted" in text:
            raise MessageError("error.detector_timeout", code=detector.code, seconds=limit) from None
        if "temp_file_limit" in text:
            raise MessageError("error.detector_temp_files", code=detector.code,
                               megabytes=settings.detector_temp_file_limit_mb) from None
        raise


def run_summary(report: RunReport) -> dict[str, Any]:
    """A run as the API and a detection job answer it: its id, date, findings, and per
    detector the counts, the time and the coverage."""
    return {"run_id": report.run_id, "as_of": report.as_of.isoformat(), "findings": report.findings,
            "detectors": {code: {k: d[k] for k in ("findings", "new", "stale", "seconds", "coverage")}
                          for code, d in report.detectors.items()}}


def find(conn: Connection, codes: Iterable[str], focus: dict[str, set[str]], as_of: date | None = None
         ) -> dict[str, list[Found]]:
    """Run detectors exactly as a scan does, keep only the findings that name a focus
    record, and store nothing: the pre-release check's use of the same code path."""
    as_of = as_of or queries.latest_date(conn)
    cache: dict[str, Any] = {}
    found: dict[str, list[Found]] = {}
    in_force = county.detector_overrides(conn)  # a check holds by the same thresholds as a scan
    for detector in select_detectors(codes):
        context = Context(conn, as_of, {**detector.defaults, **in_force.get(detector.code, {})}, cache, focus)
        found[detector.code] = [f for f in detector.run(context)
                                if any(r.key in focus.get(r.kind, set()) for r in f.records)]
    return found


def detect(engine: Engine, **kwargs: Any) -> RunReport:
    """A run as a command: committed when every detector succeeded; otherwise rolled back
    and the failed run recorded, then the error re-raised."""
    with engine.connect() as conn:
        transaction = conn.begin()
        try:
            report = run_detection(conn, **kwargs)
        except Exception as exc:
            transaction.rollback()
            with conn.begin():
                trail.append(conn, kwargs.get("actor", "system"), "detection_failed", "",
                             {"error": f"{type(exc).__name__}: {exc}"})
                conn.execute(insert(DetectionRun).values(
                    started_at=datetime.now(UTC), finished_at=datetime.now(UTC),
                    as_of=kwargs.get("as_of") or date.today(), outcome="failed",
                    codes=list(kwargs.get("codes") or []), detectors={}, error=f"{type(exc).__name__}: {exc}"))
            raise
        transaction.commit()
        return report


def _persist(conn: Connection, detector: Detector, found: list[Found], settings: dict[str, Any], run_id: int,
             now: datetime, touched: dict[int, list[str]]) -> dict[str, int]:
    by_print: dict[str, Found] = {}
    for item in found:
        key = fingerprint(detector.code, item)
        if key not in by_print or item.score > by_print[key].score:
            by_print[key] = item
    existing = queries.findings_of(conn, [detector.code])
    subjects = [(f.subjects[0].kind, f.subjects[0].key) for f in by_print.values()]
    cases = queries.cases_by_subject(conn, subjects)
    missing = [s for s in dict.fromkeys(subjects) if s not in cases]
    if missing:
        labels = queries.subject_labels(conn, missing)
        labels.update({(f.subjects[0].kind, f.subjects[0].key): f.subjects[0].label
                       for f in by_print.values() if f.subjects[0].label})
        places = queries.subject_places(conn, missing)
        created = conn.execute(insert(Case).returning(Case.id, Case.subject_kind, Case.subject_key), [
            {"subject_kind": kind, "subject_key": key, "label": labels.get((kind, key)),
             "title": f"{kind} {labels.get((kind, key)) or key}", "score": 0.0, "amount_at_risk_fen": 0,
             "amount_owed_fen": 0,
             "codes": [], "status": "open", "village_code": places.get((kind, key), (None, None))[0],
             "town_code": places.get((kind, key), (None, None))[1], "created_at": now, "updated_at": now}
            for kind, key in missing])
        for row in created:
            cases[(row.subject_kind, row.subject_key)] = row.id
            touched.setdefault(row.id, []).append("created")
    new_rows, update_rows = [], []
    for key, item in by_print.items():
        values = {"score": item.score, "subjects": [s.as_dict() for s in item.subjects],
                  "records": [r.as_dict() for r in item.records], "amount_at_risk_fen": item.amount_at_risk_fen,
                  "amount_owed_fen": item.amount_owed_fen,
                  "evidence": [e.as_dict() for e in item.evidence], "params": settings,
                  "detector_version": detector.version, "status": "open", "last_run_id": run_id, "updated_at": now}
        case_id = cases[(item.subjects[0].kind, item.subjects[0].key)]
        if key in existing:
            update_rows.append({**values, "finding_id": existing[key]["id"]})
            if existing[key]["status"] != "open":
                touched.setdefault(existing[key]["case_id"], []).append(f"reopened {detector.code}")
            else:
                touched.setdefault(existing[key]["case_id"], [])
        else:
            new_rows.append({**values, "fingerprint": key, "code": detector.code, "family": detector.family,
                             "title": detector.title, "case_id": case_id, "first_run_id": run_id,
                             "detected_at": now})
            touched.setdefault(case_id, []).append(f"new {detector.code}")
    if new_rows:
        conn.execute(insert(Finding), new_rows)
    if update_rows:
        statement = update(Finding).where(Finding.id == bindparam("finding_id")).values(
            {name: bindparam(name) for name in update_rows[0] if name != "finding_id"})
        conn.execute(statement, update_rows)
    stale = [f for key, f in existing.items() if key not in by_print and f["status"] == "open"]
    if stale:
        ids = [f["id"] for f in stale]
        for start in range(0, len(ids), 500):
            conn.execute(update(Finding).where(Finding.id.in_(ids[start:start + 500]))
                         .values(status="stale", updated_at=now, last_run_id=run_id))
        for f in stale:
            touched.setdefault(f["case_id"], []).append(f"stale {detector.code}")
    return {"findings": len(by_print), "new": len(new_rows), "updated": len(update_rows), "stale": len(stale)}


def search_text(case: Any, findings: list[Any]) -> str:
    """The names and keys a case may be searched by, each once: its own subject's and its
    open findings' subjects' (a second identity, an official, a contractor)."""
    words = [case.label or "", case.subject_key]
    for finding in findings:
        for subject in finding.subjects:
            words += [subject.get("label") or "", subject.get("key") or ""]
    return " | ".join(dict.fromkeys(w for w in words if w))


def _rescore(conn: Connection, touched: dict[int, list[str]], run_id: int, now: datetime) -> None:
    """Score and total each touched case from its open findings; decided cases keep theirs."""
    if not touched:
        return
    ids = sorted(touched)
    findings = queries.open_findings_of_cases(conn, ids)
    statuses = {}
    for start in range(0, len(ids), 500):
        for row in conn.execute(Case.__table__.select().where(Case.id.in_(ids[start:start + 500]))):
            statuses[row.id] = row
    settings = get_settings()
    rates = triage.hit_rates(conn, settings)
    updates, events = [], []
    for case_id in ids:
        case = statuses[case_id]
        mine = findings.get(case_id, [])
        changes = touched[case_id]
        if case.status in DECIDED:
            if any(not c.startswith("created") for c in changes):
                events.append({"case_id": case_id, "at": now, "kind": "after_decision", "run_id": run_id,
                               "detail": {"changes": changes, "note": f"case is {case.status}; not rescored"}})
            continue
        # Independent signals combine (noisy-or), but a code counts once, at its strongest
        # finding: twelve unusual months are one lead, not twelve.
        strongest: dict[str, float] = {}
        at_risk: dict[tuple[str, str], int] = {}
        for finding in mine:
            strongest[finding.code] = max(strongest.get(finding.code, 0.0), finding.score)
            for record in finding.records:
                amount = fen_of(record["amount"]) if "amount" in record else 0
                key = (record["kind"], record["key"])
                at_risk[key] = max(at_risk.get(key, 0), amount)
        # Each code's strongest score moved by the code's learned hit rate (triage.case_score).
        score, basis = triage.case_score(strongest, rates, settings)
        amount = sum(at_risk.values())
        # Money owed (ME findings) is summed apart: each finding owes its own entitlement.
        owed = sum(int(f.amount_owed_fen or 0) for f in mine)
        codes = sorted({f.code for f in mine})
        label = case.title.split(":")[0]
        updates.append({"case_id": case_id, "score": score, "score_basis": basis, "amount_at_risk_fen": amount,
                        "amount_owed_fen": owed, "codes": codes,
                        "title": f"{label}: {', '.join(codes)}" if codes else label, "updated_at": now,
                        "search_text": search_text(case, mine)})
        if changes or score != case.score:
            events.append({"case_id": case_id, "at": now, "kind": "detection", "run_id": run_id,
                           "detail": {"changes": changes, "score": score, "amount_at_risk": yuan(amount),
                                      **({"amount_owed": yuan(owed)} if owed else {})}})
    if updates:
        conn.execute(update(Case).where(Case.id == bindparam("case_id")).values(
            score=bindparam("score"), score_basis=bindparam("score_basis"),
            amount_at_risk_fen=bindparam("amount_at_risk_fen"),
            amount_owed_fen=bindparam("amount_owed_fen"), codes=bindparam("codes"),
            title=bindparam("title"), updated_at=bindparam("updated_at"), search_text=bindparam("search_text")),
            updates)
    if events:
        conn.execute(insert(CaseEvent), events)

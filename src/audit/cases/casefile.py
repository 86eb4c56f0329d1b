"""案件材料: a case's file, for the file or for a referral, as a PDF and as an .xlsx workbook
built from one :func:`build` (the same data in both), and its verification.

The file holds the subject; each finding with its stored parameters and detector version
and its evidence steps, each with the record it names; the detection runs that produced the
findings with the detectors' versions and settings in force; every decision, approval,
rectification and case event with who and when; the residents' complaints linked to the case
(each with its reference, date, text and answer; the phone number masked to its last four
digits unless the file reveals numbers); and the audit-trail entries about the case.
Every stored row it shows is listed with its fingerprint (:mod:`audit.rowhash`; a trail
entry with the chain hash it is stored with) in a 校验 list, and the list's own SHA-256 is
the file's digest (材料摘要), which the PDF prints and the download's trail entry records.

:func:`verify` reads the 校验 sheet of a workbook and recomputes every hash against the
store, naming each row changed or gone since, and checks that the digest is the one a
download put on the trail (so a hash list edited to match a changed row gives itself away).

Personal numbers are masked as on the case page unless the file is downloaded with a reveal
(a reason, on the trail, as the page's 查看完整号码). A masked key in the 校验 list is found
again through the case's own findings, which name the row in full.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select

from audit import trail
from audit.auth.service import Principal
from audit.cases.service import KINDS, ReviewError, _case, place_names, render_finding, summary, user_names
from audit.detectors.base import yuan
from audit.i18n import has, t
from audit.importer.spec import BY_NAME
from audit.complaints.service import rows_for_case as complaints_of_case
from audit.masking import mask_key, mask_text
from audit.models import AuditEntry, CaseDecision, CaseEvent, DetectionRun, Finding, Rectification
from audit.rowhash import hash_of, key_of, read_row, table_of

# The verifier finds the list by this name in either language.
HASH_SHEET = "casefile.sheet.hashes"
# Rows of the 校验 sheet above the list: the case, the digest, then the list's header.
CASE_CELL, DIGEST_CELL, LIST_HEADER_ROW = (0, 1), (1, 1), 3
# An uploaded workbook to verify: a case file's is a few hundred kilobytes.
MAX_UPLOAD = 20_000_000
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class CaseFileError(ReviewError):
    pass


def _when(value: datetime | None) -> str:
    if value is None:
        return ""
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def table_label(table: str, lang: str) -> str:
    """A table's name in words: the interchange tables' as the importer names them."""
    return t(f"enum.table.{table}" if table in BY_NAME else f"casefile.table.{table}", lang)


def action_label(action: str, lang: str) -> str:
    return t(f"ui.admin.action.{action}", lang) if has(f"ui.admin.action.{action}") else action


def digest(case_id: int, hashes: list[dict[str, Any]]) -> str:
    """The file's digest: SHA-256 over the case's id and its 校验 list as the file shows it."""
    lines = [f"case {case_id}"] + [f"{h['table']}|{h['key']}|{h['hash']}" for h in hashes]
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


# ---------------------------------------------------------------------- what the file lists

@dataclass
class _Listed:
    """The stored rows a case file fingerprints, in the file's order: (table, key, row)."""

    rows: list[tuple[str, str, Any]] = field(default_factory=list)
    seen: set[tuple[str, str]] = field(default_factory=set)

    def add(self, table: str, row: Any) -> tuple[str, bool]:
        """The row's key, and whether it is new to the list."""
        key = key_of(table_of(table), row)  # type: ignore[arg-type]
        if (table, key) in self.seen:
            return key, False
        self.seen.add((table, key))
        self.rows.append((table, key, row))
        return key, True


def _record_ref(step: dict[str, Any]) -> tuple[str, str] | None:
    """The stored table and key an evidence step (or a finding's record) names; None for a
    derived step (a comparison, a search)."""
    spec = KINDS.get(str(step.get("kind", "")))
    key = str(step.get("key") or "")
    return (spec.name, key) if spec is not None and key else None


def _trail_rows(conn: Connection, case_id: int) -> list[Any]:
    return conn.execute(select(AuditEntry).where(AuditEntry.subject == f"case {case_id}")
                        .order_by(AuditEntry.id)).all()


def stored_keys(conn: Connection, case_id: int) -> list[tuple[str, str]]:
    """Every (table, full key) the case's file would list now: how the verifier finds the row
    behind a masked key."""
    findings = conn.execute(select(Finding).where(Finding.case_id == case_id)).all()
    keys = [("cases", str(case_id))] + [("findings", str(f.id)) for f in findings]
    for finding in findings:
        for ref in [*finding.evidence, *finding.records]:
            named = _record_ref(ref)
            if named is not None:
                keys.append(named)
    return keys


def build(conn: Connection, case_id: int, user: Principal, lang: str, masked: bool) -> dict[str, Any]:
    """The case file as data: what both renderers print. Raises 404 for a case out of scope."""
    case = _case(conn, case_id, user)
    names = user_names(conn)
    listed = _Listed()
    hashes: list[dict[str, Any]] = []

    def fingerprint(table: str, row: Any, what: str, kind: str | None = None) -> str:
        key, new = listed.add(table, row)
        shown_key = mask_key(kind, key) if masked and kind else key
        value = row.hash if table == "audit_log" else hash_of(table_of(table), row)  # type: ignore[arg-type]
        if new:  # a row named by several steps is listed once, where it is first named
            hashes.append({"table": table, "table_name": table_label(table, lang), "key": shown_key,
                           "hash": value, "what": what})
        return value

    about = summary(case, lang, masked, names, place_names(conn))
    about["hash"] = fingerprint("cases", case, t("casefile.what.case", lang, id=case_id))
    findings = conn.execute(select(Finding).where(Finding.case_id == case_id)
                            .order_by(Finding.score.desc(), Finding.id)).all()
    shown_findings = []
    run_ids: set[int] = set()
    for finding in findings:
        label = f"F-{finding.id:06d}"
        shown = render_finding({"code": finding.code, "family": finding.family, "evidence": finding.evidence,
                                "subjects": finding.subjects, "records": finding.records}, lang, masked)
        item = {"id": finding.id, "label": label, "code": finding.code, "title": shown["title"],
                "family_name": shown["family_name"], "score": finding.score, "status": finding.status,
                "amount_at_risk": yuan(finding.amount_at_risk_fen), "amount_owed": yuan(finding.amount_owed_fen or 0),
                "detector_version": finding.detector_version, "params": finding.params,
                "detected_at": _when(finding.detected_at), "first_run_id": finding.first_run_id,
                "last_run_id": finding.last_run_id, "steps": []}
        item["hash"] = fingerprint("findings", finding, t("casefile.what.finding", lang, finding=label,
                                                          code=finding.code))
        run_ids.update({finding.first_run_id, finding.last_run_id})
        for number, (step, stored) in enumerate(zip(shown["evidence"], finding.evidence, strict=True), start=1):
            ref = _record_ref(stored)
            row = None if ref is None else read_row(conn, *ref)
            item["steps"].append({
                "number": number, "fact": step["fact"], "kind": stored["kind"],
                "kind_name": t(f"enum.record_kind.{stored['kind']}", lang)
                if has(f"enum.record_kind.{stored['kind']}") else stored["kind"],
                "key": step["key"], "table": ref[0] if ref else None,
                "hash": None if row is None or ref is None else fingerprint(
                    ref[0], row, t("casefile.what.step", lang, finding=label, step=number), stored["kind"]),
                "missing": ref is not None and row is None})
        for ref_kind in finding.records:
            ref = _record_ref(ref_kind)
            row = None if ref is None else read_row(conn, *ref)
            if ref is not None and row is not None:
                fingerprint(ref[0], row, t("casefile.what.record", lang, finding=label), ref_kind["kind"])
        shown_findings.append(item)

    codes = {f.code for f in findings}
    runs = []
    for run in conn.execute(select(DetectionRun).where(DetectionRun.id.in_(run_ids)).order_by(DetectionRun.id)):
        detectors = {code: {"version": spec.get("version"), "settings": spec.get("settings") or {}}
                     for code, spec in sorted((run.detectors or {}).items()) if code in codes}
        runs.append({"id": run.id, "as_of": run.as_of.isoformat(), "started_at": _when(run.started_at),
                     "finished_at": _when(run.finished_at), "outcome": run.outcome, "detectors": detectors,
                     "hash": fingerprint("detection_runs", run, t("casefile.what.run", lang, id=run.id))})

    def text(value: str | None) -> str:
        value = value or ""
        return mask_text(value) if masked else value

    decisions = []
    for d in conn.execute(select(CaseDecision).where(CaseDecision.case_id == case_id).order_by(CaseDecision.id)):
        decisions.append({"id": d.id, "decision": t(f"enum.decision.{d.decision}", lang), "reason": text(d.reason),
                          "by": names.get(d.decided_by, ""), "at": _when(d.decided_at),
                          "state": t(f"enum.decision_state.{d.state}", lang),
                          "reviewed_by": names.get(d.reviewed_by, "") if d.reviewed_by else "",
                          "reviewed_at": _when(d.reviewed_at), "review_note": text(d.review_note),
                          "hash": fingerprint("case_decisions", d, t("casefile.what.decision", lang, id=d.id))})
    fix = conn.execute(select(Rectification).where(Rectification.case_id == case_id)).first()
    rectification = None if fix is None else {
        "deadline": fix.deadline.isoformat(), "original_deadline": fix.original_deadline.isoformat(),
        "recovered": yuan(fix.recovered_fen), "accountable": "、".join(text(p) for p in fix.accountable or []),
        "note": text(fix.note), "closed_at": _when(fix.closed_at), "updated_at": _when(fix.updated_at),
        "hash": fingerprint("rectifications", fix, t("casefile.what.rectification", lang))}
    events = []
    for e in conn.execute(select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)):
        detail = dict(e.detail or {})
        events.append({"id": e.id, "at": _when(e.at), "kind": t(f"ui.event.{e.kind}", lang)
                       if has(f"ui.event.{e.kind}") else e.kind, "by": str(detail.pop("by", "") or ""),
                       "detail": text(event_text(e.kind, detail, lang)),
                       "hash": fingerprint("case_events", e, t("casefile.what.event", lang, id=e.id))})
    complaints = [{"id": c.id, "reference": c.reference, "received_at": _when(c.received_at), "name": c.name,
                   "phone": c.phone if not masked else mask_phone(c.phone), "text": text(c.text),
                   "status": t(f"enum.complaint_status.{c.status}", lang),
                   "answer": text(c.answer), "answered_by": names.get(c.answered_by, "") if c.answered_by else "",
                   "answered_at": _when(c.answered_at),
                   "hash": fingerprint("complaints", c, t("casefile.what.complaint", lang, reference=c.reference))}
                  for c in sorted(complaints_of_case(conn, case_id), key=lambda c: c.id)]
    entries = [{"id": r.id, "at": _when(r.at), "actor": r.actor, "action": action_label(r.action, lang),
                "hash": fingerprint("audit_log", r, t("casefile.what.trail", lang, id=r.id))}
               for r in _trail_rows(conn, case_id)]
    return {"case": about, "findings": shown_findings, "runs": runs, "decisions": decisions,
            "rectification": rectification, "events": events, "complaints": complaints, "trail": entries, "hashes": hashes,
            "digest": digest(case_id, hashes), "masked": masked, "lang": lang,
            "generated_at": _when(datetime.now(UTC)), "generated_by": user.name}


def mask_phone(phone: str) -> str:
    """A resident's phone number as a masked file shows it: its last four digits."""
    digits = phone.strip()
    return "*" * max(len(digits) - 4, 0) + digits[-4:]


def event_text(kind: str, detail: dict[str, Any], lang: str) -> str:
    """What a case event says, in words, as the case page's history reads it; an event of a
    kind the page does not spell out, as its stored fields."""
    from audit.i18n import money
    from audit.web.templating import change_text

    if kind == "comment":
        return str(detail.get("text", ""))
    if kind == "decided":
        decision = t(f"enum.decision.{detail.get('decision')}", lang)
        state = t(f"enum.decision_state.{detail.get('state')}", lang)
        return f"{decision}（{state}）{detail.get('reason', '')}"
    if kind == "approved":
        return t(f"enum.decision.{detail.get('decision')}", lang)
    if kind == "assigned":
        return str(detail.get("to", ""))
    if kind == "rejected":
        return str(detail.get("note", ""))
    if kind == "rectification":
        said = (f"{t('ui.case.deadline', lang)} {detail.get('deadline', '')}，"
                f"{t('ui.case.recovered', lang)} {money(detail.get('recovered', '0'))}")
        if detail.get("extension_reason"):
            said += (f"，{t('ui.case.extended_from', lang, day=detail.get('extended_from'))}："
                     f"{detail.get('extension_reason')}")
        return said
    if kind in ("detection", "after_decision") and detail.get("changes"):
        return "、".join(change_text(str(c), lang) for c in detail["changes"])
    if kind == "closed":
        return ""
    return json.dumps(detail, ensure_ascii=False, sort_keys=True, default=str) if detail else ""


def record_download(conn: Connection, user: Principal, file: dict[str, Any], fmt: str) -> None:
    """Downloading a case file goes on the trail, with its digest: what the verifier holds a
    workbook's 校验 list to."""
    trail.append(conn, user.name, "casefile_downloaded", f"case {file['case']['id']}",
                 {"format": fmt, "masked": file["masked"], "digest": file["digest"], "rows": len(file["hashes"])})


def filename(file: dict[str, Any], fmt: str) -> str:
    return t("casefile.filename", file["lang"], id=file["case"]["id"]) + f".{fmt}"


# ---------------------------------------------------------------------- verification

@dataclass
class Verification:
    case_id: int | None
    rows: int = 0
    # What the verification found, as messages of the catalogue with their fields.
    problems: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.case_id is not None and not self.problems

    def lines(self, lang: str) -> list[str]:
        """The verdict in ``lang``: one line saying whether the file holds, then each problem."""
        if self.case_id is None:
            return [t(message, lang, **fields) for message, fields in self.problems]
        head = (t("casefile.verify.holds", lang, case_id=self.case_id, rows=self.rows) if self.ok else
                t("casefile.verify.broken", lang, case_id=self.case_id, rows=self.rows, count=len(self.problems)))
        return [head] + [t(message, lang, **fields) for message, fields in self.problems]


def read_sheet(data: bytes) -> tuple[int, str, list[dict[str, str]]] | None:
    """(case id, digest, [{table, key, hash, what}]) from a workbook's 校验 sheet, or None when
    the file is not a case file's workbook."""
    from openpyxl import load_workbook

    wanted = {t(HASH_SHEET, "zh"), t(HASH_SHEET, "en")}
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        sheet = next((book[name] for name in book.sheetnames if name in wanted), None)
        if sheet is None:
            return None
        rows = [tuple("" if v is None else str(v) for v in row) for row in sheet.iter_rows(values_only=True)]
    except Exception:  # noqa: BLE001 - an upload that openpyxl cannot read, however it fails, is not a case file
        return None
    try:
        case_id = int(rows[CASE_CELL[0]][CASE_CELL[1]])
        claimed = rows[DIGEST_CELL[0]][DIGEST_CELL[1]]
    except (IndexError, ValueError):
        return None
    listed = [{"table": r[0], "key": r[2], "hash": r[3], "what": r[4] if len(r) > 4 else ""}
              for r in rows[LIST_HEADER_ROW + 1:] if len(r) >= 4 and r[0]]
    return case_id, claimed, listed


def verify(conn: Connection, data: bytes, user: Principal | None = None) -> Verification:
    """Recompute every hash a case file's workbook lists against the store: a row changed
    since (its hash differs), gone, or not found again behind its masked key is named; so is
    a 校验 list whose digest is not the one it was downloaded with. ``user`` (a route's
    caller) limits it to their scope; the command line passes none."""
    read = read_sheet(data)
    if read is None:
        return Verification(None, problems=[("casefile.verify.not_a_file", {})])
    case_id, claimed, listed = read
    if user is not None:
        _case(conn, case_id, user)
    found = Verification(case_id, rows=len(listed))
    if digest(case_id, listed) != claimed:
        found.problems.append(("casefile.verify.list_edited", {"digest": claimed}))
    downloaded = {str((row.detail or {}).get("digest")) for row in _trail_rows(conn, case_id)
                  if row.action == "casefile_downloaded"}
    if claimed not in downloaded:
        found.problems.append(("casefile.verify.digest_unknown", {"digest": claimed, "case_id": case_id}))
    current: dict[tuple[str, str], list[str]] | None = None
    for entry in listed:
        table, key = entry["table"], entry["key"]
        where = {"table": table_label(table, "zh") if table_of(table) is not None else table, "key": key,
                 "what": entry["what"]}
        if table_of(table) is None:
            found.problems.append(("casefile.verify.unknown_table", where))
            continue
        if "*" in key:  # masked: the row behind it, through the case's findings
            if current is None:
                current = {}
                for stored_table, full in stored_keys(conn, case_id):
                    kind = BY_NAME[stored_table].kind if stored_table in BY_NAME else None
                    current.setdefault(f"{stored_table}\n{mask_key(kind, full) if kind else full}", []).append(full)
            candidates = list(dict.fromkeys(current.get(f"{table}\n{key}", [])))
        else:
            candidates = [key]
        rows = [row for row in (read_row(conn, table, full) for full in candidates) if row is not None]
        if not rows:
            found.problems.append(("casefile.verify.gone" if candidates else "casefile.verify.not_found", where))
            continue
        stored = table_of(table)
        if table == "audit_log":
            holds = any(row.hash == entry["hash"] and trail.entry_holds(row) for row in rows)
        else:
            holds = any(hash_of(stored, row) == entry["hash"] for row in rows)  # type: ignore[arg-type]
        if not holds:
            found.problems.append(("casefile.verify.changed", where))
    return found


def download(conn: Connection, case_id: int, user: Principal, lang: str, fmt: str, reveal_reason: str | None = None
             ) -> tuple[bytes, str, str]:
    """A case file rendered (``pdf`` or ``xlsx``), on the trail: (content, media type, file
    name). Masked, unless a reveal reason is given: then the reveal goes on the trail first,
    as the case page's does, and the file holds the numbers in full."""
    from audit.cases import service
    from audit.cases.casefile_render import render_pdf, render_xlsx

    masked = reveal_reason is None
    if not masked:
        service.reveal(conn, case_id, user, reveal_reason or "")
    file = build(conn, case_id, user, lang, masked)
    content = render_pdf(file) if fmt == "pdf" else render_xlsx(file)
    record_download(conn, user, file, fmt)
    return content, "application/pdf" if fmt == "pdf" else XLSX_TYPE, filename(file, fmt)

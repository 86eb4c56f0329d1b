"""Checking lines before release, with the scan's own importer and detectors.

The candidate lines (disbursements, or a month's card-payment roster) are imported into
the store inside a SAVEPOINT — the same parsing, validation and reference checks as any
import — the detectors that can judge such a line run exactly as in a scan, and the
savepoint is rolled back: nothing of the lines is kept. Each line gets ``pass`` or
``hold``, keyed by its payment ID (a line with an import error too, where it has one),
with the findings (and their evidence) or the import errors behind a hold.

The verdicts are stored. A held line is released only by a finance officer with a reason,
once; a line held for what may be theft of a card's money (DC-02, DC-06, DC-08, DC-12 by
default) waits for a second finance officer's approval; a line held for an import error
is never released (it is corrected and checked again). A town's finance office checks,
reads and releases its own town's lines only: a line of another town is held, unchecked.
"""

from __future__ import annotations

import csv
import tempfile
from urllib.parse import urlencode
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from audit import trail
from audit.auth import four_eyes
from audit.auth.service import Principal
from audit.config import get_settings
from audit.detection.service import find
from audit.detectors.base import yuan
from audit.detectors.members import payment_household
from audit.errors import ServiceError
from audit.evidence import flag_title, render_step
from audit.importer.profile import Profile, profiled_dataset
from audit.importer.read import open_dataset, under_name
from audit.importer.service import ProgressFn, load_dataset
from audit.importer.spec import BY_NAME
from audit.i18n import t
from audit.masking import mask_cell, mask_fields
from audit.models import (
    Case,
    CardPayment,
    Disbursement,
    Finding,
    Household,
    Official,
    Person,
    PreReleaseCheck,
    Project,
    Release,
    User,
    Village,
)

# The detectors that can judge a line of each kind (all of them, for that kind of record).
CODES = {
    # ME-01 judges what was not paid: no roster line is one of its findings.
    "card_roster": ("FP-03", "DC-01", "DC-02", "DC-03", "DC-04", "DC-05", "DC-06", "DC-07", "DC-08", "DC-10",
                    "DC-11", "DC-12", "DC-13", "DC-14", "DC-15", "DC-16", "DC-18", "DV-02", "DV-08"),
    "disbursements": ("FP-01", "FP-03", "FP-07", "DC-09", "DV-01", "DV-02", "DV-04"),
}
TABLE = {"card_roster": "card_payments", "disbursements": "disbursements"}
KIND = {"card_roster": "card_payment", "disbursements": "disbursement"}
# Reasons that are not findings of this check: the line could not be read, is not this
# unit's to check, or pays the subject of a live case.
IMPORT, SCOPE, CASE = "import", "scope", "case"
# A case still being worked on (a dismissed or closed case no longer holds money).
LIVE_CASE = ("open", "confirmed", "referred")


class CheckError(ServiceError):
    def __init__(self, status: int, message_id: str, /, **fields: Any) -> None:
        super().__init__(status, message_id, **fields)


def _now() -> datetime:
    return datetime.now(UTC)


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


def _line_towns(conn: Connection, kind: str, keys: list[str]) -> dict[str, str | None]:
    """The town of each staged line: the beneficiary household's (a card payment), the
    project's (a disbursement; none without a project)."""
    towns: dict[str, str | None] = {}
    for start in range(0, len(keys), 900):
        part = keys[start:start + 900]
        if kind == "card_roster":
            query = (select(CardPayment.payment_id, Village.town_code)
                     .outerjoin(Person, Person.id_number == CardPayment.id_number)
                     .join(Household, Household.household_id == payment_household(CardPayment))
                     .join(Village, Village.village_code == Household.village_code)
                     .where(CardPayment.payment_id.in_(part)))
        else:
            query = (select(Disbursement.disbursement_id, Village.town_code)
                     .join(Project, Project.project_id == Disbursement.project_id)
                     .join(Village, Village.village_code == Project.village_code)
                     .where(Disbursement.disbursement_id.in_(part)))
        towns.update({key: town for key, town in conn.execute(query)})
    return towns


def _payees(conn: Connection, kind: str, keys: list[str]) -> dict[str, set[tuple[str, str]]]:
    """What each staged line pays, as the subjects a finding may name: a card payment's
    person, card and household; a disbursement's payee (an organization, or a person and the
    official that person is), its account and its project."""
    payees: dict[str, set[tuple[str, str]]] = {}
    for start in range(0, len(keys), 900):
        part = keys[start:start + 900]
        if kind == "card_roster":
            query = select(CardPayment.payment_id, CardPayment.id_number, CardPayment.card_account,
                           payment_household(CardPayment).label("household")).outerjoin(
                Person, Person.id_number == CardPayment.id_number).where(CardPayment.payment_id.in_(part))
            for row in conn.execute(query):
                payees[row.payment_id] = {("person", row.id_number), ("account", row.card_account)} | (
                    {("household", row.household)} if row.household else set())
        else:
            query = select(Disbursement.disbursement_id, Disbursement.payee_kind, Disbursement.payee_id,
                           Disbursement.payee_account, Disbursement.project_id, Official.official_id).outerjoin(
                Official, (Disbursement.payee_kind == "person") & (Official.id_number == Disbursement.payee_id)
            ).where(Disbursement.disbursement_id.in_(part))
            for row in conn.execute(query):
                subjects = payees.setdefault(row.disbursement_id, set())
                subjects |= {("organization" if row.payee_kind == "org" else "person", row.payee_id),
                             ("account", row.payee_account)}
                if row.project_id:
                    subjects.add(("project", row.project_id))
                if row.official_id:
                    subjects.add(("official", row.official_id))
    return payees


def _live_cases(conn: Connection, wanted: set[tuple[str, str]]) -> dict[tuple[str, str], dict[int, Any]]:
    """The live cases whose open findings of the holding red flags name one of ``wanted``:
    {subject: {case id: the case's number, title, codes, money at risk}}."""
    codes = get_settings().hold_open_case_codes
    about: dict[tuple[str, str], dict[int, Any]] = {}
    if not wanted or not codes:
        return about
    query = (select(Finding.subjects, Case.id, Case.title, Case.codes, Case.amount_at_risk_fen, Case.status)
             .join(Case, Case.id == Finding.case_id)
             .where(Finding.status == "open", Finding.code.in_(codes), Case.status.in_(LIVE_CASE)))
    for row in conn.execute(query):
        for subject in row.subjects:
            ref = (subject.get("kind"), subject.get("key"))
            if ref in wanted:
                about.setdefault(ref, {})[row.id] = row
    return about


def _case_reasons(conn: Connection, kind: str, keys: list[str]) -> dict[str, list[dict[str, Any]]]:
    """A hold for each live case about what a line pays, naming the case."""
    payees = _payees(conn, kind, keys)
    cases = _live_cases(conn, set().union(*payees.values()) if payees else set())
    reasons: dict[str, list[dict[str, Any]]] = {}
    for key, subjects in payees.items():
        seen: set[int] = set()
        for subject in sorted(subjects):
            for case_id, case in sorted(cases.get(subject, {}).items()):
                if case_id in seen:
                    continue
                seen.add(case_id)
                reasons.setdefault(key, []).append({
                    "code": CASE, "case_id": case_id, "codes": list(case.codes), "status": case.status,
                    "subject_kind": subject[0], "amount_at_risk_fen": case.amount_at_risk_fen})
    return reasons


def _pending_as_paid(conn: Connection, keys: list[str]) -> None:
    """A check holds a pending line as if it were paid (red-flags.md): inside the check's
    savepoint, so the store keeps the status the file gave."""
    for start in range(0, len(keys), 900):
        conn.execute(update(CardPayment).where(CardPayment.payment_id.in_(keys[start:start + 900]),
                                               CardPayment.status == "pending").values(status="paid"))


def _notice_to_post(item: Any, kind: str) -> dict[str, str] | None:
    """For an FP-03 hold: the notice that would clear it (what the disclosure screen opens)."""
    first = item.evidence[0] if item.evidence else None
    if first is None:
        return None
    if first.kind == "payment_batch":
        fields = first.fields or {}
        return {"kind": "beneficiaries", "village": fields.get("village_code"), "program": fields.get("program_code"),
                "period": fields.get("period")}
    project = next((ref.key for ref in item.subjects if ref.kind == "project"), None)
    village = (first.fields or {}).get("village_code")
    return {"kind": "projects", "village": village, "project": project} if project else None


def run_check(conn: Connection, kind: str, dataset_path: Path, user: Principal,
              progress: ProgressFn | None = None, sheet: str | None = None,
              source: tuple[str, bytes] | None = None, profile: Profile | None = None) -> dict[str, Any]:
    """Check the lines of one file (a roster, a disbursement batch) and store the verdicts;
    ``source`` is the uploaded file (its name and bytes), kept with the check; ``profile``
    reads a county's own export (the one-card system's 发放明细) as its lines."""
    table, record_kind = TABLE[kind], KIND[kind]
    if profile is not None and [feed.table for feed in profile.feeds] != [table]:
        raise CheckError(422, "error.check_profile_table", profile=profile.name, table=table)
    with ExitStack() as stack:
        dataset = (profiled_dataset(dataset_path, profile, conn, stack, sheet=sheet) if profile
                   else open_dataset(dataset_path, stack, only=table, sheet=sheet))
        if [t.table for t in dataset.tables] != [table]:
            raise CheckError(422, "error.check_takes_one_table", kind=kind, table=table)
        used_sheet = dataset.tables[0].label.split(":", 1)[1] if ":" in dataset.tables[0].label else None
        savepoint = conn.begin_nested()
        try:
            report = load_dataset(conn, dataset, partial=True, imported_by=f"check by {user.name}",
                                  collect_keys=True, progress=progress)
            keys = report.keys.get(table, [])
            if kind == "card_roster":
                _pending_as_paid(conn, keys)
            towns = _line_towns(conn, kind, keys) if user.town else {}
            mine = [k for k in keys if user.town is None or towns.get(k) == user.town]
            if progress:
                progress("detect", 0, len(CODES[kind]))
            found = find(conn, CODES[kind], {record_kind: set(mine)}) if mine else {}
            about_cases = _case_reasons(conn, kind, mine) if mine else {}
        finally:
            savepoint.rollback()
    reasons: dict[str, list[dict[str, Any]]] = {key: [] for key in keys}
    outside = set(keys) - set(mine)
    for key in outside:
        reasons[key].append({"code": SCOPE})
    for code, items in found.items():
        for item in items:
            for record in item.records:
                if record.kind == record_kind and record.key in reasons and record.key not in outside:
                    reason = {"code": code, "score": item.score, "evidence": [e.as_dict() for e in item.evidence]}
                    if code == "FP-03":
                        reason["notice"] = _notice_to_post(item, kind)
                    reasons[record.key].append(reason)
    for key, why in about_cases.items():
        reasons[key].extend(why)
    rows = report.key_rows.get(table, {})
    # Each line names its row of the file: the annotated sheet finds it there even when the
    # key was made from the row's content (a profile's export without 发放流水号).
    lines = [{"key": key, "row": rows.get(key), "verdict": "hold" if why else "pass", "reasons": why}
             for key, why in reasons.items()]
    # Each import error as its message id and fields (rendered in the reader's language when
    # the check is read), with the English reason beside them as checks stored it before.
    by_row: dict[int, list[dict[str, Any]]] = {}
    for error in report.errors:
        by_row.setdefault(error.row, []).append({"column": error.column, "value": error.value,
                                                 "message": error.message, "fields": error.fields,
                                                 "reason": error.reason})
    named = report.rejected_keys.get(table, {})
    lines += [{"key": named.get(row) or f"row {row}", "row": row, "verdict": "hold",
               "reasons": [{"code": IMPORT, "errors": why}]} for row, why in sorted(by_row.items())]
    held = [line["key"] for line in lines if line["verdict"] == "hold"]
    check_id = conn.execute(insert(PreReleaseCheck).values(
        kind=kind, created_by=user.id, created_at=_now(), lines=lines, town_code=user.town,
        source_name=source[0] if source else None, source_file=source[1] if source else None,
        source_sheet=used_sheet, line_count=len(lines), held_count=len(held),
    ).returning(PreReleaseCheck.id)).scalar_one()
    trail.append(conn, user.name, "prerelease_check", f"check {check_id}",
                 {"kind": kind, "lines": len(lines), "held": len(held), "held_lines": held[:200]})
    return {"check_id": check_id, "kind": kind,
            "summary": {"lines": len(lines), "pass": len(lines) - len(held), "hold": len(held)}}


def check_lines(conn: Connection, kind: str, lines: list[dict[str, Any]], user: Principal) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        return run_check(conn, kind, write_lines(Path(folder), kind, lines), user)


def check_file(conn: Connection, kind: str, path: Path, suffix: str, user: Principal,
               progress: ProgressFn | None = None, sheet: str | None = None,
               filename: str | None = None, profile: Profile | None = None) -> dict[str, Any]:
    """Check a file of lines (CSV or .xlsx) already on disk (an upload is spooled there);
    the file is kept with the check, under the name the user gave it."""
    with under_name(path, f"{TABLE[kind]}{suffix}") as named:
        source = ((filename or named.name)[:200], path.read_bytes())
        return run_check(conn, kind, named, user, progress, sheet=sheet, source=source, profile=profile)


# ---------------------------------------------------------------------- reading

def _check(conn: Connection, check_id: int, user: Principal) -> Any:
    query = select(PreReleaseCheck).where(PreReleaseCheck.id == check_id)
    if user.town is not None:
        query = query.where(PreReleaseCheck.town_code == user.town)
    check = conn.execute(query).first()
    if check is None:
        raise CheckError(404, "error.no_check", check_id=check_id)
    return check


def render_reason(reason: dict[str, Any], lang: str) -> dict[str, Any]:
    """A hold's reason for a finance officer: the flag's name, its evidence in their
    language, every personal number masked."""
    code = reason["code"]
    if code == IMPORT:
        return {"code": code, "title": flag_title("import", lang),
                "errors": [_import_error(e, lang) for e in reason.get("errors", [])]}
    if code == SCOPE:
        return {"code": code, "title": flag_title("scope", lang)}
    if code == CASE:
        return {**reason, "title": t("check.case_hold", lang, case_id=reason["case_id"],
                                     flags=[flag_title(c, lang) for c in reason["codes"]],
                                     subject=t(f"check.payee.{reason['subject_kind']}", lang)),
                "amount_at_risk": yuan(reason["amount_at_risk_fen"])}
    shown = {"code": code, "title": flag_title(code, lang), "score": reason.get("score"),
             "evidence": [render_step(step, lang, masked=True) for step in reason.get("evidence", [])]}
    notice = reason.get("notice")
    if notice:
        shown["notice"] = notice
        shown["todo"] = t(f"check.todo.post_{notice['kind']}", lang)
        shown["notice_link"] = "/notices?" + urlencode({k: v for k, v in notice.items() if v})
    return shown


def _column_label(column: str, lang: str) -> str:
    """A column as a finance officer's sheet names it (its first Chinese header)."""
    for table in TABLE.values():
        spec = BY_NAME[table].by_name.get(column)
        if spec is not None:
            return spec.chinese[0] if lang == "zh" and spec.chinese else column
    return column


def _import_error(error: dict[str, Any], lang: str) -> dict[str, Any]:
    """A stored import error as a masked reader reads it: the cell masked as its column says
    (an ID column's value is an ID), the reason rendered in ``lang`` from the masked fields.
    A check stored before errors had message ids keeps its English reason."""
    out = {**error, "value": mask_cell(error["column"], error["value"]),
           "column_label": _column_label(error["column"], lang)}
    if "message" in error:
        out["fields"] = mask_fields(error.get("fields") or {})
        out["reason"] = t(error["message"], lang, **out["fields"])
    return out


def get_check(conn: Connection, check_id: int, user: Principal, lang: str) -> dict[str, Any]:
    check = _check(conn, check_id, user)
    names = dict(conn.execute(select(User.id, User.name)).all())
    releases: dict[str, dict[str, Any]] = {}
    for r in conn.execute(select(Release).where(Release.check_id == check_id, Release.state != "superseded")
                          .order_by(Release.id)):
        releases[r.line_key] = {"release_id": r.id, "reason": r.reason, "state": r.state,
                                "by": names.get(r.released_by), "at": r.released_at.isoformat(),
                                "reviewed_by": names.get(r.reviewed_by), "review_note": r.review_note}
    lines = [{**line, "reasons": [render_reason(r, lang) for r in line["reasons"]],
              "released": releases.get(line["key"])} for line in check.lines]
    held = sum(1 for line in lines if line["verdict"] == "hold")
    return {"check_id": check.id, "kind": check.kind, "created_at": check.created_at.isoformat(),
            "created_by": names.get(check.created_by), "town_code": check.town_code, "lines": lines,
            "summary": {"lines": len(lines), "pass": len(lines) - held, "hold": held}}


def check_source(conn: Connection, check_id: int) -> tuple[int | None, bool]:
    """Who ran the check, and whether it came from a file (its annotated sheet is that file)."""
    row = conn.execute(select(PreReleaseCheck.created_by, PreReleaseCheck.source_name)
                       .where(PreReleaseCheck.id == check_id)).first()
    return (row.created_by, row.source_name is not None) if row else (None, False)


def list_checks(conn: Connection, user: Principal, limit: int, offset: int) -> tuple[int, list[dict[str, Any]]]:
    query = select(PreReleaseCheck.id, PreReleaseCheck.kind, PreReleaseCheck.created_at, PreReleaseCheck.town_code,
                   PreReleaseCheck.source_name, PreReleaseCheck.line_count, PreReleaseCheck.held_count,
                   User.name.label("by")).join(User, User.id == PreReleaseCheck.created_by)
    if user.town is not None:
        query = query.where(PreReleaseCheck.town_code == user.town)
    total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = conn.execute(query.order_by(PreReleaseCheck.id.desc()).limit(limit).offset(offset)).all()
    return total, [{"check_id": r.id, "kind": r.kind, "created_at": r.created_at.isoformat(), "by": r.by,
                    "town_code": r.town_code, "file": r.source_name, "lines": r.line_count, "held": r.held_count}
                   for r in rows]


# ---------------------------------------------------------------------- releasing

def needs_second_officer(codes: set[str]) -> bool:
    """A line held for what may be theft of its money, or paying the subject of a live
    case, is released by two finance officers."""
    return CASE in codes or bool(codes & set(get_settings().four_eyes_release_codes))


def release(conn: Connection, check_id: int, line_key: str, reason: str, user: Principal) -> tuple[int, str]:
    """Release a held line with a reason; returns the release's id and state (pending when
    a second finance officer must approve it, else effective)."""
    check = _check(conn, check_id, user)
    line = next((line for line in check.lines if line["key"] == line_key), None)
    if line is None:
        raise CheckError(404, "error.no_line", check_id=check_id, line=line_key)
    if line["verdict"] != "hold":
        raise CheckError(409, "error.line_passed", line=line_key)
    codes = {r["code"] for r in line["reasons"]}
    if IMPORT in codes:
        raise CheckError(409, "error.release_import_error", line=line_key)
    if SCOPE in codes:
        raise CheckError(409, "error.release_out_of_scope", line=line_key)
    if not reason.strip():
        raise CheckError(422, "error.release_needs_reason")
    live = conn.execute(select(Release.id, Release.state).where(
        Release.check_id == check_id, Release.line_key == line_key,
        Release.state.in_(("pending", "effective")))).first()
    if live is not None:
        raise CheckError(409, "error.line_released" if live.state == "effective" else "error.release_pending",
                         line=line_key)
    state = "pending" if needs_second_officer(codes) else "effective"
    savepoint = conn.begin_nested()
    try:
        release_id = conn.execute(insert(Release).values(
            check_id=check_id, line_key=line_key, reason=reason, released_by=user.id, released_at=_now(),
            state=state).returning(Release.id)).scalar_one()
        savepoint.commit()
    except IntegrityError:
        savepoint.rollback()
        raise CheckError(409, "error.line_released", line=line_key) from None
    trail.append(conn, user.name, "prerelease_override", f"check {check_id} line {line_key}",
                 {"reason": reason, "held_for": sorted(codes), "state": state, "release_id": release_id})
    return release_id, state


def _pending_release(conn: Connection, check_id: int, release_id: int, user: Principal) -> Any:
    _check(conn, check_id, user)
    row = conn.execute(select(Release).where(Release.id == release_id, Release.check_id == check_id)).first()
    if row is None:
        raise CheckError(404, "error.no_release", release_id=release_id)
    if row.state != "pending":
        raise CheckError(409, "error.release_not_pending", release_id=release_id, state=row.state)
    four_eyes.refuse_same_eyes(row.released_by, user, "error.second_officer_needed")
    return row


def approve_release(conn: Connection, check_id: int, release_id: int, user: Principal) -> None:
    row = _pending_release(conn, check_id, release_id, user)
    four_eyes.settle(conn, Release, release_id, "effective", user, "error.release_not_pending",
                     release_id=release_id)
    trail.append(conn, user.name, "prerelease_override_approved", f"check {check_id} line {row.line_key}",
                 {"release_id": release_id})


def reject_release(conn: Connection, check_id: int, release_id: int, note: str, user: Principal) -> None:
    four_eyes.require_reason(note)
    row = _pending_release(conn, check_id, release_id, user)
    four_eyes.settle(conn, Release, release_id, "rejected", user, "error.release_not_pending", note=note,
                     release_id=release_id)
    trail.append(conn, user.name, "prerelease_override_rejected", f"check {check_id} line {row.line_key}",
                 {"release_id": release_id, "note": note})

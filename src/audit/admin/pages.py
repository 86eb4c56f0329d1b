"""The administrator's screens (数据管理 and 系统管理): dataset imports with their reports,
detection runs, users and their sessions, the county's settings, and the audit trail.

Pages parse, authorise and shape; the work is the services' that the API and the command
line use: an upload goes through the API's upload machinery into the same import job as
``POST /api/datasets``, a run is the same detection job, users go through
``audit.auth.service``, settings through ``audit.county.service.change`` and the trail's
verdict is ``audit.trail.verify``."""

from __future__ import annotations

import asyncio
import io
import json
import re
from datetime import date
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup, escape
from sqlalchemy import select

from audit import trail
from audit.admin import service
from audit.api.types import RowId, normal_code
from audit.auth import service as accounts
from audit.auth.service import Principal
from audit.county import service as county
from audit.db import get_engine, read_connection
from audit.detectors.catalogue import CODES
from audit.errors import ServiceError
from audit.i18n import enum, has, t
from audit.jobs import service as jobs
from audit.masking import mask, mask_text
from audit.models import Town
from audit.web import forms
from audit.web.session import Csrf, page_allowed
from audit.web.templating import language, page

router = APIRouter(include_in_schema=False)
Importer = Annotated[Principal, page_allowed("datasets:import")]
Runner = Annotated[Principal, page_allowed("detect:run")]
UsersReader = Annotated[Principal, page_allowed("users:read")]
UsersAdmin = Annotated[Principal, page_allowed("users:manage")]
TokensAdmin = Annotated[Principal, page_allowed("tokens:manage")]
SettingsAdmin = Annotated[Principal, page_allowed("settings:manage")]
Verifier = Annotated[Principal, page_allowed("log:verify")]
UserName = Annotated[str, Path(min_length=1, max_length=80)]

ROLES = ("inspector", "finance", "disclosure", "admin", "machine")
SIMPLE_SETTINGS = ("county_name", "issuing_unit", "hotline", "discipline_phone", "notice_days")
TRAIL_PAGE = 50
# A report shows this many errors on screen; the .xlsx holds them all.
ERRORS_SHOWN = 2000
COUNTS = ("read", "inserted", "updated", "unchanged", "rejected")


def _label(prefix: str, name: str, lang: str) -> str:
    """A name's words when the catalogue has them (``field.amount`` → 金额), else the name."""
    return t(f"{prefix}.{name}", lang) if has(f"{prefix}.{name}") else name


def _param_label(code: str, name: str, lang: str) -> str:
    """A red flag's setting in words: the flag's own words where one name means different
    things to two flags (``days`` of DC-14 and of DV-06), else the name's words."""
    own = f"ui.admin.param.{code}.{name}"
    return t(own, lang) if has(own) else _label("ui.admin.param", name, lang)


def _param_value(value: Any) -> Any:
    """A setting's value as the form shows it: a list as ``a|b``."""
    return "|".join(str(v) for v in value) if isinstance(value, list) else value


def _step(step: str, lang: str) -> str:
    """What a job is doing: a red flag's code and name, or a table being imported."""
    if has(f"flag.{step}"):
        return f"{step} {t(f'flag.{step}', lang)}"
    return enum("table", step, lang) if step else ""


def _job(user: Principal, job_id: int, kind: str) -> dict[str, Any]:
    with read_connection() as conn:
        job = jobs.get(conn, job_id, user)
    if job["kind"] != kind:
        raise ServiceError(404, "error.no_job", job_id=job_id)
    return job


def _job_error(job: dict[str, Any], lang: str) -> str | None:
    error = job.get("error")
    if not error:
        return None
    return t(error.get("message", "error.job_failed"), lang, **(error.get("fields") or {}))


@router.get("/admin/jobs/{job_id}/progress", response_class=HTMLResponse)
def job_progress(request: Request, job_id: RowId, user: Annotated[Principal, page_allowed("jobs:read")]) -> Response:
    """A running job's progress, polled by its page; once it has ended, the page reloads to
    show what it found."""
    with read_connection() as conn:
        job = jobs.get(conn, job_id, user)
    if job["state"] in ("done", "failed"):
        return Response(status_code=200, headers={"HX-Refresh": "true"})
    return page(request, "admin/_progress.html", job=job, step=_step(job["progress"].get("step", ""),
                                                                      language(request)))


# ---------------------------------------------------------------------- datasets

@router.get("/admin/datasets", response_class=HTMLResponse)
def datasets(request: Request, user: Importer) -> Response:
    """数据导入: upload a dataset, the imports running now, and the import history."""
    return _datasets(request)


def _datasets(request: Request, error: str | None = None, status: int = 200) -> Response:
    with read_connection() as conn:
        history = service.import_history(conn)
        running = service.running_jobs(conn, "import")
    return page(request, "admin/datasets.html", status=status, history=history, running=running, error=error,
                counts=COUNTS)


@router.post("/admin/datasets")
async def upload_dataset(request: Request, user: Importer, _: None = Csrf) -> Response:
    """Upload a dataset (a .zip of CSV files or an .xlsx workbook) from a form: it runs as the
    same background job as ``POST /api/datasets``; the browser goes to its progress and report."""
    from audit.api.uploads import shipped_profile, spool_upload, start_upload
    from audit.records.router import CSV, XLSX, ZIP

    lang = language(request)
    try:
        # The API's upload path itself: the same spooling, job, worker and clean-up.
        sent = await spool_upload(request, {ZIP: ".zip", XLSX: ".xlsx", CSV: ".csv"}, "dataset")
    except ServiceError as exc:
        message = t("error.admin_dataset_file", lang) if exc.status == 415 else exc.text(lang)
        return await run_in_threadpool(_datasets, request, message, exc.status)
    partial = sent.fields.get("partial", "").lower() in {"1", "true", "on", "yes"}
    try:
        chosen = shipped_profile(sent.fields.get("profile"))
    except ServiceError as exc:
        sent.path.unlink(missing_ok=True)
        return await run_in_threadpool(_datasets, request, exc.text(lang), exc.status)
    if sent.suffix == ".csv" and not chosen:  # a CSV is a county's export, read by a profile
        sent.path.unlink(missing_ok=True)
        return await run_in_threadpool(_datasets, request, t("error.admin_dataset_file", lang), 415)
    job = await start_upload("import", user, sent.path, "import", {"partial": partial, "user": user.name, "lang": lang,
                                                               "filename": sent.filename, "profile": chosen})
    return RedirectResponse(f"/admin/datasets/jobs/{job.job_id}", status_code=303)


LATIN = re.compile(r"[A-Za-z][A-Za-z0-9_]*(?:[./-][A-Za-z0-9_]+)*")


def _verbatim(text: str, lang: str) -> Markup:
    """A Chinese reason with the codes it quotes (``general``, ``true/false``, a column's
    name) marked as verbatim text, ``translate="no"``: what the file may contain, not prose."""
    escaped = str(escape(text))
    if lang != "zh":
        return Markup(escaped)
    return Markup(LATIN.sub(lambda m: f'<code translate="no">{m.group(0)}</code>', escaped))


def _report(result: dict[str, Any], lang: str) -> dict[str, Any]:
    """An import report for the screen: counts per table, each problem's place by name and its
    reason rendered from its message id and (masked) fields in the reader's language."""
    def problem(e: dict[str, Any]) -> dict[str, Any]:
        return {"table": e["table"], "table_label": enum("table", e["table"], lang) if e["table"] else "",
                "row": e["row"], "column": e["column"], "column_label": _label("field", e["column"], lang)
                if e["column"] else "", "value": e["value"], "reason": t(e["message"], lang, **(e["fields"] or {})),
                "reason_html": _verbatim(t(e["message"], lang, **(e["fields"] or {})), lang)}

    counts = [{"table": name, "label": enum("table", name, lang), **{k: c.get(k, 0) for k in COUNTS}}
              for name, c in (result.get("counts") or {}).items()]
    errors = [problem(e) for e in result.get("errors") or []]
    return {"outcome": result.get("outcome"), "batch_id": result.get("batch_id"), "source": result.get("source", ""),
            "seconds": result.get("seconds"), "counts": counts, "errors": errors, "warnings":
            [problem(w) for w in result.get("warnings") or []],
            "totals": {k: sum(int(c[k]) for c in counts) for k in COUNTS}}


@router.get("/admin/datasets/jobs/{job_id}", response_class=HTMLResponse)
def import_job(request: Request, job_id: RowId, user: Importer) -> Response:
    """An import: its progress while it runs, then its report (counts per table, every
    error by table, row and column with its value and reason)."""
    lang = language(request)
    job = _job(user, job_id, "import")
    report = _report(job["result"], lang) if job["result"] else None
    shown = report["errors"][:ERRORS_SHOWN] if report else []
    return page(request, "admin/import_job.html", job=job, report=report, shown=shown, counts=COUNTS,
                error=_job_error(job, lang), step=_step(job["progress"].get("step", ""), lang))


@router.get("/admin/datasets/jobs/{job_id}/errors.xlsx")
def import_errors(request: Request, job_id: RowId, user: Importer) -> Response:
    """An import's errors (and warnings) as an .xlsx workbook: table, row, column, value and
    reason, in the reader's language, values masked as on screen."""
    import xlsxwriter

    lang = language(request)
    job = _job(user, job_id, "import")
    report = _report(job["result"] or {}, lang)
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    bold = book.add_format({"bold": True, "bg_color": "#EEF2F7", "border": 1})
    headings = [t(f"ui.admin.error_{name}", lang) for name in ("table", "row", "column", "field", "value", "reason")]
    for sheet_name, problems in ((t("ui.admin.errors", lang), report["errors"]),
                                 (t("ui.admin.warnings", lang), report["warnings"])):
        if sheet_name != t("ui.admin.errors", lang) and not problems:
            continue
        sheet = book.add_worksheet(sheet_name[:31])
        sheet.write_row(0, 0, headings, bold)
        for index, p in enumerate(problems, start=1):
            sheet.write_row(index, 0, [p["table_label"], p["row"], p["column_label"], p["column"], str(p["value"]),
                                       p["reason"]])
        for column, width in enumerate((14, 8, 16, 18, 28, 70)):
            sheet.set_column(column, column, width)
        sheet.freeze_panes(1, 0)
        sheet.autofilter(0, 0, max(len(problems), 1), len(headings) - 1)
    book.close()
    filename = t("ui.admin.errors_file", lang, job_id=job_id) + ".xlsx"
    return Response(out.getvalue(), media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}"})


# ---------------------------------------------------------------------- detection

@router.get("/admin/detection", response_class=HTMLResponse)
def detection(request: Request, user: Runner) -> Response:
    """风险筛查: run detection, the runs going on, and each past run's counts."""
    return _detection(request)


def _detection(request: Request, error: str | None = None, status: int = 200) -> Response:
    with read_connection() as conn:
        runs = service.detection_runs(conn)
        running = service.running_jobs(conn, "detection")
    return page(request, "admin/detection.html", status=status, runs=runs, running=running, error=error,
                codes=[(code, t(f"flag.{code}", language(request))) for code in CODES])


@router.post("/admin/detection")
async def run_detection(request: Request, user: Runner, codes: Annotated[list[str] | None, Form(max_length=40)] = None,
                        as_of: Annotated[str, Form(max_length=10)] = "", _: None = Csrf) -> Response:
    """Start a detection run (every red flag, or the ones ticked; as of a day, or the latest in
    the store) as a background job; the browser goes to its progress."""
    lang = language(request)
    chosen = sorted({normal_code(c) for c in codes or [] if c})
    unknown = [c for c in chosen if c not in CODES]
    if unknown:
        return await run_in_threadpool(_detection, request, t("error.detect_unknown_code", lang,
                                                               codes=", ".join(unknown), known=", ".join(CODES)), 422)
    day = None
    if as_of:
        try:
            day = date.fromisoformat(as_of)
        except ValueError:
            return await run_in_threadpool(_detection, request, t("error.not_a_date", lang, value=as_of), 422)
    submitted = await asyncio.to_thread(jobs.submit, "detection", user, "detect", user=user.name,
                                        codes=chosen or None, as_of=day.isoformat() if day else None)
    return RedirectResponse(f"/admin/detection/jobs/{submitted.job_id}", status_code=303)


@router.get("/admin/detection/jobs/{job_id}", response_class=HTMLResponse)
def detection_job(request: Request, job_id: RowId, user: Runner) -> Response:
    """A detection run's progress (one step a red flag); when it is done, the run's counts."""
    lang = language(request)
    job = _job(user, job_id, "detection")
    if job["state"] == "done" and job["result"]:
        return RedirectResponse(f"/admin/detection/runs/{job['result']['run_id']}", status_code=303)
    return page(request, "admin/detection_job.html", job=job, error=_job_error(job, lang),
                step=_step(job["progress"].get("step", ""), lang))


@router.get("/admin/detection/runs/{run_id}", response_class=HTMLResponse)
def detection_run(request: Request, run_id: RowId, user: Runner) -> Response:
    """One run: when, by whom, as of which day; per red flag its findings, new and stale, and
    the cases they are in."""
    lang = language(request)
    with read_connection() as conn:
        run = service.detection_run(conn, run_id)
    if run is None:
        raise ServiceError(404, "error.admin_no_run", run_id=run_id)
    for row in run["codes"]:
        row["title"] = t(f"flag.{row['code']}", lang)
    return page(request, "admin/detection_run.html", run=run)


# ---------------------------------------------------------------------- users

@router.get("/admin/users", response_class=HTMLResponse)
def users(request: Request, user: UsersReader) -> Response:
    """用户管理: every user with role, unit, scope and live sessions; create a user or a unit."""
    return _users(request)


def _users(request: Request, error: str | None = None, status: int = 200) -> Response:
    with read_connection() as conn:
        rows = accounts.list_users(conn)
        live = service.live_token_counts(conn)
        units = accounts.list_units(conn)
        towns = dict(conn.execute(select(Town.town_code, Town.town_name).order_by(Town.town_code)).all())
    return page(request, "admin/users.html", status=status, users=rows, live=live, units=units, towns=towns,
                roles=ROLES, error=error)


def _refused(exc: ServiceError, lang: str) -> str:
    return exc.text(lang)


@router.post("/admin/users", response_class=HTMLResponse)
def create_user(request: Request, user: UsersAdmin, name: Annotated[str, Form(min_length=1, max_length=80)],
                role: Annotated[str, Form(pattern="^(inspector|finance|disclosure|admin|machine)$")],
                unit: Annotated[str, Form(max_length=120)] = "", _: None = Csrf) -> Response:
    """Create a user in a unit (its scope: the county or one town) with a temporary password,
    shown once here; the user chooses their own at the first login."""
    try:
        with get_engine().begin() as conn:
            temporary = accounts.create_user_by_admin(conn, name.strip(), role, unit or None, user)
    except ServiceError as exc:
        return _users(request, _refused(exc, language(request)), exc.status)
    return _secret(page(request, "admin/secret.html", name=name.strip(), secret=temporary, created=True))


@router.post("/admin/units")
def create_unit(request: Request, user: UsersAdmin, name: Annotated[str, Form(min_length=1, max_length=120)],
                scope: Annotated[str, Form(pattern="^(county|town)$")],
                town_code: Annotated[str, Form(max_length=64)] = "", _: None = Csrf) -> Response:
    """A unit of the county, or of one town (its staff see that town's villages only)."""
    try:
        with get_engine().begin() as conn:
            accounts.create_unit(conn, name.strip(), scope, town_code or None, user.name)
    except ServiceError as exc:
        return _users(request, _refused(exc, language(request)), exc.status)
    return RedirectResponse("/admin/users?done=admin_unit_created", status_code=303)


@router.get("/admin/users/{name}", response_class=HTMLResponse)
def user_detail(request: Request, name: UserName, user: UsersReader) -> Response:
    """A user: role, unit, scope, state, their sessions and tokens; deactivate or activate,
    reset the password, revoke sessions and tokens."""
    with read_connection() as conn:
        found = next((u for u in accounts.list_users(conn) if u.name == name), None)
        if found is None:
            raise ServiceError(404, "error.no_user", user=name)
        tokens = service.user_tokens(conn, name)
    return page(request, "admin/user.html", person=found, tokens=tokens)


def _user_action(name: str, done: str, action: Any) -> Response:
    with get_engine().begin() as conn:
        action(conn)
    return RedirectResponse(f"/admin/users/{quote(name)}?done={done}", status_code=303)


@router.post("/admin/users/{name}/deactivate")
def deactivate(name: UserName, user: UsersAdmin, _: None = Csrf) -> Response:
    """Deactivate a user: every session and token of theirs is revoked."""
    return _user_action(name, "admin_user_deactivated", lambda conn: accounts.set_active(conn, name, False, user.name))


@router.post("/admin/users/{name}/activate")
def activate(name: UserName, user: UsersAdmin, _: None = Csrf) -> Response:
    """Reactivate a user; none of their old sessions or tokens comes back."""
    return _user_action(name, "admin_user_activated", lambda conn: accounts.set_active(conn, name, True, user.name))


@router.post("/admin/users/{name}/revoke")
def revoke_all(name: UserName, user: TokensAdmin, _: None = Csrf) -> Response:
    """End every session and revoke every token of a user (the account stays active)."""
    return _user_action(name, "admin_tokens_revoked", lambda conn: accounts.revoke_user_tokens(conn, name, user.name))


@router.post("/admin/tokens/{token_id}/revoke")
def revoke_one(token_id: RowId, user: TokensAdmin, owner: Annotated[str, Form(min_length=1, max_length=80)],
               _: None = Csrf) -> Response:
    """Revoke one session or token."""
    return _user_action(owner, "admin_token_revoked",
                        lambda conn: accounts.revoke_token(conn, token_id, None, user.name))


@router.post("/admin/users/{name}/reset-password", response_class=HTMLResponse)
def reset_password(request: Request, name: UserName, user: UsersAdmin, _: None = Csrf) -> Response:
    """A temporary password, shown once here; the user's sessions end and they choose their
    own at the next login."""
    with get_engine().begin() as conn:
        temporary = accounts.reset_password(conn, name, user, user.name)
    return _secret(page(request, "admin/secret.html", name=name, secret=temporary, created=False))


def _secret(response: Response) -> Response:
    """A page with a one-time password: never kept by the browser or a proxy."""
    response.headers["Cache-Control"] = "no-store"
    return response


# ---------------------------------------------------------------------- settings

def _settings(request: Request, error: str | None = None, status: int = 200, failed: str | None = None) -> Response:
    lang = language(request)
    with read_connection() as conn:
        current = county.current(conn)
        thresholds = county.thresholds(conn)
        history = county.history(conn, limit=100)
        towns = [(r.town_code, r.town_name) for r in conn.execute(
            select(Town.town_code, Town.town_name).order_by(Town.town_code))]
    from audit.detectors.registry import REGISTRY

    defaults = {detector.code: dict(detector.defaults) for detector in REGISTRY}
    flags = [{"code": code, "title": t(f"flag.{code}", lang),
              "params": [{"name": name, "label": _param_label(code, name, lang), "value": _param_value(value),
                          "terms": isinstance(value, list),
                          "default": _param_value(defaults[code][name]), "changed": value != defaults[code][name]}
                         for name, value in thresholds[code].items()]}
             for code in CODES if code in thresholds and thresholds[code]]
    changes = [{**c, "label": _setting_label(c["key"], lang), "old": _shown(c["old"], lang, c["key"]),
                "new": _shown(c["new"], lang, c["key"])} for c in history]
    return page(request, "admin/settings.html", status=status, current=current, flags=flags, towns=towns,
                history=changes, error=error, failed=failed, simple=SIMPLE_SETTINGS)


def _setting_label(key: str, lang: str) -> str:
    if key.startswith("flag."):
        code = key.removeprefix("flag.")
        return f"{code} {t(f'flag.{code}', lang)}" if has(f"flag.{code}") else key
    return _label("ui.admin.setting", key, lang)


def _shown(value: Any, lang: str, key: str = "") -> str:
    """A setting's value as the history prints it (a dict as name = value pairs, a red
    flag's thresholds by their names in the reader's words)."""
    if isinstance(value, dict):
        code = key.removeprefix("flag.")
        return "；".join(f"{_param_label(code, str(k), lang)} = {_param_value(v)}" for k, v in value.items()) or "—"
    return "—" if value in ("", None) else str(value)


@router.get("/admin/settings", response_class=HTMLResponse)
def settings(request: Request, user: SettingsAdmin) -> Response:
    """县级设置: the county's name, 监督电话, issuing units, the notice period and each red
    flag's thresholds, edited with a reason; and every change so far."""
    return _settings(request)


@router.post("/admin/settings")
async def change_setting(request: Request, user: SettingsAdmin, _: None = Csrf) -> Response:
    """Change one setting (or one red flag's thresholds) with the reason, through the
    settings service: into the history and onto the trail."""
    form = await request.form()
    key = str(form.get("key", ""))[:64]
    reason = str(form.get("reason", ""))[:500]
    value: Any
    if key == "town_issuing_units":
        value = {name.removeprefix("town."): str(v) for name, v in form.items() if name.startswith("town.")}
    elif key.startswith("flag."):
        value = {name.removeprefix("param."): str(v) for name, v in form.items() if name.startswith("param.")}
    else:
        value = str(form.get("value", ""))

    def apply() -> None:
        with get_engine().begin() as conn:
            county.change(conn, key, value, reason, user)

    try:
        await run_in_threadpool(apply)
    except ServiceError as exc:
        return await run_in_threadpool(_settings, request, _refused(exc, language(request)), exc.status, key)
    return RedirectResponse("/admin/settings?done=admin_setting_changed#history", status_code=303)


# ---------------------------------------------------------------------- the audit trail



def _subject(subject: str, lang: str) -> tuple[str, str]:
    """A trail subject (``user admin1``, ``run 3``) as its kind in the reader's words and the
    identifier as stored (a name, a number, a file: verbatim)."""
    kind, _, rest = subject.partition(" ")
    message_id = f"ui.admin.subject.{kind}"
    if rest and has(message_id):
        return t(message_id, lang), mask_text(rest)
    return "", mask_text(subject)


@router.get("/admin/trail", response_class=HTMLResponse)
def trail_page(request: Request, user: Verifier, actor: Annotated[str | None, Query(max_length=80)] = None,
               action: Annotated[str | None, Query(max_length=60)] = None,
               subject: Annotated[str | None, Query(max_length=200)] = None,
               since: Annotated[str | None, Query(max_length=10)] = None,
               until: Annotated[str | None, Query(max_length=10)] = None,
               page_number: Annotated[int, Query(alias="page", ge=1, le=1_000_000)] = 1) -> Response:
    """审计日志: search the trail by user, action, date range and subject, newest first, a page
    at a time; verify its hash chain and checkpoints."""
    lang = language(request)
    query = service.TrailQuery(actor=actor or None, action=action or None,
                               subject=subject.strip() if subject and subject.strip() else None,
                               since=forms.form_day(since), until=forms.form_day(until))
    with read_connection() as conn:
        total, rows = service.search_trail(conn, query, TRAIL_PAGE, (page_number - 1) * TRAIL_PAGE)
        actors, actions = service.trail_choices(conn)
    entries = [{"id": r.id, "at": r.at, "actor": r.actor, "action": r.action,
                "action_label": _label("ui.admin.action", r.action, lang),
                "subject_kind": _subject(r.subject, lang)[0], "subject": _subject(r.subject, lang)[1],
                "detail": json.dumps(mask(r.detail), ensure_ascii=False, default=str) if r.detail else ""}
               for r in rows]
    kept = {k: v for k, v in {"actor": actor, "action": action, "subject": subject, "since": since,
                              "until": until}.items() if v}
    return page(request, "admin/trail.html", entries=entries, total=total, page_number=page_number,
                pages=max(1, -(-total // TRAIL_PAGE)), query_string=urlencode(kept), selected=kept,
                actors=actors, actions=[(a, _label("ui.admin.action", a, lang)) for a in actions])


@router.get("/admin/trail/verify", response_class=HTMLResponse)
def verify(request: Request, user: Verifier) -> Response:
    """Recompute the trail's hash chain and hold it to its checkpoints: the verdict in the
    reader's language (the fragment alone when htmx asks)."""
    with read_connection() as conn:
        verdict = trail.verify(conn)
    template = "admin/_verdict.html" if request.headers.get("hx-request") else "admin/verdict.html"
    return page(request, template, verdict=verdict)

"""What the administrator's screens read: the import history, detection runs with their
counts and who ran them, the audit trail searched and paged, the tokens of a user. The
writes go through the services that own them (the importer and detection as jobs,
``audit.auth.service`` for users, ``audit.county.service`` for settings); nothing here
commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Connection, func, select

from audit.models import ApiToken, AuditEntry, DetectionRun, Finding, ImportBatch, Job, User

# How far back the screens look for the job an import or a run came from.
RECENT_JOBS = 500


def import_history(conn: Connection, limit: int = 50) -> list[dict[str, Any]]:
    """Past imports, newest first, each with its counts summed over its tables and the job
    whose report it is (when it came through the screens or the API's job)."""
    batches = conn.execute(select(ImportBatch).order_by(ImportBatch.id.desc()).limit(limit)).all()
    reports = _jobs_by(conn, "import", "batch_id")
    rows = []
    for batch in batches:
        totals = {name: sum(int(counts.get(name, 0)) for counts in (batch.counts or {}).values())
                  for name in ("read", "inserted", "updated", "unchanged", "rejected")}
        rows.append({"id": batch.id, "started_at": batch.started_at, "by": batch.imported_by,
                     "source": batch.source.rsplit("/", 1)[-1], "outcome": batch.outcome, "partial": batch.partial,
                     "errors": batch.error_count, "warnings": batch.warning_count, "totals": totals,
                     "job_id": reports.get(batch.id)})
    return rows


def _jobs_by(conn: Connection, kind: str, key: str) -> dict[int, int]:
    """{result[key]: job id} of the recent finished jobs of ``kind`` (a JSON column is read
    here, not filtered in SQL, the same on SQLite and PostgreSQL)."""
    found: dict[int, int] = {}
    for job_id, result in conn.execute(select(Job.id, Job.result).where(Job.kind == kind, Job.state == "done")
                                       .order_by(Job.id.desc()).limit(RECENT_JOBS)):
        if isinstance(result, dict) and isinstance(result.get(key), int):
            found.setdefault(result[key], job_id)
    return found


def running_jobs(conn: Connection, kind: str) -> list[Any]:
    """Jobs of ``kind`` still queued or running, for the screens to link to their progress."""
    return list(conn.execute(select(Job.id, Job.state, Job.created_at, User.name.label("by"))
                             .join(User, User.id == Job.created_by)
                             .where(Job.kind == kind, Job.state.in_(("queued", "running"))).order_by(Job.id)))


def job_kind(conn: Connection, job_id: int) -> str | None:
    return conn.execute(select(Job.kind).where(Job.id == job_id)).scalar()


def _run_actors(conn: Connection, run_ids: list[int]) -> dict[int, str]:
    """Who started each run: detection_runs keeps no user, the trail entry of the run does."""
    if not run_ids:
        return {}
    subjects = {f"run {run_id}": run_id for run_id in run_ids}
    return {subjects[r.subject]: r.actor for r in conn.execute(
        select(AuditEntry.subject, AuditEntry.actor).where(AuditEntry.action == "detection_run",
                                                           AuditEntry.subject.in_(list(subjects))))}


def detection_runs(conn: Connection, limit: int = 50) -> list[dict[str, Any]]:
    """Detection runs, newest first: when, by whom, as of which day, and their totals."""
    runs = conn.execute(select(DetectionRun).order_by(DetectionRun.id.desc()).limit(limit)).all()
    actors = _run_actors(conn, [r.id for r in runs])
    return [{"id": r.id, "started_at": r.started_at, "finished_at": r.finished_at, "as_of": r.as_of,
             "outcome": r.outcome, "by": actors.get(r.id, ""), "codes": len(r.codes or []),
             **{name: sum(int(d.get(name, 0)) for d in (r.detectors or {}).values())
                for name in ("findings", "new", "stale")}} for r in runs]


def detection_run(conn: Connection, run_id: int) -> dict[str, Any] | None:
    """One run: per red flag its findings, new and stale (as the run counted them), the
    cases those findings are in today, and the seconds it took."""
    run = conn.execute(select(DetectionRun).where(DetectionRun.id == run_id)).first()
    if run is None:
        return None
    cases = dict(conn.execute(select(Finding.code, func.count(func.distinct(Finding.case_id)))
                              .where(Finding.last_run_id == run_id).group_by(Finding.code)).all())
    codes = [{"code": code, "findings": d.get("findings", 0), "new": d.get("new", 0), "stale": d.get("stale", 0),
              "cases": cases.get(code, 0), "seconds": d.get("seconds", 0), "settings": d.get("settings", {})}
             for code, d in sorted((run.detectors or {}).items())]
    return {"id": run.id, "started_at": run.started_at, "finished_at": run.finished_at, "as_of": run.as_of,
            "outcome": run.outcome, "by": _run_actors(conn, [run.id]).get(run.id, ""), "error": run.error,
            "codes": codes, "totals": {name: sum(int(c[name]) for c in codes)
                                       for name in ("findings", "new", "stale", "cases")}}


def user_tokens(conn: Connection, name: str) -> list[Any]:
    """A user's tokens and sessions, newest first (what they are, never the tokens)."""
    return list(conn.execute(select(ApiToken.id, ApiToken.kind, ApiToken.label, ApiToken.created_at,
                                    ApiToken.expires_at, ApiToken.revoked, ApiToken.revoked_at)
                             .join(User, User.id == ApiToken.user_id).where(User.name == name)
                             .order_by(ApiToken.id.desc())))


def live_token_counts(conn: Connection) -> dict[str, int]:
    """{user name: tokens and sessions not revoked}, for the user list."""
    return dict(conn.execute(select(User.name, func.count(ApiToken.id)).join(ApiToken, ApiToken.user_id == User.id)
                             .where(ApiToken.revoked.is_(False)).group_by(User.name)).all())


@dataclass(frozen=True)
class TrailQuery:
    actor: str | None = None
    action: str | None = None
    subject: str | None = None  # a part of the subject
    since: date | None = None
    until: date | None = None  # inclusive


def _where(query: Any, q: TrailQuery) -> Any:
    if q.actor:
        query = query.where(AuditEntry.actor == q.actor)
    if q.action:
        query = query.where(AuditEntry.action == q.action)
    if q.subject:
        escaped = q.subject.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(AuditEntry.subject.like(f"%{escaped}%", escape="\\"))
    if q.since:
        query = query.where(AuditEntry.at >= datetime.combine(q.since, time.min, tzinfo=UTC))
    if q.until:
        query = query.where(AuditEntry.at < datetime.combine(q.until + timedelta(days=1), time.min, tzinfo=UTC))
    return query


def search_trail(conn: Connection, q: TrailQuery, limit: int, offset: int) -> tuple[int, list[Any]]:
    """Entries of the trail matching ``q``, newest first, one page of them, and how many match."""
    total = conn.execute(_where(select(func.count()).select_from(AuditEntry), q)).scalar_one()
    rows = conn.execute(_where(select(AuditEntry.id, AuditEntry.at, AuditEntry.actor, AuditEntry.action,
                                      AuditEntry.subject, AuditEntry.detail), q)
                        .order_by(AuditEntry.id.desc()).limit(limit).offset(offset)).all()
    return total, list(rows)


def trail_choices(conn: Connection) -> tuple[list[str], list[str]]:
    """The actors and actions the trail holds, for the search form's lists."""
    actors = list(conn.execute(select(AuditEntry.actor).distinct().order_by(AuditEntry.actor)).scalars())
    actions = list(conn.execute(select(AuditEntry.action).distinct().order_by(AuditEntry.action)).scalars())
    return actors, actions

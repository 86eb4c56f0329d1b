"""Background jobs: work too long for a request (an import, a large roster check) runs in
a worker process of its own, never in the server's: the server's event loop and threads
keep answering (``/health`` within milliseconds) while a 200,000-row upload is imported,
and an import's memory and CPU are the worker's, not the server's.

A job is a row in ``jobs`` (queued → running → done | failed) and a task of
:mod:`audit.jobs.tasks` with its arguments (names and paths, sent to the worker), run in
its own transaction there. While it runs its progress is a small file the worker rewrites
(an import on SQLite holds the database's write lock, so progress cannot be written beside
it); the result is stored with the job when it ends, and a screen polls ``GET /jobs/{id}``.
A job still running when its server stopped is marked failed when the next server starts.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import tempfile
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, insert, select, update

from audit.auth.service import Principal
from audit.db import get_engine
from audit.errors import ServiceError
from audit.models import Job

log = logging.getLogger("audit.jobs")

WORKERS = 2  # two jobs at once: a county's imports and checks queue behind them
JOB_NICENESS = 10  # how much lower than the server's requests a worker runs
PROGRESS_EVERY = 0.3  # seconds between progress files

_executor: ProcessPoolExecutor | None = None
_executor_guard = threading.Lock()


def _now() -> datetime:
    return datetime.now(UTC)


def progress_dir() -> Path:
    folder = Path(tempfile.gettempdir()) / f"audit-jobs-{os.getuid()}"
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder


def _pool() -> ProcessPoolExecutor:
    global _executor
    with _executor_guard:
        if _executor is None:
            # Spawned, not forked: a fork of a server with threads and open connections
            # would copy their locks in whatever state they were.
            _executor = ProcessPoolExecutor(max_workers=WORKERS, mp_context=multiprocessing.get_context("spawn"),
                                            initializer=_prepare_worker)
        return _executor


def _prepare_worker() -> None:
    """In each new worker: import what every job needs (the importer, the detectors, the
    services; about 2.5 s of a spawned interpreter's time) before its first job arrives."""
    import importlib

    for module in ("audit.checks.service", "audit.detection.service", "audit.jobs.tasks", "audit.records.router"):
        importlib.import_module(module)


def _ready() -> bool:
    return True


def warm() -> None:
    """Start the workers when the server starts, so a finance officer's first roster is
    checked in the time of the check (a 5,000-line roster: 1.8 s, not 3.8 s) instead of
    waiting for a worker to start and import everything. Both are started: with no idle
    worker, each submission spawns one, up to WORKERS."""
    for _ in range(WORKERS):
        _pool().submit(_ready)


@dataclass(frozen=True)
class Submitted:
    job_id: int
    future: Future[tuple[int, dict[str, Any]]]


def submit(kind: str, owner: Principal, task: str, /, **arguments: Any) -> Submitted:
    """Queue ``task`` with ``arguments`` as a job of ``owner``'s; returns at once. The
    future gives (status, result), or raises the job's ServiceError."""
    with get_engine().connect() as conn, conn.begin():
        job_id = conn.execute(insert(Job).values(kind=kind, state="queued", created_by=owner.id, created_at=_now(),
                                                 progress={}, result=None).returning(Job.id)).scalar_one()
    # The worker reads the same settings as the server (the database, the log key...).
    settings = {name: value for name, value in os.environ.items() if name.startswith("AUDIT_")}
    raw = _pool().submit(run_in_worker, job_id, task, arguments, settings)
    outcome: Future[tuple[int, dict[str, Any]]] = Future()

    def settle(done: Future[Any]) -> None:
        # The waiting request may have given up (its client went away or timed out) and
        # cancelled ``outcome``: then no one is told, but the job's end is recorded all the same.
        try:
            answer = done.result()
        except Exception as exc:  # the worker itself died: the job says so
            log.exception("job %s: the worker failed", job_id)
            _finish(job_id, "failed", 500, None, {"message": "error.job_failed", "fields": {"error": type(exc).__name__}})
            if not outcome.done():
                outcome.set_exception(ServiceError(500, "error.job_failed", error=type(exc).__name__))
            return
        if outcome.done():
            return
        if answer[0] == "done":
            outcome.set_result((answer[1], answer[2]))
        else:
            _, status, message_id, fields, detail = answer
            outcome.set_exception(ServiceError(status, message_id, detail, **fields))

    raw.add_done_callback(settle)
    return Submitted(job_id, outcome)


def run_in_worker(job_id: int, task: str, arguments: dict[str, Any], settings: dict[str, str]) -> tuple[Any, ...]:
    """The job, in the worker process: ("done", status, result) or ("failed", status,
    message id, fields, detail) — plain data, whatever happens."""
    from audit import db, trail
    from audit.config import get_settings
    from audit.jobs.tasks import TASKS

    for name in [n for n in os.environ if n.startswith("AUDIT_") and n not in settings]:
        del os.environ[name]
    os.environ.update(settings)
    get_settings.cache_clear()
    db.dispose_engines_not_for(get_settings().database_url)
    try:
        os.setpriority(os.PRIO_PROCESS, 0, JOB_NICENESS)
    except (AttributeError, OSError):  # not allowed here: the usual priority
        pass
    engine = get_engine()
    with engine.connect() as conn, conn.begin():
        conn.execute(update(Job).where(Job.id == job_id).values(state="running", started_at=_now()))
    file = progress_dir() / f"{job_id}.json"
    last = [0.0]

    def progress(step: str, done: int, total: int) -> None:
        now = time.monotonic()
        if now - last[0] < PROGRESS_EVERY and done < total:
            return
        last[0] = now
        partial = file.with_suffix(".tmp")
        partial.write_text(json.dumps({"step": step, "done": done, "total": total}), encoding="utf-8")
        os.replace(partial, file)

    try:
        with engine.connect() as conn:
            with conn.begin():
                status, result = TASKS[task](conn, progress, **arguments)
            trail.maybe_checkpoint(conn)  # after the commit, as every request does
    except ServiceError as exc:
        error = {"message": exc.message_id, "fields": exc.fields, "detail": exc.detail}
        _finish(job_id, "failed", exc.status, None, error)
        return ("failed", exc.status, exc.message_id, exc.fields, exc.detail)
    except Exception as exc:
        log.exception("job %s failed", job_id)
        _finish(job_id, "failed", 500, None, {"message": "error.job_failed", "fields": {"error": type(exc).__name__}})
        return ("failed", 500, "error.job_failed", {"error": type(exc).__name__}, None)
    finally:
        file.unlink(missing_ok=True)
    _finish(job_id, "done", status, result, None)
    return ("done", status, result)


def _finish(job_id: int, state: str, status: int | None, result: dict[str, Any] | None,
            error: dict[str, Any] | None) -> None:
    with get_engine().connect() as conn, conn.begin():
        conn.execute(update(Job).where(Job.id == job_id, Job.state.in_(("queued", "running"))).values(
            state=state, finished_at=_now(), status_code=status, result=result, error=error))


def get(conn: Connection, job_id: int, user: Principal) -> dict[str, Any]:
    """A job as its owner (or an administrator) sees it, with live progress while it runs."""
    row = conn.execute(select(Job).where(Job.id == job_id)).first()
    if row is None or (row.created_by != user.id and user.role != "admin"):
        raise ServiceError(404, "error.no_job", job_id=job_id)
    progress = row.progress
    if row.state == "running":
        try:
            progress = json.loads((progress_dir() / f"{job_id}.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):  # not written yet, or being replaced this instant
            progress = {}
    return {"job_id": row.id, "kind": row.kind, "state": row.state, "progress": progress,
            "status_code": row.status_code, "result": row.result, "error": row.error,
            "created_at": row.created_at.isoformat(),
            "finished_at": row.finished_at.isoformat() if row.finished_at else None}


def mark_interrupted() -> int:
    """Jobs left queued or running by a server that stopped: failed, say so."""
    with get_engine().connect() as conn, conn.begin():
        return conn.execute(update(Job).where(Job.state.in_(("queued", "running"))).values(
            state="failed", finished_at=_now(), status_code=503,
            error={"message": "error.job_interrupted", "fields": {}})).rowcount


def shutdown() -> None:
    global _executor
    with _executor_guard:
        if _executor is not None:
            _executor.shutdown(wait=True)
            _executor = None

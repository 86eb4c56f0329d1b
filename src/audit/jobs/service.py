"""Background jobs: work too long for a request (an import, a large roster check, a
detection run) runs in a worker thread of the server, never on its event loop, so the
service keeps answering (``/health`` within milliseconds) while a 200,000-row upload is
imported.

A job is a row in ``jobs`` (queued → running → done | failed) and a function of a
connection and a progress callback, run in its own transaction. Its progress is kept in
this process's memory while it runs (an import on SQLite holds the database's write lock,
so progress cannot be written beside it) and stored with the result when it ends; a
screen polls ``GET /jobs/{id}``. A job still running when its server stopped is marked
failed when the next server starts.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from audit import trail
from audit.auth.service import Principal
from audit.db import get_engine
from audit.errors import ServiceError
from audit.models import Job

log = logging.getLogger("audit.jobs")

Progress = Callable[[str, int, int], None]  # step, done, total
Work = Callable[[Connection, Progress], tuple[int, dict[str, Any]]]  # -> (status code, result)

_executor: ThreadPoolExecutor | None = None
_executor_guard = threading.Lock()
_live: dict[int, dict[str, Any]] = {}
_live_guard = threading.Lock()
WORKERS = 2  # two jobs at once: a county's imports and checks queue behind them, the service stays free
JOB_NICENESS = 10  # how much lower than the server's requests a job's thread runs


def _pool() -> ThreadPoolExecutor:
    global _executor
    with _executor_guard:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="audit-job")
        return _executor


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Submitted:
    job_id: int
    future: Future[tuple[int, dict[str, Any]]]


def submit(kind: str, user: Principal, work: Work) -> Submitted:
    """Queue ``work`` as a job of ``user``'s; returns at once."""
    with get_engine().connect() as conn, conn.begin():
        job_id = conn.execute(insert(Job).values(kind=kind, state="queued", created_by=user.id, created_at=_now(),
                                                 progress={}, result=None).returning(Job.id)).scalar_one()
    with _live_guard:
        _live[job_id] = {"step": "", "done": 0, "total": 0}
    future = _pool().submit(_run, job_id, work)
    return Submitted(job_id, future)


def _lower_priority() -> None:
    """A job's thread yields the CPU to the server's requests (and, on one machine, to the
    database): on Linux a thread has its own nice value. Once lowered it stays so, which
    is right for a thread that only ever runs jobs."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), JOB_NICENESS)
    except (AttributeError, OSError):  # not Linux, or not allowed: run at the usual priority
        pass


def _run(job_id: int, work: Work) -> tuple[int, dict[str, Any]]:
    _lower_priority()
    engine = get_engine()
    with engine.connect() as conn, conn.begin():
        conn.execute(update(Job).where(Job.id == job_id).values(state="running", started_at=_now()))
    last = [0.0]

    def progress(step: str, done: int, total: int) -> None:
        with _live_guard:
            _live[job_id] = {"step": step, "done": done, "total": total}
        last[0] = time.monotonic()

    try:
        with engine.connect() as conn:
            with conn.begin():
                status, result = work(conn, progress)
            trail.maybe_checkpoint(conn)  # after the commit, as every request does
    except ServiceError as exc:
        _finish(job_id, "failed", exc.status, None, {"message": exc.message_id, "fields": exc.fields,
                                                     "detail": exc.detail})
        raise
    except Exception as exc:
        log.exception("job %s failed", job_id)
        _finish(job_id, "failed", 500, None, {"message": "error.job_failed", "fields": {"error": type(exc).__name__}})
        raise
    _finish(job_id, "done", status, result, None)
    return status, result


def _finish(job_id: int, state: str, status: int | None, result: dict[str, Any] | None,
            error: dict[str, Any] | None) -> None:
    with _live_guard:
        final = _live.pop(job_id, {})
    with get_engine().connect() as conn, conn.begin():
        conn.execute(update(Job).where(Job.id == job_id).values(
            state=state, finished_at=_now(), status_code=status, result=result, error=error, progress=final))


def get(conn: Connection, job_id: int, user: Principal) -> dict[str, Any]:
    """A job as its owner (or an administrator) sees it, with live progress while it runs."""
    row = conn.execute(select(Job).where(Job.id == job_id)).first()
    if row is None or (row.created_by != user.id and user.role != "admin"):
        raise ServiceError(404, "error.no_job", job_id=job_id)
    with _live_guard:
        live = dict(_live.get(job_id) or {})
    return {"job_id": row.id, "kind": row.kind, "state": row.state, "progress": live or row.progress,
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

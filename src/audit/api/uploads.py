"""Uploads spooled to disk and run as background jobs, never on the event loop.

An upload route reads the body as it streams in, straight into a temporary file (bounded:
the body-size limit refuses it past the setting), hands the file to a job in a worker
thread, and either waits for the job without blocking the loop (the API's classic
behaviour: the answer is the job's result) or, with ``?background=true``, answers 202 at
once with the job's id for the screens to poll.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse
from sqlalchemy import Connection

from audit.auth.service import Principal
from audit.config import get_settings
from audit.errors import ServiceError
from audit.jobs import service as jobs


async def spool(request: Request, suffix: str) -> Path:
    """The request body in a temporary file (the caller's job deletes it)."""
    limit = get_settings().upload_max_bytes
    handle, name = tempfile.mkstemp(prefix="audit-upload-", suffix=suffix)
    size = 0
    try:
        with os.fdopen(handle, "wb") as out:
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise ServiceError(413, "error.body_too_large", limit_mb=limit // (1024 * 1024))
                out.write(chunk)  # chunks of tens of KB to the page cache: microseconds
    except BaseException:
        os.unlink(name)
        raise
    if size == 0:
        os.unlink(name)
        raise ServiceError(422, "error.upload_empty")
    return Path(name)


async def run_upload(kind: str, user: Principal, path: Path, background: bool,
                     work: Callable[[Connection, jobs.Progress, Path], tuple[int, dict[str, Any]]],
                     answer: Callable[[int, dict[str, Any]], Any]) -> Any:
    """Run ``work`` on the spooled file as a job; 202 with the job at once, or the answer
    built from the job's result when it is done."""

    def job(conn: Connection, progress: jobs.Progress) -> tuple[int, dict[str, Any]]:
        try:
            return work(conn, progress, path)
        finally:
            path.unlink(missing_ok=True)

    try:
        submitted = jobs.submit(kind, user, job)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    if background:
        return JSONResponse({"job_id": submitted.job_id, "state": "queued"}, status_code=202,
                            headers={"Location": f"/jobs/{submitted.job_id}"})
    status, result = await asyncio.wrap_future(submitted.future)
    return answer(status, result)

"""Uploads spooled to disk and run as background jobs, never on the event loop.

An upload route reads the body as it streams in, straight into a temporary file (bounded:
the body-size limit refuses it past the setting), hands the file to a job in a worker
process, and either waits for the job without blocking the loop (the API's classic
behaviour: the answer is the job's result) or, with ``?background=true``, answers 202 at
once with the job's id for the screens to poll.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from audit.api.limits import spool_body
from audit.auth.service import Principal
from audit.config import get_settings
from audit.errors import ServiceError
from audit.jobs import service as jobs


async def spool(request: Request, suffix: str) -> Path:
    """The request body in a temporary file (the caller's job deletes it); refused past the
    upload limit as it streams, and when empty."""
    path = await spool_body(request, get_settings().upload_max_bytes, suffix)
    if path.stat().st_size == 0:
        path.unlink()
        raise ServiceError(422, "error.upload_empty")
    return path


async def run_upload(kind: str, user: Principal, path: Path, background: bool, task: str,
                     arguments: dict[str, Any], answer: Callable[[int, dict[str, Any]], Any]) -> Any:
    """Run ``task`` (of :mod:`audit.jobs.tasks`) on the spooled file as a job in a worker
    process; 202 with the job at once, or the answer built from the job's result when it is
    done. The worker deletes nothing of the caller's: the file goes when the job ends."""
    try:
        # Recording the job is a database write: off the event loop, like the job itself.
        submitted = await asyncio.to_thread(jobs.submit, kind, user, task, path=str(path), **arguments)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    submitted.future.add_done_callback(lambda _: path.unlink(missing_ok=True))
    if background:
        return JSONResponse({"job_id": submitted.job_id, "state": "queued"}, status_code=202,
                            headers={"Location": f"/api/jobs/{submitted.job_id}"})
    status, result = await asyncio.wrap_future(submitted.future)
    return answer(status, result)

"""Uploads spooled to disk and run as background jobs, never on the event loop.

An upload route reads the body as it streams in, straight into a temporary file (bounded:
the body-size limit refuses it past the setting), hands the file to a job in a worker
process, and either waits for the job without blocking the loop (the API's classic
behaviour: the answer is the job's result) or, with ``?background=true``, answers 202 at
once with the job's id for the screens to poll.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse
from starlette.datastructures import UploadFile as StarletteUploadFile

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


MULTIPART = "multipart/form-data"


@dataclass(frozen=True)
class Upload:
    """A spooled upload: the file, its suffix, the name the user gave it, and the form's
    other fields (a multipart form's; none for a raw body)."""

    path: Path
    suffix: str
    filename: str
    fields: dict[str, str]


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


async def spool_upload(request: Request, media: dict[str, str], default_name: str) -> Upload:
    """The uploaded file on disk, from a raw body of one of the ``media`` types (type →
    suffix) or from a browser's multipart form (its ``file`` field, the suffix from its
    name; the other fields are short texts). The body limit holds for both: the middleware
    counts a multipart body as it streams, and the form parser spools the file to disk."""
    kind = media_type(request)
    if kind != MULTIPART:
        if kind not in media:
            raise ServiceError(415, "error.upload_media_type", accepted=sorted(set(media.values())))
        path = await spool(request, media[kind])
        return Upload(path, media[kind], default_name + media[kind], {})
    suffixes = set(media.values())
    async with request.form(max_files=1, max_fields=8, max_part_size=4096) as form:
        sent = form.get("file")
        if not isinstance(sent, StarletteUploadFile):
            raise ServiceError(422, "error.upload_no_file")
        filename = Path(sent.filename or default_name).name[:200]
        suffix = Path(filename).suffix.lower()
        if suffix not in suffixes:
            raise ServiceError(415, "error.upload_media_type", accepted=sorted(suffixes))
        descriptor, name = tempfile.mkstemp(prefix="audit-upload-", suffix=suffix)
        path = Path(name)
        try:
            with os.fdopen(descriptor, "wb") as handle:
                while chunk := await sent.read(1 << 20):
                    handle.write(chunk)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        fields = {key: value.strip() for key, value in form.items() if isinstance(value, str)}
    if path.stat().st_size == 0:
        path.unlink()
        raise ServiceError(422, "error.upload_empty")
    return Upload(path, suffix, filename, fields)


def shipped_profile(name: str | None) -> str | None:
    """The import profile an upload names (a shipped one: never a path on the server),
    checked before any work is queued; 422 for one that does not exist."""
    from audit.importer import profile as profiles

    if not name:
        return None
    try:
        return profiles.shipped(name).name
    except profiles.ProfileError as exc:
        raise ServiceError(422, exc.message_id, **exc.fields) from None


async def start_upload(kind: str, user: Principal, path: Path, task: str, arguments: dict[str, Any]
                       ) -> jobs.Submitted:
    """Run ``task`` (of :mod:`audit.jobs.tasks`) on the spooled file as a job in a worker
    process; the file goes when the job ends (the worker deletes nothing of the caller's)."""
    try:
        # Recording the job is a database write: off the event loop, like the job itself.
        submitted = await asyncio.to_thread(jobs.submit, kind, user, task, path=str(path), **arguments)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    submitted.future.add_done_callback(lambda _: path.unlink(missing_ok=True))
    return submitted


async def run_upload(kind: str, user: Principal, path: Path, background: bool, task: str,
                     arguments: dict[str, Any], answer: Callable[[int, dict[str, Any]], Any]) -> Any:
    """The upload as a job (:func:`start_upload`): 202 with the job at once, or the answer
    built from the job's result when it is done."""
    submitted = await start_upload(kind, user, path, task, arguments)
    if background:
        return JSONResponse({"job_id": submitted.job_id, "state": "queued"}, status_code=202,
                            headers={"Location": f"/api/jobs/{submitted.job_id}"})
    status, result = await asyncio.wrap_future(submitted.future)
    return answer(status, result)

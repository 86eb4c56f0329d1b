"""What a background job can do, as plain functions of their arguments: they run in a
worker process, so they take names and paths (never live objects) and find the user
again there. Each gets the job's connection (its own transaction) and a progress callback,
and answers the status and the result a request would have had."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from audit.auth.service import principal_for_user
from audit.errors import ServiceError
from audit.importer import profile as profiles
from audit.importer.read import DatasetError
from audit.importer.service import ProgressFn


def import_dataset(conn: Connection, progress: ProgressFn, *, path: str, partial: bool, user: str,
                   lang: str, filename: str | None = None, profile: str | None = None) -> tuple[int, dict[str, Any]]:
    """An uploaded dataset through the importer, reported and recorded under the name the
    user gave it; the report in the uploader's language. ``profile`` names a shipped
    import profile the file is read with (a county's own export)."""
    from audit.importer.read import under_name
    from audit.records.router import report_json
    from audit.records.service import upload

    principal = principal_for_user(conn, user)
    try:
        chosen = profiles.shipped(profile) if profile else None
        with under_name(Path(path), filename or Path(path).name) as named:
            report = upload(conn, named, partial, principal, progress, profile=chosen)
    except DatasetError as exc:
        raise ServiceError(422, "error.dataset_unreadable", reason=exc.as_message()) from None
    except profiles.ProfileError as exc:
        raise ServiceError(422, exc.message_id, **exc.fields) from None
    return (200 if report.stored else 422), report_json(report, lang)


def check_file(conn: Connection, progress: ProgressFn, *, path: str, kind: str, suffix: str, user: str, lang: str,
               sheet: str | None = None, filename: str | None = None, profile: str | None = None
               ) -> tuple[int, dict[str, Any]]:
    """An uploaded file of lines through the pre-release check; the check's id and counts.
    A workbook of several sheets and none chosen answers 422 with the sheets to pick from."""
    from audit.checks.service import check_file as check

    principal = principal_for_user(conn, user)
    try:
        chosen = profiles.shipped(profile) if profile else None
        return 200, check(conn, kind, Path(path), suffix, principal, progress, sheet=sheet, filename=filename,
                          profile=chosen)
    except profiles.ProfileError as exc:
        raise ServiceError(422, exc.message_id, **exc.fields) from None
    except DatasetError as exc:  # a damaged workbook, a limit passed: the upload's fault, not ours
        if exc.message_id in {"error.dataset.pick_sheet", "error.dataset.no_such_sheet"}:
            fields = {**exc.fields, "file": filename or exc.fields["file"]}  # the user's name for it
            raise ServiceError(422, exc.message_id, detail={"sheets": exc.fields["sheets"]}, **fields) from None
        raise ServiceError(422, "error.dataset_unreadable", reason=exc.as_message()) from None


def detect(conn: Connection, progress: ProgressFn, *, user: str, codes: list[str] | None,
           as_of: str | None) -> tuple[int, dict[str, Any]]:
    """A detection run over the whole store (the same run as ``audit detect`` and ``POST
    /detect``), one detector a step; the run's id and counts."""
    from datetime import date

    from audit.detection.service import run_detection, run_summary
    from audit.errors import MessageError

    try:
        report = run_detection(conn, codes=codes, as_of=date.fromisoformat(as_of) if as_of else None,
                               progress=progress, actor=user)
    except MessageError as exc:  # an unknown code or setting: the service's own message
        raise ServiceError(422, exc.message_id, **exc.fields) from None
    return 200, run_summary(report)


TASKS = {"import": import_dataset, "check_file": check_file, "detect": detect}

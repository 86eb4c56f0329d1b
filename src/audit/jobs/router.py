"""Routes of background jobs: what the screens poll while an import or a check runs."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter

from audit.api.deps import ReadSessionDep, allowed
from audit.api.types import RowId
from audit.auth.service import Principal
from audit.jobs import service

router = APIRouter(tags=["jobs"])


@router.get("/jobs/{job_id}")
def get_job(job_id: RowId, conn: ReadSessionDep, user: Annotated[Principal, allowed("jobs:read")]) -> dict[str, Any]:
    """A background job of one's own: its state, progress, and when done its result."""
    return service.get(conn, job_id, user)

"""Routes of administration: users and units, tokens, detection runs, the audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from audit import trail
from audit.api.deps import Lang, ReadSessionDep, SessionDep, allowed
from audit.api.types import Code, Day, Name, RowId, normal_code
from audit.auth import service as accounts
from audit.auth.router import TokenInfo
from audit.auth.service import Principal

router = APIRouter(tags=["administration"])
Admin = Annotated[Principal, allowed("users:manage")]


class UserOut(BaseModel):
    name: str
    role: str
    active: bool
    unit: str
    scope: str
    town_code: str | None
    must_change_password: bool


@router.get("/admin/users", response_model=list[UserOut])
def list_users(conn: SessionDep, _: Annotated[Principal, allowed("users:read")]) -> list[UserOut]:
    """The service's users, their roles, units and scopes."""
    return [UserOut(name=u.name, role=u.role, active=u.active, unit=u.unit, scope=u.scope, town_code=u.town_code,
                    must_change_password=u.must_change_password) for u in accounts.list_users(conn)]


class UserIn(BaseModel):
    name: Name
    role: Literal["inspector", "finance", "disclosure", "admin", "machine"]
    unit: str | None = Field(default=None, max_length=120)


class Secret(BaseModel):
    name: str
    temporary_password: str


@router.post("/admin/users", response_model=Secret, status_code=201)
def create_user(body: UserIn, conn: SessionDep, admin: Admin) -> Secret:
    """Create a user with a temporary password, shown once: the user must choose their own
    at the first login (a machine user gets API tokens instead)."""
    return Secret(name=body.name,
                  temporary_password=accounts.create_user_by_admin(conn, body.name, body.role, body.unit, admin))


@router.post("/admin/users/{name}/deactivate", status_code=204)
def deactivate(name: Name, conn: SessionDep, admin: Admin) -> None:
    """Deactivate a user: every token and session of theirs is revoked."""
    accounts.set_active(conn, name, False, admin.name)


@router.post("/admin/users/{name}/activate", status_code=204)
def activate(name: Name, conn: SessionDep, admin: Admin) -> None:
    """Reactivate a user; none of their old tokens comes back."""
    accounts.set_active(conn, name, True, admin.name)


@router.post("/admin/users/{name}/reset-password", response_model=Secret)
def reset_password(name: Name, conn: SessionDep, admin: Admin) -> Secret:
    """A temporary password for a user who lost theirs, shown once; their sessions end, they
    choose their own at the next login, and the account gives no four-eyes approval for a
    day (the setting ``four_eyes_after_reset_hours``)."""
    return Secret(name=name, temporary_password=accounts.reset_password(conn, name, admin, admin.name))


class UnitIn(BaseModel):
    name: str = Field(min_length=1, max_length=120)
    scope: Literal["county", "town"]
    town_code: str | None = Field(default=None, max_length=64)


@router.get("/admin/units")
def list_units(conn: SessionDep, _: Annotated[Principal, allowed("users:read")]) -> list[dict[str, Any]]:
    """The units users belong to, with their scope."""
    return [{"id": u.id, "name": u.name, "scope": u.scope, "town_code": u.town_code} for u in accounts.list_units(conn)]


@router.post("/admin/units", status_code=201)
def create_unit(body: UnitIn, conn: SessionDep, admin: Admin) -> dict[str, int]:
    """A unit of the county, or of one town (its staff see that town's villages only)."""
    return {"id": accounts.create_unit(conn, body.name, body.scope, body.town_code, admin.name)}


@router.get("/admin/tokens", response_model=list[TokenInfo])
def list_tokens(conn: SessionDep, _: Annotated[Principal, allowed("tokens:manage")],
                user: Annotated[str | None, Query(max_length=80)] = None) -> list[TokenInfo]:
    """Every token and session (what they are, never the tokens), of one user or all."""
    return [TokenInfo.of(t) for t in accounts.list_tokens(conn, user)]


@router.post("/admin/tokens/{token_id}/revoke", status_code=204)
def revoke_token(token_id: RowId, conn: SessionDep, admin: Annotated[Principal, allowed("tokens:manage")]) -> None:
    """Revoke any token or session."""
    accounts.revoke_token(conn, token_id, None, admin.name)


class DetectIn(BaseModel):
    codes: list[Code] | None = Field(default=None, max_length=40)
    as_of: Day | None = None


@router.post("/detect", tags=["detection"])
def run_detect(body: DetectIn, conn: SessionDep, user: Annotated[Principal, allowed("detect:run")]
               ) -> dict[str, Any]:
    """Run the red-flag detectors over the whole store (the same run as `audit detect`)."""
    from audit.detection.service import run_detection, run_summary
    from audit.errors import MessageError, ServiceError

    codes = [normal_code(c) for c in body.codes] if body.codes else None
    try:
        report = run_detection(conn, codes=codes, as_of=body.as_of, actor=user.name)
    except MessageError as exc:  # an unknown code: the service's own message
        raise ServiceError(422, exc.message_id, **exc.fields) from None
    return run_summary(report)


@router.get("/detect/coverage", tags=["detection"])
def detect_coverage(conn: ReadSessionDep, _: Annotated[Principal, allowed("cases:read")]) -> dict[str, Any]:
    """What each rule could examine on the latest run, what it flagged, and the table it
    needs that is empty (a rule whose registry is missing saw nothing, and says so)."""
    from audit.detection.coverage import latest

    return latest(conn)


class CheckpointOut(BaseModel):
    entries: int
    head_id: int
    at: datetime


class Verdict(BaseModel):
    ok: bool
    entries: int
    first_bad: int | None
    reason: str
    checkpoint: CheckpointOut | None = None  # the latest checkpoint that verifies
    bad_checkpoint_lines: list[int] = []  # checkpoint-file lines that fail their HMAC


@router.get("/log/verify", response_model=Verdict, tags=["audit trail"])
def verify_log(conn: SessionDep, _: Annotated[Principal, allowed("log:verify")], lang: Lang) -> Verdict:
    """Recompute the audit trail's hash chain, hold it to its checkpoints, and name what does not hold."""
    verdict = trail.verify(conn)
    seen = verdict.checkpoint
    return Verdict(ok=verdict.ok, entries=verdict.entries, first_bad=verdict.first_bad, reason=verdict.text(lang),
                   checkpoint=CheckpointOut(entries=seen.entries, head_id=seen.head_id, at=seen.at) if seen else None,
                   bad_checkpoint_lines=verdict.bad_checkpoint_lines)


SettingsAdmin = Annotated[Principal, allowed("settings:manage")]


@router.get("/admin/settings", tags=["county settings"])
def county_settings(conn: SessionDep, _: SettingsAdmin) -> dict[str, Any]:
    """The county's settings in force (defaults filled in), each red flag's thresholds, and
    the latest changes."""
    from audit.county import service as county

    return {"settings": county.current(conn), "thresholds": county.thresholds(conn),
            "history": [{**c, "at": c["at"].isoformat()} for c in county.history(conn, limit=50)]}


class SettingIn(BaseModel):
    value: Any
    reason: str = Field(min_length=1, max_length=500)


@router.put("/admin/settings/{key}", tags=["county settings"])
def change_setting(key: Annotated[str, Path(max_length=64)], body: SettingIn, conn: SessionDep,
                   admin: SettingsAdmin) -> dict[str, Any]:
    """Change one setting (``hotline``, ``notice_days``, ``flag.DV-04`` with its thresholds...)
    with the reason: into the settings' history and onto the trail, as on the settings screen."""
    from audit.county import service as county

    return {"key": key, "value": county.change(conn, key, body.value, body.reason, admin)}

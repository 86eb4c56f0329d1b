"""Routes of logins, sessions and one's own account and tokens."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from audit import trail
from audit.api.deps import Me, SessionDep, allowed
from audit.api.types import RowId
from audit.auth import service
from audit.auth.service import Principal
from audit.db import get_engine
from audit.errors import ServiceError

router = APIRouter(tags=["auth"])


class Login(BaseModel):
    name: str = Field(min_length=1, max_length=80)
    password: str = Field(min_length=1, max_length=200)


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_at: str
    role: str
    must_change_password: bool = False


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def login_user(request: Request, name: str, password: str) -> service.LoginOutcome:
    """The one login path of the API and the browser, in its own transaction, committed
    before the answer: a failure stays recorded under the 401 (and counts toward the
    lockout), a locked-out name or address gets 429 with Retry-After."""
    with get_engine().connect() as conn:
        with conn.begin():
            outcome = service.attempt_login(conn, name, password, client_address(request))
        trail.maybe_checkpoint(conn)
    if outcome.locked is not None:
        raise ServiceError(429, "error.login_locked", headers={"Retry-After": str(outcome.locked.retry_after)},
                           minutes=max(1, (outcome.locked.retry_after + 59) // 60))
    if outcome.principal is None:
        raise ServiceError(401, "error.login_failed")
    return outcome


@router.post("/auth/login", response_model=TokenOut)
def login(body: Login, request: Request) -> TokenOut:
    """Exchange a name and password for a bearer token that expires. Five failures for a
    name (twenty from an address) within 15 minutes lock it out: 429 with Retry-After."""
    outcome = login_user(request, body.name, body.password)
    assert outcome.principal is not None and outcome.token and outcome.expires
    return TokenOut(access_token=outcome.token, expires_at=outcome.expires.isoformat(), role=outcome.principal.role,
                    must_change_password=outcome.principal.must_change_password)


@router.post("/auth/logout", status_code=204)
def logout(conn: SessionDep, user: Me, response: Response) -> None:
    """Revoke the token (or session) this request came with."""
    service.logout(conn, user)


class PasswordIn(BaseModel):
    current: str = Field(min_length=1, max_length=200)
    new: str = Field(min_length=1, max_length=200)


@router.post("/auth/password", status_code=204)
def change_password(body: PasswordIn, conn: SessionDep, user: Me) -> None:
    """Change one's own password (at least 12 characters, not one's name, not a common
    one); every other session of the user ends."""
    service.change_password(conn, user, body.current, body.new)


class MeOut(BaseModel):
    name: str
    role: str
    unit: str
    scope: str
    town_code: str | None
    language: str | None
    must_change_password: bool


@router.get("/me", response_model=MeOut)
def me(user: Me) -> MeOut:
    """Who the token belongs to: role, unit and scope."""
    return MeOut(name=user.name, role=user.role, unit=user.unit_name, scope=user.scope, town_code=user.town_code,
                 language=user.language, must_change_password=user.must_change_password)


class LanguageIn(BaseModel):
    language: Literal["zh", "en"] | None


@router.put("/me/language", status_code=204)
def set_language(body: LanguageIn, conn: SessionDep, user: Me) -> None:
    """Set one's language (zh, en), or none to follow the browser."""
    service.set_language(conn, user, body.language)


class ApiTokenIn(BaseModel):
    label: str = Field(min_length=1, max_length=120)
    # Administrators only: a machine user to issue the token for (never a person).
    user: str | None = Field(default=None, min_length=1, max_length=80)


@router.post("/auth/api-tokens", response_model=TokenOut, status_code=201)
def create_api_token(body: ApiTokenIn, conn: SessionDep, user: Annotated[Principal, allowed("tokens:create")]
                     ) -> TokenOut:
    """A long-lived API token for oneself; administrators may also issue one for a machine
    user. No one can get a token acting as another person."""
    token, expires, target = service.create_api_token(conn, user, body.label, body.user)
    return TokenOut(access_token=token, expires_at=expires.isoformat(), role=target.role)


class TokenInfo(BaseModel):
    id: int
    user: str
    kind: str
    label: str | None
    created_at: str
    expires_at: str
    revoked: bool

    @classmethod
    def of(cls, token: Any) -> "TokenInfo":
        return cls(id=token.id, user=token.user, kind=token.kind, label=token.label,
                   created_at=token.created_at.isoformat(), expires_at=token.expires_at.isoformat(),
                   revoked=token.revoked)


@router.get("/auth/tokens", response_model=list[TokenInfo])
def my_tokens(conn: SessionDep, user: Me) -> list[TokenInfo]:
    """One's own tokens and sessions (never the tokens themselves, only what they are)."""
    return [TokenInfo.of(t) for t in service.list_tokens(conn, user.name)]


@router.post("/auth/tokens/{token_id}/revoke", status_code=204)
def revoke_my_token(token_id: RowId, conn: SessionDep, user: Me) -> None:
    """Revoke one of one's own tokens."""
    service.revoke_token(conn, token_id, user, user.name, own_only=True)

"""Request dependencies: the unit of work, the current user, the reader's language, and
the policy check."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Connection

from audit import trail
from audit.api.policy import POLICY, allows
from audit.auth.service import Principal, principal_for_token
from audit.db import get_engine, read_connection
from audit.errors import ServiceError
from audit.i18n import negotiate


_bearer = HTTPBearer(auto_error=False, description="A token from POST /auth/login or an API token")

def token_of(request: Request, credentials: HTTPAuthorizationCredentials | None) -> str | None:
    """The API reads a bearer token only, never the workspace's session cookie: a cookie
    rides along with requests another site makes the browser send (CSRF)."""
    return credentials.credentials if credentials is not None else None


def optional_user(request: Request,
                  credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> Principal | None:
    """The principal behind the request's token, read on a connection of its own that is
    released at once: a route that holds no transaction (an upload handing its file to a
    job) must not hold SQLite's write lock while the job waits for it."""
    token = token_of(request, credentials)
    principal = None
    if token:
        with read_connection() as conn:
            principal = principal_for_token(conn, token)
    request.state.principal = principal
    return principal


def current_user(request: Request, principal: Annotated[Principal | None, Depends(optional_user)]) -> Principal:
    if principal is None:
        token = request.headers.get("authorization")
        raise ServiceError(401, "error.token_invalid" if token else "error.login_first")
    return principal


CurrentUser = Annotated[Principal, Depends(current_user)]


def get_connection(_: Annotated[Principal | None, Depends(optional_user)]) -> Iterator[Connection]:
    """One transaction per request, committed when the route returns and before the
    response is sent; rolled back on any error. Services never commit.

    The principal is read first (its connection released) and only then is this one
    taken: a request never holds two pooled connections at once, so a burst of requests
    larger than the pool queues for it instead of each holding one and waiting for a
    second (a deadlock that ends in the pool's timeout and a 500)."""
    with get_engine().connect() as conn:
        transaction = conn.begin()
        try:
            yield conn
            transaction.commit()
        except BaseException:
            transaction.rollback()
            raise
        trail.maybe_checkpoint(conn)  # after the commit: a checkpoint names committed entries only


def get_read_connection(_: Annotated[Principal | None, Depends(optional_user)]) -> Iterator[Connection]:
    """A transaction that only reads: on SQLite it does not queue for the write lock, so
    a screen polling a job, or listing cases, answers while an import holds that lock."""
    with read_connection() as conn:
        yield conn


SessionDep = Annotated[Connection, Depends(get_connection, scope="function")]
ReadSessionDep = Annotated[Connection, Depends(get_read_connection, scope="function")]


def language_of(request: Request) -> str:
    """The reader's language: their own setting, else the browser's Accept-Language,
    else Chinese."""
    principal = getattr(request.state, "principal", None)
    preferred = principal.language if principal is not None else None
    return negotiate(request.headers.get("accept-language"), preferred)


Lang = Annotated[str, Depends(language_of)]


class Allowed:
    """A dependency that lets a request through only if the user's role, in their unit's
    scope, may do ``operation``; an account that must change its password may do nothing
    else first."""

    def __init__(self, operation: str) -> None:
        if operation not in POLICY:
            raise ValueError(f"{operation} is not in the policy table")
        self.operation = operation

    def __call__(self, user: CurrentUser) -> Principal:
        if user.must_change_password:
            raise ServiceError(403, "error.change_password_first")
        if not allows(user.role, self.operation, user.scope):
            raise ServiceError(403, "error.forbidden", operation=self.operation, role=user.role)
        return user


def allowed(operation: str) -> Any:
    return Depends(Allowed(operation))


def self_service(user: CurrentUser) -> Principal:
    """Any signed-in user, on their own account (even one that must change its password)."""
    return user


Me = Annotated[Principal, Depends(self_service)]

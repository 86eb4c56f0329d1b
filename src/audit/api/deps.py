"""Request dependencies: the unit of work, the current user, and the policy check."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, HTTPException, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Connection

from audit import trail
from audit.api.policy import POLICY, allows
from audit.db import get_engine
from audit.users import user_for_token


def get_connection() -> Iterator[Connection]:
    """One transaction per request, committed when the route returns and before the
    response is sent; rolled back on any error. Services never commit."""
    with get_engine().connect() as conn:
        transaction = conn.begin()
        try:
            yield conn
            transaction.commit()
        except BaseException:
            transaction.rollback()
            raise
        trail.maybe_checkpoint(conn)  # after the commit: a checkpoint names committed entries only


SessionDep = Annotated[Connection, Depends(get_connection, scope="function")]
_bearer = HTTPBearer(auto_error=False, description="A token from POST /auth/login or an API token")


def current_user(conn: SessionDep,
                 credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> Any:
    if credentials is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "log in first: Authorization: Bearer <token>",
                            headers={"WWW-Authenticate": "Bearer"})
    user = user_for_token(conn, credentials.credentials)
    if user is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "the token is unknown, expired or revoked",
                            headers={"WWW-Authenticate": "Bearer"})
    return user


CurrentUser = Annotated[Any, Depends(current_user)]


class Allowed:
    """A dependency that lets a request through only if the user's role may do ``operation``."""

    def __init__(self, operation: str) -> None:
        if operation not in POLICY:
            raise ValueError(f"{operation} is not in the policy table")
        self.operation = operation

    def __call__(self, user: CurrentUser) -> Any:
        if not allows(user.role, self.operation):
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"a {user.role} may not {self.operation}")
        return user


def allowed(operation: str) -> Any:
    return Depends(Allowed(operation))

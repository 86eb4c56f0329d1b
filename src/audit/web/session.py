"""Browser sessions: the same users and roles as the API, signed in with a password.

A session is a server-side token (stored, like every token, only as its SHA-256), sent in
an HttpOnly, SameSite=Strict cookie; it expires with the session lifetime and is revoked
by logging out, by a password change, or by deactivating the user. Every form and every
htmx request carries a CSRF token bound to the session (an HMAC of it under the log key),
and the API never reads the cookie: its routes take a bearer token only.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request

from audit.api.policy import allows
from audit.auth.service import Principal, principal_for_token
from audit.config import get_settings
from audit.db import read_connection
from audit.errors import ServiceError

COOKIE = "audit_session"
LOGIN_CSRF_COOKIE = "audit_login_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


class Redirect(Exception):  # noqa: N818 - a control-flow signal, not an error
    """Send the browser elsewhere (to the login page, to change a password)."""

    def __init__(self, location: str) -> None:
        super().__init__(location)
        self.location = location


def csrf_for(session_token: str) -> str:
    key = get_settings().log_key.encode()
    return hmac.new(key, b"csrf|" + session_token.encode(), hashlib.sha256).hexdigest()[:40]


def new_login_csrf() -> str:
    return secrets.token_urlsafe(24)


def set_session_cookie(response: Any, token: str) -> None:
    settings = get_settings()
    response.set_cookie(COOKIE, token, max_age=settings.session_hours * 3600, httponly=True, samesite="strict",
                        secure=settings.cookie_secure, path="/")


def clear_session_cookie(response: Any) -> None:
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict", secure=get_settings().cookie_secure)


def session_token(request: Request) -> str | None:
    return request.cookies.get(COOKIE)


def _principal(request: Request) -> Principal | None:
    token = session_token(request)
    if not token:
        return None
    with read_connection() as conn:
        principal = principal_for_token(conn, token)
    if principal is not None and principal.token_kind != "browser":
        return None  # an API token pasted into a cookie is not a browser session
    return principal


def page_user(request: Request) -> Principal:
    """The signed-in user of a page, or a redirect to the login page (back here after)."""
    principal = _principal(request)
    request.state.principal = principal
    if principal is None:
        raise Redirect(f"/login?next={quote(request.url.path)}")
    if principal.must_change_password and request.url.path not in {"/account", "/account/password", "/logout"}:
        raise Redirect("/account?must=1")
    return principal


PageUser = Annotated[Principal, Depends(page_user)]


class PageAllowed:
    """A page's policy check: the user's role, in their unit's scope, may do ``operation``."""

    def __init__(self, operation: str) -> None:
        self.operation = operation

    def __call__(self, user: PageUser) -> Principal:
        if not allows(user.role, self.operation, user.scope):
            raise ServiceError(403, "error.forbidden", operation=self.operation, role=user.role)
        return user


def page_allowed(operation: str) -> Any:
    return Depends(PageAllowed(operation))


async def check_csrf(request: Request) -> None:
    """Every state-changing page request carries the session's CSRF token, in the form or
    in the header htmx sends."""
    token = session_token(request)
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not token or not sent or not hmac.compare_digest(sent, csrf_for(token)):
        raise ServiceError(403, "error.csrf")


Csrf = Depends(check_csrf)

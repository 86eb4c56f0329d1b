"""The workspace's own pages: signing in and out, one's account, the home page of each
role, and the API's documentation served offline."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from audit import trail
from audit.auth import service as accounts
from audit.auth.router import client_address
from audit.db import get_engine
from audit.errors import ServiceError
from audit.web.session import (
    LOGIN_CSRF_COOKIE,
    Csrf,
    PageUser,
    clear_session_cookie,
    new_login_csrf,
    set_session_cookie,
)
from audit.web.templating import page

router = APIRouter(include_in_schema=False)


def _safe_next(target: str | None) -> str:
    """Only a path of this site: a login never sends anyone to another host."""
    if not target or not target.startswith("/") or target.startswith("//") or urlsplit(target).netloc:
        return "/"
    return target


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str | None = None) -> Response:
    """The sign-in page."""
    token = new_login_csrf()
    response = page(request, "web/login.html", next=_safe_next(next), login_csrf=token, error=None)
    response.set_cookie(LOGIN_CSRF_COOKIE, token, max_age=3600, httponly=True, samesite="strict", path="/login")
    return response


@router.post("/login", response_class=HTMLResponse)
def login(request: Request, name: Annotated[str, Form(max_length=80)], password: Annotated[str, Form(max_length=200)],
          login_csrf: Annotated[str, Form(max_length=100)] = "", next: Annotated[str, Form(max_length=500)] = "/"
          ) -> Response:
    """Sign in with a name and password: the API's one login path (lockout included), and a
    session cookie."""
    if not login_csrf or request.cookies.get(LOGIN_CSRF_COOKIE) != login_csrf:
        return page(request, "web/login.html", status=403, next=_safe_next(next), login_csrf=new_login_csrf(),
                    error="error.csrf")
    with get_engine().connect() as conn:
        with conn.begin():
            outcome = accounts.attempt_login(conn, name, password, client_address(request), kind="browser")
        trail.maybe_checkpoint(conn)
    if outcome.principal is None or outcome.token is None:
        fresh = new_login_csrf()
        error = "error.login_locked" if outcome.locked else "error.login_failed"
        minutes = max(1, (outcome.locked.retry_after + 59) // 60) if outcome.locked else 0
        response = page(request, "web/login.html", status=429 if outcome.locked else 401, next=_safe_next(next),
                        login_csrf=fresh, error=error, minutes=minutes)
        response.set_cookie(LOGIN_CSRF_COOKIE, fresh, max_age=3600, httponly=True, samesite="strict", path="/login")
        return response
    target = "/account?must=1" if outcome.principal.must_change_password else _safe_next(next)
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(response, outcome.token)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(request: Request, user: PageUser, _: None = Csrf) -> Response:
    """Sign out: the session is revoked, not only forgotten by the browser."""
    with get_engine().begin() as conn:
        accounts.logout(conn, user)
    response = RedirectResponse("/login", status_code=303)
    clear_session_cookie(response)
    return response


@router.get("/account", response_class=HTMLResponse)
def account(request: Request, user: PageUser, must: int = 0) -> Response:
    """One's account: the password, and the language of the workspace."""
    return page(request, "web/account.html", must=bool(must or user.must_change_password), error=None)


@router.post("/account/password", response_class=HTMLResponse)
def change_password(request: Request, user: PageUser, current: Annotated[str, Form(max_length=200)],
                    new: Annotated[str, Form(max_length=200)], again: Annotated[str, Form(max_length=200)],
                    _: None = Csrf) -> Response:
    """Change one's password; every other session ends."""
    if new != again:
        return page(request, "web/account.html", status=422, must=user.must_change_password,
                    error="error.passwords_differ")
    try:
        with get_engine().begin() as conn:
            accounts.change_password(conn, user, current, new)
    except ServiceError as exc:
        return page(request, "web/account.html", status=exc.status, must=user.must_change_password,
                    error=exc.message_id, fields=exc.fields)
    return RedirectResponse("/?done=password_changed", status_code=303)


@router.post("/account/language")
def set_language(request: Request, user: PageUser, language: Annotated[str, Form(max_length=8)] = "",
                 _: None = Csrf) -> Response:
    """Choose the workspace's language (or none: the browser's)."""
    with get_engine().begin() as conn:
        accounts.set_language(conn, user, language or None)
    return RedirectResponse("/account", status_code=303)


@router.get("/", response_class=HTMLResponse)
def home(request: Request, user: PageUser) -> Response:
    """The home page (工作台) of one's role."""
    if user.role == "inspector":
        from audit.cases.pages import inspector_home

        return inspector_home(request, user)
    from audit.web.homes import home_for

    return home_for(request, user)


@router.get("/docs", response_class=HTMLResponse)
def docs(request: Request) -> Response:
    """The API's documentation, Swagger UI served by the app itself (it works offline)."""
    return get_swagger_ui_html(openapi_url="/api/openapi.json", title="audit API",
                               swagger_js_url="/static/vendor/swagger-ui/swagger-ui-bundle.js",
                               swagger_css_url="/static/vendor/swagger-ui/swagger-ui.css",
                               swagger_favicon_url="/static/app/favicon.svg")


"""The villagers' window's pages (民生资金查询): outside the login, read on a phone.

These pages read no session and no user: no workspace cookie is consulted, and a signed-in
user is a member of the public here like anyone else. Their layout is their own (a single
column, large touch targets), and they load only this app's own stylesheet, script and font
(a Content-Security-Policy of ``'self'`` says so to the browser). Every answer is
``no-store``: a shared phone keeps no result in its history or cache. The routes name no
operation of the policy table, since no role reads them: like the login page they are open
to anyone, and bounded instead by the form token and the limits of :mod:`audit.public.service`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from audit import trail
from audit.auth.router import client_address
from audit.complaints import service as complaints
from audit.config import get_settings
from audit.db import get_engine, read_connection
from audit.errors import ServiceError
from audit.i18n import enum, negotiate, t
from audit.public import service
from audit.web.templating import environment

router = APIRouter(include_in_schema=False)
COOKIE = "audit_public"
HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
                               "form-action 'self'; frame-ancestors 'none'",
}


def _language(request: Request) -> str:
    return negotiate(request.headers.get("accept-language"))


def _nonce(request: Request) -> str:
    sent = request.cookies.get(COOKIE, "")
    return sent if 20 <= len(sent) <= 64 and sent.replace("-", "").replace("_", "").isalnum() else service.new_nonce()


def _render(request: Request, template: str, status: int = 200, headers: dict[str, str] | None = None,
            **context: Any) -> HTMLResponse:
    """A page of the window in the reader's language, with a fresh form token bound to the
    window's cookie (set again, so it lives as long as the form)."""
    lang = _language(request)
    nonce = _nonce(request)
    with read_connection() as conn:
        hotlines = service.hotlines(conn)

    def translate(message_id: str, **fields: Any) -> str:
        return t(message_id, lang, **fields)

    body = environment().get_template(template).render(
        request=request, lang=lang, _=translate, enum=lambda kind, code: enum(kind, code, lang),
        form_token=service.form_token(nonce), hotlines=hotlines, **context)
    response = HTMLResponse(body, status_code=status, headers={**HEADERS, **(headers or {})})
    settings = get_settings()
    response.set_cookie(COOKIE, nonce, max_age=settings.public_form_minutes * 60, httponly=True, samesite="strict",
                        secure=settings.cookie_secure, path="/public")
    return response


def _ask(request: Request, message: str | None = None, status: int = 200, headers: dict[str, str] | None = None,
         **fields: Any) -> HTMLResponse:
    return _render(request, "public/index.html", status=status, headers=headers, message=message, fields=fields)


def _limited(request: Request, stop: service.Limited, message: str) -> HTMLResponse:
    return _ask(request, message, status=429, headers={"Retry-After": str(stop.retry_after)}, minutes=stop.minutes)


@router.get("/public", response_class=HTMLResponse)
def index(request: Request) -> Response:
    """民生资金查询: the form, an ID number and a name."""
    return _ask(request)


@router.get("/public/lookup")
@router.get("/public/complaints")
def back_to_the_form() -> Response:
    """A result is the answer to a form, never an address to come back to: the form."""
    return RedirectResponse("/public", status_code=303)


@router.post("/public/lookup", response_class=HTMLResponse)
def look_up(request: Request, form_token: Annotated[str, Form()] = "", id_number: Annotated[str, Form()] = "",
            name: Annotated[str, Form()] = "") -> Response:
    """A lookup: the household's money when the ID number and name match one person; the
    same page, with the same words, for every mismatch; a refusal past a limit."""
    try:
        service.check_form_token(form_token[:200], request.cookies.get(COOKIE))
    except ServiceError as exc:
        return _ask(request, exc.message_id, status=exc.status)
    address = client_address(request)
    with get_engine().connect() as conn:
        with conn.begin():
            found = service.lookup(conn, id_number[:service.MAX_ID_CHARS * 4], name[:service.MAX_NAME_CHARS * 4],
                                   address)
        trail.maybe_checkpoint(conn)
    if found.limited is not None:
        return _limited(request, found.limited, "ui.public.limited")
    if not found.matched or found.identity is None:
        return _ask(request, "ui.public.no_match")
    return _result(request, found.identity, found.households)


def _result(request: Request, who: service.Identity, households: list[dict[str, Any]], status: int = 200,
            error: str | None = None, fields: dict[str, Any] | None = None,
            sent: dict[str, str] | None = None) -> HTMLResponse:
    return _render(request, "public/result.html", status=status, who=who, households=households,
                   identity=service.identity_token(_nonce(request), who),
                   total_fen=sum(h["paid_fen"] for h in households),
                   total_count=sum(h["paid_count"] for h in households), error=error, fields=fields or {},
                   sent=sent or {}, max_text=complaints.MAX_TEXT)


@router.post("/public/complaints", response_class=HTMLResponse)
def complain(request: Request, form_token: Annotated[str, Form()] = "", identity: Annotated[str, Form()] = "",
             payment_id: Annotated[str, Form()] = "", text: Annotated[str, Form()] = "",
             phone: Annotated[str, Form()] = "") -> Response:
    """投诉: about one payment of the result page or in general, with a number to call back;
    the reference number (查询编号) comes back. A bad phone number or text: the result page
    again, saying what to correct, nothing stored."""
    nonce = request.cookies.get(COOKIE)
    try:
        service.check_form_token(form_token[:200], nonce)
        who = service.read_identity(identity[:4000], nonce)
    except ServiceError as exc:
        return _ask(request, exc.message_id, status=exc.status)
    address = client_address(request)
    sent = {"payment_id": payment_id[:64], "text": text[:complaints.MAX_TEXT * 2], "phone": phone[:40]}
    try:
        with get_engine().connect() as conn:
            with conn.begin():
                filed = service.complain(conn, who, sent["payment_id"] or None, text[:20_000], phone[:40], address)
            trail.maybe_checkpoint(conn)
    except ServiceError as exc:
        with read_connection() as conn:
            households = service.household_money(conn, list(who.households))
        return _result(request, who, households, status=exc.status, error=exc.message_id, fields=exc.fields,
                       sent=sent)
    if filed.limited is not None:
        return _limited(request, filed.limited, "ui.public.limited_complaint")
    return _render(request, "public/filed.html", reference=filed.reference, phone=complaints.normal_phone(phone))

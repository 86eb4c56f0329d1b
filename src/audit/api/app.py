"""The FastAPI application: one router per domain, errors in the reader's language."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from audit import __version__
from audit.api.limits import install_limits
from audit.errors import ServiceError
from audit.i18n import negotiate, t

# The JSON API lives under /api; the workspace's pages own the rest of the site.
API = "/api"
# The routes whose bodies are files, spooled to disk with the upload limit (see api.limits).
UPLOAD_PATHS = (f"{API}/datasets", f"{API}/checks/card-roster/file", f"{API}/checks/disbursements/file",
                "/finance/checks", "/admin/datasets")


def reader_language(request: Request) -> str:
    principal = getattr(request.state, "principal", None)
    return negotiate(request.headers.get("accept-language"), principal.language if principal else None)


def is_page(request: Request) -> bool:
    """Whether a request is the workspace's (an HTML page) rather than the API's."""
    return not request.url.path.startswith(API + "/")


def error_page(request: Request, status: int, text: str) -> Response:
    from audit.web.templating import page

    return page(request, "web/error.html", status=status, message=text)


async def service_error(request: Request, exc: Exception) -> Response:
    """A service's refusal, in the reader's language, with its message id and fields: a
    page for the workspace, JSON for the API."""
    assert isinstance(exc, ServiceError)
    if is_page(request):
        return error_page(request, exc.status, exc.text(reader_language(request)))
    body: dict[str, Any] = {"detail": exc.text(reader_language(request)), "message": exc.message_id}
    if exc.detail is not None:
        body["errors"] = exc.detail
    headers = dict(exc.headers or {})
    if exc.status == 401:
        headers.setdefault("WWW-Authenticate", "Bearer")
    return JSONResponse(body, status_code=exc.status, headers=headers)


def _validation_message(error: dict[str, Any], lang: str) -> str:
    kind = str(error.get("type", ""))
    context = {k: str(v) for k, v in (error.get("ctx") or {}).items()}
    field = ".".join(str(part) for part in error.get("loc", ())[1:]) or str(error.get("loc", [""])[0])
    message_id = f"validation.{kind}"
    from audit.i18n import has

    return t(message_id if has(message_id) else "validation.other", lang, field=field, **context)


async def validation_error(request: Request, exc: Exception) -> Response:
    """A request that does not fit the API's schema: 422, each problem in the reader's
    language beside its location and pydantic's type (what a client program reads)."""
    assert isinstance(exc, RequestValidationError)
    lang = reader_language(request)
    problems = [{"loc": list(e.get("loc", ())), "type": e.get("type"), "msg": _validation_message(e, lang)}
                for e in exc.errors()]
    if is_page(request):
        return error_page(request, 422, "；".join(p["msg"] for p in problems) if lang == "zh"
                          else "; ".join(p["msg"] for p in problems))
    return JSONResponse({"detail": problems, "message": "error.validation"}, status_code=422)


async def http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own refusals (no such path, a method not allowed) in the reader's language."""
    from starlette.exceptions import HTTPException

    assert isinstance(exc, HTTPException)
    from audit.api.limits import Refused

    if isinstance(exc, Refused):  # a limit's own refusal says which limit
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)
    message_id = {404: "error.not_found", 405: "error.method_not_allowed"}.get(exc.status_code, "error.http")
    text = t(message_id, reader_language(request), status=exc.status_code)
    if is_page(request):
        return error_page(request, exc.status_code, text)
    return JSONResponse({"detail": text, "message": message_id}, status_code=exc.status_code,
                        headers=getattr(exc, "headers", None))


async def redirect(request: Request, exc: Exception) -> Response:
    """A page's sign-in or password-change redirect."""
    from fastapi.responses import RedirectResponse

    from audit.web.session import Redirect

    assert isinstance(exc, Redirect)
    return RedirectResponse(exc.location, status_code=303)


class ServerTiming:
    """Each response says how long the server took (``Server-Timing: app;dur=12.3``): what
    the page benchmark reads, and what a browser's developer tools show an operator."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        import time

        started = time.perf_counter()

        async def timed(message: Any) -> None:
            if message["type"] == "http.response.start":
                duration = (time.perf_counter() - started) * 1000
                message = {**message, "headers": [*message.get("headers", []),
                                                  (b"server-timing", f"app;dur={duration:.1f}".encode())]}
            await send(message)

        await self.app(scope, receive, timed)


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    from audit import trail
    from audit.config import get_settings
    from audit.db import get_engine
    from audit.jobs import service as jobs

    get_settings()  # a production deployment with a default secret stops here, before serving
    jobs.warm()
    yield
    jobs.shutdown()
    try:
        trail.checkpoint(get_engine())  # every stop of the service leaves a checkpoint
    except Exception:  # a stop must not fail: say why there is no checkpoint this time
        logging.getLogger("audit.trail").exception("no checkpoint at this stop")


def create_app() -> FastAPI:
    app = FastAPI(title="audit: supervision of poverty-alleviation funds", version=__version__, lifespan=lifespan,
                  openapi_url=f"{API}/openapi.json", docs_url=None, redoc_url=None,
                  description="Review flagged cases with their evidence chains, follow them to recovery; "
                              "every state change is on a tamper-evident audit trail.")
    # Request bodies bounded per kind of route, and NUL or unpaired surrogates refused at the
    # door (PostgreSQL stores neither): see audit.api.limits.
    install_limits(app, upload_paths=UPLOAD_PATHS)
    app.add_middleware(ServerTiming)
    from starlette.exceptions import HTTPException

    from audit.web import assets
    from audit.web.session import Redirect

    app.add_exception_handler(ServiceError, service_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(Redirect, redirect)
    for router in routers():
        app.include_router(router, prefix=API)
    for router in page_routers():
        app.include_router(router)
    assets.mount(app)

    @app.get("/health", tags=["service"])
    def health() -> dict[str, str]:
        """Liveness: the service answers."""
        return {"status": "ok"}

    return app


def routers() -> list[Any]:
    """Every domain's router (the policy test and Schemathesis walk them)."""
    from audit.admin.router import router as admin
    from audit.auth.router import router as auth
    from audit.cases.router import router as cases
    from audit.checks.router import router as checks
    from audit.complaints.router import router as complaints
    from audit.handouts.router import router as handouts
    from audit.jobs.router import router as jobs
    from audit.notices.router import router as notices
    from audit.records.router import router as records
    from audit.watch.router import router as watches

    return [auth, cases, complaints, handouts, checks, notices, records, admin, jobs, watches]


def page_routers() -> list[Any]:
    """The workspace's pages, beside each domain's router."""
    from audit.admin.pages import router as admin
    from audit.cases.pages import router as cases
    from audit.checks.pages import router as checks
    from audit.complaints.pages import router as complaints
    from audit.handouts.pages import router as handouts
    from audit.notices.pages import router as notices
    from audit.public.pages import router as public
    from audit.records.pages import router as records
    from audit.watch.pages import router as watches
    from audit.web.router import router as web

    return [web, cases, complaints, handouts, records, checks, notices, admin, public, watches]


app = create_app()

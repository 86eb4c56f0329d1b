"""The FastAPI application: one router per domain, errors in the reader's language."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from audit import __version__
from audit.api.limits import install_limits
from audit.errors import ServiceError
from audit.i18n import negotiate, t

# The routes whose bodies are files, spooled to disk with the upload limit (see api.limits).
UPLOAD_PATHS = ("/datasets", "/checks/card-roster/file")


def reader_language(request: Request) -> str:
    principal = getattr(request.state, "principal", None)
    return negotiate(request.headers.get("accept-language"), principal.language if principal else None)


async def service_error(request: Request, exc: Exception) -> JSONResponse:
    """A service's refusal, in the reader's language, with its message id and fields."""
    assert isinstance(exc, ServiceError)
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


async def validation_error(request: Request, exc: Exception) -> JSONResponse:
    """A request that does not fit the API's schema: 422, each problem in the reader's
    language beside its location and pydantic's type (what a client program reads)."""
    assert isinstance(exc, RequestValidationError)
    lang = reader_language(request)
    problems = [{"loc": list(e.get("loc", ())), "type": e.get("type"), "msg": _validation_message(e, lang)}
                for e in exc.errors()]
    return JSONResponse({"detail": problems, "message": "error.validation"}, status_code=422)


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    from audit import trail
    from audit.config import get_settings
    from audit.db import get_engine
    from audit.jobs import service as jobs

    get_settings()  # a production deployment with a default secret stops here, before serving
    yield
    jobs.shutdown()
    trail.checkpoint(get_engine())  # every stop of the service leaves a checkpoint


def create_app() -> FastAPI:
    app = FastAPI(title="audit: supervision of poverty-alleviation funds", version=__version__, lifespan=lifespan,
                  description="Review flagged cases with their evidence chains, follow them to recovery; "
                              "every state change is on a tamper-evident audit trail.")
    # Request bodies bounded per kind of route, and NUL or unpaired surrogates refused at the
    # door (PostgreSQL stores neither): see audit.api.limits.
    install_limits(app, upload_paths=UPLOAD_PATHS)
    app.add_exception_handler(ServiceError, service_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    for router in routers():
        app.include_router(router)

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
    from audit.jobs.router import router as jobs
    from audit.notices.router import router as notices
    from audit.records.router import router as records

    return [auth, cases, checks, notices, records, admin, jobs]


app = create_app()

"""The FastAPI application."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from audit import __version__
from audit.api.routes import router

NUL_REFUSED = {"detail": "text may not contain NUL characters"}


async def refuse_nul(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    """PostgreSQL stores no NUL in text, and no county record has one: refuse it at the door
    with a 422 instead of failing deep inside. Binary uploads (zip, xlsx) may carry NULs."""
    raw_path = request.scope.get("raw_path", b"")
    if b"%00" in raw_path.lower() or "%00" in request.url.query.lower() or "\x00" in request.url.path:
        return JSONResponse(NUL_REFUSED, status_code=422)
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "application/json" or kind.startswith("text/"):
        body = await request.body()
        if b"\x00" in body or b"\\u0000" in body:
            return JSONResponse(NUL_REFUSED, status_code=422)
    return await call_next(request)


def create_app() -> FastAPI:
    app = FastAPI(title="audit: supervision of poverty-alleviation funds", version=__version__,
                  description="Review flagged cases with their evidence chains, follow them to recovery; "
                              "every state change is on a tamper-evident audit trail.")
    app.middleware("http")(refuse_nul)
    app.include_router(router)
    return app


app = create_app()

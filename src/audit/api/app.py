"""The FastAPI application."""

from __future__ import annotations

from fastapi import FastAPI

from audit import __version__
from audit.api.routes import router


def create_app() -> FastAPI:
    app = FastAPI(title="audit: supervision of poverty-alleviation funds", version=__version__,
                  description="Review flagged cases with their evidence chains, follow them to recovery; "
                              "every state change is on a tamper-evident audit trail.")
    app.include_router(router)
    return app


app = create_app()

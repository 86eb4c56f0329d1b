"""The FastAPI application."""

from __future__ import annotations

from fastapi import FastAPI

from audit import __version__
from audit.api.limits import install_limits
from audit.api.routes import router


def create_app() -> FastAPI:
    app = FastAPI(title="audit: supervision of poverty-alleviation funds", version=__version__,
                  description="Review flagged cases with their evidence chains, follow them to recovery; "
                              "every state change is on a tamper-evident audit trail.")
    # Request bodies bounded per kind of route, and NUL or unpaired surrogates refused at the
    # door (PostgreSQL stores neither): see audit.api.limits.
    install_limits(app, upload_paths=("/datasets", "/checks/card-roster/file"))
    app.include_router(router)
    return app


app = create_app()

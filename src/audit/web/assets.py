"""The front-end files the workspace serves itself (an intranet reaches no CDN): its own
stylesheet and script, and the npm packages of ``package.json`` (installed by the
README's commands into ``node_modules/`` beside it), mounted under ``/static/vendor``."""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

log = logging.getLogger("audit.web")
HERE = Path(__file__).resolve().parent
# What the pages load from each package: only these folders are served.
VENDOR = {
    "htmx": ("htmx.org", "dist"),
    "echarts": ("echarts", "dist"),
    "swagger-ui": ("swagger-ui-dist", ""),
    "noto-sans-sc": ("@fontsource/noto-sans-sc", ""),
}


def node_modules() -> Path | None:
    """``node_modules`` beside ``package.json``: in a checkout (or an editable install)
    the project's root, else the working directory (the Docker image runs from /app)."""
    for candidate in (HERE.parents[2], Path.cwd()):
        if (candidate / "package.json").exists() and (candidate / "node_modules").is_dir():
            return candidate / "node_modules"
    return None


def mount(app: FastAPI) -> None:
    app.mount("/static/app", StaticFiles(directory=HERE / "static"), name="static-app")
    modules = node_modules()
    for name, (package, folder) in VENDOR.items():
        directory = modules / package / folder if modules else None
        if directory is None or not directory.is_dir():
            log.warning("front-end package %s is not installed (run `npm ci` beside package.json): "
                        "the workspace's pages lose what it provides", package)
            continue
        app.mount(f"/static/vendor/{name}", StaticFiles(directory=directory), name=f"vendor-{name}")

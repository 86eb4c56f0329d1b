"""Jinja2 pages, one templates folder per domain beside its router (``cases/templates``
is ``cases/…`` to the loader, ``web/templates`` is ``web/…``), every text from the
catalogue in the reader's language."""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, PrefixLoader, StrictUndefined, select_autoescape

from audit.api.policy import role_may
from audit.i18n import enum, money, negotiate, t
from audit.web.session import CSRF_FIELD, csrf_for, session_token

SOURCE = Path(__file__).resolve().parents[1]
DOMAINS = ("web", "cases", "records", "checks", "notices", "admin", "complaints", "public", "handouts", "watch")

# The menu: (message id, path, the operation that shows it).
NAVIGATION = (
    ("ui.nav.home", "/", None),
    ("ui.nav.cases", "/cases", "cases:read"),
    ("ui.nav.complaints", "/complaints", "complaints:read"),
    ("ui.nav.handouts", "/handouts", "handouts:read"),
    ("ui.nav.checks", "/finance/checks", "checks:run"),
    ("ui.nav.disbursement", "/finance/disbursement", "checks:run"),
    ("ui.admin.nav_datasets", "/admin/datasets", "datasets:import"),
    ("ui.admin.nav_users", "/admin/users", "users:read"),
    ("ui.admin.nav_settings", "/admin/settings", "settings:manage"),
    ("ui.notices.nav", "/notices", "notices:export"),
    ("ui.notices.nav_gaps", "/notices/gaps", "notices:export"),
)


@lru_cache(maxsize=1)
def environment() -> Environment:
    loader = PrefixLoader({name: FileSystemLoader(SOURCE / name / "templates") for name in DOMAINS
                           if (SOURCE / name / "templates").is_dir()})
    env = Environment(loader=loader, autoescape=select_autoescape(["html"]), undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["money"] = money
    env.filters["day"] = lambda value: value.isoformat()[:10] if isinstance(value, date | datetime) else (value or "")
    env.filters["when"] = lambda value: (value.isoformat(sep=" ", timespec="minutes")[:16]
                                         if isinstance(value, datetime) else str(value or "")[:16].replace("T", " "))
    return env


def language(request: Request) -> str:
    principal = getattr(request.state, "principal", None)
    return negotiate(request.headers.get("accept-language"), principal.language if principal else None)


def page(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """A page rendered in the reader's language, with the menu their role may see."""
    lang = language(request)
    user = getattr(request.state, "principal", None)
    token = session_token(request)

    def translate(message_id: str, **fields: Any) -> str:
        return t(message_id, lang, **fields)

    nav = [(translate(label), path) for label, path, operation in NAVIGATION
           if user is not None and (operation is None or role_may(user.role, operation))]
    context.setdefault("bell", lambda: _unread(user))
    body = environment().get_template(template).render(
        request=request, lang=lang, user=user, _=translate, enum=lambda kind, code: enum(kind, code, lang),
        change=lambda text: change_text(text, lang),
        csrf=csrf_for(token) if token else "", csrf_field=CSRF_FIELD, nav=nav, path=request.url.path,
        notice=_notice(request, translate), import_profiles=import_profiles, **context)
    return HTMLResponse(body, status_code=status)


def _unread(user: Any) -> int | None:
    """The bell's count of unread notifications (我的关注), for a user who may watch; None
    for one who may not. Called by the header only (a partial costs nothing): one count on
    the index (user_id, read_at)."""
    from audit.db import read_connection
    from audit.watch.pages import may_watch
    from audit.watch.service import unread_count

    if not may_watch(user):
        return None
    with read_connection() as conn:
        return unread_count(conn, user.id)


def import_profiles(table: str | None = None) -> list[dict[str, Any]]:
    """The import profiles that ship, for an upload form's choice (those feeding ``table``
    alone, when given): name, title, the tables they feed."""
    from audit.importer import profile

    found = [profile.shipped(name) for name in profile.names()]
    return [{"name": p.name, "title": p.title, "tables": [f.table for f in p.feeds]} for p in found
            if table is None or [f.table for f in p.feeds] == [table]]


def change_text(change: str, lang: str) -> str:
    """A detection run's note in a case's history (``new DC-01``, ``stale DC-06``, ``created``)
    in the reader's words."""
    from audit.i18n import has

    verb, _, code = change.partition(" ")
    message_id = f"ui.change.{verb}"
    if not has(message_id):
        return change
    return t(message_id, lang, code=code, title=t(f"flag.{code}", lang) if code else "")


def _notice(request: Request, translate: Any) -> str | None:
    """A one-line confirmation after a form (``?done=case_decided``): only ids the pages
    define, never text from the URL."""
    done = request.query_params.get("done", "")
    message_id = f"page.done.{done}"
    from audit.i18n import has

    return translate(message_id) if done.replace("_", "").isalnum() and has(message_id) else None

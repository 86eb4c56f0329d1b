"""The home pages of the finance officers, disclosure staff and administrators: what the
store says of their work today (their screens of their own grow from here)."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from audit import trail
from audit.auth.service import Principal, list_users
from audit.db import read_connection
from audit.notices.service import compliance
from audit.web.templating import language, page


def home_for(request: Request, user: Principal) -> Response:
    lang = language(request)
    with read_connection() as conn:
        if user.role == "finance":
            from audit.checks.pages import finance_home

            return finance_home(request, user)
        if user.role == "disclosure":
            gaps = compliance(conn, user, lang)
            return page(request, "web/home_disclosure.html", gaps=gaps[:50], total=len(gaps))
        if user.role == "admin":
            verdict = trail.verify(conn)
            return page(request, "web/home_admin.html", users=list_users(conn), verdict=verdict)
    return page(request, "web/home_machine.html")

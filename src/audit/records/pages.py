"""Record pages: a household, a person, a project, an organization, an official, each with
what the store knows around it and the cases it is in. Numbers are masked; an inspector
may reveal them with a reason, which goes on the trail."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, Response

from audit import trail
from audit.auth.service import Principal
from audit.db import get_engine, read_connection
from audit.records import profiles
from audit.web.session import Csrf, page_allowed
from audit.web.templating import language, page

router = APIRouter(include_in_schema=False)
Reader = Annotated[Principal, page_allowed("records:read")]
Revealer = Annotated[Principal, page_allowed("pii:reveal")]
Key = Annotated[str, Path(min_length=1, max_length=120)]


def _show(request: Request, user: Principal, template: str, load: Callable[[Any, bool], dict[str, Any]],
          masked: bool, what: str, error: str | None = None) -> Response:
    from audit.cases.service import summary

    lang = language(request)
    from audit.cases.service import place_names, user_names

    from audit.watch.pages import record_button

    with read_connection() as conn:
        content = load(conn, masked)
        names, places = user_names(conn), place_names(conn)
        watching = record_button(conn, user, request)  # 关注 / 取消关注 of this page's subject
    cases = [summary(c, lang, True, names, places) for c in content.pop("cases", [])]
    return page(request, template, masked=masked, cases=cases, watching=watching, reveal_path=f"{request.url.path}/reveal"
                if not request.url.path.endswith("/reveal") else request.url.path, what=what, error=error, **content)


def _reveal(request: Request, user: Principal, reason: str, template: str,
            load: Callable[[Any, bool], dict[str, Any]], what: str) -> Response:
    if not reason.strip():
        return _show(request, user, template, load, True, what, error="error.reveal_needs_reason")
    with get_engine().begin() as conn:
        trail.append(conn, user.name, "reveal", what, {"reason": reason.strip()[:500]})
    return _show(request, user, template, load, False, what)


@router.get("/records/household/{household_id}", response_class=HTMLResponse)
def household_page(request: Request, household_id: Key, user: Reader) -> Response:
    """A household: its members, card, payments by program and period, officials among its
    kin, and the cases about it."""
    return _show(request, user, "records/household.html",
                 lambda conn, masked: profiles.household(conn, household_id, user, masked), True,
                 f"household {household_id}")


@router.post("/records/household/{household_id}/reveal", response_class=HTMLResponse)
def household_reveal(request: Request, household_id: Key, user: Revealer,
                     reason: Annotated[str, Form(max_length=500)] = "", _: None = Csrf) -> Response:
    """The household with full numbers, the reason on the trail."""
    return _reveal(request, user, reason, "records/household.html",
                   lambda conn, masked: profiles.household(conn, household_id, user, masked),
                   f"household {household_id}")


@router.get("/records/person/{household_id}/{name}", response_class=HTMLResponse)
def person_page(request: Request, household_id: Key, name: Key, user: Reader) -> Response:
    """A person, found by household and name: their payments, kin, cases."""
    return _show(request, user, "records/person.html",
                 lambda conn, masked: profiles.person(conn, household_id, name, user, masked), True,
                 f"person {household_id}/{name}")


@router.post("/records/person/{household_id}/{name}/reveal", response_class=HTMLResponse)
def person_reveal(request: Request, household_id: Key, name: Key, user: Revealer,
                  reason: Annotated[str, Form(max_length=500)] = "", _: None = Csrf) -> Response:
    """The person with full numbers, the reason on the trail."""
    return _reveal(request, user, reason, "records/person.html",
                   lambda conn, masked: profiles.person(conn, household_id, name, user, masked),
                   f"person {household_id}/{name}")


@router.get("/records/project/{project_id}", response_class=HTMLResponse)
def project_page(request: Request, project_id: Key, user: Reader) -> Response:
    """A project: approval, disbursements, notices, contractor, acceptance, cases."""
    return _show(request, user, "records/project.html",
                 lambda conn, masked: profiles.project(conn, project_id, user, masked), True,
                 f"project {project_id}")


@router.post("/records/project/{project_id}/reveal", response_class=HTMLResponse)
def project_reveal(request: Request, project_id: Key, user: Revealer,
                   reason: Annotated[str, Form(max_length=500)] = "", _: None = Csrf) -> Response:
    """The project with full numbers, the reason on the trail."""
    return _reveal(request, user, reason, "records/project.html",
                   lambda conn, masked: profiles.project(conn, project_id, user, masked), f"project {project_id}")


@router.get("/records/organization/{uscc}", response_class=HTMLResponse)
def organization_page(request: Request, uscc: Key, user: Reader) -> Response:
    """An organization: legal representative, shareholders, projects, accounts, cases."""
    return _show(request, user, "records/organization.html",
                 lambda conn, masked: profiles.organization(conn, uscc, user, masked), True, f"organization {uscc}")


@router.post("/records/organization/{uscc}/reveal", response_class=HTMLResponse)
def organization_reveal(request: Request, uscc: Key, user: Revealer,
                        reason: Annotated[str, Form(max_length=500)] = "", _: None = Csrf) -> Response:
    """The organization with full numbers, the reason on the trail."""
    return _reveal(request, user, reason, "records/organization.html",
                   lambda conn, masked: profiles.organization(conn, uscc, user, masked), f"organization {uscc}")


@router.get("/records/official/{official_id}", response_class=HTMLResponse)
def official_page(request: Request, official_id: Key, user: Reader) -> Response:
    """An official: posts and terms, kin, the villages and projects they had power over, cases."""
    return _show(request, user, "records/official.html",
                 lambda conn, masked: profiles.official(conn, official_id, user, masked), True,
                 f"official {official_id}")


@router.post("/records/official/{official_id}/reveal", response_class=HTMLResponse)
def official_reveal(request: Request, official_id: Key, user: Revealer,
                    reason: Annotated[str, Form(max_length=500)] = "", _: None = Csrf) -> Response:
    """The official with full numbers, the reason on the trail."""
    return _reveal(request, user, reason, "records/official.html",
                   lambda conn, masked: profiles.official(conn, official_id, user, masked), f"official {official_id}")


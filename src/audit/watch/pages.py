"""我的关注: an inspector's watches and the notifications they bring (the bell in the
header counts the unread), and the 关注 / 取消关注 buttons of the record and case pages.
Pages parse, authorise and shape; the watch service does the work, as for the API.

A page's button names its subject the way the page does (a person by household and name,
a case by its id), so no form carries an ID or account number."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from audit.api.policy import allows
from audit.api.types import RowId
from audit.auth.service import Principal
from audit.db import get_engine, read_connection
from audit.errors import ServiceError
from audit.models import Case
from audit.watch import service
from audit.web.session import Csrf, page_allowed
from audit.web.templating import page

router = APIRouter(include_in_schema=False)
Watcher = Annotated[Principal, page_allowed("watches:use")]
Key = Annotated[str, Path(min_length=1, max_length=120)]
PAGE_SIZE = 50
# The record pages with a button, and the kind of subject each one is about.
RECORD_KINDS = {"household": "household", "person": "person", "official": "official",
                "organization": "organization"}


def may_watch(user: Principal | None) -> bool:
    return user is not None and allows(user.role, "watches:use", user.scope)


def _back(path: str, fallback: str = "/watches") -> str:
    """Where a form sends the reader back to: a path of this site only, never another host."""
    return path if path.startswith("/") and not path.startswith("//") and "\\" not in path else fallback


# ---------------------------------------------------------------------- the buttons

def record_button(conn: Any, user: Principal, request: Request) -> dict[str, Any] | None:
    """The watch button of a record page (household, person, official, organization): where
    to post, and the watch when there is one; None for a page without one or a reader who
    may not watch."""
    parts = request.url.path.strip("/").split("/")
    kind = RECORD_KINDS.get(parts[1]) if len(parts) > 2 and parts[0] == "records" else None
    if kind is None or not may_watch(user):
        return None
    params = request.path_params
    if kind == "person":
        keys = service.person_keys(conn, params["household_id"], params["name"])
        target = f"{params['household_id']}/{params['name']}"
    else:
        key = params.get({"household": "household_id", "official": "official_id", "organization": "uscc"}[kind], "")
        keys, target = [key], key
    found = service.find(conn, user, kind, keys)
    from urllib.parse import quote

    back = "/" + "/".join(parts[:2]) + "/" + "/".join(quote(p, safe="") for p in target.split("/"))
    return {"action": f"/watch{back[len('/records'):]}", "watch_id": next(iter(found.values()), None)
            if found and len(found) == len(keys) else None, "back": back}


def case_button(conn: Any, user: Principal, case: dict[str, Any]) -> dict[str, Any] | None:
    """The watch button of a case page: its subject, when it is of a kind one watches."""
    kind = case["subject"]["kind"]
    if kind not in service.KINDS or not may_watch(user):
        return None
    from sqlalchemy import select

    key = conn.execute(select(Case.subject_key).where(Case.id == case["id"])).scalar_one()
    found = service.find(conn, user, kind, [key])
    return {"action": f"/watch/case/{case['id']}", "watch_id": found.get(key), "back": f"/cases/{case['id']}"}


def _add(user: Principal, back: str, resolve: Any) -> Response:
    with get_engine().begin() as conn:
        for kind, key in resolve(conn):
            service.add(conn, user, kind, key)
    return RedirectResponse(f"{back}?done=watch_added", status_code=303)


@router.post("/watch/household/{household_id}")
def watch_household(household_id: Key, user: Watcher, _: None = Csrf) -> Response:
    """关注 a household (its members and card with it)."""
    from urllib.parse import quote

    return _add(user, f"/records/household/{quote(household_id, safe='')}", lambda conn: [("household", household_id)])


@router.post("/watch/person/{household_id}/{name}")
def watch_person(household_id: Key, name: Key, user: Watcher, _: None = Csrf) -> Response:
    """关注 a person, found by household and name as their page finds them."""
    from urllib.parse import quote

    def people(conn: Any) -> list[tuple[str, str]]:
        keys = service.person_keys(conn, household_id, name)
        if not keys:
            raise ServiceError(404, "error.no_record", kind="person", key=name)
        return [("person", key) for key in keys]

    return _add(user, f"/records/person/{quote(household_id, safe='')}/{quote(name, safe='')}", people)


@router.post("/watch/official/{official_id}")
def watch_official(official_id: Key, user: Watcher, _: None = Csrf) -> Response:
    """关注 an official."""
    from urllib.parse import quote

    return _add(user, f"/records/official/{quote(official_id, safe='')}", lambda conn: [("official", official_id)])


@router.post("/watch/organization/{uscc}")
def watch_organization(uscc: Key, user: Watcher, _: None = Csrf) -> Response:
    """关注 an organization."""
    from urllib.parse import quote

    return _add(user, f"/records/organization/{quote(uscc, safe='')}", lambda conn: [("organization", uscc)])


@router.post("/watch/case/{case_id}")
def watch_case_subject(case_id: RowId, user: Watcher, _: None = Csrf) -> Response:
    """关注 whom a case is about (a person, household, official, organization or account)."""
    from sqlalchemy import select

    from audit.cases.service import in_scope

    def subject(conn: Any) -> list[tuple[str, str]]:
        row = conn.execute(select(Case.subject_kind, Case.subject_key)
                           .where(Case.id == case_id, in_scope(user))).first()
        if row is None or row.subject_kind not in service.KINDS:
            raise ServiceError(404, "error.no_case", case_id=case_id)
        return [(row.subject_kind, row.subject_key)]

    return _add(user, f"/cases/{case_id}", subject)


@router.post("/watches/{watch_id}/remove")
def unwatch(watch_id: RowId, user: Watcher, back: Annotated[str, Form(max_length=400)] = "/watches",
            _: None = Csrf) -> Response:
    """取消关注: the watch and its notifications go; back to the page the button was on."""
    with get_engine().begin() as conn:
        service.remove(conn, user, watch_id)
    return RedirectResponse(f"{_back(back)}?done=watch_removed", status_code=303)


# ---------------------------------------------------------------------- 我的关注

@router.get("/watches", response_class=HTMLResponse)
def watch_list(request: Request, user: Watcher, show: Annotated[str, Query(pattern="^(unread|all)$")] = "unread",
               page_number: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1) -> Response:
    """我的关注: what the reader watches, and what was found or imported about it (unread
    first, or all), each marked read one by one or all at once."""
    with read_connection() as conn:
        watched = service.watches(conn, user)
        total, items = service.notifications(conn, user, show == "unread", PAGE_SIZE, (page_number - 1) * PAGE_SIZE)
        unread = service.unread_count(conn, user.id)
    return page(request, "watch/list.html", watched=watched, items=items, total=total, unread=unread, chosen=show,
                page_number=page_number, pages=max(1, -(-total // PAGE_SIZE)))


@router.post("/watches/notifications/read")
def read_notifications(user: Watcher, notification: Annotated[int | None, Form(ge=1, le=2**31 - 1)] = None,
                       _: None = Csrf) -> Response:
    """已读: one notification (``notification``), or all the reader's unread ones."""
    with get_engine().begin() as conn:
        service.mark_read(conn, user, None if notification is None else [notification])
    return RedirectResponse("/watches?done=notifications_read", status_code=303)

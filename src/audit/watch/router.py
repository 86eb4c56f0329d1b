"""Routes of watchlists (我的关注): one's own watches, added and removed, and the
notifications they bring, marked read. The same service as the 我的关注 screen."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from audit.api.deps import SessionDep, allowed
from audit.api.types import RowId
from audit.auth.service import Principal
from audit.watch import service

router = APIRouter(tags=["watches"])
Watcher = Annotated[Principal, allowed("watches:use")]


class WatchIn(BaseModel):
    # person | household | official | organization | account
    subject_kind: Literal["person", "household", "official", "organization", "account"]
    # A person's ID number, a household ID, an official ID, a credit code, an account number.
    subject_key: Annotated[str, Field(min_length=1, max_length=service.MAX_KEY)]
    note: Annotated[str | None, Field(max_length=service.MAX_NOTE)] = None


class WatchOut(BaseModel):
    id: int
    created: bool


class NotificationPage(BaseModel):
    total: int
    unread: int
    items: list[dict[str, Any]]


class ReadIn(BaseModel):
    # The notifications to mark read; none given: all of the reader's unread ones.
    ids: Annotated[list[Annotated[int, Field(ge=1, le=2_147_483_647)]] | None, Field(max_length=1000)] = None


class ReadOut(BaseModel):
    marked: int


@router.get("/watches")
def list_watches(conn: SessionDep, user: Watcher) -> list[dict[str, Any]]:
    """The reader's watches, newest first: each subject (ID and account numbers masked), its
    record page, the note, and how many of its notifications are unread."""
    return service.watches(conn, user)


@router.post("/watches", response_model=WatchOut)
def add_watch(body: WatchIn, conn: SessionDep, user: Watcher) -> WatchOut:
    """Watch a person (ID number), household, official, organization (credit code) or
    account: the store must know it, and a town's inspector watches what lives in their
    town (404 otherwise). Watching it again answers the same watch (``created`` false)."""
    watch_id, created = service.add(conn, user, body.subject_kind, body.subject_key, body.note)
    return WatchOut(id=watch_id, created=created)


@router.delete("/watches/{watch_id}", status_code=204)
def remove_watch(watch_id: RowId, conn: SessionDep, user: Watcher) -> None:
    """Stop watching (one's own watch only); its notifications go with it."""
    service.remove(conn, user, watch_id)


@router.get("/watches/notifications", response_model=NotificationPage)
def list_notifications(conn: SessionDep, user: Watcher,
                       which: Annotated[Literal["unread", "all"], Query(alias="show")] = "all",
                       limit: Annotated[int, Query(ge=1, le=500)] = 50,
                       offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0) -> NotificationPage:
    """The reader's notifications, newest first (``show=unread`` for the unread only): a new
    finding about a watched subject (its code and case, the run) or a record an import
    wrote about it (its table and key, masked; the import batch)."""
    total, items = service.notifications(conn, user, which == "unread", limit, offset)
    return NotificationPage(total=total, unread=service.unread_count(conn, user.id), items=items)


@router.post("/watches/notifications/read", response_model=ReadOut)
def mark_read(body: ReadIn, conn: SessionDep, user: Watcher) -> ReadOut:
    """Mark notifications read: those named (others' are ignored), or all the reader's
    unread ones; answers how many were unread."""
    return ReadOut(marked=service.mark_read(conn, user, body.ids))

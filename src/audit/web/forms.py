"""What the pages' forms and query strings share: a day typed by a user, and the towns and
villages of the reader's scope that the pickers offer."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Connection, select

from audit.auth.service import Principal
from audit.errors import ServiceError
from audit.models import Town, Village

EARLIEST = date(1900, 1, 1)


def form_day(value: str | None, earliest: date = EARLIEST) -> date | None:
    """A ``YYYY-MM-DD`` field (empty: none); anything else, or a day outside earliest..2100,
    is a 422 that names the value."""
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise ServiceError(422, "error.not_a_date", value=value) from None
    if not earliest <= day <= date(2100, 12, 31):
        raise ServiceError(422, "error.not_a_date", value=value)
    return day


def towns(conn: Connection, user: Principal) -> list[tuple[str, str]]:
    """(code, name) of the towns the reader may pick: all, or their own town."""
    query = select(Town.town_code, Town.town_name).order_by(Town.town_code)
    if user.town:
        query = query.where(Town.town_code == user.town)
    return [(r.town_code, r.town_name) for r in conn.execute(query)]


def villages(conn: Connection, user: Principal, town: str | None) -> list[tuple[str, str]]:
    """(code, name) of the villages of the chosen town (a town's staff: always their own)."""
    chosen = user.town or town
    if not chosen:
        return []
    return [(r.village_code, r.village_name) for r in conn.execute(
        select(Village.village_code, Village.village_name).where(Village.town_code == chosen)
        .order_by(Village.village_code))]

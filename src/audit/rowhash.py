"""A stored row's fingerprint: the one hash a case file prints for a row and its verifier
recomputes, so that a reader can tell later whether the row is still what the file saw.

``SHA-256`` over a canonical JSON of ``{"table", "key", "row"}``: keys sorted, no spaces,
UTF-8; dates and times as ISO text (times in UTC, as the trail stamps them); money as the
integer fen it is stored as; strings as stored; JSON columns with their keys sorted. The
import batch that last wrote a row (``batch_id``) is left out: a re-import that changes
nothing in the row moves it, and the importer's own change log ignores it too.

A row's key is its primary key's values joined by ``|`` (dates as ISO text), which for the
interchange tables is exactly how an evidence step names its record (``payment_id``,
``id_number|plate``), and for the service's own tables their integer id.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Date, Integer, Table, and_, select

from audit.models import Base

# Bookkeeping of where a row came from, not what it says.
LEFT_OUT = frozenset({"batch_id"})


def table_of(name: str) -> Table | None:
    """The stored table of that name, or None (a name from a file is not trusted)."""
    return Base.metadata.tables.get(name)


def _canonical(value: Any) -> Any:
    if isinstance(value, datetime):
        # SQLite gives back a naive time for a timezone-aware column: it was stored in UTC.
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    return value


def key_of(table: Table, row: Any) -> str:
    """A row's key as a case file writes it: its primary key's values joined by ``|``."""
    mapping = row._mapping if hasattr(row, "_mapping") else row
    return "|".join(str(_canonical(mapping[column.name])) for column in table.primary_key.columns)


def _typed_key(table: Table, key: str) -> list[Any] | None:
    columns = list(table.primary_key.columns)
    parts = key.split("|")
    if len(parts) != len(columns):
        return None
    try:
        return [date.fromisoformat(part) if isinstance(column.type, Date)
                else int(part) if isinstance(column.type, Integer) else part
                for column, part in zip(columns, parts, strict=True)]
    except ValueError:
        return None


def hash_of(table: Table, row: Any) -> str:
    """The fingerprint of a row already read (all its columns)."""
    mapping = row._mapping if hasattr(row, "_mapping") else row
    columns = {name: _canonical(value) for name, value in mapping.items() if name not in LEFT_OUT}
    body = json.dumps({"table": table.name, "key": key_of(table, mapping), "row": columns}, ensure_ascii=False,
                      sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()


def read_row(conn: Connection, table: str, key: str) -> Any | None:
    """The stored row of ``table`` under ``key``, or None when there is no such table or row."""
    stored = table_of(table)
    typed = None if stored is None else _typed_key(stored, key)
    if stored is None or typed is None:
        return None
    where = and_(*[column == value for column, value in zip(stored.primary_key.columns, typed, strict=True)])
    return conn.execute(select(stored).where(where)).first()


def row_hash(conn: Connection, table: str, key: str) -> str | None:
    """The fingerprint of the row of ``table`` under ``key`` as stored now; None if it is gone."""
    row = read_row(conn, table, key)
    stored = table_of(table)
    return None if row is None or stored is None else hash_of(stored, row)

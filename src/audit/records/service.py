"""Records through the service, by the importer's one code path: an uploaded dataset and a
single new record are both validated and stored by :mod:`audit.importer`; a single record
needs an Idempotency-Key, so a retried request never creates a second record."""

from __future__ import annotations

import csv
import hashlib
import json
import tempfile
from contextlib import ExitStack
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, func, insert, select
from sqlalchemy.exc import IntegrityError

from audit import trail
from audit.detectors.base import fen_of, yuan
from audit.importer.read import open_dataset
from audit.importer.report import ImportReport
from audit.importer.service import import_into
from audit.importer.spec import BY_NAME
from audit.models import IdempotencyKey

CREATABLE = ("projects", "disbursements", "card_payments")


class RecordError(Exception):
    def __init__(self, status: int, message: str, detail: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.detail = detail


def upload(conn: Connection, content: bytes, suffix: str, partial: bool, user: Any) -> ImportReport:
    with tempfile.TemporaryDirectory() as folder, ExitStack() as stack:
        path = Path(folder) / f"upload{suffix}"
        path.write_bytes(content)
        dataset = open_dataset(path, stack)
        return import_into(conn, dataset, partial=partial, who=user.name)


def create(conn: Connection, table: str, values: dict[str, Any], key: str, user: Any) -> tuple[int, dict[str, Any]]:
    """Create one record (or return the response first given for this key)."""
    if table not in CREATABLE:
        raise RecordError(404, f"records of {table} are not created one by one")
    body_hash = hashlib.sha256(json.dumps([table, values], sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    seen = conn.execute(select(IdempotencyKey).where(IdempotencyKey.key == key)).first()
    if seen is not None:
        if seen.request_hash != body_hash or seen.user_id != user.id:
            raise RecordError(422, "this Idempotency-Key was used for another request")
        return seen.status_code, seen.response
    spec = BY_NAME[table]
    with tempfile.TemporaryDirectory() as folder, ExitStack() as stack:
        path = Path(folder) / f"{table}.csv"
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, [c.name for c in spec.columns], extrasaction="ignore")
            writer.writeheader()
            writer.writerow({k: "" if v is None else v for k, v in values.items()})
        report = import_into(conn, open_dataset(path, stack), partial=False, who=user.name)
    if not report.stored:
        raise RecordError(422, "the record is not valid", [e.__dict__ for e in report.errors])
    counts = report.counts[table]
    outcome = "inserted" if counts.inserted else "updated" if counts.updated else "unchanged"
    response = {"table": table, "key": str(values.get(spec.key[0])), "outcome": outcome,
                "batch_id": report.batch_id}
    savepoint = conn.begin_nested()
    try:
        conn.execute(insert(IdempotencyKey).values(key=key, user_id=user.id, request_hash=body_hash,
                                                   status_code=201, response=response,
                                                   created_at=datetime.now(UTC)))
        savepoint.commit()
    except IntegrityError:
        # A concurrent request with this key won: its response is the one to give.
        savepoint.rollback()
        seen = conn.execute(select(IdempotencyKey).where(IdempotencyKey.key == key)).one()
        if seen.request_hash != body_hash:
            raise RecordError(422, "this Idempotency-Key was used for another request") from None
        return seen.status_code, seen.response
    trail.append(conn, user.name, "record_created", f"{table} {response['key']}", {"outcome": outcome})
    return 201, response


def read(conn: Connection, table: str, filters: dict[str, str], limit: int, offset: int) -> dict[str, Any]:
    spec = BY_NAME.get(table)
    if spec is None:
        raise RecordError(404, f"no table {table}")
    model = spec.model.__table__
    query = select(model)
    for name, value in filters.items():
        column = spec.by_name.get(name)
        if column is None:
            raise RecordError(422, f"{table} has no column {name} to filter on")
        stored = model.c[column.db_name]
        if column.stored:  # money: the filter is in yuan, the column in fen
            try:
                wanted: Any = fen_of(value)
            except ArithmeticError:
                raise RecordError(422, f"{name} takes an amount in yuan, not {value!r}") from None
        else:
            wanted = _typed(stored.type.python_type, name, value)
        query = query.where(stored == wanted)
    total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    key_columns = [model.c[spec.by_name[k].db_name] for k in spec.key]
    rows = conn.execute(query.order_by(*key_columns).limit(limit).offset(offset)).mappings()
    items = []
    for row in rows:
        item = {}
        for name, value in row.items():
            if name == "batch_id":
                continue
            if name.endswith("_fen"):
                item[name[:-4]] = None if value is None else yuan(value)
            else:
                item[name] = value.isoformat() if isinstance(value, date) else value
        items.append(item)
    return {"total": total, "items": items}


def _typed(kind: type, name: str, value: str) -> Any:
    """A filter value as its column's type (PostgreSQL compares no integer with text)."""
    try:
        if kind is date:
            return date.fromisoformat(value)
        if kind is bool:
            return value.lower() in {"1", "true", "yes"}
        if kind is int:
            number = int(value)
            if abs(number) > 2**63 - 1:
                raise ValueError(value)
            return number
        if kind is float:
            return float(value)
    except ValueError:
        raise RecordError(422, f"{name} takes a {kind.__name__}, not {value!r}") from None
    return value

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

from sqlalchemy import Connection, and_, func, insert, literal, or_, select, true
from sqlalchemy.exc import IntegrityError

from audit import trail
from audit.auth.service import Principal
from audit.config import get_settings
from audit.db import LIKE_ESCAPE, contains_pattern
from audit.detectors.base import yuan
from audit.errors import ServiceError
from audit.importer import parse
from audit.masking import ACCOUNT_FIELDS, ID_FIELDS, KIND_OF, mask_fields
from audit.importer.profile import Profile
from audit.importer.read import open_dataset
from audit.importer.report import ImportReport
from audit.importer.service import ProgressFn, import_into, open_source
from audit.importer.spec import BY_NAME
from audit.models import Household, IdempotencyKey, Person, Project, Village

CREATABLE = ("projects", "disbursements", "card_payments")


class RecordError(ServiceError):
    def __init__(self, status: int, message_id: str, /, detail: Any = None, **fields: Any) -> None:
        super().__init__(status, message_id, detail, **fields)


def upload(conn: Connection, path: Path, partial: bool, user: Any, progress: ProgressFn | None = None,
           profile: Profile | None = None) -> ImportReport:
    """Import an uploaded dataset (spooled to ``path``) through the importer; with
    ``profile``, a county's own export read as the profile says."""
    with ExitStack() as stack:
        return import_into(conn, open_source(path, conn, stack, profile), partial=partial, who=user.name,
                           progress=progress)


def create(conn: Connection, table: str, values: dict[str, Any], key: str, user: Any, lang: str = "zh"
           ) -> tuple[int, dict[str, Any]]:
    """Create one record (or return the response first given for this key); a refused
    record's errors are in ``lang``."""
    if table not in CREATABLE:
        raise RecordError(404, "error.not_creatable", table=table)
    body_hash = hashlib.sha256(json.dumps([table, values], sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    seen = conn.execute(select(IdempotencyKey).where(IdempotencyKey.key == key)).first()
    if seen is not None:
        if seen.request_hash != body_hash or seen.user_id != user.id:
            raise RecordError(422, "error.idempotency_key_reused")
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
        raise RecordError(422, "error.record_invalid", [e.as_dict(lang, masked=True) for e in report.errors])
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
            raise RecordError(422, "error.idempotency_key_reused") from None
        return seen.status_code, seen.response
    trail.append(conn, user.name, "record_created", f"{table} {response['key']}", {"outcome": outcome})
    return 201, response


# Columns holding a resident ID or an account number: filtering on them confirms a guessed
# number, so only inspectors may (and their reads are on the trail).
PERSONAL_COLUMNS = ID_FIELDS | ACCOUNT_FIELDS | frozenset(KIND_OF)


def _scoped(spec: Any, town: str) -> Any:
    """A filter keeping the rows of ``spec``'s table that belong to ``town``; None when the
    table has no place in a town (registries, transfers, kinship...): a town cannot read it."""
    model = spec.model.__table__
    in_town = select(Village.village_code).where(Village.town_code == town)
    homes = select(Household.household_id).where(Household.village_code.in_(in_town))
    if spec.name in {"towns", "programs", "allocations"}:
        return true()
    if spec.name == "villages":
        return model.c.town_code == town
    if spec.name in {"households", "projects"}:
        return model.c.village_code.in_(in_town)
    if spec.name == "persons":
        return model.c.household_id.in_(homes)
    if spec.name == "card_payments":
        registered = select(Person.id_number).where(Person.household_id.in_(homes))
        return or_(model.c.household_id.in_(homes),
                   and_(model.c.household_id.is_(None), model.c.id_number.in_(registered)))
    if spec.name == "disbursements":
        return model.c.project_id.in_(select(Project.project_id).where(Project.village_code.in_(in_town)))
    return None


def read(conn: Connection, table: str, filters: dict[str, str], limit: int, offset: int, user: Principal
         ) -> dict[str, Any]:
    """Rows of an interchange table filtered by ``column=value`` (a name column matches a
    part of the name), paged. Numbers are masked for everyone but inspectors, and for a
    masked reader no filter or order uses a personal number; an inspector's read of full
    numbers goes on the trail with what and how many rows."""
    spec = BY_NAME.get(table)
    if spec is None:
        raise RecordError(404, "error.no_table", table=table)
    full = user.role == "inspector"
    model = spec.model.__table__
    query = select(model)
    if user.town is not None:
        scope = _scoped(spec, user.town)
        if scope is None:
            raise RecordError(403, "error.table_outside_scope", table=table)
        query = query.where(scope)
    for name, value in filters.items():
        column = spec.by_name.get(name)
        if column is None:
            raise RecordError(422, "error.no_filter_column", table=table, column=name)
        if name in PERSONAL_COLUMNS and not full:
            raise RecordError(403, "error.personal_filter", column=name)
        stored = model.c[column.db_name]
        if column.stored:  # money: the filter is in yuan, the column in fen
            try:
                wanted: Any = parse.money_fen(value)
            except parse.CellError as error:
                raise RecordError(422, "error.filter_value", column=name, value=value,
                                  reason=error.as_message()) from None
            query = query.where(stored == wanted)
        elif name.endswith("name") and stored.type.python_type is str:
            query = query.where(stored.like(contains_pattern(value), escape=LIKE_ESCAPE))
        else:
            query = query.where(stored == _typed(stored.type.python_type, name, value))
    total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = conn.execute(query.order_by(*_order(spec, full)).limit(limit).offset(offset)).mappings()
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
        items.append(item if full else mask_fields(item))
    if full and items:
        trail.append(conn, user.name, "records_read", table,
                     {"filters": mask_fields(dict(filters)), "rows": len(items), "total": total})
    return {"total": total, "items": items}


def _order(spec: Any, full: bool) -> list[Any]:
    """The key columns, for inspectors; for a masked reader never a personal number: the
    table's other key columns, then a keyed hash of the personal ones (a total order that
    says nothing about the numbers)."""
    model = spec.model.__table__
    columns = [model.c[spec.by_name[k].db_name] for k in spec.key]
    if full:
        return columns
    plain = [c for c in columns if c.name not in PERSONAL_COLUMNS]
    personal = [c for c in columns if c.name in PERSONAL_COLUMNS]
    salt = literal(order_salt())
    return plain + [func.md5(salt + c) for c in personal]


def order_salt() -> str:
    import hashlib

    return hashlib.sha256(("order|" + get_settings().log_key).encode()).hexdigest()[:16]


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
        raise RecordError(422, "error.filter_value", column=name, value=value, reason=kind.__name__) from None
    return value

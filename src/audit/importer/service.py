"""The import service: a dataset into the store, all or nothing.

Flow, inside one transaction of the caller's connection:

1. every table's rows are parsed and validated cell by cell (values cached, since an ID
   number or a date repeats across many payments) and the valid ones are streamed into a
   temporary staging table (``COPY`` on PostgreSQL, ``executemany`` on SQLite);
2. checks that span rows run as SQL over the staging tables: duplicate keys, references
   to the dataset or the store, a payment's period against its program's period;
3. unless errors remain (and the import is not partial), each table is merged into the
   store set-based: counts by comparison, the earlier values of changed rows copied into
   ``row_history``, then one UPDATE … FROM and one INSERT … SELECT.

The caller commits or rolls back (:func:`import_path` does both for commands and routes),
so a crash or a kill at any point leaves the store as it was.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import ExitStack
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    Connection,
    Date,
    Engine,
    Integer,
    MetaData,
    Table,
    and_,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    union_all,
    update,
)

from audit import trail
from audit.config import get_settings
from audit.importer import parse
from audit.importer.profile import Profile, profiled_dataset
from audit.importer.read import Dataset, DatasetError, SourceTable, UnreadableRow, open_dataset
from audit.importer.report import ImportReport, Problem
from audit.importer.spec import BY_NAME, TABLES, fold_header
from audit.importer.spec import Table as TableSpec
from audit.models import ImportBatch, QuarantinedRow, RowHistory
from audit.auth.service import operator

ProgressFn = Callable[[str, int, int], None]  # table, rows done, rows expected

ROW = "_row"  # staging column holding the source row number
IMPORT_LOCK = 727_001  # PostgreSQL advisory lock taken by every import

# A problem's reason: a message id and its fields (rendered where the report is read).
Reason = tuple[str, dict[str, Any]]
Parsed = tuple[Any, Reason | None, Reason | None]  # value, error, warning


def _cached(parser: Callable[[Any], Any], enabled: bool) -> Callable[[Any], Parsed]:
    """Wrap a parser so it returns (value, error, warning) and remembers distinct inputs.
    The reasons are kept as (message id, fields), not as the exceptions: a cached exception
    would keep its traceback's frames alive."""
    cache: dict[Any, Parsed] = {}

    def run(raw: Any) -> Parsed:
        # Only short values repeat (IDs, dates, amounts, terms): long cells are not cached,
        # or 300,000 of them, each up to the cell limit, could take gigabytes.
        remember = enabled and (not isinstance(raw, str) or len(raw) <= 64)
        if remember:
            hit = cache.get(raw)
            if hit is not None:
                return hit
        try:
            result: Parsed = (parser(raw), None, None)
        except parse.CellWarning as warning:
            result = (warning.value, None, (warning.message_id, warning.fields))
        except parse.CellError as error:
            result = (None, (error.message_id, error.fields), None)
        if remember:
            if len(cache) > 300_000:  # bound memory on columns that rarely repeat
                cache.clear()
            cache[raw] = result
        return result

    return run


def _staging_tables(postgres: bool) -> dict[str, Table]:
    """A temporary table shaped like each stored table, plus the source row number."""
    metadata, tables = MetaData(), {}
    kwargs = {"postgresql_on_commit": "DROP"} if postgres else {}
    for spec in TABLES:
        target = spec.model.__table__
        columns = [Column(ROW, Integer)] + [Column(c.db_name, target.c[c.db_name].type) for c in spec.columns]
        tables[spec.name] = Table(f"stg_{spec.name}", metadata, *columns, prefixes=["TEMPORARY"], **kwargs)
    return tables


# The staging tables' descriptions, built once per dialect at import time and shared (read
# only) by every import, so the importer's statements over them hit SQLAlchemy's compiled-
# statement cache (a fresh Table per import compiled every statement anew: most of a
# one-line pre-release check's import time).
_STAGING = {postgres: _staging_tables(postgres) for postgres in (False, True)}


class _Staging:
    """Temporary tables, one per table in the dataset, shaped like the stored table."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.tables: dict[str, Table] = {}
        self.postgres = conn.dialect.name == "postgresql"

    def create(self, spec: TableSpec) -> Table:
        table = _STAGING[self.postgres][spec.name]
        table.create(self.conn)
        self.tables[spec.name] = table
        return table

    def write(self, spec: TableSpec, rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        table = self.tables[spec.name]
        names = [column.name for column in table.columns]
        if self.postgres:
            cursor = self.conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
            with cursor.copy(f"COPY {table.name} ({', '.join(names)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        # SQLite stores dates as ISO text, the form SQLAlchemy's Date type reads back.
        if any(isinstance(column.type, Date) for column in table.columns):
            rows = [tuple(v.isoformat() if isinstance(v, date) else v for v in row) for row in rows]
        placeholders = ", ".join("?" for _ in names)
        self.conn.exec_driver_sql(
            f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({placeholders})", rows)

    def drop_all(self) -> None:
        if not self.postgres:
            for table in self.tables.values():
                table.drop(self.conn, checkfirst=True)


class _Import:
    def __init__(self, conn: Connection, dataset: Dataset, report: ImportReport, batch_id: int,
                 progress: ProgressFn | None) -> None:
        self.conn = conn
        self.dataset = dataset
        self.report = report
        self.batch_id = batch_id
        self.progress = progress
        self.staging = _Staging(conn)
        self.collect_keys = False
        self.chunk = get_settings().import_chunk_rows
        # Keys of rows refused in this dataset, so a reference to them says so.
        self.rejected_keys: dict[str, dict[str, int]] = {}
        # Raw cells of refused rows, kept for the quarantine (partial imports).
        self.rejected_raw: dict[tuple[str, int], dict[str, Any]] = {}

    # ------------------------------------------------------------ step 1: parse and stage

    def error(self, table: str, row: int, column: str, value: Any, message_id: str,
              fields: dict[str, Any] | None = None) -> None:
        self.report.errors.append(Problem(table, row, column, "" if value is None else str(value), message_id,
                                          fields or {}))

    def warn(self, table: str, row: int, column: str, value: Any, message_id: str,
             fields: dict[str, Any] | None = None) -> None:
        self.report.warnings.append(Problem(table, row, column, "" if value is None else str(value), message_id,
                                            fields or {}))

    def stage(self, source: SourceTable) -> None:
        spec = BY_NAME[source.table]
        counts = self.report.table(spec.name)
        header, rows = source.open_rows()
        lookup = spec.header_lookup()
        positions: dict[str, int] = {}
        for index, heading in enumerate(header):
            cleaned = heading.replace("\ufeff", "").strip()
            if not cleaned:
                continue
            name = lookup.get(fold_header(cleaned))
            if name is None:
                self.warn(spec.name, 1, cleaned, cleaned, "warning.import.unknown_column")
            elif name in positions:
                self.error(spec.name, 1, name, cleaned, "error.import.column_twice")
            else:
                positions[name] = index
        missing = [c.name for c in spec.columns if c.required and c.name not in positions]
        staging = self.staging.create(spec)
        if missing:
            for name in missing:
                self.error(spec.name, 1, name, "", "error.import.column_missing")
            for number, values in rows:
                counts.read += 1
                counts.rejected += 1
                self.rejected_raw[(spec.name, number)] = (
                    {} if isinstance(values, UnreadableRow) else dict(zip(header, map(parse.shown, values))))
            return

        plan = [(positions.get(c.name), c.name, _cached(c.parser, c.cached), c.required, c.default)
                for c in spec.columns]
        key_names = spec.key
        row_check = spec.row_check
        rejected_keys = self.rejected_keys.setdefault(spec.name, {})
        buffer: list[tuple[Any, ...]] = []
        for number, values in rows:
            counts.read += 1
            if isinstance(values, UnreadableRow):  # a line or cell over the limits: no cells to parse
                counts.rejected += 1
                self.error(spec.name, number, values.column, values.value, values.message_id, values.fields)
                self.rejected_raw[(spec.name, number)] = {}
                continue
            width = len(values)
            record: dict[str, Any] = {}
            bad = False
            for index, name, run, required, default in plan:
                raw = values[index] if index is not None and index < width else None
                value, problem, warning = run(raw)
                if value is None and problem is None and default is not None:
                    value = default
                if problem is not None:
                    self.error(spec.name, number, name, parse.shown(raw), *problem)
                    bad = True
                elif value is None and required:
                    self.error(spec.name, number, name, "", "error.import.value_missing")
                    bad = True
                elif warning is not None:
                    self.warn(spec.name, number, name, parse.shown(raw), *warning)
                record[name] = value
            for column, shown, message_id, fields in getattr(values, "warnings", ()):
                self.warn(spec.name, number, column, shown, message_id, fields)  # a profile's (profile.py)
            if row_check is not None and not bad:
                for found in row_check(record):
                    self.error(spec.name, number, found.column, found.value, found.message_id, found.fields)
                    bad = True
            if bad:
                counts.rejected += 1
                key_value = "|".join(str(record.get(k)) for k in key_names)
                rejected_keys.setdefault(key_value, number)
                key_position = positions.get(key_names[0])
                if key_position is not None and key_position < width:
                    shown = parse.as_text(values[key_position])
                    if shown:
                        self.report.rejected_keys.setdefault(spec.name, {})[number] = shown
                self.rejected_raw[(spec.name, number)] = {
                    heading: parse.shown(values[i]) for i, heading in enumerate(header) if i < width}
                continue
            buffer.append((number, *record.values()))
            if len(buffer) >= self.chunk:
                self.staging.write(spec, buffer)
                buffer.clear()
                if self.progress:
                    self.progress(spec.name, counts.read, source.estimated_rows)
        self.staging.write(spec, buffer)
        # Built once the rows are in: the checks and the merge look staged rows up by key.
        # (As DDL text: an Index object would attach itself to the shared staging Table.)
        key_list = ", ".join(spec.by_name[k].db_name for k in spec.key)
        self.conn.exec_driver_sql(f"CREATE INDEX ix_stg_{spec.name}_key ON {staging.name} ({key_list})")
        if self.progress:
            self.progress(spec.name, counts.read, counts.read)

    # ------------------------------------------------------------ step 2: checks across rows

    def _drop_rows(self, spec: TableSpec, bad: dict[int, list[tuple[str, Any, str, dict[str, Any]]]]) -> None:
        """Record errors for staged rows and take them out of staging."""
        if not bad:
            return
        staging = self.staging.tables[spec.name]
        keys = self.rejected_keys.setdefault(spec.name, {})
        rows = list(bad)
        for start in range(0, len(rows), 900):
            part = rows[start:start + 900]
            for staged in self.conn.execute(select(staging).where(staging.c[ROW].in_(part))).mappings():
                number = staged[ROW]
                raw = {c.name: _text(staged[c.db_name], c.db_name) for c in spec.columns}
                self.rejected_raw[(spec.name, number)] = raw
                if raw.get(spec.key[0]):
                    self.report.rejected_keys.setdefault(spec.name, {})[number] = str(raw[spec.key[0]])
                keys.setdefault("|".join(str(staged[BY_NAME[spec.name].by_name[k].db_name])
                                         for k in spec.key), number)
            self.conn.execute(delete(staging).where(staging.c[ROW].in_(part)))
        for number, problems in sorted(bad.items()):
            for column, value, message_id, fields in problems:
                self.error(spec.name, number, column, value, message_id, fields)
        self.report.table(spec.name).rejected += len(bad)

    def _unknown(self, table: str, column: str, value: ColumnElement[Any]) -> ColumnElement[bool]:
        """``value`` is a key of ``table`` neither staged in this import nor stored. Two
        NOT EXISTS probes, each on an index (a UNION of both would defeat the indexes)."""
        stored = BY_NAME[table].model.__table__.c[column]
        condition = ~exists().where(stored == value)
        if table in self.staging.tables:
            # An alias: a table may refer to itself (a reissue to the payment it pays again),
            # and the probe must read the other rows, not correlate to the row it checks.
            staged = self.staging.tables[table].alias("referred")
            condition = and_(condition, ~exists().where(staged.c[column] == value))
        return condition

    def check(self, spec: TableSpec) -> None:
        staging = self.staging.tables[spec.name]
        bad: dict[int, list[tuple[str, Any, str, dict[str, Any]]]] = {}
        key_columns = [staging.c[spec.by_name[k].db_name] for k in spec.key]

        # Duplicate keys in the dataset: identical copies are dropped with a warning,
        # conflicting ones are errors on every copy (which one is right is not ours to say).
        duplicate_keys = select(*key_columns).group_by(*key_columns).having(func.count() > 1).subquery()
        match = and_(*[column == duplicate_keys.c[column.name] for column in key_columns])
        groups: dict[tuple[Any, ...], list[Any]] = {}
        for row in self.conn.execute(select(staging).join(duplicate_keys, match).order_by(staging.c[ROW])):
            groups.setdefault(tuple(row._mapping[c.name] for c in key_columns), []).append(row)
        identical_drop: list[int] = []
        for key_value, copies in groups.items():
            first = copies[0]
            bodies = {tuple(r[1:]) for r in copies}
            shown = "|".join(str(k) for k in key_value)
            if len(bodies) == 1:
                for copy in copies[1:]:
                    identical_drop.append(copy._mapping[ROW])
                    self.warn(spec.name, copy._mapping[ROW], spec.key[0], shown,
                              "warning.import.duplicate_row", {"first_row": first._mapping[ROW]})
            else:
                rows_named = [r._mapping[ROW] for r in copies]
                for copy in copies:
                    bad.setdefault(copy._mapping[ROW], []).append(
                        (spec.key[0], shown, "error.import.duplicate_key", {"rows": rows_named}))
        if identical_drop:
            self.conn.execute(delete(staging).where(staging.c[ROW].in_(identical_drop)))
            # An exact copy changes nothing: it counts as unchanged, so the counts add up to read.
            self.report.table(spec.name).unchanged += len(identical_drop)

        for reference in spec.references:
            if reference.table == "programs":
                self._program_names(staging, reference.column, bad)
            child = staging.c[reference.column]
            missing = select(staging.c[ROW], child).where(
                child.is_not(None), self._unknown(reference.table, reference.target, child))
            refused = self.rejected_keys.get(reference.table, {})
            for number, value in self.conn.execute(missing):
                if any(problem[0] == reference.column for problem in bad.get(number, [])):
                    continue  # already an error of this cell (a program name that names several)
                fields: dict[str, Any] = {"table": reference.table, "key": value}
                if value in refused:
                    message_id = "error.import.reference_rejected"
                    fields["row"] = refused[value]
                else:
                    message_id = "error.import.reference_unknown"
                bad.setdefault(number, []).append((reference.column, value, message_id, fields))

        if spec.name == "card_payments":
            self._check_periods(staging, bad)
        self._drop_rows(spec, bad)

    def _program_names(self, staging: Table, column: str,
                       bad: dict[int, list[tuple[str, Any, str, dict[str, Any]]]]) -> None:
        """A file may name a program by its code, its name or an alias (interchange v1.1):
        each staged value that is not a program code but names exactly one program becomes
        that program's code; one that names several is an error of its rows."""
        programs = BY_NAME["programs"].model.__table__
        rows = list(self.conn.execute(select(programs.c.program_code, programs.c.name, programs.c.aliases)))
        if "programs" in self.staging.tables:
            staged = self.staging.tables["programs"]
            rows += list(self.conn.execute(select(staged.c.program_code, staged.c.name, staged.c.aliases)))
        codes = {row.program_code for row in rows}
        named: dict[str, set[str]] = {}
        for code, name, aliases in rows:
            for spelling in [name, *(aliases or "").split("|")]:
                if spelling and spelling.strip():
                    named.setdefault(spelling.strip(), set()).add(code)
        target = staging.c[column]
        values = [value for (value,) in self.conn.execute(select(target).distinct().where(target.is_not(None)))
                  if value not in codes and value in named]
        for value in values:
            meant = sorted(named[value])
            if len(meant) == 1:
                self.conn.execute(update(staging).where(target == value).values({column: meant[0]}))
                continue
            for (number,) in self.conn.execute(select(staging.c[ROW]).where(target == value)):
                bad.setdefault(number, []).append((column, value, "error.import.program_name_ambiguous",
                                                   {"name": value, "codes": meant}))

    def _check_periods(self, staging: Table, bad: dict[int, list[tuple[str, Any, str, dict[str, Any]]]]) -> None:
        """A monthly program's payment names a month; a yearly or one-off one names a year."""
        stored = BY_NAME["programs"].model.__table__
        parts = [select(stored.c.program_code, stored.c.period)]
        if "programs" in self.staging.tables:
            staged = self.staging.tables["programs"]
            parts = [select(stored.c.program_code, stored.c.period).where(
                stored.c.program_code.not_in(select(staged.c.program_code))),
                select(staged.c.program_code, staged.c.period)]
        programs = union_all(*parts).subquery()
        wrong = select(staging.c[ROW], staging.c.period, programs.c.program_code, programs.c.period).join(
            programs, programs.c.program_code == staging.c.program_code).where(
            or_(and_(programs.c.period == "month", func.length(staging.c.period) != 7),
                and_(programs.c.period != "month", func.length(staging.c.period) != 4)))
        for number, value, program, kind in self.conn.execute(wrong):
            form = "YYYY-MM" if kind == "month" else "YYYY"
            bad.setdefault(number, []).append(
                ("period", value, "error.import.period_for_program", {"program": program, "per": kind, "form": form}))

    # ------------------------------------------------------------ step 3: merge

    def merge(self, spec: TableSpec) -> None:
        staging = self.staging.tables[spec.name]
        target = spec.model.__table__
        counts = self.report.table(spec.name)
        key_db = [spec.by_name[k].db_name for k in spec.key]
        data_db = [c.db_name for c in spec.columns if c.name not in spec.key]
        same_key = and_(*[target.c[k] == staging.c[k] for k in key_db])
        differs = or_(*[target.c[c].is_distinct_from(staging.c[c]) for c in data_db]) if data_db else None

        if self.collect_keys:
            rows = {"|".join(str(v) for v in row[1:]): row[0] for row in self.conn.execute(
                select(staging.c[ROW], *[staging.c[k] for k in key_db]).order_by(staging.c[ROW]))}
            self.report.keys[spec.name] = list(rows)
            self.report.key_rows[spec.name] = rows
        total = self.conn.execute(select(func.count()).select_from(staging)).scalar_one()
        existing = self.conn.execute(select(func.count()).select_from(staging).join(target, same_key)).scalar_one()
        changed = 0
        if differs is not None and existing:
            changed_rows = select(target).join(staging, same_key).where(differs)
            now = datetime.now(UTC)
            history: list[dict[str, Any]] = []
            for old in self.conn.execute(changed_rows).mappings():
                changed += 1
                history.append({
                    "batch_id": self.batch_id, "table_name": spec.name,
                    "row_key": "|".join(str(old[k]) for k in key_db),
                    "old_values": {name: _jsonable(value) for name, value in old.items() if name != "batch_id"},
                    "changed_at": now,
                })
                if len(history) >= self.chunk:
                    self.conn.execute(insert(RowHistory.__table__), history)
                    history.clear()
            if history:
                self.conn.execute(insert(RowHistory.__table__), history)
            if changed:
                self.conn.execute(
                    update(target).where(same_key).where(differs).values(
                        {**{c: staging.c[c] for c in data_db}, "batch_id": self.batch_id}))
        counts.inserted += total - existing
        counts.updated += changed
        counts.unchanged += existing - changed
        if total > existing:
            columns = key_db + data_db
            new_rows = select(*[staging.c[c] for c in columns], literal(self.batch_id)).where(
                ~exists().where(same_key))
            self.conn.execute(insert(target).from_select([*columns, "batch_id"], new_rows))

    def quarantine(self) -> None:
        # Each error as its message id and fields, and its English reason beside them for
        # whoever reads the rows without the catalogue.
        errors: dict[tuple[str, int], list[dict[str, Any]]] = {}
        for problem in self.report.errors:
            errors.setdefault((problem.table, problem.row), []).append(
                {"column": problem.column, "value": problem.value, "message": problem.message,
                 "fields": problem.fields, "reason": problem.reason})
        unusable = Problem("", 1, "", "", "error.import.header_unusable")
        rows = [{"batch_id": self.batch_id, "table_name": table, "row_number": number,
                 "raw": self.rejected_raw.get((table, number), {}), "errors": found}
                for (table, number), found in errors.items() if number > 1 or (table, number) in self.rejected_raw]
        rows += [{"batch_id": self.batch_id, "table_name": table, "row_number": number, "raw": raw,
                  "errors": [{"column": "", "value": "", "message": unusable.message, "fields": {},
                              "reason": unusable.reason}]}
                 for (table, number), raw in self.rejected_raw.items() if (table, number) not in errors]
        for start in range(0, len(rows), 5000):
            self.conn.execute(insert(QuarantinedRow.__table__), rows[start:start + 5000])

    # ------------------------------------------------------------ all steps

    def timed(self, table: str, step: Callable[[Any], None], argument: Any) -> None:
        started = time.perf_counter()
        step(argument)
        self.report.table(table).seconds += time.perf_counter() - started

    def run(self) -> None:
        by_table = {source.table: source for source in self.dataset.tables}
        for name in self.dataset.ignored:
            self.warn("", 0, "", name, "warning.import.not_a_table")
        for spec in TABLES:  # dependency order: a parent is staged and checked before its children
            if spec.name in by_table:
                self.timed(spec.name, self.stage, by_table[spec.name])
        for spec in TABLES:
            if spec.name in self.staging.tables:
                self.timed(spec.name, self.check, spec)
        order = {spec.name: index for index, spec in enumerate(TABLES)}
        self.report.errors.sort(key=lambda e: (order.get(e.table, -1), e.row))
        if self.report.errors and not self.report.partial:
            return
        for spec in TABLES:
            if spec.name in self.staging.tables:
                self.timed(spec.name, self.merge, spec)
        if self.report.errors:
            self.quarantine()
        self.staging.drop_all()


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date | datetime) else value


def _text(value: Any, column: str) -> str | None:
    if value is None:
        return None
    if column.endswith("_fen") and isinstance(value, int):
        return f"{value // 100}.{value % 100:02d}"
    return _jsonable(value) if not isinstance(value, str) else value


def load_dataset(conn: Connection, dataset: Dataset, *, partial: bool, imported_by: str,
                 progress: ProgressFn | None = None, collect_keys: bool = False) -> ImportReport:
    """Stage, check and (when clean, or partial) merge ``dataset`` on ``conn``.

    Does not commit: the caller commits when ``report.stored`` and rolls back otherwise.
    """
    started = time.perf_counter()
    report = ImportReport(source=dataset.source, partial=partial, hashes=dataset.hashes)
    batch_id = _insert_batch(conn, dataset, imported_by, partial, "running")
    report.batch_id = batch_id
    work = _Import(conn, dataset, report, batch_id, progress)
    work.collect_keys = collect_keys
    work.run()
    if report.errors and not partial:
        report.outcome = "rejected"
    else:
        report.outcome = "committed_partial" if report.errors else "committed"
    report.seconds = time.perf_counter() - started
    if report.stored:
        _finish_batch(conn, report)
    return report


def _trail_detail(report: ImportReport) -> dict[str, Any]:
    return {"batch_id": report.batch_id, "outcome": report.outcome, "errors": len(report.errors),
            "files": report.hashes,
            "counts": {t: {"inserted": c.inserted, "updated": c.updated, "rejected": c.rejected}
                       for t, c in report.counts.items()}}


def _insert_batch(conn: Connection, dataset: Dataset, who: str, partial: bool, outcome: str) -> int:
    return conn.execute(insert(ImportBatch.__table__).values(
        started_at=datetime.now(UTC), imported_by=who, source=dataset.source, source_hashes=dataset.hashes,
        partial=partial, outcome=outcome, counts={},
    ).returning(ImportBatch.__table__.c.id)).scalar_one()


def _finish_batch(conn: Connection, report: ImportReport) -> None:
    values = {
        "finished_at": datetime.now(UTC), "outcome": report.outcome,
        "counts": report.counts_dict(), "error_count": len(report.errors),
        "warning_count": len(report.warnings),
    }
    conn.execute(update(ImportBatch.__table__).where(ImportBatch.__table__.c.id == report.batch_id).values(values))


def import_into(conn: Connection, dataset: Dataset, *, partial: bool, who: str,
                progress: ProgressFn | None = None) -> ImportReport:
    """Import on ``conn``'s open transaction, inside a savepoint: kept when clean (or
    partial), rolled back otherwise, and then the rejected attempt alone is recorded.
    The caller commits. Commands and HTTP uploads both come through here."""
    if conn.dialect.name == "postgresql":
        # Imports queue: two at once could both find a new key absent (neither sees the
        # other's uncommitted row) and the second would fail on it. SQLite's writers queue
        # already (transactions begin IMMEDIATE).
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": IMPORT_LOCK})
    savepoint = conn.begin_nested()
    try:
        report = load_dataset(conn, dataset, partial=partial, imported_by=who, progress=progress)
    except BaseException:
        savepoint.rollback()
        raise
    if report.stored:
        savepoint.commit()
        refresh_statistics(conn, {t: c.inserted + c.updated for t, c in report.counts.items()})
        # Those who watch a subject of a record this import wrote are told (one query when
        # nobody watches anything).
        from audit.watch.service import notify_import

        if report.batch_id is not None:
            notify_import(conn, report.batch_id)
        trail.append(conn, who, "import", dataset.source, _trail_detail(report))
        return report
    savepoint.rollback()
    report.batch_id = _insert_batch(conn, dataset, who, partial, report.outcome)
    _finish_batch(conn, report)
    trail.append(conn, who, "import_rejected", dataset.source, _trail_detail(report))
    return report


# When an import's changes move a table's statistics: as PostgreSQL's autovacuum judges it
# (analyze_scale_factor), a tenth of the table's rows changed, or a bulk of rows. A single
# record created over the API, or a town's small roster, does not pay an ANALYZE of a
# million-row table; autovacuum catches up with those.
STATISTICS_SHARE = 0.1
STATISTICS_ROWS = 10_000


def refresh_statistics(conn: Connection, changed: dict[str, int]) -> None:
    """The planner's statistics of the tables an import changed enough, brought up to date
    before anyone queries them: right after a bulk load a server has none (autovacuum lags
    it, or is off), and a detector's plan chosen without them can take hours instead of
    seconds. PostgreSQL: ANALYZE through audit_analyze() (migration 0015; the service role
    owns no table); SQLite: ANALYZE on a bounded sample of each index."""
    tables = sorted(t for t, rows in changed.items()
                    if rows and (rows >= STATISTICS_ROWS or rows >= STATISTICS_SHARE * _row_count(conn, t)))
    if not tables:
        return
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT audit_analyze(:tables)"), {"tables": tables})
        return
    conn.exec_driver_sql("PRAGMA analysis_limit = 1000")
    for table in tables:
        conn.exec_driver_sql(f'ANALYZE "{BY_NAME[table].name}"')


def _row_count(conn: Connection, table: str) -> float:
    """A table's rows: PostgreSQL's estimate (free; -1 before any ANALYZE, which reads as
    empty), SQLite's count."""
    if conn.dialect.name == "postgresql":
        estimate = conn.execute(text("SELECT reltuples FROM pg_class WHERE relname = :t"), {"t": table}).scalar()
        return max(float(estimate or 0), 0.0)
    return float(conn.execute(select(func.count()).select_from(BY_NAME[table].model)).scalar_one())


def open_source(path: Path, conn: Connection, stack: ExitStack, profile: Profile | None = None) -> Dataset:
    """The dataset at ``path``, or with ``profile`` the county's own export read as it says."""
    return profiled_dataset(path, profile, conn, stack) if profile else open_dataset(path, stack)


def import_path(engine: Engine, path: Path, *, partial: bool = False, imported_by: str | None = None,
                progress: ProgressFn | None = None, profile: Profile | None = None) -> ImportReport:
    """Import a dataset file or folder as one unit of work (the command line's boundary);
    with ``profile``, a county's own export read as that profile says."""
    who = imported_by or operator()
    with ExitStack() as stack, engine.connect() as conn, conn.begin():
        return import_into(conn, open_source(path, conn, stack, profile), partial=partial, who=who,
                           progress=progress)


__all__ = ["DatasetError", "ImportReport", "import_path", "load_dataset"]

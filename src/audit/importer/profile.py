"""Import profiles: the exports counties really have, read as interchange tables
(interchange v1.1, "Import profiles").

A profile is a TOML file (``importer/profiles/*.toml`` ship with the service; a user may
copy one and name the copy's path instead). It says which tables one export feeds and,
for each, which of the export's headers is which column (several spellings; in each row
the first one with a value), how values translate, what is looked up by name in the store,
and how a row without a key of its own gets one from its content.

A profile does not import anything itself: :func:`profiled_dataset` turns the export into
a :class:`~audit.importer.read.Dataset` whose rows are the translated rows, numbered as in
the export, and the importer reads it exactly as any dataset (the same parsing, checks,
references, report and all-or-nothing rule). A lookup that finds nothing, or two, is an
error of that row naming the value; a source header no feed uses is ignored with a warning.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select

from audit.errors import MessageError
from audit.importer import parse
from audit.importer.read import Dataset, SourceTable, UnreadableRow, open_dataset, under_name
from audit.importer.spec import BY_NAME, fold_header
from audit.models import Person, Program, Town, Village

SHIPPED = Path(__file__).with_name("profiles")
_DATE_TIME = re.compile(r"(\d{4}[-/.年]\d{1,2}[-/.月]\d{1,2}日?)[ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?")
_YEAR = re.compile(r"(\d{4})年?(度)?")
_DIGITS_PERIOD = re.compile(r"(\d{4})(?:[-/.年]?(\d{1,2})月?)?")
TRANSFORMS = ("program_period", "date_part", "year_end")
LOOKUPS = ("village",)


class ProfileError(MessageError):
    """A profile that cannot be used (not found, not TOML, a column or table it names does
    not exist): ``message_id`` (``error.profile.*``) and ``fields`` say which."""


class ProfiledRow(list[Any]):
    """A translated row's cells, with the warnings the translation found (a name that
    differs from the person's): the importer records them as warnings of that row."""

    warnings: list[tuple[str, str, str, dict[str, Any]]]

    def __init__(self, cells: list[Any], warnings: list[tuple[str, str, str, dict[str, Any]]] | None = None) -> None:
        super().__init__(cells)
        self.warnings = warnings or []


@dataclass(frozen=True)
class Feed:
    """One table a profile feeds."""

    table: str
    columns: dict[str, tuple[str, ...]]
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    transform: dict[str, str] = field(default_factory=dict)
    lookup: dict[str, dict[str, Any]] = field(default_factory=dict)
    key_prefix: str | None = None
    key_from: tuple[str, ...] = ()
    only_where: tuple[tuple[str, ...], tuple[str, ...]] | None = None  # (headers, values)
    check_name: tuple[tuple[str, ...], str] | None = None  # (headers, the ID column it names)

    def headers(self) -> set[str]:
        """Every source header this feed reads, folded."""
        used = {fold_header(h) for spellings in self.columns.values() for h in spellings}
        used |= {fold_header(h) for spec in self.lookup.values() for h in spec.get("within", ())}
        if self.only_where:
            used |= {fold_header(h) for h in self.only_where[0]}
        if self.check_name:
            used |= {fold_header(h) for h in self.check_name[0]}
        return used


@dataclass(frozen=True)
class Profile:
    name: str
    title: str
    description: str
    feeds: tuple[Feed, ...]
    path: Path


def _strings(value: Any, where: str, path: Path) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise ProfileError("error.profile.bad_entry", path=str(path), entry=where)
    return tuple(items)


def _feed(raw: dict[str, Any], path: Path) -> Feed:
    table = raw.get("table")
    if table not in BY_NAME:
        raise ProfileError("error.profile.unknown_table", path=str(path), table=str(table))
    spec = BY_NAME[table]
    columns = {name: _strings(spellings, f"{table}.columns.{name}", path)
               for name, spellings in (raw.get("columns") or {}).items()}
    named = set(columns) | set(raw.get("values") or {}) | set(raw.get("transform") or {}) | set(raw.get("lookup") or {})
    named |= set(raw.get("key_from") or ())
    unknown = sorted(name for name in named if name not in spec.by_name)
    if unknown:
        raise ProfileError("error.profile.unknown_column", path=str(path), table=table, columns=unknown)
    transform = dict(raw.get("transform") or {})
    for name, kind in transform.items():
        if kind not in TRANSFORMS:
            raise ProfileError("error.profile.unknown_transform", path=str(path), column=name, transform=str(kind),
                               known=list(TRANSFORMS))
    lookup = {name: dict(entry) for name, entry in (raw.get("lookup") or {}).items()}
    for name, entry in lookup.items():
        if entry.get("kind") not in LOOKUPS:
            raise ProfileError("error.profile.unknown_lookup", path=str(path), column=name, lookup=str(entry.get("kind")),
                               known=list(LOOKUPS))
        entry["within"] = _strings(entry.get("within", []), f"{table}.lookup.{name}.within", path)
    where = raw.get("only_where")
    check = raw.get("check_name")
    return Feed(
        table=table, columns=columns,
        values={name: {str(k): str(v) for k, v in mapping.items()} for name, mapping in (raw.get("values") or {}).items()},
        transform=transform, lookup=lookup, key_prefix=raw.get("key_prefix"),
        key_from=tuple(raw.get("key_from") or ()),
        only_where=(_strings(where["header"], "only_where.header", path), _strings(where["values"], "only_where.values", path))
        if where else None,
        check_name=(_strings(check["header"], "check_name.header", path), str(check.get("id_column", "id_number")))
        if check else None)


def load(path: Path) -> Profile:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ProfileError("error.profile.not_found", name=str(path), known=names()) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ProfileError("error.profile.not_toml", path=str(path), detail=str(exc)) from None
    feeds = tuple(_feed(entry, path) for entry in raw.get("feeds") or [])
    if not feeds:
        raise ProfileError("error.profile.no_feeds", path=str(path))
    return Profile(str(raw.get("name") or path.stem), str(raw.get("title") or ""), str(raw.get("description") or ""),
                   feeds, path)


def names() -> list[str]:
    """The profiles that ship with the service."""
    return sorted(path.stem for path in SHIPPED.glob("*.toml"))


def shipped(name: str) -> Profile:
    """A profile that ships with the service, by its name: what an upload over HTTP may name
    (never a path on the server)."""
    if name not in names():
        raise ProfileError("error.profile.not_found", name=name, known=names())
    return load(SHIPPED / f"{name}.toml")


def find(name_or_path: str) -> Profile:
    """A shipped profile by its name, or a profile file by its path (a user's copy)."""
    shipped = SHIPPED / f"{name_or_path}.toml"
    if "/" not in name_or_path and "\\" not in name_or_path and shipped.exists():
        return load(shipped)
    path = Path(name_or_path)
    if path.suffix.lower() == ".toml" and path.is_file():
        return load(path)
    raise ProfileError("error.profile.not_found", name=name_or_path, known=names())


# ---------------------------------------------------------------- lookups


class _Store:
    """What translation looks up in the store: programs (by code, name or alias, with
    their period), villages by name (within a town's name), persons' names."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._programs: dict[str, set[tuple[str, str]]] | None = None
        self._villages: dict[str, list[tuple[str, str]]] | None = None

    def program_period(self, text: str) -> str | None:
        """The period kind (month, year, once) of the program a file names, when it names one."""
        if self._programs is None:
            self._programs = {}
            for code, name, aliases, period in self.conn.execute(
                    select(Program.program_code, Program.name, Program.aliases, Program.period)):
                for spelling in [code, name, *(aliases or "").split("|")]:
                    if spelling and spelling.strip():
                        self._programs.setdefault(spelling.strip(), set()).add((code, period))
        meant = self._programs.get(text.strip(), set())
        periods = {period for _code, period in meant}
        return periods.pop() if len(periods) == 1 else None

    def villages(self, name: str, town: str | None) -> list[str]:
        """The codes of the villages called ``name`` (in the town called ``town``, if given)."""
        if self._villages is None:
            self._villages = {}
            for code, village, town_name, town_code in self.conn.execute(
                    select(Village.village_code, Village.village_name, Town.town_name, Town.town_code)
                    .join(Town, Town.town_code == Village.town_code)):
                self._villages.setdefault(village.strip(), []).append((code, town_name.strip()))
                self._villages.setdefault(code, []).append((code, town_name.strip()))
        found = self._villages.get(name.strip(), [])
        if town:
            found = [entry for entry in found if entry[1] == town.strip()]
        return sorted({code for code, _town in found})

    def names(self, id_numbers: list[str]) -> dict[str, str]:
        known: dict[str, str] = {}
        for start in range(0, len(id_numbers), 900):
            part = id_numbers[start:start + 900]
            known.update(dict(self.conn.execute(select(Person.id_number, Person.name)
                                                .where(Person.id_number.in_(part))).all()))
        return known


# ---------------------------------------------------------------- translation


def _date_part(text: str) -> str:
    match = _DATE_TIME.fullmatch(text)
    return match.group(1) if match else text


def _year_end(text: str) -> str:
    match = _YEAR.fullmatch(text)
    return f"{match.group(1)}-12-31" if match else _date_part(text)


def _period_for(text: str, kind: str | None) -> str:
    """发放期号 as the program counts periods: ``201703`` → ``2017-03`` for a monthly
    program, ``2017`` for a yearly or one-off one; left as written when the program is
    not known (the importer then says what is wrong)."""
    match = _DIGITS_PERIOD.fullmatch(text)
    if not match or kind is None:
        return text
    year, month = match.group(1), match.group(2)
    if kind == "month":
        return f"{year}-{int(month):02d}" if month else text
    return year


def _text(raw: Any) -> str | None:
    """A cell's text, to match and look up by; None when empty or unreadable (the importer
    then reports what is wrong with the cell itself)."""
    try:
        shown = parse.as_text(raw)
    except parse.CellError:
        return None
    return shown if shown else None


class _Translation:
    def __init__(self, feed: Feed, header: list[str], store: _Store, unused: list[str]) -> None:
        self.feed = feed
        self.store = store
        folded = [fold_header(h.replace("\ufeff", "").strip()) for h in header]
        self.position = {name: [folded.index(fold_header(h)) for h in spellings if fold_header(h) in folded]
                         for name, spellings in feed.columns.items()}
        self.source_header = {name: next((header[i] for i in where), spellings[0])
                              for (name, spellings), where in zip(feed.columns.items(), self.position.values())}
        self.within = {name: [folded.index(fold_header(h)) for h in spec["within"] if fold_header(h) in folded]
                       for name, spec in feed.lookup.items()}
        self.where = ([folded.index(fold_header(h)) for h in feed.only_where[0] if fold_header(h) in folded],
                      set(feed.only_where[1])) if feed.only_where else None
        self.name_at = [folded.index(fold_header(h)) for h in feed.check_name[0] if fold_header(h) in folded] \
            if feed.check_name else []
        # Mapped columns first, in the spec's order; then the unused source headers, so the
        # importer warns of each as a column it does not know.
        spec = BY_NAME[feed.table]
        # A column the export lacks altogether is left out, so the importer names it once as
        # a missing column instead of once per row as a missing value.
        self.names = [c.name for c in spec.columns
                      if self.position.get(c.name) or (c.name == spec.key[0] and feed.key_prefix)]
        self.unused = unused
        self.header = self.names + unused
        self.unused_at = [header.index(h) for h in unused]
        self.seen: Counter[str] = Counter()

    def _first(self, cells: list[Any], where: list[int]) -> Any:
        for index in where:
            if index < len(cells):
                value = cells[index]
                if _text(value) is not None:
                    return value
        return None

    def row(self, cells: list[Any]) -> ProfiledRow | UnreadableRow | None:
        feed = self.feed
        if self.where is not None:
            value = _text(self._first(cells, self.where[0]))
            if value not in self.where[1]:
                return None
        out: dict[str, Any] = {}
        for name in self.names:
            raw = self._first(cells, self.position.get(name, []))
            text = _text(raw)
            if text is not None and name in feed.values and text in feed.values[name]:
                raw = text = feed.values[name][text] or None
            if text is not None and name in feed.transform and not isinstance(raw, date):
                # (A workbook's date cell is a date already: nothing to translate.)
                kind = feed.transform[name]
                if kind == "date_part":
                    raw = _date_part(text)
                elif kind == "year_end":
                    raw = _year_end(text)
                elif kind == "program_period":
                    program = _text(self._first(cells, self.position.get("program_code", [])))
                    raw = _period_for(text, self.store.program_period(program) if program else None)
            if text is not None and name in feed.lookup:
                town = _text(self._first(cells, self.within[name]))
                codes = self.store.villages(text, town)
                if len(codes) != 1:
                    shown = f"{town}/{text}" if town else text
                    return UnreadableRow(self.source_header[name], shown,
                                         "error.import.name_matches_none" if not codes
                                         else "error.import.name_matches_several",
                                         {"kind": feed.lookup[name]["kind"], "name": shown, "codes": codes})
                raw = codes[0]
            out[name] = raw
        key = BY_NAME[feed.table].key[0]
        if feed.key_prefix and _text(out.get(key)) is None:
            content = "|".join(_text(out.get(name)) or "" for name in feed.key_from)
            self.seen[content] += 1
            # The n-th identical row of an export is a row of its own (a payment listed
            # twice is two payments), and gets the same key each time the export is read.
            digest = hashlib.sha256(f"{content}#{self.seen[content]}".encode()).hexdigest()[:20]
            out[key] = f"{feed.key_prefix}-{digest}"
        warnings = []
        if self.name_at and feed.check_name:
            given = _text(self._first(cells, self.name_at))
            if given is not None:
                warnings.append(("name", given, feed.check_name[1], _text(out.get(feed.check_name[1]))))
        return ProfiledRow([out[name] for name in self.names] + [cells[i] if i < len(cells) else None
                                                                 for i in self.unused_at], warnings)


def _translated(feed: Feed, source: SourceTable, store: _Store, all_headers: set[str], warn_unused: bool
                ) -> tuple[list[str], Iterator[tuple[int, Any]]]:
    header, rows = source.open_rows()
    unused = [h for h in header if h.strip() and fold_header(h.replace("\ufeff", "").strip()) not in all_headers] \
        if warn_unused else []
    translation = _Translation(feed, header, store, unused)

    def translated() -> Iterator[tuple[int, Any]]:
        pending: list[tuple[int, Any]] = []
        for number, cells in rows:
            if isinstance(cells, UnreadableRow):
                pending.append((number, cells))
            else:
                row = translation.row(cells)
                if row is not None:
                    pending.append((number, row))
            if len(pending) >= 1000:
                yield from _named(pending, store)
                pending = []
        yield from _named(pending, store)

    return translation.header, translated()


def _named(rows: list[tuple[int, Any]], store: _Store) -> Iterator[tuple[int, Any]]:
    """The rows, each name beside an ID compared with the person the store knows."""
    wanted = []
    for _number, row in rows:
        for _column, _given, _id_column, raw_id in getattr(row, "warnings", []):
            try:
                wanted.append(parse.id_number(raw_id))
            except (parse.CellError, parse.CellWarning, TypeError):
                continue
    known = store.names(sorted(set(filter(None, wanted)))) if wanted else {}
    for number, row in rows:
        if isinstance(row, ProfiledRow) and row.warnings:
            checked = []
            for column, given, _id_column, raw_id in row.warnings:
                try:
                    person = known.get(parse.id_number(raw_id) or "")
                except (parse.CellError, parse.CellWarning, TypeError):
                    person = None
                if person is not None and person != given:
                    checked.append((column, given, "warning.import.name_differs", {"given": given, "known": person}))
            row.warnings = checked
        yield number, row


def profiled_dataset(path: Path, profile: Profile, conn: Connection, stack: ExitStack,
                     sheet: str | None = None) -> Dataset:
    """The export at ``path`` (a CSV in any of the encodings, or a workbook's sheet) as the
    dataset its profile says it is; resources close with ``stack``."""
    first = profile.feeds[0].table
    named = stack.enter_context(under_name(path, f"{first}{path.suffix.lower()}"))
    source = open_dataset(named, stack, only=first, sheet=sheet)
    if len(source.tables) != 1:
        raise ProfileError("error.profile.one_table", file=path.name)
    table = source.tables[0]
    store = _Store(conn)
    used = set().union(*(feed.headers() for feed in profile.feeds))
    label = table.label.replace(named.name, path.name)
    tables = [SourceTable(feed.table, label, table.estimated_rows,
                          lambda feed=feed, first=index == 0: _translated(feed, table, store, used, first))
              for index, feed in enumerate(profile.feeds)]
    return Dataset(source.source, tables, source.hashes, source.ignored)


def describe(profile: Profile) -> dict[str, Any]:
    """A profile as ``audit profiles show`` and the upload screens show it."""
    return {"name": profile.name, "title": profile.title, "description": profile.description,
            "path": str(profile.path),
            "feeds": [{"table": feed.table, "columns": {k: list(v) for k, v in feed.columns.items()},
                       "values": feed.values, "transform": feed.transform,
                       "lookup": {k: {"kind": v["kind"], "within": list(v["within"])} for k, v in feed.lookup.items()},
                       "key_prefix": feed.key_prefix, "key_from": list(feed.key_from)} for feed in profile.feeds]}

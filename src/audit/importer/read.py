"""Reading a dataset: a folder of CSV files, a ``.zip`` of that folder, or one ``.xlsx``
workbook whose sheets are the tables. Yields each table's header and raw rows, never
interpreting a value (that is :mod:`audit.importer.parse`'s job).

Every input is bounded (the limits are :class:`audit.config.Settings`' ``zip_*`` and
``max_*``): an archive's members are checked on their declared sizes before anything is
extracted and counted while they are, a sheet is read row by row whatever size it claims,
a CSV line is read in bounded pieces, and a cell is never longer than the cell limit. What
breaks a limit is either a :class:`DatasetError` (the dataset as a whole is refused) or an
:class:`UnreadableRow` in place of that row's cells, which the importer reports as a row
error while it reads on.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import lzma
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from audit.config import Settings, get_settings
from audit.errors import MessageError
from audit.importer.parse import Raw, shown
from audit.importer.spec import BY_NAME

# File and sheet names a Chinese export may use for each table.
CHINESE_TABLE_NAMES = {
    "乡镇": "towns", "行政村": "villages", "贫困户": "households", "建档立卡贫困户": "households",
    "家庭成员": "persons", "干部": "officials", "亲属关系": "kinship", "单位": "organizations",
    "企业": "organizations", "股东": "shareholders", "银行账户": "accounts", "补贴项目": "programs",
    "资金下达": "allocations", "项目库": "projects", "资金拨付": "disbursements",
    "明白卡发放": "card_payments", "一卡通发放": "card_payments", "公告公示": "disclosures",
    "死亡登记": "deaths", "火化登记": "deaths", "财政供养人员": "public_employees",
    "车辆登记": "vehicles", "银行流水": "transfers",
    "不动产登记": "real_estate", "户籍变动": "household_events", "服刑羁押": "detentions",
    "服刑人员": "detentions", "养老金": "pensions", "退休金": "pensions", "养老金领取": "pensions",
    "学籍": "school_enrolments", "残疾证": "disability_certificates", "残疾人证": "disability_certificates",
}

_READ_BLOCK = 1 << 20
# Below this declared size a member is not checked for its compression ratio: a few
# repeated lines legitimately compress a hundredfold, and a small member cannot hurt.
_RATIO_FLOOR = 1 << 20
# The methods Python's zipfile decompresses (Excel and every zip tool write deflate).
_READABLE_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate",
                     zipfile.ZIP_BZIP2: "bzip2", zipfile.ZIP_LZMA: "lzma"}
# What decompressing a damaged member raises: zipfile's own errors (bad CRC, truncated
# data), zlib's and lzma's, and bz2's OSError. Turned into a DatasetError naming the member.
_DAMAGED = (zipfile.BadZipFile, zlib.error, lzma.LZMAError, EOFError, OSError)
# Excel's last row: a sheet claiming rows beyond it was not written by Excel.
_EXCEL_ROWS = 1_048_576


class DatasetError(MessageError):
    """The dataset as a whole cannot be read (missing path, corrupt zip or workbook, a limit
    passed): ``message_id`` (``error.dataset.*``) and ``fields`` say why, in the reader's
    language where it is shown; ``str()`` is the English text, for logs."""


@dataclass(frozen=True)
class UnreadableRow:
    """Stands for a row whose cells cannot be handed over (a line or a cell over the limit,
    a CSV syntax error): the importer records it as an error of that row and reads on.
    ``column`` is the header as the file gives it, or empty when the row is unreadable as a
    whole; ``value`` is the start of the offending cell, if any; the reason is the message
    ``message_id`` with ``fields``."""

    column: str
    value: str
    message_id: str
    fields: dict[str, Any] = field(default_factory=dict)


Row = list[Raw] | UnreadableRow


def table_for(stem: str) -> str | None:
    name = stem.strip().lower()
    if name in BY_NAME:
        return name
    return CHINESE_TABLE_NAMES.get(stem.strip())


@dataclass
class SourceTable:
    table: str
    label: str  # file or sheet name, as the user knows it
    estimated_rows: int
    open_rows: Callable[[], tuple[list[str], Iterator[tuple[int, Row]]]]


@dataclass
class Dataset:
    source: str
    tables: list[SourceTable]
    hashes: dict[str, str]
    ignored: list[str]


# ---------------------------------------------------------------- archives


class _BoundedMember(io.BufferedIOBase):
    """A zip member's bytes, never more than its declared size, and its read errors (bad
    CRC, corrupt deflate data, a truncated archive) as a :class:`DatasetError` naming it.

    Python's zipfile already stops at the declared size (``ZipExtFile`` cuts the
    decompressed data at ``file_size``, and the CRC check then fails on what was cut); this
    counts anyway, so the bound holds whatever the library does, and the limits checked on
    the headers are the ones enforced."""

    def __init__(self, member: IO[bytes], archive: str, name: str, limit: int) -> None:
        super().__init__()
        self._member = member
        self._where = {"archive": archive, "member": name}
        self._limit = limit
        self._count = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        # Never an unbounded read: at most one byte more than the limit, to see it passed.
        wanted = self._limit - self._count + 1
        if size is not None and size >= 0:
            wanted = min(size, wanted)
        try:
            data = self._member.read(wanted)
        except _DAMAGED as exc:
            raise DatasetError("error.dataset.member_damaged", **self._where, detail=str(exc)) from None
        self._count += len(data)
        if self._count > self._limit:
            raise DatasetError("error.dataset.member_overflow", **self._where, limit=self._limit)
        return data

    def read1(self, size: int = -1) -> bytes:
        return self.read(size)

    def close(self) -> None:
        self._member.close()
        super().close()


class _CheckedZip(zipfile.ZipFile):
    """A zip archive whose members are read through :class:`_BoundedMember`, and whose
    members are checked against the limits before anything is extracted."""

    def __init__(self, path: Path, settings: Settings, kind: str = "zip") -> None:
        self.label = path.name
        self.kind = kind  # zip | xlsx: what the user sent, as enum.archive names it
        self._check_directory(path, settings)
        try:
            super().__init__(path)
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            raise DatasetError("error.dataset.unreadable_archive", file=path.name, kind=kind,
                               detail=str(exc)) from None

    def _check_directory(self, path: Path, settings: Settings) -> None:
        """Refuse an archive whose central directory is too large before zipfile parses it
        into one object per entry: zipfile reads entries for as many bytes as the end record
        declares the directory to take (whatever entry count it declares), so a 200 MB
        directory of 46-byte entries would become four million objects. A real entry takes
        under 1 KiB (46 bytes, a name, a few extra fields)."""
        end_record = getattr(zipfile, "_EndRecData", None)  # private, but in every Python 3
        if end_record is None:
            return
        with path.open("rb") as handle:
            end = end_record(handle)
        if end is None:
            raise DatasetError("error.dataset.not_a_zip", file=path.name, kind=self.kind)
        entries, size = end[zipfile._ECD_ENTRIES_TOTAL], end[zipfile._ECD_SIZE]  # type: ignore[attr-defined]
        most = settings.zip_max_members
        if entries > most or size > most * 1024:
            raise DatasetError("error.dataset.zip_directory_too_large", file=path.name, entries=entries, size=size,
                               most=most)

    def check(self, members: list[zipfile.ZipInfo], settings: Settings) -> None:
        """Refuse the archive on its headers: too many members, or one of ``members`` (those
        that will be read) encrypted, in an unknown compression, larger than the limit or
        expanding more than the ratio allows; or all of them together too large."""
        count = len(self.infolist())
        if count > settings.zip_max_members:
            raise DatasetError("error.dataset.zip_too_many_members", file=self.label, count=count,
                               most=settings.zip_max_members)
        total = 0
        most = settings.zip_max_total_bytes
        for info in members:
            where = {"archive": self.label, "member": info.filename}
            if info.flag_bits & 0x1:
                raise DatasetError("error.dataset.member_encrypted", **where)
            if info.compress_type not in _READABLE_METHODS:
                raise DatasetError("error.dataset.member_compression", **where, method=info.compress_type)
            if info.file_size > most:
                raise DatasetError("error.dataset.member_too_large", **where, size=info.file_size, most=most)
            if info.file_size >= _RATIO_FLOOR and info.file_size > settings.zip_max_ratio * max(info.compress_size, 1):
                raise DatasetError("error.dataset.member_ratio", **where, compressed=info.compress_size,
                                   size=info.file_size, ratio=settings.zip_max_ratio)
            total += info.file_size
        if total > most:
            raise DatasetError("error.dataset.zip_total_too_large", file=self.label, total=total, most=most)

    def open(self, name: Any, mode: Any = "r", pwd: bytes | None = None, *,  # type: ignore[override]
             force_zip64: bool = False) -> IO[bytes]:
        info = name if isinstance(name, zipfile.ZipInfo) else self.getinfo(name)
        try:
            member = super().open(info, mode, pwd, force_zip64=force_zip64)
        except (*_DAMAGED, NotImplementedError, RuntimeError) as exc:  # RuntimeError: encrypted
            raise DatasetError("error.dataset.member_unopenable", archive=self.label, member=info.filename,
                               detail=str(exc)) from None
        if mode != "r":
            return member
        return _BoundedMember(member, self.label, info.filename, info.file_size)


# ---------------------------------------------------------------- CSV


class _Decodes:
    """Whether bytes fed block by block decode in ``codec``, and the offset of the first
    byte that does not."""

    def __init__(self, codec: str) -> None:
        self._decoder = codecs.getincrementaldecoder(codec)()
        self.fed = 0
        self.failed_at: int | None = None

    def feed(self, block: bytes, final: bool = False) -> bool:
        if self.failed_at is None:
            pending = len(self._decoder.getstate()[0])  # bytes held back from the last block
            try:
                self._decoder.decode(block, final)
            except UnicodeDecodeError as exc:
                self.failed_at = self.fed - pending + exc.start
            self.fed += len(block)
        return self.failed_at is None

    def feed_from(self, open_bytes: Callable[[], IO[bytes]], size: int) -> None:
        """Feed the first ``size`` bytes of the file again."""
        with open_bytes() as handle:
            while self.fed < size and (block := handle.read(min(_READ_BLOCK, size - self.fed))):
                self.feed(block)


def detect_encoding(open_bytes: Callable[[], IO[bytes]], label: str = "") -> tuple[str, str, int]:
    """UTF-8 (with or without BOM) if the bytes decode as UTF-8, else GB18030 (a superset
    of the GBK that Excel on a Chinese Windows writes) if they decode as that; else a
    :class:`DatasetError` naming the file and the first byte that fails each. Returns the
    codec, the file's sha256 and its line count, all from one pass over the bytes. GB18030
    is tried from the first byte that is not UTF-8 on, the bytes before it read again: in
    a GBK export that is the header line, so a UTF-8 file is decoded once and a GBK one
    about once too."""
    digest = hashlib.sha256()
    utf8, gb18030 = _Decodes("utf-8"), None
    lines = 0
    bom = False
    with open_bytes() as handle:
        while block := handle.read(_READ_BLOCK):
            if not utf8.fed:
                bom = block.startswith(codecs.BOM_UTF8)
            digest.update(block)
            lines += block.count(b"\n")
            if utf8.feed(block):
                continue
            if gb18030 is None:
                gb18030 = _Decodes("gb18030")
                gb18030.feed_from(open_bytes, utf8.fed - len(block))
            if not gb18030.feed(block):
                break
    if not utf8.feed(b"", final=True) and gb18030 is None:  # cut inside a character at the very end
        gb18030 = _Decodes("gb18030")
        gb18030.feed_from(open_bytes, utf8.fed)
    if utf8.failed_at is None:
        codec = "utf-8-sig" if bom else "utf-8"
    elif gb18030 is not None and gb18030.feed(b"", final=True):
        codec = "gb18030"
    else:
        raise DatasetError("error.dataset.encoding", file=label, utf8_at=utf8.failed_at,
                           gb18030_at=gb18030.failed_at if gb18030 else 0)
    return codec, digest.hexdigest(), lines


class _LineTooLong(Exception):  # noqa: N818 - a signal from the line reader to the row loop
    pass


class _Lines:
    """A text stream's physical lines, read in pieces of at most ``limit`` characters, so
    an endless line never sits in memory: a longer line is read through to its end and
    dropped, and :class:`_LineTooLong` is raised in its place (from ``__next__``, which the
    csv reader passes on; it is a class, not a generator, because a generator that raises
    is finished, and reading must go on after such a line)."""

    def __init__(self, handle: IO[str], limit: int, label: str) -> None:
        self._readline = handle.readline
        self._size = limit + 1  # the limit, plus a line ending or a character over it
        self._label = label
        # readline(size) may stop between the \r and the \n of one line ending: the \n then
        # comes back alone, and is the same line's end, not an empty line.
        self._split_ending = False

    def __iter__(self) -> _Lines:
        return self

    def _piece(self) -> str:
        try:
            piece = self._readline(self._size)
            if self._split_ending and piece == "\n":
                piece = self._readline(self._size)
        except UnicodeDecodeError as exc:  # the file changed since its encoding was detected
            raise DatasetError("error.dataset.file_changed", file=self._label, detail=str(exc)) from None
        self._split_ending = len(piece) == self._size and piece.endswith("\r")
        return piece

    def __next__(self) -> str:
        line = self._piece()
        if not line:
            raise StopIteration
        if len(line) < self._size or line.endswith(("\n", "\r")):
            return line
        while (rest := self._piece()) and not rest.endswith(("\n", "\r")):
            pass
        raise _LineTooLong


def _csv_rows(open_bytes: Callable[[], IO[bytes]], codec: str, label: str, stack: ExitStack
              ) -> tuple[list[str], Iterator[tuple[int, Row]]]:
    settings = get_settings()
    handle = stack.enter_context(io.TextIOWrapper(open_bytes(), encoding=codec, newline=""))
    # Process-wide, and the same for every reader: a longer cell is a csv.Error on its row.
    csv.field_size_limit(settings.max_cell_chars)
    line_limit = settings.max_line_chars
    reader = csv.reader(_Lines(handle, line_limit, label))
    try:
        header = next(reader, [])
    except (csv.Error, _LineTooLong):
        raise DatasetError("error.dataset.header_unreadable", file=label, line_limit=line_limit,
                           cell_limit=settings.max_cell_chars) from None
    _check_width(label, len(header), settings)

    def rows() -> Iterator[tuple[int, Row]]:
        # Row numbers are those a spreadsheet shows: the header is row 1. After an error the
        # csv reader drops the rest of that physical line and starts a new record on the next
        # one (CPython's Reader_iternext resets its state on every call), so the rest of the
        # file is read; a cell that ran over the limit inside quotes across several lines
        # leaves its remaining lines to be read as rows, and they get errors of their own.
        number, count = 1, 0
        while True:
            number += 1
            values: Row
            try:
                values = next(reader)  # type: ignore[assignment]
            except StopIteration:
                return
            except _LineTooLong:
                values = UnreadableRow("", "", "error.import.line_too_long", {"limit": line_limit})
            except csv.Error as exc:
                if "field larger than field limit" in str(exc):
                    values = UnreadableRow("", "", "error.import.row_cell_too_long",
                                           {"limit": settings.max_cell_chars})
                else:  # the csv module's own words: there is nothing else to say what broke
                    values = UnreadableRow("", "", "error.import.not_csv", {"detail": str(exc)})
            else:
                if not any(value.strip() for value in values):  # type: ignore[union-attr]
                    continue
            count += 1
            if count > settings.max_rows_per_table:
                raise _too_many_rows(label, settings)
            yield number, values

    return header, rows()


def _check_width(label: str, width: int, settings: Settings) -> None:
    if width > settings.max_columns:
        raise DatasetError("error.dataset.too_many_columns", file=label, width=width, most=settings.max_columns)


def _too_many_rows(label: str, settings: Settings) -> DatasetError:
    return DatasetError("error.dataset.too_many_rows", file=label, most=settings.max_rows_per_table)


def _csv_table(table: str, label: str, open_bytes: Callable[[], IO[bytes]],
               hashes: dict[str, str], stack: ExitStack) -> SourceTable:
    codec, digest, lines = detect_encoding(open_bytes, label)
    hashes[label] = digest
    return SourceTable(table, label, max(lines - 1, 0), lambda: _csv_rows(open_bytes, codec, label, stack))


# ---------------------------------------------------------------- datasets


@contextmanager
def under_name(path: Path, name: str) -> Iterator[Path]:
    """The file at ``path`` seen as ``name`` (a link in a temporary folder): a spooled upload
    read, reported and recorded as the file the user sent, or as the table it holds."""
    with tempfile.TemporaryDirectory() as folder:
        named = Path(folder) / (Path(name).name or path.name)
        named.symlink_to(path.resolve())
        yield named


def open_dataset(path: Path, stack: ExitStack, *, only: str | None = None, sheet: str | None = None) -> Dataset:
    """Open a folder, ``.zip`` or ``.xlsx``; resources are closed with ``stack``.

    ``only`` names the one table a file holds (a roster to check): a workbook's sheet is
    then that table whatever its name (``2018年1月低保发放``): the sheet named ``sheet``, else
    the sheet named for the table, else the one sheet with rows; with several and none
    chosen, :class:`DatasetError` ``error.dataset.pick_sheet`` lists them."""
    if not path.exists():
        raise DatasetError("error.dataset.no_such_path", path=str(path))
    settings = get_settings()
    hashes: dict[str, str] = {}
    tables: list[SourceTable] = []
    ignored: list[str] = []
    if path.is_dir():
        for file in sorted(path.iterdir()):
            if file.suffix.lower() != ".csv":
                continue
            table = table_for(file.stem)
            if table is None:
                ignored.append(file.name)
                continue
            tables.append(_csv_table(table, file.name, lambda f=file: f.open("rb"), hashes, stack))
    elif path.suffix.lower() == ".zip":
        archive = stack.enter_context(_CheckedZip(path, settings))
        chosen: list[tuple[str, zipfile.ZipInfo]] = []
        for info in sorted(archive.infolist(), key=lambda i: i.filename):
            member = info.filename
            name = Path(member)
            if info.is_dir() or "__MACOSX" in name.parts or name.suffix.lower() != ".csv":
                continue
            table = table_for(name.stem)
            if table is None:
                ignored.append(member)
                continue
            chosen.append((table, info))
        archive.check([info for _table, info in chosen], settings)  # before extracting anything
        for table, info in chosen:
            tables.append(_csv_table(table, info.filename, lambda i=info: archive.open(i), hashes, stack))
    elif path.suffix.lower() in {".xlsx", ".xlsm"}:
        tables.extend(_workbook_tables(path, hashes, ignored, stack, settings, only, sheet))
    elif path.suffix.lower() == ".csv":
        table = table_for(path.stem)
        if table is None:
            raise DatasetError("error.dataset.not_a_table_name", file=path.name)
        tables.append(_csv_table(table, path.name, lambda: path.open("rb"), hashes, stack))
    else:
        raise DatasetError("error.dataset.not_a_dataset", file=path.name)
    seen: dict[str, str] = {}
    for source in tables:
        if source.table in seen:
            raise DatasetError("error.dataset.table_twice", table=source.table, first=seen[source.table],
                               second=source.label)
        seen[source.table] = source.label
    return Dataset(str(path), tables, hashes, ignored)


# ---------------------------------------------------------------- workbooks


def _workbook_tables(path: Path, hashes: dict[str, str], ignored: list[str], stack: ExitStack,
                     settings: Settings, only: str | None = None, chosen: str | None = None) -> list[SourceTable]:
    from openpyxl.reader.excel import ExcelReader

    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(_READ_BLOCK):
            digest.update(block)
    hashes[path.name] = digest.hexdigest()
    # An .xlsx is a zip: its members are checked like a dataset's before openpyxl reads any.
    archive = stack.enter_context(_CheckedZip(path, settings, "xlsx"))
    archive.check([info for info in archive.infolist() if not info.is_dir()], settings)
    try:
        # load_workbook() opens its own ZipFile; the reader is given ours instead, so every
        # part openpyxl reads is bounded too. Read-only: sheets stream row by row.
        reader = ExcelReader(path, read_only=True, data_only=True)
        reader.archive.close()
        reader.archive, reader.valid_files = archive, archive.namelist()
        reader.read()
        workbook = reader.wb
    except DatasetError:
        raise
    except Exception as exc:  # openpyxl raises many types for a damaged file
        raise DatasetError("error.dataset.unreadable_archive", file=path.name, kind="xlsx", detail=str(exc)) from None
    tables = []
    sheets = list(workbook.worksheets)
    tables_of = {sheet.title: table_for(sheet.title) for sheet in sheets}
    if only is not None:
        picked = _the_sheet(path, sheets, tables_of, only, chosen)
        tables_of = {sheet.title: (only if sheet.title == picked else None) for sheet in sheets}
    for sheet in sheets:
        table = tables_of[sheet.title]
        if table is None:
            ignored.append(f"sheet {sheet.title}")
            continue
        label = f"{path.name}:{sheet.title}"
        # The declared dimension is only an estimate for progress; reading then ignores it
        # (read-only sheets pad every row and the sheet to it, so A1:XFD1048576 would mean
        # 17 billion cells).
        declared = sheet.max_row or 1
        sheet.reset_dimensions()
        tables.append(SourceTable(table, label, min(declared, _EXCEL_ROWS) - 1,
                                  lambda sheet=sheet, label=label: _sheet_rows(sheet, label, settings)))
    return tables


def _the_sheet(path: Path, sheets: list[Any], tables_of: dict[str, str | None], only: str,
               chosen: str | None) -> str:
    """The sheet holding the one table of a single-table workbook (see :func:`open_dataset`)."""
    titles = [sheet.title for sheet in sheets]
    if chosen:
        if chosen not in titles:
            raise DatasetError("error.dataset.no_such_sheet", file=path.name, sheet=chosen, sheets=titles)
        return chosen
    named = [title for title in titles if tables_of[title] == only]
    if len(named) == 1:
        return named[0]
    # The declared dimension says whether a sheet has rows beyond its header (Excel's
    # empty Sheet2 and Sheet3 declare A1): a hint, enough to pass over empty sheets.
    with_rows = [sheet.title for sheet in sheets if (sheet.max_row or 0) > 1]
    if len(titles) == 1 or len(with_rows) == 1:
        return titles[0] if len(titles) == 1 else with_rows[0]
    raise DatasetError("error.dataset.pick_sheet", file=path.name, sheets=titles)


def _sheet_rows(sheet: Any, label: str, settings: Settings) -> tuple[list[str], Iterator[tuple[int, Row]]]:
    cell_limit = settings.max_cell_chars

    def reading(rows: Iterator[tuple[Any, ...]], number: int) -> tuple[Any, ...] | None:
        try:
            return next(rows, None)
        except DatasetError:
            raise
        except Exception as exc:  # malformed sheet XML, a bad cell value, a damaged part
            raise DatasetError("error.dataset.sheet_unreadable", file=label, row=number, detail=str(exc)) from None

    # The header, read one column past the limit so that a wider one shows.
    first = reading(sheet.iter_rows(max_row=1, max_col=settings.max_columns + 1, values_only=True), 1) or ()
    header = [("" if cell is None else str(cell)) for cell in first]
    while header and not header[-1]:
        header.pop()
    _check_width(label, len(header), settings)
    if any(len(heading) > cell_limit for heading in header):  # as a CSV header's would be
        raise DatasetError("error.dataset.header_cell_too_long", file=label, limit=cell_limit)
    # Rows are cut to the header's width: cells beyond it are never read, and a cell far to
    # the right (XFD2) would otherwise make every row 16,384 cells wide.
    width = max(len(header), 1)
    values = sheet.iter_rows(min_row=2, max_col=width, values_only=True)

    def rows() -> Iterator[tuple[int, Row]]:
        count = 0
        number = 1
        while (row := reading(values, number + 1)) is not None:
            number += 1
            if number > _EXCEL_ROWS:
                raise DatasetError("error.dataset.sheet_too_long", file=label, most=_EXCEL_ROWS)
            if row.count(None) == width:  # at C speed: a sheet may skip to row 1,048,576
                continue
            filled, long = False, None
            for index, cell in enumerate(row):
                if isinstance(cell, str):
                    if len(cell) > cell_limit:
                        long = index
                        break
                    filled = filled or bool(cell.strip())
                elif cell is not None:
                    filled = True
            if not filled and long is None:
                continue
            count += 1
            if count > settings.max_rows_per_table:
                raise _too_many_rows(label, settings)
            if long is not None:
                yield number, UnreadableRow(header[long], shown(row[long]) or "", "error.import.cell_too_long",
                                            {"limit": cell_limit})
                continue
            yield number, list(row)

    return header, rows()

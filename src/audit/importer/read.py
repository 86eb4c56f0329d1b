"""Reading a dataset: a folder of CSV files, a ``.zip`` of that folder, or one ``.xlsx``
workbook whose sheets are the tables. Yields each table's header and raw rows, never
interpreting a value (that is :mod:`audit.importer.parse`'s job)."""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import zipfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from audit.importer.parse import Raw
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
}

_READ_BLOCK = 1 << 20


class DatasetError(Exception):
    """The dataset as a whole cannot be read (missing path, corrupt zip or workbook)."""


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
    open_rows: Callable[[], tuple[list[str], Iterator[tuple[int, list[Raw]]]]]


@dataclass
class Dataset:
    source: str
    tables: list[SourceTable]
    hashes: dict[str, str]
    ignored: list[str]


def detect_encoding(open_bytes: Callable[[], IO[bytes]]) -> tuple[str, str, int]:
    """UTF-8 (with or without BOM) if the bytes decode as UTF-8, else GB18030 (a superset
    of the GBK that Excel on a Chinese Windows writes). Returns the codec, the file's
    sha256 and its line count, all from one pass over the bytes."""
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")()
    utf8 = True
    lines = 0
    first = True
    bom = False
    with open_bytes() as handle:
        while block := handle.read(_READ_BLOCK):
            if first:
                bom = block.startswith(codecs.BOM_UTF8)
                first = False
            digest.update(block)
            lines += block.count(b"\n")
            if utf8:
                try:
                    decoder.decode(block)
                except UnicodeDecodeError:
                    utf8 = False
        if utf8:
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                utf8 = False
    codec = ("utf-8-sig" if bom else "utf-8") if utf8 else "gb18030"
    return codec, digest.hexdigest(), lines


def _csv_rows(open_bytes: Callable[[], IO[bytes]], codec: str, stack: ExitStack
              ) -> tuple[list[str], Iterator[tuple[int, list[Raw]]]]:
    handle = stack.enter_context(io.TextIOWrapper(open_bytes(), encoding=codec, newline=""))
    reader = csv.reader(handle)
    header = next(reader, [])

    def rows() -> Iterator[tuple[int, list[Raw]]]:
        # Row numbers are those a spreadsheet shows: the header is row 1.
        for number, values in enumerate(reader, start=2):
            if any(value.strip() for value in values):
                yield number, values  # type: ignore[misc]

    return header, rows()


def _csv_table(table: str, label: str, open_bytes: Callable[[], IO[bytes]],
               hashes: dict[str, str], stack: ExitStack) -> SourceTable:
    codec, digest, lines = detect_encoding(open_bytes)
    hashes[label] = digest
    return SourceTable(table, label, max(lines - 1, 0), lambda: _csv_rows(open_bytes, codec, stack))


def open_dataset(path: Path, stack: ExitStack) -> Dataset:
    """Open a folder, ``.zip`` or ``.xlsx``; resources are closed with ``stack``."""
    if not path.exists():
        raise DatasetError(f"{path}: no such file or folder")
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
        try:
            archive = stack.enter_context(zipfile.ZipFile(path))
        except zipfile.BadZipFile:
            raise DatasetError(f"{path.name}: not a readable zip archive") from None
        for member in sorted(archive.namelist()):
            name = Path(member)
            if member.endswith("/") or "__MACOSX" in name.parts or name.suffix.lower() != ".csv":
                continue
            table = table_for(name.stem)
            if table is None:
                ignored.append(member)
                continue
            tables.append(_csv_table(table, member, lambda m=member: archive.open(m), hashes, stack))
    elif path.suffix.lower() in {".xlsx", ".xlsm"}:
        tables.extend(_workbook_tables(path, hashes, ignored))
    elif path.suffix.lower() == ".csv":
        table = table_for(path.stem)
        if table is None:
            raise DatasetError(f"{path.name}: the file name does not name a table of interchange-v1")
        tables.append(_csv_table(table, path.name, lambda: path.open("rb"), hashes, stack))
    else:
        raise DatasetError(f"{path.name}: a dataset is a folder, a .zip or an .xlsx workbook")
    seen: dict[str, str] = {}
    for source in tables:
        if source.table in seen:
            raise DatasetError(
                f"table {source.table} is given twice ({seen[source.table]} and {source.label})")
        seen[source.table] = source.label
    return Dataset(str(path), tables, hashes, ignored)


def _workbook_tables(path: Path, hashes: dict[str, str], ignored: list[str]) -> list[SourceTable]:
    from openpyxl import load_workbook

    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(_READ_BLOCK):
            digest.update(block)
    hashes[path.name] = digest.hexdigest()
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a damaged file
        raise DatasetError(f"{path.name}: not a readable .xlsx workbook ({exc})") from None
    tables = []
    for sheet in workbook.worksheets:
        table = table_for(sheet.title)
        if table is None:
            ignored.append(f"sheet {sheet.title}")
            continue

        def open_rows(sheet=sheet) -> tuple[list[str], Iterator[tuple[int, list[Raw]]]]:
            values = sheet.iter_rows(values_only=True)
            header = [("" if cell is None else str(cell)) for cell in next(values, ())]

            def rows() -> Iterator[tuple[int, list[Raw]]]:
                for number, row in enumerate(values, start=2):
                    if any(cell is not None and str(cell).strip() for cell in row):
                        yield number, list(row)

            return header, rows()

        tables.append(SourceTable(table, f"{path.name}:{sheet.title}", max((sheet.max_row or 1) - 1, 0),
                                  open_rows))
    return tables

"""Every input is bounded: each attack that once hung the server, blew up its memory or gave
a 500 is replayed here, and must fail cleanly (a DatasetError, row errors, or a 4xx)."""

from __future__ import annotations

import asyncio
import codecs
import csv
import hashlib
import io
import json
import os
import struct
import subprocess
import sys
import time
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import Request
from sqlalchemy import Engine, select

from audit.config import get_settings
from audit.importer.read import DatasetError, _BoundedMember, _Lines, detect_encoding
from audit.importer.service import import_path
from audit.models import QuarantinedRow
from tests.conftest import COUNTY, data_counts, logged_in

ID = "430681195203041237"
DEATHS = ["id_number", "died_on", "source"]
MiB = 1 << 20


def limit(monkeypatch: pytest.MonkeyPatch, **values: int) -> None:
    """Set limits for this test (the engine fixture clears the settings again afterwards)."""
    for name, value in values.items():
        monkeypatch.setenv(f"AUDIT_{name.upper()}", str(value))
    get_settings.cache_clear()


def write_csv(path: Path, header: list[str], rows: list[list[str]], *, newline: str = "\n") -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator=newline).writerows([header, *rows])
    return path


def deaths_row(source: str = "民政", died_on: str = "2017-01-02", id_number: str = ID) -> list[str]:
    return [id_number, died_on, source]


# ---------------------------------------------------------------- zip archives by hand

@dataclass
class Member:
    """One member as its headers will declare it; ``data`` is already compressed."""

    name: str
    data: bytes
    size: int
    crc: int
    method: int = zipfile.ZIP_DEFLATED
    flags: int = 0


def deflate(pieces: Iterable[bytes]) -> tuple[bytes, int, int]:
    """Raw deflate data, size and CRC of ``pieces`` (streamed, never joined)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    out: list[bytes] = []
    size = crc = 0
    for piece in pieces:
        out.append(compressor.compress(piece))
        size += len(piece)
        crc = zlib.crc32(piece, crc)
    out.append(compressor.flush())
    return b"".join(out), size, crc


def write_zip(path: Path, members: list[Member]) -> Path:
    """A zip archive written field by field, so that a test can make its headers lie."""
    local, central = bytearray(), bytearray()
    for member in members:
        name = member.name.encode()
        flags = member.flags | 0x800  # the name is UTF-8
        # Both headers: versions, flags, method, time and date (1980-01-01), CRC, sizes, name.
        common = (flags, member.method, 0, 0x21, member.crc, len(member.data), member.size, len(name))
        central += struct.pack("<4s4B4HL2L5H2L", b"PK\x01\x02", 20, 3, 20, 0, *common, 0, 0, 0, 0, 0,
                               len(local)) + name
        local += struct.pack("<4s2B4HL2L2H", b"PK\x03\x04", 20, 0, *common, 0) + name + member.data
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(members), len(members), len(central), len(local), 0)
    path.write_bytes(bytes(local + central + end))
    return path


def csv_member(name: str, header: list[str], rows: list[list[str]]) -> Member:
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows([header, *rows])
    data, size, crc = deflate([text.getvalue().encode()])
    return Member(name, data, size, crc)


HEADER_LINE = b"id_number,died_on,source\n"
LINE = 1 << 30  # the attack: one line of 1 GiB


def one_line_pieces(line: int = LINE) -> Iterator[bytes]:
    """The header, then ``line`` bytes of ``a`` (a whole number of MiB), in 1 MiB pieces."""
    yield HEADER_LINE
    block = b"a" * MiB
    for _ in range(line // MiB):
        yield block


def crc_of(pieces: Iterable[bytes], size: int) -> int:
    """The CRC of the first ``size`` bytes of ``pieces``, streamed."""
    crc = 0
    for piece in pieces:
        piece = piece[:size]
        crc = zlib.crc32(piece, crc)
        size -= len(piece)
        if not size:
            break
    return crc


def one_line_member() -> Member:
    """deaths.csv: a header and one 1 GiB line, deflated by streaming. After a full flush the
    compressor starts afresh, so every 1 MiB block of ``a`` deflates to the same bytes: one
    block is compressed and its output repeated (and the CRC streamed over the real bytes)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = compressor.compress(HEADER_LINE) + compressor.flush(zlib.Z_FULL_FLUSH)
    block = compressor.compress(b"a" * MiB) + compressor.flush(zlib.Z_FULL_FLUSH)
    tail = compressor.compress(b"\n") + compressor.flush()
    crc = zlib.crc32(b"\n", crc_of(one_line_pieces(), len(HEADER_LINE) + LINE))
    data = head + block * (LINE // MiB) + tail
    assert zlib.decompressobj(-15).decompress(data, 1 << 16)[:len(HEADER_LINE)] == HEADER_LINE
    return Member("deaths.csv", data, len(HEADER_LINE) + LINE + 1, crc)


@pytest.fixture(scope="session")
def line_zips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The 1 GiB-line zip (about 1 MB), and copies whose headers under-declare the size."""
    folder = tmp_path_factory.mktemp("line-zips")
    member = one_line_member()
    declared = 8 * MiB
    crc = crc_of(one_line_pieces(), declared)
    return {
        "honest": write_zip(folder / "honest.zip", [member]),
        # The size under-declared, the CRC still that of the whole: zipfile stops at the
        # declared size, then the CRC fails.
        "bad_crc": write_zip(folder / "bad-crc.zip", [Member(member.name, member.data, declared, member.crc)]),
        # Size and CRC both those of the first 8 MiB: only those are read.
        "consistent": write_zip(folder / "consistent.zip", [Member(member.name, member.data, declared, crc)]),
    }


@pytest.fixture
def decompressed(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the bytes zipfile hands out while a test runs."""
    counted: list[int] = []
    original = zipfile.ZipExtFile.read

    def read(self: zipfile.ZipExtFile, n: int | None = -1) -> bytes:
        data = original(self, n)
        counted.append(len(data))
        return data

    monkeypatch.setattr(zipfile.ZipExtFile, "read", read)
    return counted


class TestArchives:
    def test_the_1_gib_line_zip_is_refused_before_anything_is_extracted(
            self, engine: Engine, line_zips: dict[str, Path], decompressed: list[int]) -> None:
        assert line_zips["honest"].stat().st_size < 1_100_000
        started = time.perf_counter()
        with pytest.raises(DatasetError, match=r"honest.zip: member deaths.csv would expand from .* more than 100 times"):
            import_path(engine, line_zips["honest"])
        assert time.perf_counter() - started < 1
        assert sum(decompressed) == 0

    def test_a_member_declaring_more_than_the_limit(self, engine: Engine, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
        limit(monkeypatch, zip_max_total_bytes=1000)
        archive = write_zip(tmp_path / "big.zip", [csv_member("deaths.csv", DEATHS, [deaths_row()] * 40)])
        with pytest.raises(DatasetError, match=r"member deaths.csv declares 1,\d{3} bytes uncompressed; at most 1,000"):
            import_path(engine, archive)

    def test_members_declaring_more_than_the_limit_together(self, engine: Engine, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
        limit(monkeypatch, zip_max_total_bytes=1000)
        archive = write_zip(tmp_path / "two.zip", [csv_member("deaths.csv", DEATHS, [deaths_row()] * 15),
                                                   csv_member("vehicles.csv", ["id_number", "plate", "registered_on"],
                                                              [[ID, "湘F12345", "2016-01-01"]] * 15)])
        with pytest.raises(DatasetError, match=r"two.zip: its members declare 1,\d{3} bytes uncompressed in all"):
            import_path(engine, archive)

    def test_too_many_members(self, engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        limit(monkeypatch, zip_max_members=3)
        archive = write_zip(tmp_path / "many.zip", [csv_member(f"note{i}.csv", ["a"], [["1"]]) for i in range(4)])
        with pytest.raises(DatasetError, match="many.zip: the archive declares 4 members"):
            import_path(engine, archive)

    def test_zipfile_itself_stops_at_the_declared_size(self, line_zips: dict[str, Path]) -> None:
        """What CPython does (ZipExtFile cuts the data at file_size), checked rather than
        assumed; the importer counts again anyway (the next test)."""
        with zipfile.ZipFile(line_zips["consistent"]) as archive, archive.open("deaths.csv") as member:
            total = 0
            while chunk := member.read(MiB):
                total += len(chunk)
        assert total == 8 * MiB

    def test_the_member_stream_stops_at_the_limit_whatever_it_is_given(self) -> None:
        endless = io.BytesIO(b"x" * 100_000)
        bounded = _BoundedMember(endless, "a.zip", "deaths.csv", 1000)
        with pytest.raises(DatasetError, match="deaths.csv: the member holds more than the 1,000 bytes") as caught:
            while bounded.read(64):
                pass
        assert endless.tell() <= 1001
        assert (caught.value.message_id, caught.value.fields) == (
            "error.dataset.member_overflow", {"archive": "a.zip", "member": "deaths.csv", "limit": 1000})
        assert caught.value.text("zh") == \
            "a.zip 中的文件 deaths.csv 的实际内容超过文件头声明的 1,000 字节，压缩包已损坏或被篡改"
        with pytest.raises(DatasetError):
            _BoundedMember(io.BytesIO(b"x" * 100_000), "m.zip", "m", 1000).read()

    def test_an_under_declared_size_is_stopped_there_and_the_bad_crc_refused(
            self, engine: Engine, line_zips: dict[str, Path], decompressed: list[int]) -> None:
        with pytest.raises(DatasetError, match=r"bad-crc.zip: member deaths.csv: the archive member is damaged .*CRC"):
            import_path(engine, line_zips["bad_crc"])
        assert 7 * MiB <= sum(decompressed) <= 8 * MiB  # the read that found the bad CRC gave nothing

    def test_an_under_declared_size_with_its_crc_reads_only_what_is_declared(
            self, engine: Engine, line_zips: dict[str, Path], decompressed: list[int]) -> None:
        report = import_path(engine, line_zips["consistent"])
        assert report.outcome == "rejected"
        assert [(e.table, e.row, e.message, e.fields) for e in report.errors] == [
            ("deaths", 2, "error.import.line_too_long", {"limit": 1_048_576})]
        assert report.errors[0].reason == "the line is longer than 1,048,576 characters; it is not read"
        assert sum(decompressed) == 2 * 8 * MiB  # detecting the encoding, then reading the rows

    def test_a_bad_crc(self, engine: Engine, tmp_path: Path) -> None:
        member = csv_member("deaths.csv", DEATHS, [deaths_row()])
        member.crc ^= 1
        with pytest.raises(DatasetError, match=r"crc.zip: member deaths.csv: the archive member is damaged .*Bad CRC-32"):
            import_path(engine, write_zip(tmp_path / "crc.zip", [member]))

    def test_corrupt_deflate_data(self, engine: Engine, tmp_path: Path) -> None:
        member = csv_member("deaths.csv", DEATHS, [deaths_row()] * 50)
        member.data = member.data[:5] + bytes(b ^ 0xFF for b in member.data[5:20]) + member.data[20:]
        with pytest.raises(DatasetError, match="corrupt.zip: member deaths.csv: the archive member is damaged"):
            import_path(engine, write_zip(tmp_path / "corrupt.zip", [member]))

    def test_a_truncated_member(self, engine: Engine, tmp_path: Path) -> None:
        member = csv_member("deaths.csv", DEATHS, [deaths_row()] * 50)
        member.data = member.data[: len(member.data) // 2]
        with pytest.raises(DatasetError, match="short.zip: member deaths.csv: the archive member is damaged"):
            import_path(engine, write_zip(tmp_path / "short.zip", [member]))

    def test_an_encrypted_member(self, engine: Engine, tmp_path: Path) -> None:
        member = csv_member("deaths.csv", DEATHS, [deaths_row()])
        member.flags = 0x1
        with pytest.raises(DatasetError, match="locked.zip: member deaths.csv is encrypted"):
            import_path(engine, write_zip(tmp_path / "locked.zip", [member]))

    def test_not_a_zip(self, engine: Engine, tmp_path: Path) -> None:
        (tmp_path / "junk.zip").write_bytes(b"PK\x03\x04 this is no archive")
        with pytest.raises(DatasetError, match="junk.zip: not a readable zip archive"):
            import_path(engine, tmp_path / "junk.zip")

    def test_peak_memory_stays_low_on_every_such_archive(self, engine: Engine, line_zips: dict[str, Path],
                                                         database_url: str, tmp_path: Path) -> None:
        """In a fresh process (the test process's own high-water mark says nothing): the
        1 GiB line refused on its headers, and, with the ratio limit lifted so that they are
        read, a copy declaring 256 MiB (the CRC then fails) and one whose CRC matches (the
        256 MiB line is read in pieces and dropped: a row error)."""
        member = one_line_member()
        declared = 256 * MiB
        crc = crc_of(one_line_pieces(), declared)
        cases = [
            (line_zips["honest"], {}),
            (write_zip(tmp_path / "bad-crc.zip", [Member(member.name, member.data, declared, member.crc)]),
             {"AUDIT_ZIP_MAX_RATIO": "1000"}),
            (write_zip(tmp_path / "consistent.zip", [Member(member.name, member.data, declared, crc)]),
             {"AUDIT_ZIP_MAX_RATIO": "1000"}),
        ]
        engine.dispose()
        script = (
            "import json, os, sys, time\n"
            "from pathlib import Path\n"
            "from audit.config import get_settings\n"
            "from audit.db import make_engine\n"
            "from audit.importer.read import DatasetError\n"
            "from audit.importer.service import import_path\n"
            "engine = make_engine(sys.argv[1])\n"
            "results = []\n"
            "for path, env in json.loads(sys.argv[2]):\n"
            "    os.environ.update(env)\n"
            "    get_settings.cache_clear()\n"
            "    started = time.perf_counter()\n"
            "    try:\n"
            "        report = import_path(engine, Path(path))\n"
            "        outcome = [report.outcome] + [e.reason for e in report.errors]\n"
            "    except DatasetError as exc:\n"
            "        outcome = ['DatasetError', str(exc)]\n"
            "    for name in env:\n"
            "        del os.environ[name]\n"
            "    results.append([outcome, round(time.perf_counter() - started, 2)])\n"
            "peak = next(int(line.split()[1]) for line in open('/proc/self/status') if line.startswith('VmHWM'))\n"
            "print(json.dumps({'results': results, 'peak_kib': peak}))\n"
        )
        child = subprocess.run([sys.executable, "-c", script, database_url,
                                json.dumps([[str(path), env] for path, env in cases])],
                               capture_output=True, timeout=600, env={**os.environ})
        assert child.returncode == 0, child.stderr.decode()[-3000:]
        found = json.loads(child.stdout)
        print(found)
        (refused, _), (bad_crc, _), (consistent, _) = found["results"]
        assert refused[0] == "DatasetError" and "would expand" in refused[1]
        assert bad_crc[0] == "DatasetError" and "Bad CRC-32" in bad_crc[1]
        assert consistent == ["rejected", "the line is longer than 1,048,576 characters; it is not read"]
        assert found["peak_kib"] < 300 * 1024


# ---------------------------------------------------------------- workbooks


def workbook_bytes(sheets: dict[str, list[list[Any]]]) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.remove(workbook.active)
    for title, rows in sheets.items():
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def rewrite_sheet(content: bytes, path: Path, change: Any) -> Path:
    """Save ``content`` as ``path`` with every worksheet's XML passed through ``change``."""
    with zipfile.ZipFile(io.BytesIO(content)) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for info in source.infolist():
            data = source.read(info)
            if info.filename.startswith("xl/worksheets/sheet"):
                data = change(data)
            out.writestr(info.filename, data)
    return path


def bogus_dimension(data: bytes) -> bytes:
    """The attack: the sheet declares A1:XFD1048576, and has a cell far right and one at
    Excel's last row (read-only openpyxl pads every row and every gap to the dimension)."""
    import re

    data = re.sub(rb'<dimension ref="[^"]*" ?/>', b'<dimension ref="A1:XFD1048576"/>', data)
    return data.replace(b"</row></sheetData>", b'<c r="XFD2" t="inlineStr"><is><t>far</t></is></c></row>'
                        b'<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>last</t></is></c></row></sheetData>')


class TestWorkbooks:
    def test_a_bogus_dimension_costs_nothing(self, engine: Engine, tmp_path: Path) -> None:
        content = workbook_bytes({"deaths": [DEATHS, deaths_row()]})
        path = rewrite_sheet(content, tmp_path / "dimension.xlsx", bogus_dimension)
        assert path.stat().st_size < 6000
        started = time.perf_counter()
        report = import_path(engine, path)
        seconds = time.perf_counter() - started
        print(f"bogus dimension: {seconds:.2f} s")
        assert report.outcome == "committed", report.errors
        assert report.counts["deaths"].inserted == 1
        assert seconds < 2

    def test_rows_beyond_excels_last_row(self, engine: Engine, tmp_path: Path) -> None:
        content = workbook_bytes({"deaths": [DEATHS, deaths_row()]})
        path = rewrite_sheet(content, tmp_path / "far.xlsx", lambda data: data.replace(
            b"</sheetData>", b'<row r="99999999"><c r="A99999999"><v>1</v></c></row></sheetData>'))
        started = time.perf_counter()
        with pytest.raises(DatasetError, match=r"far.xlsx:deaths: the sheet has rows beyond Excel's last row"):
            import_path(engine, path)
        assert time.perf_counter() - started < 2

    def test_a_member_that_would_expand_too_far(self, engine: Engine, tmp_path: Path) -> None:
        content = workbook_bytes({"deaths": [DEATHS, deaths_row()]})
        path = rewrite_sheet(content, tmp_path / "padded.xlsx",
                             lambda data: data.replace(b"<sheetData>", b"<sheetData>" + b" " * (20 * MiB)))
        with pytest.raises(DatasetError, match=r"padded.xlsx: member xl/worksheets/sheet1.xml would expand"):
            import_path(engine, path)

    def test_a_header_wider_than_the_limit(self, engine: Engine, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
        limit(monkeypatch, max_columns=5)
        path = tmp_path / "wide.xlsx"
        path.write_bytes(workbook_bytes({"deaths": [[*DEATHS, "a", "b", "c"], deaths_row()]}))
        with pytest.raises(DatasetError, match="wide.xlsx:deaths: the header has 6 columns; at most 5"):
            import_path(engine, path)
        limit(monkeypatch, max_cell_chars=100)  # (openpyxl itself writes no cell over 32,767)
        path.write_bytes(workbook_bytes({"deaths": [[*DEATHS[:2], "x" * 101], deaths_row()]}))
        with pytest.raises(DatasetError, match="wide.xlsx:deaths: a header cell is longer than 100 characters"):
            import_path(engine, path)

    def test_a_cell_longer_than_the_limit_is_an_error_of_its_row_and_column(
            self, engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        limit(monkeypatch, max_cell_chars=100)
        path = tmp_path / "long.xlsx"
        path.write_bytes(workbook_bytes({"deaths": [DEATHS, deaths_row("x" * 300),
                                                    deaths_row(id_number="430681195203041245")]}))
        report = import_path(engine, path, partial=True)
        assert [(e.table, e.row, e.column, e.message, e.fields) for e in report.errors] == [
            ("deaths", 2, "source", "error.import.cell_too_long", {"limit": 100})]
        assert report.errors[0].value == "x" * 200 + "… (300 characters)"
        assert report.counts["deaths"].inserted == 1

    def test_more_rows_than_the_limit(self, engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        limit(monkeypatch, max_rows_per_table=2)
        path = tmp_path / "rows.xlsx"
        path.write_bytes(workbook_bytes({"deaths": [DEATHS] + [deaths_row()] * 3}))
        with pytest.raises(DatasetError, match="rows.xlsx:deaths: the table has more than 2 rows"):
            import_path(engine, path)

    def test_an_entity_expansion_bomb(self, engine: Engine, tmp_path: Path) -> None:
        entities = '<!ENTITY a0 "aaaaaaaaaa">' + "".join(
            f'<!ENTITY a{i} "{f"&a{i - 1};" * 10}">' for i in range(1, 10))
        content = workbook_bytes({"deaths": [DEATHS, deaths_row()]})
        path = rewrite_sheet(content, tmp_path / "laughs.xlsx", lambda data: (
            f'<?xml version="1.0"?><!DOCTYPE worksheet [{entities}]>'.encode() + data.split(b"?>", 1)[-1].replace(
                b"</row></sheetData>", b'<c r="D2" t="inlineStr"><is><t>&a9;</t></is></c></row></sheetData>')))
        started = time.perf_counter()
        with pytest.raises(DatasetError, match="laughs.xlsx"):
            import_path(engine, path)
        assert time.perf_counter() - started < 5


# ---------------------------------------------------------------- CSV


class TestCsv:
    def test_a_field_over_131072_characters_is_an_error_of_its_row_and_the_rest_is_read(
            self, engine: Engine, tmp_path: Path) -> None:
        write_csv(tmp_path / "deaths.csv", DEATHS, [
            deaths_row(), deaths_row("x" * 200_000, id_number="430681195203041245"),
            deaths_row(id_number="430681195203041253")])
        report = import_path(engine, tmp_path, partial=True)
        assert [(e.table, e.row, e.column, e.message, e.fields) for e in report.errors] == [
            ("deaths", 3, "", "error.import.row_cell_too_long", {"limit": 32_767})]
        assert report.errors[0].text("zh") == "有单元格超过 32,767 个字符，该行未读取"
        counts = report.counts["deaths"]
        assert (counts.read, counts.inserted, counts.rejected) == (3, 2, 1)
        with engine.connect() as conn:
            assert conn.execute(select(QuarantinedRow.row_number)).scalars().all() == [3]

    def test_the_csv_reader_reads_on_after_an_error(self) -> None:
        """CPython's reader drops the rest of the physical line it failed on and starts the
        next record on the next line: the importer relies on this."""
        csv.field_size_limit(10)
        try:
            reader = csv.reader(io.StringIO("a,b\n" + "x" * 20 + ",1\nok,2\n", newline=""))
            assert next(reader) == ["a", "b"]
            with pytest.raises(csv.Error, match="field larger than field limit"):
                next(reader)
            assert list(reader) == [["ok", "2"]]
        finally:
            csv.field_size_limit(get_settings().max_cell_chars)

    def test_a_line_longer_than_the_limit_is_an_error_of_its_row(self, engine: Engine, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
        limit(monkeypatch, max_line_chars=1000)
        for newline in ("\n", "\r\n"):
            write_csv(tmp_path / "deaths.csv", DEATHS, [
                deaths_row(), ["y" * 5000, "z" * 5000, "w"], deaths_row(id_number="430681195203041245")],
                newline=newline)
            report = import_path(engine, tmp_path, partial=True)
            assert [(e.row, e.message, e.fields) for e in report.errors] == [
                (3, "error.import.line_too_long", {"limit": 1000})], newline
            assert report.counts["deaths"].read == 3

    @pytest.mark.parametrize(("text", "lines"), [
        # An ending cut by the limit: readline(6) gives "abcde\r", then "\n" alone, which is
        # the same line's end and not an empty line.
        ("abcde\r\nx\r\n", ["abcde\r", "x\r\n"]),
        ("abcd\r\nabcde\n", ["abcd\r\n", "abcde\n"]),
        ("abcdef\r\nok\n", [None, "ok\n"]),
        ("abcdefghijklmnop\r\nok", [None, "ok"]),
        ("abcdefghijk\r\nok\n", [None, "ok\n"]),
        ("abcde", ["abcde"]),
    ])
    def test_the_line_reader_at_the_limit(self, text: str, lines: list[str | None]) -> None:
        from audit.importer.read import _LineTooLong

        reader = _Lines(io.TextIOWrapper(io.BytesIO(text.encode()), encoding="utf-8", newline=""), 5, "t.csv")
        found: list[str | None] = []
        while True:
            try:
                found.append(next(reader))
            except StopIteration:
                break
            except _LineTooLong:
                found.append(None)
        assert found == lines

    def test_bytes_neither_utf8_nor_gb18030(self, engine: Engine, tmp_path: Path) -> None:
        (tmp_path / "deaths.csv").write_bytes(b"\xff\xfe\xff")
        with pytest.raises(DatasetError, match=r"deaths.csv: the file is neither UTF-8 nor GB18030 text "
                                               r"\(not UTF-8 from byte 0, not GB18030 from byte 0\)"):
            import_path(engine, tmp_path)

    def test_the_offset_named_is_the_bad_bytes_even_past_the_first_block(self, engine: Engine, tmp_path: Path) -> None:
        start = b"id_number,died_on,source\n" + b"a" * (MiB + 5)
        (tmp_path / "deaths.csv").write_bytes(start + b"\xff\n")
        with pytest.raises(DatasetError, match=f"not UTF-8 from byte {len(start):,}, not GB18030 from byte {len(start):,}"):
            import_path(engine, tmp_path)

    @pytest.mark.parametrize(("data", "codec"), [
        (b"a,b\n" + "中文".encode(), "utf-8"),
        (codecs.BOM_UTF8 + b"a,b\n", "utf-8-sig"),
        (b"a,b\n" + "中文".encode("gb18030"), "gb18030"),
        # Not UTF-8 only after the first block: GB18030 is checked from the first byte.
        (b"a" * (MiB + 3) + "中文".encode("gb18030"), "gb18030"),
        # Cut inside a UTF-8 character at the very end (E4 B8 happens to be GB18030).
        (b"a" * 10 + "中".encode()[:2], "gb18030"),
    ])
    def test_the_encoding_detected(self, data: bytes, codec: str) -> None:
        found, digest, lines = detect_encoding(lambda: io.BytesIO(data), "t.csv")
        assert (found, digest, lines) == (codec, hashlib.sha256(data).hexdigest(), data.count(b"\n"))

    def test_more_rows_than_the_limit(self, engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        limit(monkeypatch, max_rows_per_table=2)
        write_csv(tmp_path / "deaths.csv", DEATHS, [deaths_row()] * 3)
        with pytest.raises(DatasetError, match="deaths.csv: the table has more than 2 rows"):
            import_path(engine, tmp_path)

    def test_a_header_wider_than_the_limit(self, engine: Engine, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
        limit(monkeypatch, max_columns=3)
        write_csv(tmp_path / "deaths.csv", [*DEATHS, "extra"], [[*deaths_row(), ""]])
        with pytest.raises(DatasetError, match="deaths.csv: the header has 4 columns; at most 3"):
            import_path(engine, tmp_path)


# ---------------------------------------------------------------- cells


class TestCells:
    def test_amounts_of_2_63_fen_or_more(self, engine: Engine, tmp_path: Path) -> None:
        header = ["allocation_id", "doc_number", "source_level", "purpose", "amount", "issued_on"]
        write_csv(tmp_path / "allocations.csv", header, [
            ["A1", "湘财农〔2017〕1号", "central", "industry", "99999999999999999999.99", "2017-03-01"],
            ["A2", "湘财农〔2017〕2号", "central", "industry", "92233720368547758.08", "2017-03-01"],
            ["A3", "湘财农〔2017〕3号", "central", "industry", "1000000000000.00", "2017-03-01"],
        ])
        report = import_path(engine, tmp_path, partial=True)
        assert [(e.row, e.column, e.message, e.fields) for e in report.errors] == [
            (2, "amount", "error.import.amount_too_large", {"most": 10**12}),
            (3, "amount", "error.import.amount_too_large", {"most": 10**12})]
        assert report.errors[0].reason == "amount is more than 1,000,000,000,000 yuan"
        assert report.errors[0].text("zh") == "金额超过 1,000,000,000,000 元的上限"
        assert report.counts["allocations"].inserted == 1

    def test_a_project_budget_beyond_any_county(self, engine: Engine, tmp_path: Path) -> None:
        write_csv(tmp_path / "towns.csv", ["town_code", "town_name"], [["T1", "归义镇"]])
        write_csv(tmp_path / "villages.csv", ["village_code", "village_name", "town_code"], [["V1", "新市村", "T1"]])
        write_csv(tmp_path / "projects.csv", ["project_id", "name", "category", "village_code", "budget", "approved_on"],
                  [["P1", "道路硬化", "infrastructure", "V1", "99999999999999999999.99", "2017-03-01"]])
        report = import_path(engine, tmp_path)
        assert report.outcome == "rejected"
        assert [(e.table, e.row, e.column) for e in report.errors] == [("projects", 2, "budget")]

    def test_implausible_dates(self, engine: Engine, tmp_path: Path) -> None:
        write_csv(tmp_path / "deaths.csv", DEATHS, [
            deaths_row(died_on="0001-01-01"), deaths_row(died_on="9999-12-31", id_number="430681195203041245")])
        report = import_path(engine, tmp_path)
        assert [(e.row, e.column, e.message, e.fields) for e in report.errors] == [
            (2, "died_on", "error.import.date_implausible", {"date": "0001-01-01", "first": 1900, "last": 2100}),
            (3, "died_on", "error.import.date_implausible", {"date": "9999-12-31", "first": 1900, "last": 2100})]
        assert report.errors[0].reason == "0001-01-01 is not a plausible date (years 1900-2100)"

    def test_arabic_indic_digits_are_not_digits(self, engine: Engine, tmp_path: Path) -> None:
        header = ["allocation_id", "doc_number", "source_level", "purpose", "amount", "issued_on"]
        write_csv(tmp_path / "allocations.csv", header,
                  [["A1", "湘财农〔2017〕1号", "central", "industry", "١٢٣", "٢٠١٧-03-01"]])
        write_csv(tmp_path / "deaths.csv", DEATHS, [deaths_row(id_number="٤٣٠٦٨١١٩٥٢٠٣٠٤١٢٣٧")])
        report = import_path(engine, tmp_path)
        assert [(e.table, e.column) for e in report.errors] == [
            ("allocations", "amount"), ("allocations", "issued_on"), ("deaths", "id_number")]

    def test_a_nul_in_a_zipped_csv_cell(self, engine: Engine, tmp_path: Path) -> None:
        archive = write_zip(tmp_path / "nul.zip", [csv_member("deaths.csv", DEATHS, [
            deaths_row("民\x00政"), deaths_row(id_number="430681195203041245")])])
        report = import_path(engine, archive)
        assert [(e.row, e.column, e.value, e.message) for e in report.errors] == [
            (2, "source", "民\\x00政", "error.import.text_nul")]
        assert report.errors[0].reason == "text contains a NUL character (\\x00), which no record may hold"
        # Partial: the good row is stored, the bad one quarantined with its cells shown
        # escaped, which PostgreSQL's JSON can hold.
        report = import_path(engine, archive, partial=True)
        assert report.outcome == "committed_partial" and report.counts["deaths"].inserted == 1
        with engine.connect() as conn:
            raw = conn.execute(select(QuarantinedRow.raw)).scalar_one()
        assert raw["source"] == "民\\x00政"

    def test_the_shipped_county_still_imports_whole(self, engine: Engine) -> None:
        report = import_path(engine, COUNTY)
        assert report.outcome == "committed" and report.errors == []
        assert data_counts(engine)["card_payments"] == report.counts["card_payments"].inserted


# ---------------------------------------------------------------- requests


def asgi_request(app: Any, path: str, chunks: Iterable[bytes], headers: dict[str, str] | None = None,
                 method: str = "POST") -> tuple[int, dict[str, Any], int]:
    """Call ``app`` at the ASGI level, streaming ``chunks`` as the body without a
    Content-Length unless one is given (the test client reads a streamed body whole before
    sending it, which is what this must not do). Returns the status, the JSON body and the
    bytes the app pulled."""
    pulled = 0
    source = iter(chunks)
    messages: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        chunk = next(source, None)
        if chunk is None:
            return {"type": "http.request", "body": b"", "more_body": False}
        pulled += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
             "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
             "client": ("127.0.0.1", 50000), "server": ("testserver", 80)}
    asyncio.run(app(scope, receive, send))
    status = next(m["status"] for m in messages if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    return status, json.loads(body), pulled


CHUNK = 64 * 1024


def streamed(total: int) -> Iterator[bytes]:
    """``total`` bytes of a JSON-ish body, made as they are pulled."""
    yield b'{"name": "'
    for _ in range(total // CHUNK):
        yield b"a" * CHUNK


class TestRequests:
    def test_a_300_mb_login_body_without_content_length_is_stopped_at_the_limit(self, engine: Engine) -> None:
        from audit.api.app import create_app

        status, body, pulled = asgi_request(create_app(), "/api/auth/login", streamed(300 * MiB),
                                            {"content-type": "application/json"})
        print(f"300 MB login body: {status} after {pulled:,} bytes")
        assert status == 413
        # No user is known at the door: the language is the request's Accept-Language, else Chinese.
        assert body == {"detail": "请求内容超过 16 KB，超出此接口允许的上限", "message": "error.limit.body_too_large"}
        assert pulled <= 16 * 1024 + CHUNK
        status, body, pulled = asgi_request(create_app(), "/api/auth/login", streamed(300 * MiB),
                                            {"content-type": "application/json", "accept-language": "en-US,en"})
        assert status == 413
        assert body == {"detail": "the request body is larger than 16 KB, the most this route accepts",
                        "message": "error.limit.body_too_large"}

    def test_a_300_mb_upload_without_content_length_is_stopped_at_the_upload_limit(
            self, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
        from audit.api.app import create_app

        _client, headers = logged_in(engine, {"admin1": "admin"})
        limit(monkeypatch, upload_max_bytes=MiB)
        status, body, pulled = asgi_request(create_app(), "/api/datasets", streamed(300 * MiB),
                                            {"content-type": "application/zip", **headers["admin1"]})
        print(f"300 MB upload, 1 MB limit: {status} after {pulled:,} bytes")
        assert status == 413 and body == {"detail": "请求内容超过 1 MB，超出此接口允许的上限",
                                          "message": "error.limit.body_too_large"}
        assert MiB < pulled <= MiB + 2 * CHUNK

    def test_a_too_large_content_length_is_refused_before_reading(self, engine: Engine) -> None:
        from audit.api.app import create_app

        app = create_app()
        for path, size in (("/api/auth/login", 16 * 1024 + 1), ("/api/checks/card-roster", 8 * MiB + 1),
                           ("/api/datasets", 200 * MiB + 1)):
            status, body, pulled = asgi_request(app, path, streamed(300 * MiB),
                                                {"content-type": "application/json", "content-length": str(size)})
            assert (status, pulled) == (413, 0), path
            assert body["message"] == "error.limit.body_too_large"
        status, body, pulled = asgi_request(app, "/api/auth/login", [b"{}"], {"content-length": "12abc",
                                                                          "accept-language": "en"})
        assert (status, pulled) == (400, 0)
        assert body == {"detail": "the Content-Length header is not a number of bytes",
                        "message": "error.limit.content_length"}

    def test_normal_requests_pass(self, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
        client, headers = logged_in(engine, {"inspector1": "inspector", "finance1": "finance"})
        assert client.get("/api/cases", headers=headers["inspector1"]).status_code == 200
        assert client.post("/api/auth/login", json={"name": "inspector1", "password": "wrong"}).status_code == 401
        # A body just under a route's limit is read as usual.
        limit(monkeypatch, json_max_bytes=4000)
        from fastapi.testclient import TestClient

        from audit.api.app import create_app

        small = TestClient(create_app())
        line = {"payment_id": "P1", "program_code": "X", "id_number": ID, "card_account": "6228480402564890018",
                "amount": "100", "period": "2017", "paid_on": "2017-03-01", "paying_unit": "民政局"}
        body = json.dumps({"card_payments": [line] * 10}).encode()
        assert len(body) < 4000
        response = small.post("/api/checks/card-roster", content=body, headers={
            "content-type": "application/json", **headers["finance1"]})
        assert response.status_code == 200, response.text
        response = small.post("/api/checks/card-roster", content=json.dumps({"card_payments": [line] * 30}),
                              headers={"content-type": "application/json", **headers["finance1"]})
        assert response.status_code == 413

    @pytest.mark.parametrize("body", [
        b'{"name": "\\ud800", "password": "x"}',
        b'{"name": "\\uDBFF", "password": "x"}',
        b'{"name": "a\\udc00", "password": "x"}',
        b'{"name": "\\ud800\\u0041", "password": "x"}',
        b'{"name": "\\ud800\\ud800\\udc00", "password": "x"}',
        b'{"name": "\\\\\\ud800", "password": "x"}',
        b'{"name": "\\u0000", "password": "x"}',
        b'{"name": "\x00", "password": "x"}',
    ])
    def test_a_lone_surrogate_or_a_nul_in_a_login_body_is_a_422(self, engine: Engine, body: bytes) -> None:
        client, _headers = logged_in(engine, {})
        for headers in ({"content-type": "application/json"}, {}):  # FastAPI reads JSON without a type too
            response = client.post("/api/auth/login", content=body, headers=headers)
            assert response.status_code == 422, (body, headers, response.text)
            assert response.json()["message"] in {"error.limit.text_surrogate", "error.limit.text_nul"}

    @pytest.mark.parametrize("body", [
        b'{"name": "\\ud83d\\ude00", "password": "x"}',  # a pair: one character
        b'{"name": "\\\\ud800", "password": "x"}',  # an escaped backslash, then text
        b'{"name": "\\\\u0000", "password": "x"}',
        b'{"name": "\\u4e2d\\u6587", "password": "x"}',
    ])
    def test_what_is_not_a_lone_surrogate_passes(self, engine: Engine, body: bytes) -> None:
        client, _headers = logged_in(engine, {})
        assert client.post("/api/auth/login", content=body, headers={"content-type": "application/json"}).status_code == 401

    def test_a_lone_surrogate_in_a_record_is_a_422(self, engine: Engine) -> None:
        client, headers = logged_in(engine, {"finance1": "finance"})
        response = client.post("/api/records/card_payments", content=b'{"payment_id": "P\\ud800"}', headers={
            "content-type": "application/json", "Idempotency-Key": "key-0001", **headers["finance1"]})
        assert response.status_code == 422 and response.json()["message"] == "error.limit.text_surrogate"
        assert response.json()["detail"].startswith("文本中不能含有不成对的代理码位转义")

    def test_a_nul_in_a_csv_roster_is_a_422(self, engine: Engine) -> None:
        client, headers = logged_in(engine, {"finance1": "finance"})
        response = client.post("/api/checks/card-roster/file", content=b"payment_id\nP\x001\n",
                               headers={"content-type": "text/csv", **headers["finance1"]})
        assert response.status_code == 422 and response.json() == {"detail": "文本中不能含有 NUL 字符",
                                                                   "message": "error.limit.text_nul"}

    @staticmethod
    def scanned(chunks: list[bytes]) -> bool:
        from audit.api.limits import Refused, _JsonScanner

        scanner = _JsonScanner()
        try:
            for index, chunk in enumerate(chunks):
                scanner.feed(chunk, final=index == len(chunks) - 1)
        except Refused:
            return False
        return True

    @pytest.mark.parametrize(("body", "passes"), [
        (b'["\\ud800"]', False), (b'["\\ud83d\\ude00"]', True), (b'["\\uDBFF\\uDFFF"]', True),
        (b'["\\\\ud800"]', True), (b'["\\\\\\u0000"]', False), (b'["\\\\\\\\\\ud83d\\ude00"]', True),
        (b'["\\ud83d', False), (b'["x\\"]', True), (b'["\\ud83d\\\\ude00"]', False),
        (b'["\\ud83d\\\\\\ude00"]', False), (b'["\\udc00\\ud800"]', False), (b'\\udc00', False),
        (b'["\\ud800\\udc00\\udc00"]', False), (b'["\\ud800\\ud800\\udc00"]', False),
        (b'["\\u0000"]', False), (b'["\\u00"]', True), (b'["\\u4e2d"]', True),
    ])
    def test_the_json_scanner_gives_one_verdict_however_the_body_is_cut(self, body: bytes, passes: bool) -> None:
        assert self.scanned([body]) is passes
        assert self.scanned([body[i:i + 1] for i in range(len(body))]) is passes
        for first in range(len(body) + 1):
            for second in range(first, len(body) + 1):
                assert self.scanned([body[:first], body[first:second], body[second:]]) is passes, (first, second)

    @pytest.mark.parametrize(("body", "passes"), [
        (b'"' + b"\\\\" * (4 * MiB) + b'\\ud800"', False),  # 8 MB of escaped backslashes
        (b'"' + b"\\\\x" * (2 * MiB) + b'\\ud83d\\ude00"', True),
        (b'"' + b"\\ud83d\\ude00" * 600_000 + b'"', True),  # 7 MB of escaped emoji
    ])
    def test_the_json_scanner_is_fast_on_any_8_mb(self, body: bytes, passes: bool) -> None:
        started = time.process_time()
        assert self.scanned([body[i:i + CHUNK] for i in range(0, len(body), CHUNK)]) is passes
        assert time.process_time() - started < 1

    def test_spool_body_writes_to_disk_up_to_the_limit(self, engine: Engine) -> None:
        from fastapi import FastAPI
        from fastapi.testclient import TestClient

        from audit.api.limits import spool_body

        app = FastAPI()
        spooled: list[Path] = []

        @app.post("/upload")
        async def upload(request: Request) -> dict[str, int]:  # Request: imported at the top, for FastAPI
            path = await spool_body(request, 1000, suffix=".zip")
            spooled.append(path)
            size = path.stat().st_size
            path.unlink()
            return {"size": size}

        client = TestClient(app)
        assert client.post("/upload", content=b"x" * 900).json() == {"size": 900}
        assert spooled[0].suffix == ".zip" and not spooled[0].exists()
        response = client.post("/upload", content=b"x" * 1500)
        # An app without the limits' handler answers as for any HTTPException, in English.
        assert response.status_code == 413 and "larger than 1,000 bytes" in response.json()["detail"]

"""The finance office's sheets: a blank roster template per program, and a checked file
given back with 核查结果, 原因 and 处理意见 beside every line — the sheet sent to the bank.

The annotated sheet is made from the file as it was uploaded (kept with its check), read
by the importer's own reader, so its rows are the user's rows in the user's order, whatever
their headers. Each row finds its verdict by its payment ID (by its row number when the
ID itself was unreadable). The release state is read when the sheet is made: a line
released since the check reads as released.

Numbers: masked as everywhere else, except for the officer who uploaded the file, who may
take it back as sent (``full``) — it holds nothing they did not send — and that download is
on the trail.
"""

from __future__ import annotations

import io
import tempfile
from contextlib import ExitStack
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select

from audit import trail
from audit.auth.service import Principal
from audit.checks import service
from audit.detectors.base import yuan
from audit.i18n import t
from audit.importer.parse import CellError, as_text
from audit.importer.read import open_dataset
from audit.importer.spec import BY_NAME, fold_header
from audit.masking import mask_cell
from audit.models import PreReleaseCheck, Program

# The interchange columns of each table, in the order a template lists them.
TEMPLATE_COLUMNS = {
    "card_roster": ("payment_id", "program_code", "id_number", "household_id", "card_account", "amount", "period",
                    "paid_on", "paying_unit", "allocation_id"),
    "disbursements": ("disbursement_id", "allocation_id", "project_id", "payer_unit", "payee_kind", "payee_id",
                      "payee_account", "amount", "paid_on", "voucher_number", "invoice_number", "purpose_text",
                      "approved_by"),
}
# Identifiers Excel must keep as text (an 18-digit ID typed into a number cell is rounded).
TEXT_COLUMNS = frozenset({"payment_id", "id_number", "household_id", "card_account", "allocation_id",
                          "disbursement_id", "project_id", "payee_id", "payee_account", "voucher_number",
                          "invoice_number", "approved_by", "period"})
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _formats(book: Any) -> dict[str, Any]:
    return {
        "head": book.add_format({"bold": True, "bg_color": "#E8EEF7", "border": 1, "text_wrap": True,
                                 "valign": "vcenter"}),
        "added": book.add_format({"bold": True, "bg_color": "#FCE8D5", "border": 1, "text_wrap": True,
                                  "valign": "vcenter"}),
        "text": book.add_format({"num_format": "@"}),
        "money": book.add_format({"num_format": "#,##0.00"}),
        "day": book.add_format({"num_format": "yyyy-mm-dd"}),
        "hold": book.add_format({"bg_color": "#FDECEA", "font_color": "#8C1D18", "text_wrap": True}),
        "pass": book.add_format({"font_color": "#1E6B34"}),
        "note": book.add_format({"text_wrap": True, "valign": "top"}),
        "title": book.add_format({"bold": True, "font_size": 14}),
    }


def template(conn: Connection, kind: str, program_code: str | None, lang: str) -> tuple[str, bytes]:
    """A blank sheet for one program's roster (or a disbursement batch): the county's
    Chinese headers, identifier columns as text, a sample row, and a sheet of instructions
    naming each column, whether it is required and how it is written."""
    import xlsxwriter

    program = None
    if kind == "card_roster" and program_code:
        program = conn.execute(select(Program).where(Program.program_code == program_code)).first()
        if program is None:
            raise service.CheckError(404, "error.no_program", program=program_code)
    spec = BY_NAME[service.TABLE[kind]]
    columns = [spec.by_name[name] for name in TEMPLATE_COLUMNS[kind]]
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    style = _formats(book)
    title = program.name if program else t(f"ui.finance.kind.{kind}", lang)
    sheet = book.add_worksheet(t("ui.finance.template.sheet", lang))
    for index, column in enumerate(columns):
        heading = column.chinese[0] if column.chinese and lang == "zh" else column.name
        sheet.write_string(0, index, heading + ("*" if column.required else ""), style["head"])
        sheet.set_column(index, index, 22 if column.name in TEXT_COLUMNS else 14,
                         style["text"] if column.name in TEXT_COLUMNS else None)
    sheet.freeze_panes(1, 0)
    if program is not None:
        # The program's code in its column already, for every row the user adds.
        sheet.write_string(1, 1, program.program_code, style["text"])
    notes = book.add_worksheet(t("ui.finance.template.notes", lang))
    notes.set_column(0, 0, 24)
    notes.set_column(1, 1, 12)
    notes.set_column(2, 2, 70)
    notes.write_string(0, 0, t("ui.finance.template.title", lang, name=title), style["title"])
    if program is not None:
        period = t(f"ui.finance.template.period_{program.period}", lang)
        amount = yuan(program.standard_amount_fen or program.cap_amount_fen) if (
            program.standard_amount_fen or program.cap_amount_fen) else "-"
        notes.write_string(1, 0, t("ui.finance.template.program", lang, code=program.program_code,
                                   name=program.name, aliases=program.aliases or "-", period=period,
                                   amount=amount), style["note"])
    row = 3
    for index, label in enumerate(("ui.finance.template.column", "ui.finance.template.required",
                                   "ui.finance.template.how")):
        notes.write_string(row, index, t(label, lang), style["head"])
    for column in columns:
        row += 1
        spellings = "、".join(column.chinese) if column.chinese else column.name
        notes.write_string(row, 0, f"{column.chinese[0] if column.chinese else column.name}（{column.name}）")
        notes.write_string(row, 1, t("ui.yes" if column.required else "ui.no", lang))
        notes.write_string(row, 2, t(f"ui.finance.template.how.{column.name}", lang, spellings=spellings),
                           style["note"])
    book.close()
    name = f"{title}-{t('ui.finance.template.file', lang)}.xlsx"
    return name, buffer.getvalue()


def _cell(sheet: Any, row: int, col: int, value: Any, column: str | None, style: dict[str, Any]) -> None:
    """One of the user's cells, as the type it was (identifiers always as text)."""
    if value is None or value == "":
        sheet.write_blank(row, col, None)
    elif column in TEXT_COLUMNS or isinstance(value, str):
        sheet.write_string(row, col, str(value), style["text"] if column in TEXT_COLUMNS else None)
    elif isinstance(value, datetime | date):
        sheet.write_datetime(row, col, value if isinstance(value, datetime) else datetime(value.year, value.month,
                                                                                          value.day), style["day"])
    elif isinstance(value, bool):
        sheet.write_boolean(row, col, value)
    elif isinstance(value, int | float):
        sheet.write_number(row, col, value, style["money"] if column == "amount" else None)
    else:
        sheet.write_string(row, col, str(value))


def _verdict_texts(line: dict[str, Any] | None, lang: str) -> tuple[str, str, str]:
    """核查结果, 原因 and 处理意见 of one line, from its stored verdict and any release."""
    if line is None:
        return t("ui.finance.verdict.unchecked", lang), "", t("ui.finance.advice.unchecked", lang)
    if line["verdict"] == "pass":
        return t("ui.finance.verdict.pass", lang), "", t("ui.finance.advice.pass", lang)
    reasons = []
    for reason in line["reasons"]:
        text = reason["title"]
        if reason.get("errors"):
            text += "：" + "；".join(f"{e.get('column_label') or e['column']} {e['reason']}" for e in reason["errors"])
        if reason.get("todo"):
            text += "（" + reason["todo"] + "）"
        reasons.append(text)
    released = line.get("released")
    if released and released["state"] == "effective":
        return (t("ui.finance.verdict.released", lang), "；".join(reasons),
                t("ui.finance.advice.released", lang, reason=released["reason"], by=released["by"]))
    if released and released["state"] == "pending":
        return (t("ui.finance.verdict.hold", lang), "；".join(reasons),
                t("ui.finance.advice.pending", lang, reason=released["reason"], by=released["by"]))
    return t("ui.finance.verdict.hold", lang), "；".join(reasons), t("ui.finance.advice.hold", lang)


def annotated(conn: Connection, check_id: int, user: Principal, lang: str, full: bool = False) -> tuple[str, bytes]:
    """The checked file back as ``.xlsx`` with 核查结果, 原因 and 处理意见 added; the lines of a
    check sent as JSON make a sheet of their keys and verdicts."""
    import xlsxwriter

    check = service.get_check(conn, check_id, user, lang)
    stored = conn.execute(select(PreReleaseCheck.source_file, PreReleaseCheck.source_name,
                                 PreReleaseCheck.source_sheet, PreReleaseCheck.created_by)
                          .where(PreReleaseCheck.id == check_id)).one()
    if full and (stored.created_by != user.id or stored.source_file is None):
        raise service.CheckError(403, "error.sheet_full_uploader_only")
    by_key = {line["key"]: line for line in check["lines"]}
    by_row = {line["row"]: line for line in check["lines"] if line.get("row") is not None}
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    style = _formats(book)
    added = [t("ui.finance.col.verdict", lang), t("ui.finance.col.reasons", lang), t("ui.finance.col.advice", lang)]
    sheet = book.add_worksheet((stored.source_sheet or t("ui.finance.sheet.result", lang))[:31])
    if stored.source_file is None:
        header: list[str] = [t("ui.finance.col.key", lang)]
        rows: list[tuple[list[Any], dict[str, Any] | None]] = [([line["key"]], line) for line in check["lines"]]
        names: list[str | None] = ["payment_id"]
    else:
        header, rows, names = _source_rows(check["kind"], stored, by_key, by_row)
    for index, heading in enumerate(header):
        sheet.write_string(0, index, str(heading), style["head"])
        sheet.set_column(index, index, 22 if names[index] in TEXT_COLUMNS else 14)
    width = len(header)
    for offset, heading in enumerate(added):
        sheet.write_string(0, width + offset, heading, style["added"])
    sheet.set_column(width, width, 12)
    sheet.set_column(width + 1, width + 1, 60)
    sheet.set_column(width + 2, width + 2, 40)
    for number, (values, line) in enumerate(rows, 1):
        for index, value in enumerate(values[:width]):
            column = names[index] if index < len(names) else None
            if not full and column is not None:
                value = mask_cell(column, value)
            _cell(sheet, number, index, value, column, style)
        verdict, reasons, advice = _verdict_texts(line, lang)
        tone = style["pass"] if line is not None and line["verdict"] == "pass" else style["hold"]
        sheet.write_string(number, width, verdict, tone)
        sheet.write_string(number, width + 1, reasons, style["note"])
        sheet.write_string(number, width + 2, advice, style["note"])
    sheet.freeze_panes(1, 0)
    sheet.autofilter(0, 0, max(len(rows), 1), width + 2)
    sheet.set_landscape()
    sheet.set_paper(9)
    sheet.fit_to_pages(1, 0)
    sheet.repeat_rows(0)
    summary = check["summary"]
    about = book.add_worksheet(t("ui.finance.sheet.about", lang))
    about.set_column(0, 0, 16)
    about.set_column(1, 1, 50)
    for row, (label, value) in enumerate([
        (t("ui.finance.about.check", lang), f"#{check['check_id']}"),
        (t("ui.finance.about.file", lang), stored.source_name or "-"),
        (t("ui.finance.about.by", lang), f"{check['created_by']}  {check['created_at'][:16].replace('T', ' ')}"),
        (t("ui.finance.about.counts", lang), t("ui.finance.about.counts_text", lang, **summary)),
    ]):
        about.write_string(row, 0, label, style["head"])
        about.write_string(row, 1, value)
    book.close()
    if full:
        trail.append(conn, user.name, "prerelease_sheet_full", f"check {check_id}",
                     {"lines": summary["lines"], "file": stored.source_name})
    stem = Path(stored.source_name or f"check-{check_id}").stem
    return f"{stem}-{t('ui.finance.sheet.suffix', lang)}.xlsx", buffer.getvalue()


def _source_rows(kind: str, stored: Any, by_key: dict[str, Any], by_row: dict[int, Any]
                 ) -> tuple[list[str], list[tuple[list[Any], dict[str, Any] | None]], list[str | None]]:
    """The uploaded file's header and rows (read by the importer's reader), each row with
    its line, and the interchange name of each column (None: a column of the user's own)."""
    table = service.TABLE[kind]
    spec = BY_NAME[table]
    lookup = spec.header_lookup()
    suffix = Path(stored.source_name or "").suffix.lower() or ".csv"
    with tempfile.TemporaryDirectory() as folder, ExitStack() as stack:
        path = Path(folder) / f"{table}{suffix}"
        path.write_bytes(stored.source_file)
        dataset = open_dataset(path, stack, only=table, sheet=stored.source_sheet)
        header, raw_rows = dataset.tables[0].open_rows()
        names = [lookup.get(fold_header(str(heading or ""))) for heading in header]
        key_column = names.index(spec.key[0]) if spec.key[0] in names else None
        rows = []
        for number, values in raw_rows:
            cells = list(values) if isinstance(values, list | tuple) else []
            key = None
            if key_column is not None and key_column < len(cells):
                try:
                    key = as_text(cells[key_column])
                except CellError:  # an unreadable key: the row number finds the line
                    key = None
            line = by_key.get(key) if key else None
            rows.append((cells + [None] * (len(header) - len(cells)), line or by_row.get(number)))
    return [str(h or "") for h in header], rows, names

"""A notice as a file: CSV, XLSX or PDF, each as notices.md lays it out.

- CSV: UTF-8 with a BOM (Excel reads it as UTF-8), a title line, 公示期, the header, the
  rows, the total row, the totals, the issuing block and 监督电话.
- XLSX: the title merged above the table, amounts as numbers with a money format (they
  sum) and a total row of SUM formulas, widths that fit the text, A4 (landscape when the
  table is wide), one page wide, the header row repeated on every page, 第 N 页 共 M 页.
- PDF: A4, Noto Sans SC (SIL Open Font License) from the npm package
  ``@expo-google-fonts/noto-sans-sc``, a TrueType-outline font, so reportlab embeds the
  subset of it the notice uses: it reads the same on a machine with no CJK font at all.
  The title and 公示期 on every page, 第 N 页 共 M 页, the issuing block and hotlines at
  the end.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from decimal import Decimal
from typing import Any

from audit.notices.service import NoticeError, Notice, _t
from audit.pdf import numbered_canvas, register_fonts

def render(notice: Notice, fmt: str) -> bytes:
    if fmt == "csv":
        return _csv(notice)
    if fmt == "xlsx":
        return _xlsx(notice)
    if fmt == "pdf":
        return _pdf(notice)
    raise NoticeError(422, "error.notice_format")


def _total_cells(notice: Notice) -> list[str]:
    cells = []
    for index, column in enumerate(notice.columns):
        value = notice.total_row.get(column.key, "")
        cells.append(_t("notice.total_row") if index == 0 else notice.cell_text(column, value))
    return cells


def _csv(notice: Notice) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([notice.title])
    writer.writerow([notice.term])
    writer.writerow([c.label for c in notice.columns])
    for row in notice.rows:
        writer.writerow([notice.cell_text(c, v) for c, v in zip(notice.columns, row, strict=True)])
    writer.writerow(_total_cells(notice))
    for line in notice.totals + notice.issuing + notice.hotlines:
        writer.writerow([line])
    return out.getvalue().encode("utf-8-sig")


def _width(text: str) -> int:
    """Columns a text takes in a spreadsheet: a CJK character counts two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _xlsx(notice: Notice) -> bytes:
    import xlsxwriter
    from xlsxwriter.utility import xl_rowcol_to_cell

    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet(_t("notice.sheet"))
    last = len(notice.columns) - 1
    title = book.add_format({"bold": True, "font_size": 14, "align": "center", "valign": "vcenter"})
    term = book.add_format({"align": "center"})
    head = book.add_format({"bold": True, "bg_color": "#EEF2F7", "border": 1, "text_wrap": True, "align": "center",
                            "valign": "vcenter"})
    text = book.add_format({"border": 1, "valign": "top"})
    wrap = book.add_format({"border": 1, "valign": "top", "text_wrap": True})
    money = book.add_format({"border": 1, "valign": "top", "num_format": "#,##0.00"})
    total_text = book.add_format({"border": 1, "bold": True})
    total_money = book.add_format({"border": 1, "bold": True, "num_format": "#,##0.00"})
    sheet.merge_range(0, 0, 0, max(last, 1), notice.title, title)
    sheet.merge_range(1, 0, 1, max(last, 1), notice.term, term)
    sheet.set_row(0, 24)
    header_row, first = 2, 3
    sheet.write_row(header_row, 0, [c.label for c in notice.columns], head)
    widths = [_width(c.label) + 2 for c in notice.columns]
    for r, row in enumerate(notice.rows, start=first):
        for c, (column, value) in enumerate(zip(notice.columns, row, strict=True)):
            if column.money and isinstance(value, int):
                # A spreadsheet keeps numbers as doubles; yuan to the fen are exact in one.
                sheet.write_number(r, c, float(Decimal(value) / 100), money)
                shown = notice.cell_text(column, value)
            elif isinstance(value, int):
                sheet.write_number(r, c, value, text)
                shown = str(value)
            else:
                shown = "" if value is None else str(value)
                sheet.write_string(r, c, shown, wrap if column.wide else text)
            widths[c] = max(widths[c], _width(shown) + 2)
    total_at = first + len(notice.rows)
    for c, column in enumerate(notice.columns):
        value = notice.total_row.get(column.key)
        if c == 0:
            sheet.write_string(total_at, 0, _t("notice.total_row"), total_text)
        elif column.money and isinstance(value, int) and notice.rows:
            span = f"{xl_rowcol_to_cell(first, c)}:{xl_rowcol_to_cell(total_at - 1, c)}"
            sheet.write_formula(total_at, c, f"=SUM({span})", total_money, float(Decimal(value) / 100))
        elif isinstance(value, int):
            sheet.write_number(total_at, c, value, total_text)
        else:
            sheet.write_blank(total_at, c, None, total_text)
    line = total_at + 2
    for extra in notice.totals + notice.issuing + notice.hotlines:
        sheet.write_string(line, 0, extra)
        line += 1
    for c, column in enumerate(notice.columns):
        sheet.set_column(c, c, min(max(widths[c], 6), 40 if column.wide else 24))
    sheet.freeze_panes(first, 0)
    sheet.set_paper(9)  # A4
    if len(notice.columns) > 6:
        sheet.set_landscape()
    sheet.fit_to_pages(1, 0)  # one page wide, as many long as it takes
    sheet.repeat_rows(header_row)
    sheet.center_horizontally()
    sheet.set_margins(left=0.5, right=0.5, top=0.75, bottom=0.75)
    sheet.set_header("&C" + notice.title.replace("&", "&&"))
    sheet.set_footer("&C" + _t("notice.page", page="&P", pages="&N"))
    book.close()
    return buffer.getvalue()


def _pdf(notice: Notice) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_CENTER, TA_RIGHT
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
    from xml.sax.saxutils import escape

    regular, bold = register_fonts()
    wide = len(notice.columns) > 6
    size = landscape(A4) if wide else A4
    margin = 14 * mm
    body = ParagraphStyle("body", fontName=regular, fontSize=8.5 if wide else 10, leading=11 if wide else 14,
                          wordWrap="CJK")
    cell = ParagraphStyle("cell", parent=body, fontSize=7.5 if wide else 9.5, leading=10 if wide else 12.5)
    head = ParagraphStyle("head", parent=cell, fontName=bold, alignment=TA_CENTER)
    right = ParagraphStyle("right", parent=body, alignment=TA_RIGHT)
    title, term = notice.title, notice.term

    def header(canvas: Any, doc: Any) -> None:
        # The title and 公示期 on every page: a page torn from the board still says what it is.
        canvas.saveState()
        canvas.setFont(bold, 14)
        canvas.drawCentredString(size[0] / 2, size[1] - margin, title)
        canvas.setFont(regular, 9)
        canvas.drawCentredString(size[0] / 2, size[1] - margin - 14, term)
        canvas.restoreState()

    numbered = numbered_canvas(regular, size[0], margin / 2,
                               lambda page, pages: _t("notice.page", page=page, pages=pages))

    columns = notice.columns
    data: list[list[Any]] = [[Paragraph(escape(c.label), head) for c in columns]]
    for row in notice.rows:
        # Free text wraps (CJK: at any character); a name, a number or an amount stays on one
        # line, as it is read (and as the suite's sweep reads a number back).
        data.append([Paragraph(escape(notice.cell_text(c, v)), cell) if c.wide else notice.cell_text(c, v)
                     for c, v in zip(columns, row, strict=True)])
    data.append(_total_cells(notice))
    usable = size[0] - 2 * margin
    weights = [3 if c.wide else (1 if c.key == "no" else 2) for c in columns]
    widths = [usable * w / sum(weights) for w in weights]
    table = Table(data, colWidths=widths, repeatRows=1)
    aligned = [("ALIGN", (i, 1), (i, -1), "RIGHT") for i, c in enumerate(columns) if c.money or c.key in
               ("no", "households")]
    table.setStyle(TableStyle(aligned + [
                               ("FONT", (0, 0), (-1, -1), regular, cell.fontSize),  # else Helvetica, not embedded
                               ("FONT", (0, -1), (-1, -1), bold, cell.fontSize),
                               ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                               ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#EEF2F7")),
                               ("BACKGROUND", (0, -1), (-1, -1), colors.HexColor("#F6F6F6")),
                               ("VALIGN", (0, 0), (-1, -1), "TOP")]))
    story: list[Any] = [Paragraph(escape(notice.intro), body), Spacer(1, 4 * mm), table, Spacer(1, 4 * mm)]
    story += [Paragraph(escape(line), body) for line in notice.totals]
    closing = [Spacer(1, 6 * mm)] + [Paragraph(escape(line), right) for line in notice.issuing]
    closing += [Spacer(1, 4 * mm)] + [Paragraph(escape(line), body) for line in notice.hotlines]
    story.append(KeepTogether(closing))
    buffer = io.BytesIO()
    document = SimpleDocTemplate(buffer, pagesize=size, leftMargin=margin, rightMargin=margin,
                                 topMargin=margin + 24, bottomMargin=margin, title=title, author=notice.unit,
                                 invariant=1, initialFontName=regular,  # never a font it does not embed
                                 pageCompression=0)  # page text stays plain: the suite's sweep reads it for numbers
    document.build(story, onFirstPage=header, onLaterPages=header, canvasmaker=numbered)
    return buffer.getvalue()


def render_table(title: str, labels: tuple[str, ...], rows: list[tuple[Any, ...]], fmt: str) -> bytes:
    """A plain table in a notice's frame (no store): what the sweep's own test exports."""
    from datetime import date

    from audit.notices.service import Column

    today = date.today()
    notice = Notice(kind="table", title=title, intro="", columns=[Column(f"c{i}", label) for i, label in
                                                                  enumerate(labels)],
                    rows=[list(row) for row in rows], totals=[], total_row={}, start_on=today, end_on=today, days=0,
                    unit="", issued_on=today, hotlines=[], subjects=[], village_code="", town_code="")
    return render(notice, fmt)

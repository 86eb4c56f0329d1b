"""A case file (:func:`audit.cases.casefile.build`) as an .xlsx workbook or a PDF.

- XLSX: one sheet a part (案件, 发现与证据, 筛查与设置, 决定与整改, 案件记录, 居民投诉, 审计日志) and the 校验 sheet
  the verifier reads: the case's id and the digest at the top, then one line a row (table,
  its name, key, hash, what it is). Written with xlsxwriter, as the other exports are.
- PDF: A4, Noto Sans SC embedded (:mod:`audit.pdf`, as notices are), 第 N 页 共 M 页, the
  same parts and the same hashes, the digest on the first and the last page.
"""

from __future__ import annotations

import io
import json
from typing import Any

from audit.i18n import t
from audit.cases.casefile import DIGEST_CELL, CASE_CELL, HASH_SHEET, LIST_HEADER_ROW


def _settings_text(value: dict[str, Any]) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _overview(file: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, value) lines of the case itself: the same in both formats."""
    lang, case = file["lang"], file["case"]
    fix = file["rectification"]
    lines = [
        (t("casefile.label.case_id", lang), str(case["id"])),
        (t("casefile.label.title", lang), case["title"]),
        (t("ui.case.subject", lang), f"{case['subject']['label'] or ''} {case['subject']['key']}".strip()),
        (t("ui.case.place", lang), f"{case['town']}{case['village']}"),
        (t("ui.cases.col.status", lang), t(f"enum.case_status.{case['status']}", lang)),
        (t("ui.cases.col.score", lang), f"{case['score']:.2f}"),
        (t("ui.cases.col.amount", lang), f"{case['amount_at_risk']} {t('ui.yuan', lang)}"),
        (t("ui.cases.col.owed", lang), f"{case['amount_owed']} {t('ui.yuan', lang)}"),
        (t("ui.case.flags", lang), "、".join(case["codes"])),
        (t("casefile.label.outcome", lang), t("casefile.outcome.closed", lang, at=fix["closed_at"])
         if fix and fix["closed_at"] else t(f"enum.case_status.{case['status']}", lang)),
        (t("casefile.label.generated", lang), f"{file['generated_at']} · {file['generated_by']}"),
        (t("casefile.label.numbers", lang), t("casefile.masked" if file["masked"] else "casefile.revealed", lang)),
        (t("casefile.label.case_hash", lang), case["hash"]),
        (t("casefile.label.digest", lang), file["digest"]),
    ]
    return lines


def _run_lines(file: dict[str, Any]) -> list[list[str]]:
    lang = file["lang"]
    rows = []
    for run in file["runs"]:
        for code, spec in run["detectors"].items():
            rows.append([str(run["id"]), run["as_of"], run["finished_at"], t(f"casefile.run.{run['outcome']}", lang)
                         if run["outcome"] in ("completed", "failed", "running") else run["outcome"], code,
                         str(spec["version"]), _settings_text(spec["settings"]) if spec["settings"]
                         else t("ui.case.no_settings", lang), run["hash"]])
        if not run["detectors"]:
            rows.append([str(run["id"]), run["as_of"], run["finished_at"], run["outcome"], "", "", "", run["hash"]])
    return rows


def _headings(lang: str, *names: str) -> list[str]:
    return [t(f"casefile.col.{name}", lang) for name in names]


RUN_COLUMNS = ("run", "as_of", "finished", "outcome", "code", "version", "settings", "hash")
STEP_COLUMNS = ("finding", "step", "fact", "record", "key", "hash")
DECISION_COLUMNS = ("decision_id", "decision", "reason", "by", "at", "state", "reviewed_by", "reviewed_at",
                    "review_note", "hash")
EVENT_COLUMNS = ("event", "at", "kind", "by", "detail", "hash")
COMPLAINT_COLUMNS = ("reference", "received", "resident", "phone", "complaint", "complaint_status", "answer",
                     "answered", "hash")
TRAIL_COLUMNS = ("entry", "at", "actor", "action", "hash")
HASH_COLUMNS = ("table", "table_name", "key", "hash", "what")


def _finding_rows(file: dict[str, Any]) -> list[list[str]]:
    rows = []
    for f in file["findings"]:
        for step in f["steps"]:
            rows.append([f"{f['label']} {f['code']}", str(step["number"]), step["fact"], step["kind_name"],
                         step["key"] if step["table"] else "",
                         step["hash"] or (t("casefile.record_missing", file["lang"]) if step["missing"] else "")])
    return rows


def _complaint_rows(file: dict[str, Any]) -> list[list[str]]:
    return [[c["reference"], c["received_at"], c["name"], c["phone"], c["text"], c["status"], c["answer"],
             f"{c['answered_by']} {c['answered_at']}".strip(), c["hash"]] for c in file["complaints"]]


def _decision_rows(file: dict[str, Any]) -> list[list[str]]:
    return [[str(d["id"]), d["decision"], d["reason"], d["by"], d["at"], d["state"], d["reviewed_by"],
             d["reviewed_at"], d["review_note"] or "", d["hash"]] for d in file["decisions"]]


def _rectification_lines(file: dict[str, Any]) -> list[tuple[str, str]]:
    fix, lang = file["rectification"], file["lang"]
    if fix is None:
        return [(t("ui.case.rectification", lang), t("casefile.no_rectification", lang))]
    return [(t("ui.case.deadline", lang), fix["deadline"]), (t("ui.case.original_deadline", lang),
                                                             fix["original_deadline"]),
            (t("ui.case.recovered", lang), f"{fix['recovered']} {t('ui.yuan', lang)}"),
            (t("ui.case.accountable", lang), fix["accountable"] or "—"), (t("ui.case.note", lang), fix["note"]),
            (t("casefile.label.closed_at", lang), fix["closed_at"] or "—"),
            (t("casefile.label.rectification_hash", lang), fix["hash"])]


def _finding_lines(f: dict[str, Any], lang: str) -> list[tuple[str, str]]:
    return [(t("casefile.label.finding", lang), f"{f['label']} {f['code']} {f['title']}（{f['family_name']}）"),
            (t("ui.cases.col.score", lang), f"{f['score']:.2f}"),
            (t("ui.cases.col.amount", lang), f"{f['amount_at_risk']} {t('ui.yuan', lang)}"),
            (t("casefile.label.finding_status", lang), t(f"enum.finding_status.{f['status']}", lang)),
            (t("casefile.label.detector", lang), t("casefile.detector_line", lang, version=f["detector_version"],
                                                   at=f["detected_at"], first=f["first_run_id"],
                                                   last=f["last_run_id"])),
            (t("casefile.label.params", lang), _settings_text(f["params"]) if f["params"]
             else t("ui.case.no_settings", lang)),
            (t("casefile.label.finding_hash", lang), f["hash"])]


# ---------------------------------------------------------------------- xlsx

def render_xlsx(file: dict[str, Any]) -> bytes:
    import xlsxwriter

    lang = file["lang"]
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    bold = book.add_format({"bold": True, "bg_color": "#EEF2F7", "border": 1, "valign": "top"})
    wrap = book.add_format({"text_wrap": True, "valign": "top"})
    mono = book.add_format({"font_name": "Consolas", "valign": "top"})

    def table(name: str, headings: list[str], rows: list[list[str]], widths: list[int], start: int = 0) -> Any:
        sheet = book.add_worksheet(t(name, lang)) if isinstance(name, str) else name
        sheet.write_row(start, 0, headings, bold)
        for r, row in enumerate(rows, start=start + 1):
            for c, value in enumerate(row):
                sheet.write_string(r, c, value, mono if headings[c] == t("casefile.col.hash", lang) else wrap)
        for c, width in enumerate(widths):
            sheet.set_column(c, c, width)
        sheet.freeze_panes(start + 1, 0)
        return sheet

    overview = book.add_worksheet(t("casefile.sheet.case", lang))
    overview.set_column(0, 0, 18)
    overview.set_column(1, 1, 90)
    line = 0
    for label, value in _overview(file) + [("", "")] + _rectification_lines(file):
        overview.write_string(line, 0, label, bold if label else wrap)
        overview.write_string(line, 1, value, wrap)
        line += 1
    for f in file["findings"]:
        line += 1
        for label, value in _finding_lines(f, lang):
            overview.write_string(line, 0, label, bold)
            overview.write_string(line, 1, value, wrap)
            line += 1
    table("casefile.sheet.findings", _headings(lang, *STEP_COLUMNS), _finding_rows(file), [18, 6, 70, 12, 30, 68])
    table("casefile.sheet.runs", _headings(lang, *RUN_COLUMNS), _run_lines(file), [8, 12, 24, 10, 8, 8, 60, 68])
    table("casefile.sheet.decisions", _headings(lang, *DECISION_COLUMNS), _decision_rows(file),
          [8, 10, 40, 12, 24, 10, 12, 24, 30, 68])
    table("casefile.sheet.events", _headings(lang, *EVENT_COLUMNS),
          [[str(e["id"]), e["at"], e["kind"], e["by"], e["detail"], e["hash"]] for e in file["events"]],
          [8, 24, 14, 12, 70, 68])
    table("casefile.sheet.complaints", _headings(lang, *COMPLAINT_COLUMNS), _complaint_rows(file),
          [22, 24, 10, 16, 60, 10, 50, 30, 68])
    table("casefile.sheet.trail", _headings(lang, *TRAIL_COLUMNS),
          [[str(e["id"]), e["at"], e["actor"], e["action"], e["hash"]] for e in file["trail"]], [8, 24, 14, 24, 68])
    hashes = book.add_worksheet(t(HASH_SHEET, lang))
    # The verifier reads these cells by position: the case, the digest, then the list.
    hashes.write_string(CASE_CELL[0], 0, t("casefile.label.case_id", lang), bold)
    hashes.write_string(*CASE_CELL, str(file["case"]["id"]))
    hashes.write_string(DIGEST_CELL[0], 0, t("casefile.label.digest", lang), bold)
    hashes.write_string(*DIGEST_CELL, file["digest"], mono)
    hashes.write_string(DIGEST_CELL[0] + 1, 0, t("casefile.how_to_verify", lang))
    table(hashes, _headings(lang, *HASH_COLUMNS),
          [[h["table"], h["table_name"], h["key"], h["hash"], h["what"]] for h in file["hashes"]],
          [18, 14, 36, 68, 40], start=LIST_HEADER_ROW)
    book.close()
    return buffer.getvalue()


# ---------------------------------------------------------------------- pdf

def render_pdf(file: dict[str, Any]) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
    from xml.sax.saxutils import escape

    from audit.pdf import numbered_canvas, register_fonts

    lang = file["lang"]
    regular, bold = register_fonts()
    size, margin = A4, 14 * mm
    usable = size[0] - 2 * margin
    body = ParagraphStyle("body", fontName=regular, fontSize=9, leading=12.5, wordWrap="CJK")
    small = ParagraphStyle("small", parent=body, fontSize=7.5, leading=10)
    heading = ParagraphStyle("heading", parent=body, fontName=bold, fontSize=12, leading=17, spaceBefore=8,
                             spaceAfter=4)
    subheading = ParagraphStyle("subheading", parent=body, fontName=bold, fontSize=10, leading=14, spaceBefore=6)
    title = t("casefile.pdf_title", lang, id=file["case"]["id"])

    def cell(value: str, style: ParagraphStyle = small) -> Any:
        return Paragraph(escape(value or ""), style)

    def grid(rows: list[list[Any]], widths: list[float], header: bool = True) -> Any:
        table = Table(rows, colWidths=[usable * w / sum(widths) for w in widths], repeatRows=1 if header else 0)
        style = [("FONT", (0, 0), (-1, -1), regular, 7.5),  # else Helvetica, which is not embedded
                 ("GRID", (0, 0), (-1, -1), 0.4, colors.grey), ("VALIGN", (0, 0), (-1, -1), "TOP")]
        if header:
            style.append(("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#EEF2F7")))
        table.setStyle(TableStyle(style))
        return table

    def facts(lines: list[tuple[str, str]]) -> Any:
        return grid([[cell(label), cell(value)] for label, value in lines], [1, 4], header=False)

    def listing(columns: tuple[str, ...], rows: list[list[str]], widths: list[float]) -> Any:
        return grid([[cell(h) for h in _headings(lang, *columns)]] + [[cell(v) for v in row] for row in rows], widths)

    story: list[Any] = [Paragraph(escape(file["case"]["title"]), heading), facts(_overview(file))]
    story += [Paragraph(escape(t("casefile.part.findings", lang)), heading)]
    for f in file["findings"]:
        story += [facts(_finding_lines(f, lang)), Spacer(1, 2 * mm)]
        steps = [row[1:] for row in _finding_rows({**file, "findings": [f]})]
        if steps:
            story += [listing(STEP_COLUMNS[1:], steps, [0.5, 5, 1.3, 2.2, 4.2]), Spacer(1, 3 * mm)]
    story += [Paragraph(escape(t("casefile.part.runs", lang)), heading),
              listing(RUN_COLUMNS, _run_lines(file), [0.7, 1.3, 1.7, 0.9, 0.9, 0.7, 2.2, 3.8])]
    story += [Paragraph(escape(t("casefile.part.decisions", lang)), heading)]
    # Seven columns on a portrait page: who with when, and the review with its note, in one cell each.
    decisions = [[str(d["id"]), d["decision"], d["reason"], f"{d['by']} {d['at']}", d["state"],
                  " ".join(v for v in (d["reviewed_by"], d["reviewed_at"], d["review_note"]) if v), d["hash"]]
                 for d in file["decisions"]]
    story += [listing(("decision_id", "decision", "reason", "by", "state", "reviewed_by", "hash"), decisions,
                      [0.5, 0.8, 2.2, 1.5, 0.8, 1.6, 3.4])
              if file["decisions"] else Paragraph(escape(t("ui.case.no_decisions", lang)), body)]
    story += [Paragraph(escape(t("ui.case.rectification", lang)), subheading), facts(_rectification_lines(file))]
    story += [Paragraph(escape(t("casefile.part.events", lang)), heading),
              listing(EVENT_COLUMNS, [[str(e["id"]), e["at"], e["kind"], e["by"], e["detail"], e["hash"]]
                                      for e in file["events"]], [0.5, 1.4, 0.9, 0.8, 3.2, 3.6])]
    story += [Paragraph(escape(t("casefile.part.complaints", lang)), heading),
              listing(COMPLAINT_COLUMNS, _complaint_rows(file), [1.4, 1.2, 0.7, 1, 2.4, 0.6, 2, 1.2, 3])
              if file["complaints"] else Paragraph(escape(t("casefile.no_complaints", lang)), body)]
    story += [Paragraph(escape(t("casefile.part.trail", lang)), heading),
              listing(TRAIL_COLUMNS, [[str(e["id"]), e["at"], e["actor"], e["action"], e["hash"]]
                                      for e in file["trail"]], [0.5, 1.6, 1, 1.6, 4])]
    story += [Paragraph(escape(t("casefile.part.hashes", lang)), heading),
              Paragraph(escape(t("casefile.how_to_verify", lang)), body), Spacer(1, 2 * mm),
              listing(HASH_COLUMNS[1:], [[h["table_name"], h["key"], h["hash"], h["what"]] for h in file["hashes"]],
                      [1, 2, 4, 2]), Spacer(1, 3 * mm),
              Paragraph(escape(f"{t('casefile.label.digest', lang)}：{file['digest']}"), body)]

    def header(canvas: Any, doc: Any) -> None:
        # What it is and its digest on every page: a page on its own still says which file it is from.
        canvas.saveState()
        canvas.setFont(bold, 12)
        canvas.drawCentredString(size[0] / 2, size[1] - margin, title)
        canvas.setFont(regular, 7)
        canvas.drawCentredString(size[0] / 2, size[1] - margin - 12,
                                 f"{t('casefile.label.digest', lang)}：{file['digest']}")
        canvas.restoreState()

    numbered = numbered_canvas(regular, size[0], margin / 2,
                               lambda page, pages: t("notice.page", lang, page=page, pages=pages))
    buffer = io.BytesIO()
    document = SimpleDocTemplate(buffer, pagesize=size, leftMargin=margin, rightMargin=margin,
                                 topMargin=margin + 20, bottomMargin=margin, title=title,
                                 author=file["generated_by"], invariant=1, initialFontName=regular,
                                 pageCompression=0)  # page text stays plain: the suite's sweep reads it
    document.build(story, onFirstPage=header, onLaterPages=header, canvasmaker=numbered)
    return buffer.getvalue()

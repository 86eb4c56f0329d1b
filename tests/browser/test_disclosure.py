"""The disclosure officer's job in the browser, in Chinese: sign in, pick a town and a
village by name, a program and a month, preview the notice, export it as CSV, XLSX and PDF
(the test reads each: the XLSX's amounts are numbers with a total row, the PDF embeds its
font and renders a page that is not blank), record the posting; and the list of missing
notices opens the one it names."""

from __future__ import annotations

import csv
import io
import re
import shutil
import subprocess
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from tests.browser.conftest import Live, sign_in, sign_out

PROGRAM, PROGRAM_NAME, PERIOD = "MIN_LIVING", "农村低保金", "2017-06"


def _village(live: Live) -> tuple[str, str, str, int]:
    """The village with most 低保 payments in the month, its town, and the money paid:
    (town name, village name, village code, total fen). A village whose name is its own."""
    rows = live.rows(
        "SELECT t.town_name, v.village_name, v.village_code, SUM(c.amount_fen) FROM card_payments c "
        "JOIN households h ON h.household_id = c.household_id JOIN villages v ON v.village_code = h.village_code "
        "JOIN towns t ON t.town_code = v.town_code WHERE c.program_code = :p AND c.period = :m "
        "AND c.status IN ('paid', 'pending') "  # a failed or returned line paid nothing: its reissue is posted
        "AND (SELECT COUNT(*) FROM villages w WHERE w.village_name = v.village_name) = 1 "
        "AND EXISTS (SELECT 1 FROM projects p WHERE p.village_code = v.village_code) "
        "GROUP BY t.town_name, v.village_name, v.village_code ORDER BY COUNT(*) DESC, v.village_code", p=PROGRAM,
        m=PERIOD)
    town, village, code, total = rows[0]
    return town, village, code, int(total)


def _choose(page: Any, name: str, label: str) -> None:
    """Pick an option by what it says; the screen comes back from the server (htmx) with
    the choices that follow from it."""
    with page.expect_response(lambda response: "/notices?" in response.url):
        page.select_option(f"#notice-choices select[name={name}]", label=label)
    page.wait_for_function(
        "([name, label]) => { const s = document.querySelector(`#notice-choices select[name=${name}]`);"
        " return s && s.selectedOptions.length && s.selectedOptions[0].textContent.trim() === label"
        " && !document.querySelector('.htmx-request, .htmx-settling'); }", arg=[name, label])


def _download(page: Any, label: str, folder: Path) -> Path:
    with page.expect_download() as waiting:
        page.click(f"#notice-preview button:has-text('{label}')")
    download = waiting.value
    path = folder / download.suggested_filename
    download.save_as(path)
    return path


def test_disclosure_exports_a_village_notice_in_three_formats_and_records_the_posting(
        browser: Any, live: Live, tmp_path: Path) -> None:
    town, village, code, total_fen = _village(live)
    total = Decimal(total_fen) / 100
    officer = sign_in(browser, live, "disclosure1")
    page = officer.page
    page.click("header nav >> text=公告公示")
    page.wait_for_load_state("networkidle")
    assert "请依次选择乡镇" in page.inner_text("main")
    # Names, never codes: the clerk picks what the options say.
    _choose(page, "town", town)
    _choose(page, "village", village)
    _choose(page, "program", f"{PROGRAM_NAME}（按月）")
    months = page.eval_on_selector_all("select[name=period] option", "o => o.map(x => x.value).filter(Boolean)")
    assert months and all(re.fullmatch(r"\d{4}-\d{2}", m) for m in months), months  # a monthly program: months
    _choose(page, "period", "2017年6月")
    page.wait_for_selector("#notice-preview")
    preview = page.inner_text("#notice-preview")
    title = f"{village} {PROGRAM_NAME} 2017年6月 发放公示"
    assert title in preview and "公示期" in preview and "12317" in preview and "发布单位" in preview, preview[:600]
    assert f"{total:,.2f}" in preview
    assert f"village={code}" in page.url and "program=MIN_LIVING" in page.url  # the screen can be linked to

    csv_path = _download(page, "导出 CSV", tmp_path)
    rows = list(csv.reader(io.StringIO(csv_path.read_bytes().decode("utf-8-sig"))))
    assert rows[0] == [title] and rows[2][:2] == ["序号", "户主姓名"]
    body = [r for r in rows[3:] if r and r[0].isdigit()]
    assert sum(Decimal(r[-1].replace(",", "")) for r in body) == total
    assert any(r and r[0] == "合计" and Decimal(r[-1].replace(",", "")) == total for r in rows)

    xlsx_path = _download(page, "导出 Excel", tmp_path)
    sheet = load_workbook(xlsx_path, data_only=True).active
    assert sheet["A1"].value == title
    amounts = [sheet.cell(row=r, column=sheet.max_column).value for r in range(4, 4 + len(body))]
    assert all(isinstance(a, int | float) for a in amounts) and round(sum(amounts), 2) == float(total)
    assert sheet.cell(row=4 + len(body), column=1).value == "合计"
    assert round(sheet.cell(row=4 + len(body), column=sheet.max_column).value, 2) == float(total)

    pdf_path = _download(page, "导出 PDF", tmp_path)
    content = pdf_path.read_bytes()
    assert content.startswith(b"%PDF") and b"/FontFile2" in content
    if shutil.which("pdffonts") is None:
        pytest.fail("pdffonts is not installed (apt-get install poppler-utils, as .ci/run does)", pytrace=False)
    fonts = subprocess.run(["pdffonts", str(pdf_path)], capture_output=True, text=True, check=True).stdout
    listed = fonts.splitlines()[2:]
    assert listed and all(re.search(r"\byes\s+yes\s+yes\b", line) for line in listed), fonts
    subprocess.run(["pdftoppm", "-r", "50", "-f", "1", "-l", "1", "-png", str(pdf_path), str(tmp_path / "page")],
                   check=True, capture_output=True)
    png = next(tmp_path.glob("page*.png"))
    _assert_not_blank(png)

    # The same village's project notice: every project, its money and sources, in a PDF
    # that embeds its font too.
    with page.expect_response(lambda response: "/notices?" in response.url):
        page.select_option("#notice-choices select[name=kind]", "projects")
    page.wait_for_selector("#notice-preview h2:has-text('年度扶贫项目公示')")
    projects = page.inner_text("#notice-preview")
    assert "建设内容及规模" in projects and "资金来源" in projects and "受益户数" in projects, projects[:600]
    project_pdf = _download(page, "导出 PDF", tmp_path)
    fonts = subprocess.run(["pdffonts", str(project_pdf)], capture_output=True, text=True, check=True).stdout
    assert all(re.search(r"\byes\s+yes\s+yes\b", line) for line in fonts.splitlines()[2:]), fonts
    with page.expect_response(lambda response: "/notices?" in response.url):
        page.select_option("#notice-choices select[name=kind]", "beneficiaries")
    page.wait_for_selector(f"#notice-preview h2:has-text('{title}')")

    # Record the posting of this batch, from the same screen.
    start = date(2017, 5, 15)
    page.select_option("#notice-posting select[name=channel]", "village_board")
    page.fill("#notice-posting input[name=start_on]", start.isoformat())
    page.fill("#notice-posting input[name=end_on]", (start + timedelta(days=10)).isoformat())
    page.click("#notice-posting button:has-text('登记')")
    page.wait_for_load_state("networkidle")
    assert "已登记张贴（1 项）" in page.inner_text("main")
    postings = page.inner_text("#notice-postings")
    assert "村务公开栏" in postings and "2017-05-25" in postings
    stored = live.rows("SELECT channel, start_on, end_on FROM disclosures WHERE subject_ref = :r",
                       r=f"{PROGRAM}/{PERIOD}/{code}")
    assert any(str(s) == "2017-05-15" and str(e) == "2017-05-25" for _, s, e in stored), stored
    _forget_posting(live, f"{PROGRAM}/{PERIOD}/{code}", "2017-05-15")
    problems = officer.problems()
    sign_out(officer)
    assert problems == []


def _assert_not_blank(png: Path) -> None:
    """A rendered page with ink on it: text and rules, not an empty sheet (a font that did
    not load renders nothing, or boxes)."""
    from PIL import Image

    with Image.open(png) as image:
        grey = image.convert("L")
        dark = sum(grey.histogram()[:128])
        assert grey.size[0] > 300 and dark > 2000, (grey.size, dark)


def _forget_posting(live: Live, subject_ref: str, start: str) -> None:
    """Leave the live store as the other browser tests expect it: without this test's posting."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    engine = create_engine(live.database_url, poolclass=NullPool)
    try:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM disclosures WHERE subject_ref = :r AND start_on = :s"),
                         {"r": subject_ref, "s": date.fromisoformat(start)})
    finally:
        engine.dispose()


def test_the_missing_notices_list_opens_the_notice_it_names(browser: Any, live: Live) -> None:
    officer = sign_in(browser, live, "disclosure1")
    page = officer.page
    page.click("header nav >> text=公示缺漏")
    page.wait_for_load_state("networkidle")
    main = page.inner_text("main")
    assert "公示缺漏" in main and "打开公示" in main
    village = page.locator("main section.card h3").first.inner_text()
    assert village and not re.search(r"\d{6}", village)  # a name, not a code
    page.locator("main a:has-text('打开公示')").first.click()
    page.wait_for_load_state("networkidle")
    assert page.url.startswith(f"{live.base}/notices?")
    text = page.inner_text("main")
    assert "公示期" in text and "登记张贴" in text and "12317" in text, text[:600]
    problems = officer.problems()
    sign_out(officer)
    assert problems == []

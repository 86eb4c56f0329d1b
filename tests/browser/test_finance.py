"""The finance officer's whole job in the browser, in Chinese: the county's own roster
workbook (a sheet named for the month, Chinese headers, the program by its name) with
planted problems is uploaded by the form; exactly those lines are held; one is released
with a reason, one waits for a second officer who approves it; the annotated sheet is
downloaded and read back with openpyxl."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from openpyxl import Workbook, load_workbook

from tests.browser.conftest import Live, sign_in, sign_out

HEADERS = ["序号", "姓名", "发放流水号", "补贴项目", "身份证号码", "户编号", "一卡通账号", "发放金额（元）", "发放期号",
           "发放时间", "发放机构"]


def _roster(live: Live, folder: Path) -> tuple[bytes, dict[str, str]]:
    """A February 2018 roster of 20 low-income households, its notices recorded (imported as
    the county's disclosures are), and one planted problem on each of five more lines."""
    # Households no open finding names: a line about a subject of a live case is held for
    # that case (as it should be), and the roster's clean lines must be clean by construction.
    named: set[str] = set()
    for (subjects,) in live.rows("SELECT subjects FROM findings WHERE status = 'open'"):
        for subject in json.loads(subjects) if isinstance(subjects, str) else subjects:
            named.add(str(subject.get("key")))
    homes = [home for home in live.rows(
        "SELECT household_id, head_id_number, head_name, card_account, village_code FROM households "
        "WHERE attribute = 'low_income' AND exited_on IS NULL ORDER BY household_id")
        if not {home[0], home[1], home[3]} & named][:26]
    exited = live.rows("SELECT household_id, head_id_number, head_name, card_account, village_code FROM households "
                       "WHERE attribute = 'low_income' AND exited_on IS NOT NULL ORDER BY household_id LIMIT 1")[0]
    dead = homes[20]
    # The county's records of the month: each village's notice of its batch, a death.
    (folder / "disclosures.csv").write_text(
        "disclosure_id,subject_kind,subject_ref,channel,start_on,end_on\n" + "".join(
            f"GS-FEB-{v},payment_batch,MIN_LIVING/2018-02/{v},both,2018-01-20,2018-02-05\n"
            for v in sorted({h[4] for h in homes} | {exited[4]})), encoding="utf-8")
    (folder / "deaths.csv").write_text(f"id_number,died_on,source\n{dead[1]},2018-01-03,火化登记\n", encoding="utf-8")
    live.audit("import", str(folder))

    def line(key: str, home: tuple[Any, ...], amount: str = "390.00", card: str | None = None) -> list[Any]:
        return [key, home[2], "农村低保金", home[1], home[0], card or home[3], amount, "201802", "2018-02-20",
                "归义镇财政所"]

    lines = [line(f"F{i:03d}", home) for i, home in enumerate(homes[:20])]
    planted = {"F-DEAD": "DC-06", "F-OVER": "DC-04", "F-EXIT": "DC-05", "F-CARD": "DC-08", "F-BADID": "import"}
    lines += [line("F-DEAD", dead), line("F-OVER", homes[21], amount="1300.00"), line("F-EXIT", exited),
              line("F-CARD", homes[22], card=homes[0][3]),
              [*line("F-BADID", homes[23])[:3], homes[23][1][:-1] + ("0" if homes[23][1][-1] != "0" else "1"),
               *line("F-BADID", homes[23])[4:]]]
    book = Workbook()
    sheet = book.active
    sheet.title = "2018年2月低保发放"
    sheet.append(HEADERS)
    for number, row in enumerate(lines, 1):
        sheet.append([number, *[row[1]], row[0], *row[2:]])
    book.create_sheet("Sheet2")
    out = io.BytesIO()
    book.save(out)
    return out.getvalue(), planted


def _held(page: Any) -> set[str]:
    return set(page.eval_on_selector_all("tr[data-verdict=hold]", "rows => rows.map(r => r.dataset.line)"))


def test_a_finance_officer_checks_the_countys_roster_releases_and_takes_the_sheet_back(
        browser: Any, live: Live, tmp_path: Path) -> None:
    workbook, planted = _roster(live, tmp_path)
    one = sign_in(browser, live, "finance1")
    page = one.page
    assert "发放前核查" in page.content()
    page.set_input_files("input[type=file]", files=[{"name": "归义镇2018年2月低保发放.xlsx", "buffer": workbook,
                                                      "mimeType": "application/vnd.openxmlformats-"
                                                                  "officedocument.spreadsheetml.sheet"}])
    page.click("button:has-text('开始核查')")
    page.wait_for_url("**/finance/checks/*", timeout=60_000)
    page.wait_for_load_state("networkidle")
    # The planted lines, and the household whose card F-CARD uses: its line is held too.
    assert _held(page) == set(planted) | {"F000"}, page.inner_text("main")[:3000]
    text = page.inner_text("main")
    assert "死亡后仍发放" in text and "超标准发放" in text and "身份证号校验位" in text
    check_url = page.url

    # The reasons filter: DC-06 alone.
    with page.expect_navigation():
        page.select_option("select[name=reason]", "DC-06")
    assert set(page.eval_on_selector_all("tr[data-line]", "rows => rows.map(r => r.dataset.line)")) == {"F-DEAD"}

    # Release the over-standard line with a reason; the dead man's waits for a colleague.
    page.goto(check_url)
    for key, reason in (("F-OVER", "补发一月差额，经民政局批准"), ("F-DEAD", "经核实死亡登记录入错误，本人健在")):
        row = page.locator(f"tr[data-line='{key}']")
        row.locator("summary:has-text('放行')").click()
        row.locator("textarea[name=reason]").fill(reason)
        row.locator("button:has-text('放行')").click()
        page.wait_for_load_state("networkidle")
        assert "已提交放行" in page.content()
    assert "等待另一名财务人员复核" in page.locator("tr[data-line='F-DEAD']").inner_text()
    problems = one.problems()
    sign_out(one)

    two = sign_in(browser, live, "finance2")
    two.page.goto(check_url)
    two.page.locator("tr[data-line='F-DEAD'] button:has-text('复核通过')").click()
    two.page.wait_for_load_state("networkidle")
    assert "已复核通过" in two.page.content()
    problems += two.problems()
    sign_out(two)

    one = sign_in(browser, live, "finance1")
    one.page.goto(check_url)
    with one.page.expect_download() as download:
        one.page.click("text=下载核查结果")
    saved = tmp_path / "back.xlsx"
    download.value.save_as(saved)
    rows = list(load_workbook(saved).worksheets[0].iter_rows(values_only=True))
    header = list(rows[0])
    assert header[-3:] == ["核查结果", "原因", "处理意见"]
    verdicts = {row[header.index("发放流水号")]: row[-3] for row in rows[1:]}
    assert {k for k, v in verdicts.items() if v == "暂缓发放"} == {"F-EXIT", "F-CARD", "F-BADID", "F000"}
    assert verdicts["F-OVER"] == verdicts["F-DEAD"] == "已放行" and verdicts["F001"] == "通过"
    problems += one.problems()
    sign_out(one)
    assert problems == []

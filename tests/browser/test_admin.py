"""The administrator's job in the browser, in Chinese: import the bad-rows dataset and see
every planted error on screen (and the store unchanged), download the errors as a sheet;
change a county setting and find it in the history; create a user and deactivate them."""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path
from typing import Any

import openpyxl

from tests.browser.conftest import Live, sign_in, sign_out
from tests.conftest import BAD


def _counts(live: Live) -> dict[str, int]:
    from audit.importer.spec import TABLES

    return {spec.name: live.rows(f"SELECT COUNT(*) FROM {spec.name}")[0][0] for spec in TABLES}


def _bad_zip(folder: Path) -> Path:
    path = folder / "县级数据-有误.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for file in sorted(BAD.glob("*.csv")):
            archive.write(file, file.name)
    return path


def test_admin_imports_the_bad_rows_dataset_and_sees_every_planted_error(browser: Any, live: Live,
                                                                          tmp_path: Path) -> None:
    planted = json.loads((BAD / "expected_errors.json").read_text(encoding="utf-8"))["errors"]
    before = _counts(live)
    admin = sign_in(browser, live, "admin1")
    page = admin.page
    page.click("main a:has-text('数据导入')")
    page.wait_for_load_state("networkidle")
    assert page.url.endswith("/admin/datasets")
    # Dropped on the drop zone, as a file dragged from the desktop is.
    archive = _bad_zip(tmp_path)
    dropped = page.evaluate_handle(
        "([bytes, name]) => { const t = new DataTransfer();"
        " t.items.add(new File([new Uint8Array(bytes)], name, {type: 'application/zip'})); return t; }",
        [list(archive.read_bytes()), archive.name])
    page.dispatch_event("[data-dropzone]", "drop", {"dataTransfer": dropped})
    assert page.inner_text("[data-file-name]") == archive.name
    page.click("button:has-text('上传并导入')")
    # The job's page polls its progress, then reloads with the report.
    page.wait_for_selector("#report", timeout=120_000)
    text = page.inner_text("main")
    assert "未导入任何数据" in text and f"数据有 {len(planted)} 处错误" in text
    for error in planted:
        row = page.locator(f"tr.import-error[data-table='{error['table']}'][data-row='{error['row']}']"
                           f"[data-column='{error['column']}']")
        assert row.count() >= 1, error
        cells = row.first.locator("td").all_inner_texts()
        # Table and column by their Chinese names, the row number, a reason in Chinese.
        assert re.search(r"[\u4e00-\u9fff]", cells[0]) and cells[1] == str(error["row"]), cells
        assert re.search(r"[\u4e00-\u9fff]", cells[2]) and re.search(r"[\u4e00-\u9fff]", cells[4]), cells
    assert page.locator("tr.import-error").count() == len(planted)
    assert "明白卡/一卡通发放" in text and "金额最多保留 2 位小数" in text
    assert _counts(live) == before  # all or nothing: nothing was stored

    with page.expect_download() as download:
        page.click("#errors-download")
    sheet = openpyxl.load_workbook(io.BytesIO(Path(download.value.path()).read_bytes()))["错误"]
    lines = list(sheet.iter_rows(values_only=True))[1:]
    assert {(line[1], line[3]) for line in lines} == {(e["row"], e["column"]) for e in planted}

    page.click("a:has-text('返回数据导入')")
    page.wait_for_load_state("networkidle")
    latest = page.locator("#import-history tbody tr").first
    assert "未导入（有误）" in latest.inner_text() and latest.locator("a:has-text('查看报告')").count() == 1
    assert admin.problems() == []
    sign_out(admin)


def test_admin_changes_a_setting_and_finds_it_in_the_history(browser: Any, live: Live) -> None:
    admin = sign_in(browser, live, "admin1")
    page = admin.page
    page.goto(f"{live.base}/admin/settings")
    form = page.locator("form[data-key='discipline_phone']")
    original = form.locator("input[name=value]").input_value()
    form.locator("input[name=value]").fill("0730-5219999")
    form.locator("input[name=reason]").fill("县纪委监委公布的举报电话")
    form.locator("button[type=submit]").click()
    page.wait_for_load_state("networkidle")
    assert "设置已保存" in page.inner_text("main")
    latest = page.locator("#settings-history tbody tr").first
    assert "县纪委监委公布的举报电话" in latest.inner_text() and "0730-5219999" in latest.inner_text()
    assert "纪检监察举报电话" in latest.inner_text()
    # Put it back as the other tests expect to find it: the change back is in the history too.
    form = page.locator("form[data-key='discipline_phone']")
    form.locator("input[name=value]").fill(original)
    form.locator("input[name=reason]").fill("测试结束，恢复原值")
    form.locator("button[type=submit]").click()
    page.wait_for_load_state("networkidle")
    assert "测试结束，恢复原值" in page.locator("#settings-history tbody tr").first.inner_text()
    page.goto(f"{live.base}/admin/trail?action=setting_changed")
    assert "修改设置" in page.inner_text("#trail")
    page.click("#verify")
    page.wait_for_selector("#verdict-text")
    assert "审计日志完整" in page.inner_text("#verdict")
    assert admin.problems() == []
    sign_out(admin)


def test_admin_creates_a_user_and_deactivates_them(browser: Any, live: Live) -> None:
    admin = sign_in(browser, live, "admin1")
    page = admin.page
    page.goto(f"{live.base}/admin/users")
    page.fill("#create-user input[name=name]", "disclosure_b7")
    page.select_option("#create-user select[name=role]", "disclosure")
    page.click("#create-user button[type=submit]")
    page.wait_for_load_state("networkidle")
    secret = page.inner_text("#one-time-password").strip()
    assert len(secret) >= 12 and "只显示这一次" in page.inner_text("main")
    page.click("a:has-text('查看用户 disclosure_b7')")
    page.wait_for_load_state("networkidle")
    page.click("#deactivate")
    page.wait_for_load_state("networkidle")
    assert "用户已停用" in page.inner_text("main") and page.inner_text("#user-active").strip() == "否"
    page.goto(f"{live.base}/admin/users")
    assert page.locator("tr[data-user='disclosure_b7'][data-active='no']").count() == 1
    assert admin.problems() == []
    sign_out(admin)

    # The deactivated account cannot sign in with its one-time password.
    context = browser.new_context(locale="zh-CN")
    other = context.new_page()
    other.goto(f"{live.base}/login")
    other.fill("input[name=name]", "disclosure_b7")
    other.fill("input[name=password]", secret)
    other.click("button[type=submit]")
    other.wait_for_load_state("networkidle")
    assert other.url.startswith(f"{live.base}/login") or "/login" in other.url
    context.close()


def test_admin_runs_detection_and_reads_the_runs_counts(browser: Any, live: Live) -> None:
    admin = sign_in(browser, live, "admin1")
    page = admin.page
    page.goto(f"{live.base}/admin/detection")
    runs_before = page.locator("#runs tbody tr").count()
    page.click("summary:has-text('只筛查部分风险')")
    page.check("input[name=codes][value='DC-01']")
    page.click("button:has-text('开始筛查')")
    # The job's page polls its progress, then shows the run.
    page.wait_for_url(re.compile(r".*/admin/detection/runs/\d+$"), timeout=120_000)
    assert page.inner_text("#run-outcome") == "已完成"
    row = page.locator("#run-codes tr[data-code='DC-01']")
    cells = row.locator("td").all_inner_texts()
    assert cells[0].startswith("DC-01") and int(cells[1]) > 0 and int(cells[4]) > 0, cells
    assert int(cells[2]) == 0  # the store's DC-01 findings were found before: none is new
    page.click("a:has-text('返回风险筛查')")
    page.wait_for_load_state("networkidle")
    assert page.locator("#runs tbody tr").count() == runs_before + 1
    assert "admin1" in page.locator("#runs tbody tr").first.inner_text()
    assert admin.problems() == []
    sign_out(admin)

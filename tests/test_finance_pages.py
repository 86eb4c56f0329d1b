"""发放前核查 through the pages: a finance officer uploads the county's own workbook by the
form, follows the job, reads and filters the verdicts, releases lines (two officers where
the controls say so) and takes the file back annotated; templates and the single
disbursement form. The browser test drives the same pages in Chromium."""

from __future__ import annotations

import io
import re
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import Engine, select

from audit.api.app import create_app
from audit.auth.service import create_user
from audit.detection.service import detect
from audit.i18n import t
from audit.importer.service import import_path
from audit.models import AuditEntry
from tests.conftest import COUNTY, PASSWORD
from tests.test_checks import _roster
from tests.test_finance_files import XLSX, _county_rows, _workbook
from tests.test_web import _csrf, _sign_in


@pytest.fixture
def officers(engine: Engine) -> tuple[Engine, dict[str, TestClient]]:
    assert import_path(engine, COUNTY).outcome == "committed"
    detect(engine)
    with engine.begin() as conn:
        for name in ("finance1", "finance2"):
            create_user(conn, name, "finance", PASSWORD)
    clients = {}
    for name in ("finance1", "finance2"):
        client = TestClient(create_app(), follow_redirects=False)
        assert _sign_in(client, name).status_code == 303
        clients[name] = client
    return engine, clients


def upload(client: TestClient, body: bytes, name: str = "归义镇2018年1月低保发放.xlsx", **fields: str) -> Any:
    """The form's POST, then the job followed as the page's polling does; the last answer."""
    sent = client.post("/finance/checks", data={"csrf_token": _csrf(client), **fields},
                       files={"file": (name, body, XLSX)})
    assert sent.status_code == 303 and sent.headers["location"].startswith("/finance/jobs/"), sent.text[:500]
    job = sent.headers["location"]
    for _ in range(600):
        answer = client.get(job + "/progress")
        assert answer.status_code == 200, answer.text[:300]
        if "HX-Redirect" in answer.headers or 'id="progress"' in answer.text and "every 1s" not in answer.text:
            return answer
        time.sleep(0.1)
    raise AssertionError("the check did not finish")


def rows(page: str) -> dict[str, str]:
    return dict(re.findall(r'<tr data-line="([^"]+)" data-verdict="(\w+)">', page))


def test_a_finance_officer_checks_releases_and_takes_the_sheet_back(officers: Any) -> None:
    engine, clients = officers
    one, two = clients["finance1"], clients["finance2"]
    lines, planted = _roster(engine)
    done = upload(one, _workbook({"2018年1月低保发放": _county_rows(lines, "农村低保金"), "Sheet2": []}))
    check_page = done.headers["HX-Redirect"]
    page = one.get(check_page)
    assert page.status_code == 200
    verdicts = rows(page.text)
    held = {key for key, verdict in verdicts.items() if verdict == "hold"}
    assert held == set(planted) | {"R000"} and len(verdicts) == len(lines)
    assert 'data-count="hold">7<' in page.text
    assert "死亡" in page.text  # DC-06's title and evidence, in Chinese

    # Filters: by verdict, by reason.
    assert set(rows(one.get(check_page + "?verdict=hold").text)) == held
    assert set(rows(one.get(check_page + "?reason=DC-06").text)) == {"R-DEAD"}
    assert set(rows(one.get(check_page + "?verdict=&reason=DC-06").text)) == {"R-DEAD"}  # the form's 全部
    # An FP-03 hold would link to the notice; this month's notices are posted, so no link.
    assert "/notices?kind=beneficiaries" not in page.text

    csrf = _csrf(one, check_page)
    check_id = int(check_page.rsplit("/", 1)[1])
    released = one.post(f"/finance/checks/{check_id}/release",
                        data={"csrf_token": csrf, "line": "R-OVER", "reason": "补发两个月差额，经民政局批准"})
    assert released.status_code == 303 and released.headers["location"].endswith("done=line_released")
    refused = one.post(f"/finance/checks/{check_id}/release", data={"csrf_token": csrf, "line": "R-NOPROG",
                                                                    "reason": "x"})
    assert refused.status_code == 409 and t("error.release_import_error", "zh", line="R-NOPROG") in refused.text
    pending = one.post(f"/finance/checks/{check_id}/release",
                       data={"csrf_token": csrf, "line": "R-DEAD", "reason": "死亡登记有误，户籍已核实本人健在"})
    assert pending.status_code == 303
    page = one.get(check_page).text
    release_id = re.search(rf"/finance/checks/{check_id}/releases/(\d+)/approve", two.get(check_page).text).group(1)
    assert f"/releases/{release_id}/approve" not in page  # not offered to the one who asked
    alone = one.post(f"/finance/checks/{check_id}/releases/{release_id}/approve", data={"csrf_token": csrf})
    assert alone.status_code == 403
    approved = two.post(f"/finance/checks/{check_id}/releases/{release_id}/approve",
                        data={"csrf_token": _csrf(two, check_page)})
    assert approved.status_code == 303

    # The sheet back: every row of the upload, three columns added, numbers masked.
    sheet = one.get(f"/finance/checks/{check_id}/sheet.xlsx")
    assert sheet.status_code == 200 and sheet.headers["content-type"] == XLSX
    book = load_workbook(io.BytesIO(sheet.content))
    table = list(book.worksheets[0].iter_rows(values_only=True))
    assert book.worksheets[0].title == "2018年1月低保发放"
    header = list(table[0])
    assert header[-3:] == ["核查结果", "原因", "处理意见"] and "身份证号码" in header
    by_key = {row[header.index("发放流水号")]: row for row in table[1:]}
    assert set(by_key) == {line["payment_id"] for line in lines}
    assert by_key["R-OVER"][-3] == "已放行" and "补发两个月差额" in by_key["R-OVER"][-1]
    assert by_key["R-DEAD"][-3] == "已放行"
    assert by_key["R-CARD"][-3] == "暂缓发放" and by_key["R-CARD"][-2]
    assert by_key["R001"][-3] == "通过" and by_key["R001"][-1] == "可以发放"
    ids = [row[header.index("身份证号码")] for row in table[1:]]
    assert all("*" in value for value in ids), ids[:3]

    # For the bank: the uploader's own file as sent; a colleague may not take it.
    full = one.get(f"/finance/checks/{check_id}/sheet.xlsx?full=1")
    assert full.status_code == 200
    table = list(load_workbook(io.BytesIO(full.content)).worksheets[0].iter_rows(values_only=True))
    assert {row[header.index("身份证号码")] for row in table[1:]} == {line["id_number"] for line in lines}
    assert two.get(f"/finance/checks/{check_id}/sheet.xlsx?full=1").status_code == 403
    with engine.connect() as conn:
        assert conn.execute(select(AuditEntry.actor).where(AuditEntry.action == "prerelease_sheet_full")
                            ).scalars().all() == ["finance1"]

    # The history lists the check with its file and counts.
    history = one.get("/finance/checks").text
    assert f"#{check_id}" in history and "归义镇2018年1月低保发放.xlsx" in history


def test_a_workbook_of_several_sheets_asks_which_on_the_page(officers: Any) -> None:
    engine, clients = officers
    lines, _ = _roster(engine)
    rows_ = _county_rows(lines, "农村低保金")
    failed = upload(clients["finance1"], _workbook({"1月": rows_, "2月": rows_[:3]}), "发放.xlsx")
    assert "请选择要核查的一张" in failed.text
    assert re.search(r'<select name="sheet" required><option>1月</option><option>2月</option>', failed.text)
    done = upload(clients["finance1"], _workbook({"1月": rows_, "2月": rows_[:3]}), "发放.xlsx", sheet="2月")
    assert "HX-Redirect" in done.headers
    assert len(rows(clients["finance1"].get(done.headers["HX-Redirect"]).text)) == 2


def test_a_template_per_program_reads_back_as_a_roster(officers: Any) -> None:
    _, clients = officers
    answer = clients["finance1"].get("/finance/template.xlsx?kind=card_roster&program=MIN_LIVING")
    assert answer.status_code == 200
    book = load_workbook(io.BytesIO(answer.content))
    header = [cell.value for cell in book.worksheets[0][1]]
    assert header[:3] == ["发放编号*", "补贴项目代码*", "身份证号*"]
    assert book.worksheets[0]["B2"].value == "MIN_LIVING"
    notes = "\n".join(str(c) for row in book.worksheets[1].iter_rows(values_only=True) for c in row if c)
    assert "农村低保金" in notes and "2018-01 或 201801" in notes
    assert clients["finance1"].get("/finance/template.xlsx?program=NOPE").status_code == 404


def test_one_disbursement_checked_by_the_form(officers: Any) -> None:
    _, clients = officers
    client = clients["finance1"]
    form = client.get("/finance/disbursement")
    assert form.status_code == 200 and "单笔拨付核查" in form.text
    missing = client.post("/finance/disbursement", data={"csrf_token": _csrf(client, "/finance/disbursement"),
                                                         "disbursement_id": "NEW-FORM"})
    assert missing.status_code == 422 and "请填写" in missing.text and "收款账号" in missing.text
    sent = client.post("/finance/disbursement", data={
        "csrf_token": _csrf(client, "/finance/disbursement"), "disbursement_id": "NEW-FORM",
        "allocation_id": "NOPE", "payer_unit": "汨罗市财政局", "payee_kind": "org", "payee_id": "91430681235FUGG019",
        "payee_account": "6217000000000000001", "amount": "1000.00", "paid_on": "2017-12-20"})
    assert sent.status_code == 303, sent.text[:500]
    page = client.get(sent.headers["location"]).text
    assert 'data-line="NEW-FORM" data-verdict="hold"' in page and "资金" in page

"""The finance office's own files: a roster as the county's one-card system exports it
(a sheet named for the month, Chinese headers, the program by its name or alias, YYYYMM
periods, GB18030), sent by a browser's form; and what a check knows of the payee."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import Workbook
from sqlalchemy import Engine, select, update

from audit.detection.service import detect
from audit.importer.service import import_path
from audit.models import Case, Disbursement, Finding, Project
from tests.conftest import COUNTY, logged_in
from tests.test_checks import _roster

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# The county's headers for the interchange's columns, as a 发放明细 export writes them.
COUNTY_HEADERS = {"payment_id": "发放流水号", "program_code": "补贴项目", "id_number": "身份证号码",
                  "household_id": "户编号", "card_account": "一卡通账号", "amount": "发放金额（元）",
                  "period": "发放期号", "paid_on": "发放时间", "paying_unit": "发放机构"}


@pytest.fixture
def finance(engine: Engine) -> tuple[TestClient, dict[str, str], Engine]:
    assert import_path(engine, COUNTY).outcome == "committed"
    detect(engine)
    client, headers = logged_in(engine, {"finance1": "finance", "finance2": "finance"})
    return client, headers, engine


def _programs_with(engine: Engine, tmp_path: Any, aliases: dict[str, str]) -> None:
    """The county's programs table (interchange v1.1) again, with other aliases."""
    folder = tmp_path / "programs"
    folder.mkdir()
    rows = list(csv.DictReader(io.StringIO((COUNTY / "programs.csv").read_text(encoding="utf-8"))))
    for row in rows:
        row["aliases"] = aliases.get(row["program_code"], row["aliases"])
    out = io.StringIO()
    writer = csv.DictWriter(out, list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    (folder / "programs.csv").write_text(out.getvalue(), encoding="utf-8")
    assert import_path(engine, folder).outcome == "committed"


def _county_rows(lines: list[dict[str, Any]], program: str) -> list[list[Any]]:
    """The lines as the county writes them: its headers, a name column we do not need,
    the program by name, the period as 201801."""
    header = ["序号", "姓名", *COUNTY_HEADERS.values()]
    rows = [header]
    for number, line in enumerate(lines, 1):
        shown = {**line, "program_code": program if line["program_code"] == "MIN_LIVING" else line["program_code"],
                 "period": line["period"].replace("-", "")}
        rows.append([number, "某某", *[shown[column] for column in COUNTY_HEADERS]])
    return rows


def _workbook(sheets: dict[str, list[list[Any]]]) -> bytes:
    book = Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _held(result: dict[str, Any]) -> set[str]:
    return {line["key"] for line in result["lines"] if line["verdict"] == "hold"}


def test_the_countys_own_workbook_from_a_browser_form_gets_the_same_verdicts(finance: Any, tmp_path: Any) -> None:
    client, headers, engine = finance
    assert "低保金" in (COUNTY / "programs.csv").read_text(encoding="utf-8")  # an alias of 农村低保金
    lines, planted = _roster(engine)
    expected = _held(client.post("/api/checks/card-roster", json={"card_payments": lines},
                                 headers=headers["finance1"]).json())
    assert expected == set(planted) | {"R000"}
    body = _workbook({"2018年1月低保发放": _county_rows(lines, "低保金"), "Sheet2": []})
    response = client.post("/api/checks/card-roster/file", headers=headers["finance1"],
                           files={"file": ("归义镇2018年1月低保发放.xlsx", body, XLSX)})
    assert response.status_code == 200, response.text
    result = response.json()
    assert _held(result) == expected
    assert result["summary"] == {"lines": len(lines), "pass": len(lines) - len(expected), "hold": len(expected)}


def test_a_gb18030_csv_naming_the_program_by_name_reads_alike(finance: Any) -> None:
    client, headers, engine = finance
    lines, planted = _roster(engine)
    out = io.StringIO()
    csv.writer(out).writerows(_county_rows(lines, "农村低保金"))
    response = client.post("/api/checks/card-roster/file", headers=headers["finance1"],
                           files={"file": ("低保发放.csv", out.getvalue().encode("gb18030"), "text/csv")})
    assert response.status_code == 200, response.text
    assert _held(response.json()) == set(planted) | {"R000"}


def test_a_workbook_of_several_sheets_asks_which_and_checks_the_one_chosen(finance: Any) -> None:
    client, headers, engine = finance
    lines, planted = _roster(engine)
    rows = _county_rows(lines, "农村低保金")
    body = _workbook({"1月": rows, "2月": rows[:3]})
    asked = client.post("/api/checks/card-roster/file", headers=headers["finance1"],
                        files={"file": ("发放.xlsx", body, XLSX)})
    assert asked.status_code == 422, asked.text
    assert asked.json()["errors"] == {"sheets": ["1月", "2月"]}
    assert asked.json()["detail"] == "工作簿 发放.xlsx 有多张工作表（1月、2月），请选择要核查的一张"
    chosen = client.post("/api/checks/card-roster/file", headers=headers["finance1"], data={"sheet": "1月"},
                         files={"file": ("发放.xlsx", body, XLSX)})
    assert chosen.status_code == 200, chosen.text
    assert _held(chosen.json()) == set(planted) | {"R000"}
    wrong = client.post("/api/checks/card-roster/file?sheet=3月", headers=headers["finance1"],
                        files={"file": ("发放.xlsx", body, XLSX)})
    assert wrong.status_code == 422 and "3月" in wrong.json()["detail"]
    assert client.post("/api/checks/card-roster/file", headers=headers["finance1"],
                       files={"file": ("发放.pdf", b"%PDF-1.4", "application/pdf")}).status_code == 415


def test_a_program_name_two_programs_share_is_an_error_naming_both(finance: Any, tmp_path: Any) -> None:
    client, headers, engine = finance
    _programs_with(engine, tmp_path, {"DIS_CARE": "补助", "DIS_LIVING": "补助"})
    lines, _ = _roster(engine)
    lines[0] = {**lines[0], "program_code": "补助"}
    result = client.post("/api/checks/card-roster", json={"card_payments": lines}, headers=headers["finance1"]).json()
    line = next(line for line in result["lines"] if line["key"] == lines[0]["payment_id"])
    assert line["verdict"] == "hold"
    errors = line["reasons"][0]["errors"]
    assert len(errors) == 1 and "DIS_CARE" in errors[0]["reason"] and "DIS_LIVING" in errors[0]["reason"], errors


def _insider_contractor(engine: Engine) -> tuple[Any, Any]:
    """An open FP-06 case's contractor and one of its disbursements."""
    with engine.connect() as conn:
        case = conn.execute(select(Case).join(Finding, Finding.case_id == Case.id)
                            .where(Finding.code == "FP-06", Case.status == "open").order_by(Case.id).limit(1)).one()
        contractor = next(s["key"] for s in conn.execute(select(Finding.subjects).where(
            Finding.case_id == case.id, Finding.code == "FP-06").limit(1)).scalar_one() if s["kind"] == "organization")
        paid = conn.execute(select(Disbursement).join(Project, Project.project_id == Disbursement.project_id)
                            .where(Disbursement.payee_id == contractor).order_by(Disbursement.paid_on.desc())
                            .limit(1)).one()
    return case, paid


def test_a_payment_to_the_contractor_of_an_open_insider_case_is_held_naming_the_case(finance: Any) -> None:
    client, headers, engine = finance
    case, paid = _insider_contractor(engine)
    line = {"disbursement_id": "NEW-INSIDER", "allocation_id": paid.allocation_id, "project_id": None,
            "payer_unit": "汨罗市财政局", "payee_kind": "org", "payee_id": paid.payee_id,
            "payee_account": paid.payee_account, "amount": "20000.00", "paid_on": "2017-12-28",
            "invoice_number": "0430017001118888888"}
    response = client.post("/api/checks/disbursements", json={"disbursements": [line]},
                           headers={**headers["finance1"], "accept-language": "zh-CN"})
    assert response.status_code == 200, response.text
    verdict = response.json()["lines"][0]
    assert verdict["verdict"] == "hold", verdict
    held = next(r for r in verdict["reasons"] if r["code"] == "case")
    assert held["case_id"] == case.id and "FP-06" in held["codes"]
    assert f"#{case.id}" in held["title"] and "干部或亲属关联承建" in held["title"]

    # Its release needs a second finance officer.
    check_id = response.json()["check_id"]
    done = client.post(f"/api/checks/{check_id}/release", headers=headers["finance1"],
                       json={"line": "NEW-INSIDER", "reason": "案件已查明与本笔支付无关，经局长批准"})
    assert done.status_code == 201 and done.json()["state"] == "pending", done.text

    # Once the case is dismissed, the contractor is paid like anyone else.
    with engine.begin() as conn:
        conn.execute(update(Case).where(Case.id == case.id).values(status="dismissed"))
    again = client.post("/api/checks/disbursements", json={"disbursements": [line]}, headers=headers["finance1"])
    assert "case" not in {r["code"] for r in again.json()["lines"][0]["reasons"]}


def test_a_batch_without_its_notice_says_what_to_do_and_links_the_notice(finance: Any) -> None:
    client, headers, engine = finance
    lines, _ = _roster(engine)
    february = [{**line, "payment_id": f"F{n:03d}", "period": "2018-02", "paid_on": "2018-02-20"}
                for n, line in enumerate(lines[:3])]
    result = client.post("/api/checks/card-roster", json={"card_payments": february},
                         headers={**headers["finance1"], "accept-language": "zh-CN"}).json()
    reason = next(r for r in result["lines"][0]["reasons"] if r["code"] == "FP-03")
    assert reason["todo"].startswith("处理办法") and "公示" in reason["todo"]
    village = reason["notice"]["village"]
    assert reason["notice_link"] == (f"/notices?kind=beneficiaries&village={village}&program=MIN_LIVING"
                                     "&period=2018-02")

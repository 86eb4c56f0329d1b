"""Money owed (the ME family, 应享未享) is summed apart from money at risk: stored on the
finding, summed on its case, in the findings export, the API, the case list, the case page
(which says who is to pay it, and that it is owed to the household) and the home screen,
never added into money at risk."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from audit.api.app import create_app
from audit.detection.export import findings_csv, findings_json
from audit.detection.service import detect
from audit.detectors.base import yuan
from audit.i18n import money
from audit.importer.service import import_path
from audit.models import Case, Finding
from tests.conftest import COUNTY, logged_in
from tests.test_web import _sign_in


@pytest.fixture
def scanned(engine: Engine) -> Engine:
    assert import_path(engine, COUNTY).outcome == "committed"
    detect(engine)
    return engine


def test_an_me_case_owes_its_standard_apart_from_money_at_risk_and_names_who_pays(scanned: Engine) -> None:
    with scanned.connect() as conn:
        owed = conn.execute(select(Finding).where(Finding.code == "ME-01")).all()
        assert owed and all(f.family == "ME" and f.amount_at_risk_fen == 0 and f.amount_owed_fen > 0 for f in owed)
        assert conn.execute(select(func.count()).select_from(Finding).where(
            Finding.code != "ME-01", Finding.amount_owed_fen != 0)).scalar_one() == 0
        case = conn.execute(select(Case).where(Case.id == owed[0].case_id)).one()
        mine = [f for f in owed if f.case_id == case.id]
        assert case.amount_owed_fen == sum(f.amount_owed_fen for f in mine)
        open_cases = conn.execute(select(func.sum(Case.amount_at_risk_fen), func.sum(Case.amount_owed_fen))
                                  .where(Case.status == "open")).one()
        exported = json.loads(findings_json(conn, ["ME-01"], lang="en")[0])
        sheet = findings_csv(conn, ["ME-01", "DC-06"], lang="en")[0]
    assert {item["amount_owed"] for item in exported} == {yuan(f.amount_owed_fen) for f in owed}
    assert all(item["amount_at_risk"] == "0.00" and item["family"] == "ME" for item in exported)
    assert "amount_owed" in sheet.splitlines()[0]

    client, headers = logged_in(scanned, {"inspector1": "inspector"})
    api = client.get(f"/api/cases/{case.id}", headers=headers["inspector1"]).json()
    assert api["amount_owed"] == yuan(case.amount_owed_fen) and api["amount_at_risk"] == yuan(case.amount_at_risk_fen)
    unit = next(s["key"] for s in mine[0].subjects if s["kind"] == "paying_unit")
    assert api["owed"][0]["unit"] == unit and api["owed"][0]["amount"] == yuan(mine[0].amount_owed_fen)
    assert all(f["amount_owed"] != "0.00" for f in api["findings"] if f["code"] == "ME-01")
    for case_id in {f.case_id for f in owed}:  # every register row an ME step names opens (a school year is a number)
        steps = [step for f in client.get(f"/api/cases/{case_id}", headers=headers["inspector1"]).json()["findings"]
                 if f["code"] == "ME-01" for step in f["evidence"]]
        registers = [step for step in steps if step["kind"] in ("school_enrolment", "disability_certificate")]
        assert registers and all(step["record"] is not None for step in registers), registers
    listed = client.get("/api/cases?family=ME", headers=headers["inspector1"]).json()
    assert listed["total"] == len({f.case_id for f in owed})
    assert all(item["amount_owed"] != "0.00" for item in listed["items"])

    browser = TestClient(create_app(), follow_redirects=False)
    assert _sign_in(browser, "inspector1").status_code == 303
    page = browser.get(f"/cases/{case.id}").text
    assert "应享未享：应由发放单位补发" in page and f"应由{unit}向" in page
    assert "不计入涉及金额，也不据此追究个人责任" in page
    assert "应补发金额（元）" in browser.get("/cases?family=ME").text
    home = browser.get("/").text
    at_risk, owed_total = (int(v) for v in open_cases)
    assert money(at_risk) in home  # money at risk, without what is owed
    assert f"另有应享未享待补发 {money(owed_total)} 元" in home

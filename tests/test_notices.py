"""A disclosure officer exports a village's notice lists in all three formats, with no
unmasked number; publishing a notice records it for the FP-03 check."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import Engine, func, select

from audit.detection.service import detect
from audit.importer.service import import_path
from audit.models import AuditEntry, CardPayment, Disclosure, Household, Person
from tests.conftest import COUNTY, logged_in

FULL_ID = re.compile(r"(?<![0-9A-Za-z*])\d{17}[\dX](?![0-9A-Za-z])")


@pytest.fixture
def officer(engine: Engine) -> tuple[TestClient, dict[str, str], Engine]:
    assert import_path(engine, COUNTY).outcome == "committed"
    detect(engine)
    client, headers = logged_in(engine, {"disclosure1": "disclosure"})
    return client, headers["disclosure1"], engine


def _busiest_batch(engine: Engine) -> tuple[str, str, str, set[str]]:
    with engine.connect() as conn:
        row = conn.execute(select(Household.village_code, func.count().label("n"))
                           .join(CardPayment, CardPayment.household_id == Household.household_id)
                           .where(CardPayment.program_code == "MIN_LIVING", CardPayment.period == "2017-05")
                           .group_by(Household.village_code).order_by(func.count().desc()).limit(1)).one()
        ids = set(conn.execute(select(Person.id_number).join(Household, Household.household_id == Person.household_id)
                               .where(Household.village_code == row.village_code)).scalars())
        ids |= set(conn.execute(select(Household.card_account).where(Household.village_code == row.village_code)
                                ).scalars())
    return "MIN_LIVING", "2017-05", row.village_code, ids


def test_beneficiaries_in_csv_xlsx_and_pdf_with_no_full_number(officer: Any) -> None:
    client, headers, engine = officer
    program, period, village, secrets = _busiest_batch(engine)
    params = {"program": program, "period": period, "village": village}
    csv_response = client.get("/api/notices/beneficiaries", params={**params, "format": "csv"}, headers=headers)
    assert csv_response.status_code == 200
    assert csv_response.content.startswith(b"\xef\xbb\xbf")  # a BOM, for Excel
    rows = list(csv.reader(io.StringIO(csv_response.content.decode("utf-8-sig"))))
    assert rows[0][0] == "姓名" and len(rows) > 2
    assert all(row[3] == "农村低保金" and row[4] == period for row in rows[1:])
    xlsx = client.get("/api/notices/beneficiaries", params={**params, "format": "xlsx"}, headers=headers)
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    cells = [str(c.value) for row in sheet.iter_rows() for c in row if c.value is not None]
    assert any(c == rows[1][0] for c in cells)
    pdf = client.get("/api/notices/beneficiaries", params={**params, "format": "pdf"}, headers=headers)
    assert pdf.content.startswith(b"%PDF") and pdf.headers["content-type"] == "application/pdf"
    for content in (csv_response.content, xlsx.content, pdf.content):
        text = content.decode("latin-1")
        assert FULL_ID.search(content.decode("utf-8", "ignore")) is None
        for secret in secrets:
            assert secret not in text and secret.encode("utf-16-be").decode("latin-1") not in text
    with engine.connect() as conn:
        exports = conn.execute(select(func.count()).select_from(AuditEntry)
                               .where(AuditEntry.action == "notice_exported")).scalar_one()
    assert exports == 3


def test_namesakes_are_told_apart_by_a_masked_id_without_birth_date(officer: Any) -> None:
    from audit.notices.service import masked_id

    assert masked_id("430681195203041237") == "43*************237"
    client, headers, engine = officer
    program, period, village, _ = _busiest_batch(engine)
    rows = list(csv.reader(io.StringIO(client.get("/api/notices/beneficiaries", params={
        "program": program, "period": period, "village": village}, headers=headers).content.decode("utf-8-sig"))))
    for row in rows[1:]:
        assert row[1] == "" or re.fullmatch(r"\d{2}\*{13}[\dX]{3}", row[1])


def test_project_notice_lists_money_and_parties(officer: Any) -> None:
    client, headers, engine = officer
    with engine.connect() as conn:
        from audit.models import Project

        village = conn.execute(select(Project.village_code).limit(1)).scalar_one()
    response = client.get("/api/notices/projects", params={"village": village, "format": "pdf"}, headers=headers)
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    rows = list(csv.reader(io.StringIO(client.get("/api/notices/projects", params={"village": village},
                                                  headers=headers).content.decode("utf-8-sig"))))
    assert rows[0][:2] == ["项目编号", "项目名称"] and all(r[4] and r[8] for r in rows[1:])
    assert client.get("/api/notices/projects", params={"village": "nowhere"}, headers=headers).status_code == 404


def test_publishing_a_notice_records_it_and_the_compliance_view_lists_the_gaps(officer: Any) -> None:
    client, headers, engine = officer
    gaps = client.get("/api/notices/compliance", headers=headers).json()
    assert {g["subject"]["kind"] for g in gaps} == {"project", "payment_batch"}
    notice = {"subject_kind": "payment_batch", "subject_ref": "MIN_LIVING/2018-01/430681100200",
              "channel": "village_board", "start_on": "2018-01-01", "end_on": "2018-01-12"}
    created = client.post("/api/notices", json=notice, headers=headers)
    assert created.status_code == 201
    with engine.connect() as conn:
        stored = conn.execute(select(Disclosure).where(Disclosure.disclosure_id == created.json()["disclosure_id"])
                              ).one()
    assert stored.subject_ref == notice["subject_ref"] and (stored.end_on - stored.start_on).days == 11
    bad = {**notice, "end_on": "2017-12-01"}
    assert client.post("/api/notices", json=bad, headers=headers).status_code == 422

"""案件材料: a case of the shipped county decided, approved and rectified, downloaded as a
workbook and a PDF; every row the file lists verifies against the store, a row changed
since is named exactly, an edited hash list gives itself away, and the PDF embeds its font
and prints the same hashes."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import Engine, select, update

from audit.cases import casefile
from audit.detection.service import detect
from audit.importer.service import import_path
from audit.models import AuditEntry, CardPayment, Case, Finding, Town
from audit.rowhash import row_hash
from tests.conftest import COUNTY, logged_in


@pytest.fixture
def service(engine: Engine) -> Iterator[tuple[TestClient, dict[str, dict[str, str]], Engine]]:
    assert import_path(engine, COUNTY).outcome == "committed"
    detect(engine)
    client, headers = logged_in(engine, {"inspector1": "inspector", "inspector2": "inspector",
                                         "finance1": "finance"})
    yield client, headers, engine


def _case_with_payments_and_a_person(engine: Engine) -> tuple[int, str]:
    """An open case whose evidence names a one-card payment and a person (whose key, an ID
    number, the file masks): the case and one payment it names."""
    with engine.connect() as conn:
        findings = conn.execute(select(Finding.case_id, Finding.evidence).join(Case, Case.id == Finding.case_id)
                                .where(Case.status == "open").order_by(Case.score.desc(), Case.id, Finding.id)).all()
    kinds: dict[int, set[str]] = {}
    payments: dict[int, str] = {}
    for case_id, evidence in findings:
        for step in evidence:
            kinds.setdefault(case_id, set()).add(step["kind"])
            if step["kind"] == "card_payment":
                payments.setdefault(case_id, step["key"])
    case_id = next(c for c in kinds if {"card_payment", "person"} <= kinds[c])
    return case_id, payments[case_id]


def _decided_approved_rectified(service: Any) -> tuple[int, str]:
    client, headers, engine = service
    one, two = headers["inspector1"], headers["inspector2"]
    case_id, payment = _case_with_payments_and_a_person(engine)
    decided = client.post(f"/api/cases/{case_id}/decisions", json={"decision": "confirmed", "reason": "重复领取"},
                          headers=one)
    assert decided.status_code == 201, decided.text
    approved = client.post(f"/api/cases/{case_id}/decisions/{decided.json()['decision_id']}/approve", headers=two)
    assert approved.status_code == 204
    fix = {"deadline": "2018-03-31", "recovered": "1234.56", "accountable": ["村会计 张某"], "note": "已追回"}
    assert client.put(f"/api/cases/{case_id}/rectification", json=fix, headers=one).status_code == 204
    return case_id, payment


def _hash_list(workbook: bytes) -> tuple[str, list[tuple[str, str, str]]]:
    sheet = load_workbook(io.BytesIO(workbook), read_only=True)["校验"]
    rows = [tuple("" if v is None else str(v) for v in row) for row in sheet.iter_rows(values_only=True)]
    return rows[1][1], [(r[0], r[2], r[3]) for r in rows[casefile.LIST_HEADER_ROW + 1:] if r[0]]


def test_row_hash_is_sha256_of_the_canonical_row(service: Any) -> None:
    _, _, engine = service
    with engine.connect() as conn:
        town = conn.execute(select(Town).order_by(Town.town_code).limit(1)).one()
        body = json.dumps({"table": "towns", "key": town.town_code,
                           "row": {"town_code": town.town_code, "town_name": town.town_name}},
                          ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        assert row_hash(conn, "towns", town.town_code) == hashlib.sha256(body.encode()).hexdigest()
        assert row_hash(conn, "towns", "no-such-town") is None and row_hash(conn, "no_table", "1") is None
        # Money is the integer fen it is stored as, dates ISO text, the import batch left out.
        payment = conn.execute(select(CardPayment.__table__).limit(1)).mappings().one()
        columns = {name: value.isoformat() if isinstance(value, date) else value for name, value in payment.items()
                   if name != "batch_id"}
        assert isinstance(columns["amount_fen"], int) and isinstance(columns["paid_on"], str)
        body = json.dumps({"table": "card_payments", "key": payment["payment_id"], "row": columns},
                          ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        assert row_hash(conn, "card_payments", payment["payment_id"]) == hashlib.sha256(body.encode()).hexdigest()


def test_a_case_file_verifies_and_names_exactly_the_row_changed_since(service: Any, database_url: str,
                                                                      tmp_path: Path) -> None:
    client, headers, engine = service
    case_id, payment = _decided_approved_rectified(service)
    response = client.get(f"/api/cases/{case_id}/file.xlsx", headers=headers["inspector1"])
    assert response.status_code == 200 and response.headers["content-type"] == casefile.XLSX_TYPE
    assert "filename*=UTF-8''" in response.headers["content-disposition"]
    workbook = response.content
    claimed, listed = _hash_list(workbook)
    tables = {table for table, _, _ in listed}
    assert {"cases", "findings", "card_payments", "persons", "detection_runs", "case_decisions", "rectifications",
            "case_events", "audit_log"} <= tables
    with engine.connect() as conn:
        # Each row's hash is the one row_hash gives now; the payment is listed under its key.
        assert (("card_payments", payment, row_hash(conn, "card_payments", payment)) in listed)
        assert ("rectifications", "1", row_hash(conn, "rectifications", "1")) in listed
        # Persons' keys are ID numbers: masked in the file, found again through the findings.
        assert all("*" in key for table, key, _ in listed if table == "persons")
        # The trail entries of the decision, approval and rectification, by their chain hashes.
        entries = conn.execute(select(AuditEntry.id, AuditEntry.action, AuditEntry.hash)
                               .where(AuditEntry.subject == f"case {case_id}").order_by(AuditEntry.id)).all()
        # (the approval made the decision effective: the new hit rates are on the trail too)
        assert [e.action for e in entries] == ["case_decided", "case_approved", "hit_rates", "case_rectification",
                                               "casefile_downloaded"]
        assert [("audit_log", str(e.id), e.hash) for e in entries[:4]] == [r for r in listed if r[0] == "audit_log"]
        download = entries[4]
        detail = conn.execute(select(AuditEntry.detail).where(AuditEntry.id == download.id)).scalar_one()
        assert detail == {"format": "xlsx", "masked": True, "digest": claimed, "rows": len(listed)}
        verdict = casefile.verify(conn, workbook)
    assert verdict.ok and verdict.rows == len(listed), verdict.lines("zh")
    assert verdict.lines("zh") == [f"案件 {case_id} 的案件材料与库中一致：所列 {len(listed)} 条记录的哈希全部相符"]

    with engine.begin() as conn:
        conn.execute(update(CardPayment).where(CardPayment.payment_id == payment)
                     .values(amount_fen=CardPayment.amount_fen + 100))
    with engine.connect() as conn:
        changed = casefile.verify(conn, workbook)
    assert not changed.ok
    assert [(message, fields["key"]) for message, fields in changed.problems] == [("casefile.verify.changed",
                                                                                   payment)]
    lines = changed.lines("zh")
    assert lines[1].startswith(f"明白卡/一卡通发放 {payment}（发现 F-") and lines[1].endswith("：该记录自材料生成以来已被改动")
    assert lines[0] == f"案件 {case_id} 的案件材料与库中不一致：所列 {len(listed)} 条记录中有 1 处不符"

    # The command line says the same, in Chinese, and fails.
    path = tmp_path / "case.xlsx"
    path.write_bytes(workbook)
    env = {**os.environ, "AUDIT_DATABASE_URL": database_url, "COLUMNS": "200"}
    ran = subprocess.run([sys.executable, "-m", "audit", "casefile", "verify", str(path)], capture_output=True,
                         text=True, env=env, timeout=300)
    assert ran.returncode == 1 and f"一卡通发放 {payment}" in ran.stderr and "已被改动" in ran.stderr, ran.stderr

    # An edited list (the changed row's new hash written in) no longer gives the digest the
    # download recorded.
    book = load_workbook(io.BytesIO(workbook))
    sheet = book["校验"]
    with engine.connect() as conn:
        for row in sheet.iter_rows(min_row=casefile.LIST_HEADER_ROW + 2):
            if row[0].value == "card_payments" and row[2].value == payment:
                row[3].value = row_hash(conn, "card_payments", payment)
        edited = io.BytesIO()
        book.save(edited)
        forged = casefile.verify(conn, edited.getvalue())
    assert [message for message, _ in forged.problems] == ["casefile.verify.list_edited"]
    with engine.connect() as conn:
        assert casefile.verify(conn, b"not a workbook").lines("zh") == ["这不是案件材料的 Excel 文件（没有“校验”工作表）"]


def test_the_verify_route_and_who_may_download(service: Any) -> None:
    client, headers, engine = service
    case_id, _ = _decided_approved_rectified(service)
    one = headers["inspector1"]
    assert client.get(f"/api/cases/{case_id}/file.pdf", headers=headers["finance1"]).status_code == 403
    assert client.get("/api/cases/999999/file.xlsx", headers=one).status_code == 404
    # A full file is a reveal: it needs a reason, and both go on the trail.
    assert client.get(f"/api/cases/{case_id}/file.xlsx", params={"reveal": "true"}, headers=one).status_code == 422
    full = client.get(f"/api/cases/{case_id}/file.xlsx", params={"reveal": "true", "reason": "移送县监委"},
                      headers=one)
    assert full.status_code == 200
    _, listed = _hash_list(full.content)
    assert not any("*" in key for _, key, _ in listed)
    with engine.connect() as conn:
        last = conn.execute(select(AuditEntry.action, AuditEntry.detail).order_by(AuditEntry.id.desc()).limit(2)).all()
    assert [a for a, _ in last] == ["casefile_downloaded", "reveal"] and last[1].detail == {"reason": "移送县监委"}
    assert last[0].detail["masked"] is False
    checked = client.post("/api/cases/files/verify", headers=one,
                          files={"file": ("case.xlsx", full.content, casefile.XLSX_TYPE)})
    assert checked.status_code == 200 and checked.json()["ok"] is True, checked.text
    assert checked.json()["lines"][0].startswith(f"案件 {case_id} 的案件材料与库中一致")


@pytest.mark.skipif(shutil.which("pdffonts") is None, reason="poppler-utils (pdffonts) is not installed")
def test_the_pdf_embeds_its_font_and_prints_the_hashes(service: Any, tmp_path: Path) -> None:
    client, headers, engine = service
    case_id, payment = _decided_approved_rectified(service)
    pdf = client.get(f"/api/cases/{case_id}/file.pdf", headers=headers["inspector1"])
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    path = tmp_path / "case.pdf"
    path.write_bytes(pdf.content)
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout.splitlines()[2:]
    assert fonts and all(re.search(r"\byes\s+yes\s+yes\b", line) for line in fonts), fonts  # emb, sub, uni
    assert all("NotoSansSC" in line for line in fonts)
    text = subprocess.run(["pdftotext", "-raw", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout
    flat = re.sub(r"\s", "", text)
    with engine.connect() as conn:
        download = conn.execute(select(AuditEntry.detail).where(AuditEntry.action == "casefile_downloaded")
                                ).scalar_one()
        payment_hash = row_hash(conn, "card_payments", payment)
        case_hash = row_hash(conn, "cases", str(case_id))
    assert download["format"] == "pdf" and f"材料摘要：{download['digest']}" in flat
    assert payment_hash and payment_hash in flat and case_hash and case_hash in flat
    assert "重复领取" in flat and "1234.56" in flat and "村会计张某" in flat  # decision, rectification
    # The history in words, as the case page reads it.
    assert "确认（待复核）重复领取" in flat and "整改期限2018-03-31，追回金额1,234.56" in flat
    assert "一、风险发现与证据" in flat and "七、校验" in flat
    assert "五、居民投诉无关联的居民投诉。" in flat  # the part is there, saying so when none is linked


def test_the_case_file_lists_the_residents_complaints_with_their_hashes(service: Any) -> None:
    """A complaint about a payment the case names, answered: the file's 居民投诉 sheet shows
    its reference, date, text and answer, the phone masked to its last four digits (in full
    in a revealed file); the 校验 list fingerprints it, and an edit of it since is named."""
    from audit.auth.service import principal_for_user
    from audit.complaints import service as complaints
    from audit.models import Complaint

    client, headers, engine = service
    case_id, payment = _case_with_payments_and_a_person(engine)
    with engine.begin() as conn:
        household = conn.execute(select(CardPayment.household_id)
                                 .where(CardPayment.payment_id == payment)).scalar_one()
        complaint_id, reference = complaints.file(conn, household_id=household, payment_id=payment, name="王某某",
                                                  phone="13812345678", text="这一笔没收到。", actor="test")
        complaints.answer(conn, complaint_id, "已转镇纪委核查。", principal_for_user(conn, "inspector1"))
        assert complaints.counts_by_case(conn, [case_id]) == {case_id: 1}

    workbook = client.get(f"/api/cases/{case_id}/file.xlsx", headers=headers["inspector1"]).content
    book = load_workbook(io.BytesIO(workbook), read_only=True)
    rows = [tuple("" if v is None else str(v) for v in row) for row in book["居民投诉"].iter_rows(values_only=True)]
    assert rows[0][:7] == ("查询编号", "收到时间", "投诉人", "联系电话", "投诉内容", "状态", "答复")
    with engine.connect() as conn:
        stored = conn.execute(select(Complaint).where(Complaint.id == complaint_id)).one()
        fingerprint = row_hash(conn, "complaints", str(complaint_id))
    assert len(rows) == 2
    assert rows[1][0] == reference and rows[1][1].startswith(stored.received_at.strftime("%Y-%m-%d"))
    assert rows[1][2:7] == ("王某某", "*******5678", "这一笔没收到。", "已答复", "已转镇纪委核查。")
    assert rows[1][8] == fingerprint and "13812345678" not in json.dumps(rows, ensure_ascii=False)
    claimed, listed = _hash_list(workbook)
    assert ("complaints", str(complaint_id), fingerprint) in listed
    with engine.connect() as conn:
        assert casefile.verify(conn, workbook).ok

    # An answer rewritten since the download: the verifier names the complaint.
    with engine.begin() as conn:
        conn.execute(update(Complaint).where(Complaint.id == complaint_id).values(answer="经核查属实。"))
    with engine.connect() as conn:
        changed = casefile.verify(conn, workbook)
    assert [(message, fields["key"]) for message, fields in changed.problems] == [
        ("casefile.verify.changed", str(complaint_id))]
    assert changed.lines("zh")[1].startswith(f"居民投诉 {complaint_id}（居民投诉 {reference}）")

    # A full-number file (a reason, on the trail) shows the phone in full.
    revealed = client.get(f"/api/cases/{case_id}/file.xlsx", params={"reveal": "true", "reason": "移送公安机关"},
                          headers=headers["inspector1"])
    assert revealed.status_code == 200
    sheet = load_workbook(io.BytesIO(revealed.content), read_only=True)["居民投诉"]
    assert list(sheet.iter_rows(values_only=True))[1][3] == "13812345678"

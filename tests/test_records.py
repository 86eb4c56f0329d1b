"""Records over HTTP: uploads by the same importer, single records created once per
Idempotency-Key (concurrent retries included), paged reads masked by role."""

from __future__ import annotations

import io
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from audit.models import CardPayment, ImportBatch
from tests.conftest import BAD, COUNTY, data_counts, logged_in



def zipped(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for file in folder.glob("*.csv"):
            archive.write(file, file.name)
    return buffer.getvalue()


@pytest.fixture
def api(engine: Engine) -> tuple[TestClient, dict[str, dict[str, str]], Engine]:
    client, headers = logged_in(engine, {"admin1": "admin", "finance1": "finance", "inspector1": "inspector"})
    return client, headers, engine


def test_an_uploaded_dataset_goes_through_the_same_importer(api: Any) -> None:
    client, headers, engine = api
    admin = {**headers["admin1"], "content-type": "application/zip"}
    done = client.post("/api/datasets", content=zipped(COUNTY), headers=admin)
    assert done.status_code == 200, done.text[:500]
    assert done.json()["counts"]["households"]["inserted"] == 2001
    before = data_counts(engine)
    rejected = client.post("/api/datasets", content=zipped(BAD), headers=admin)
    assert rejected.status_code == 422
    assert len(rejected.json()["errors"]) == 25 and rejected.json()["outcome"] == "rejected"
    assert data_counts(engine) == before
    # Each error in the reader's language (Chinese without a preference), beside its id and fields.
    decimals = next(e for e in rejected.json()["errors"] if e["message"] == "error.import.amount_decimals")
    assert decimals["reason"] == "金额最多保留 2 位小数" and decimals["fields"] == {}
    head = next(e for e in rejected.json()["errors"] if e["message"] == "error.import.id_number_check")
    assert head["reason"].startswith("身份证号校验位为 ") and "*" in head["value"]  # the ID masked
    english = client.post("/api/datasets", content=zipped(BAD), headers={**admin, "Accept-Language": "en-US,en"})
    assert {"message": "error.import.amount_decimals", "reason": "amount has more than 2 decimals"}.items() <= next(
        e for e in english.json()["errors"] if e["message"] == "error.import.amount_decimals").items()
    # A file that is no archive: the dataset's own reason, in the reader's language.
    broken = client.post("/api/datasets", content=b"not a zip at all", headers=admin)
    assert broken.status_code == 422 and broken.json()["message"] == "error.dataset_unreadable"
    assert broken.json()["detail"].startswith("数据无法读取：") and "不是可读取的 zip 压缩包" in broken.json()["detail"]
    with engine.connect() as conn:
        assert conn.execute(select(ImportBatch.outcome).order_by(ImportBatch.id.desc()).limit(1)).scalar_one() \
            == "rejected"
    assert client.post("/api/datasets", content=b"x", headers={**headers["admin1"], "content-type": "text/plain"}
                       ).status_code == 415


def _payment(engine: Engine) -> dict[str, str]:
    from audit.importer.service import import_path

    import_path(engine, COUNTY)
    with engine.connect() as conn:
        row = conn.execute(select(CardPayment).limit(1)).one()
    return {"payment_id": "API-0001", "program_code": "MEDICAL_AID", "id_number": row.id_number,
            "household_id": row.household_id, "card_account": row.card_account, "amount": "1200.00",
            "period": "2017", "paid_on": "2017-12-28", "paying_unit": row.paying_unit}


def test_a_record_is_created_once_per_idempotency_key(api: Any) -> None:
    client, headers, engine = api
    body = _payment(engine)
    assert client.post("/api/records/card_payments", json=body, headers={
        **headers["finance1"], "Idempotency-Key": "roster-2017-12-28-0001"}).status_code == 403  # by import only
    finance = {**headers["admin1"], "Idempotency-Key": "roster-2017-12-28-0001"}
    first = client.post("/api/records/card_payments", json=body, headers=finance)
    assert first.status_code == 201 and first.json()["outcome"] == "inserted"
    again = client.post("/api/records/card_payments", json=body, headers=finance)
    assert again.status_code == 201 and again.json() == first.json()
    other = client.post("/api/records/card_payments", json={**body, "amount": "1300.00"}, headers=finance)
    assert other.status_code == 422
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(CardPayment)
                            .where(CardPayment.payment_id == "API-0001")).scalar_one() == 1
    bad = client.post("/api/records/card_payments", json={**body, "payment_id": "API-2", "amount": "12.345"},
                      headers={**headers["admin1"], "Idempotency-Key": "another-key-0002"})
    assert bad.status_code == 422 and bad.json()["message"] == "error.record_invalid"
    assert [(e["column"], e["message"], e["reason"]) for e in bad.json()["errors"]] == [
        ("amount", "error.import.amount_decimals", "金额最多保留 2 位小数")]
    assert client.post("/api/records/card_payments", json=body, headers=headers["admin1"]).status_code == 422


def test_concurrent_requests_with_one_key_create_one_record(api: Any) -> None:
    from audit.api.app import create_app

    _, headers, engine = api
    body = {**_payment(engine), "payment_id": "API-CONC"}
    finance = {**headers["admin1"], "Idempotency-Key": "concurrent-key-0001"}

    def send(_: int) -> tuple[int, dict[str, Any]]:
        response = TestClient(create_app()).post("/api/records/card_payments", json=body, headers=finance)
        return response.status_code, response.json()

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(send, range(4)))
    assert {status for status, _ in results} == {201}
    assert len({str(body) for _, body in results}) == 1
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(CardPayment)
                            .where(CardPayment.payment_id == "API-CONC")).scalar_one() == 1


def test_records_are_read_paged_and_masked_for_all_but_inspectors(api: Any) -> None:
    client, headers, engine = api
    _payment(engine)
    village = "4306811002" + "00"
    params = {"village_code": village, "limit": 5}
    finance = client.get("/api/records/households", params=params, headers=headers["finance1"]).json()
    inspector = client.get("/api/records/households", params=params, headers=headers["inspector1"]).json()
    assert finance["total"] == inspector["total"] > 5 and len(finance["items"]) == 5
    assert "*" in finance["items"][0]["head_id_number"] and "*" not in inspector["items"][0]["head_id_number"]
    assert client.get("/api/records/households", params={"colour": "red"}, headers=headers["finance1"]).status_code == 422
    refused = client.get("/api/records/card_payments", params={"amount": "x"},
                         headers={**headers["finance1"], "Accept-Language": "en"})
    assert refused.status_code == 422
    assert refused.json()["detail"] == "the filter amount cannot take x (not an amount in yuan (e.g. 1250.50))"
    assert client.get("/api/records/nothing", headers=headers["finance1"]).status_code == 404
    assert client.get("/api/records/villages", params={"exit_year": "9" * 30}, headers=headers["finance1"]
                      ).status_code == 422
    paid = client.get("/api/records/card_payments", params={"amount": "1200.00", "program_code": "MEDICAL_AID"},
                      headers=headers["inspector1"]).json()
    assert all(item["amount"] == "1200.00" for item in paid["items"])

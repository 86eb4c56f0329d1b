"""The service through HTTP: login, the policy walked pair by pair, the four-eyes review of
a case to its closing, masking, and the audit trail's verification."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, insert, select, text, update

from audit import trail
from audit.api.app import routers
from audit.api.deps import Allowed
from audit.api.policy import POLICY, allows
from audit.auth.service import create_unit
from audit.db import get_engine
from audit.detection.service import detect
from audit.importer.service import import_path
from audit.models import ApiToken, AuditEntry, Case, Town
from tests.conftest import COUNTY, logged_in, tamper

FULL_ID = re.compile(r"(?<![0-9A-Za-z*])\d{17}[\dX](?![0-9A-Za-z])")


@pytest.fixture
def service(engine: Engine) -> Iterator[tuple[TestClient, dict[str, dict[str, str]], Engine]]:
    assert import_path(engine, COUNTY).outcome == "committed"
    detect(engine)
    client, headers = logged_in(engine, {"inspector1": "inspector", "inspector2": "inspector",
                                         "finance1": "finance", "disclosure1": "disclosure", "admin1": "admin"})
    yield client, headers, engine


def _top_case(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(Case.id).where(Case.status == "open")
                            .order_by(Case.score.desc(), Case.id).limit(1)).scalar_one()


def test_login_refuses_a_wrong_password_and_an_expired_token(service: Any) -> None:
    client, headers, engine = service
    assert client.post("/api/auth/login", json={"name": "inspector1", "password": "nope"}).status_code == 401
    me = client.get("/api/me", headers=headers["finance1"]).json()
    assert (me["name"], me["role"], me["scope"], me["unit"]) == ("finance1", "finance", "county", "县级")
    assert client.get("/api/me").status_code == 401
    with engine.begin() as conn:
        conn.execute(update(ApiToken).values(expires_at=text("created_at")))
    assert client.get("/api/me", headers=headers["finance1"]).status_code == 401


def _operation(route: Any) -> str | None:
    stack = list(route.dependant.dependencies)
    while stack:
        dependency = stack.pop()
        if isinstance(dependency.call, Allowed):
            return dependency.call.operation
        stack.extend(dependency.dependencies)
    return None


# Every role in each scope it can hold: admins and machine clients are county-level only.
PRINCIPALS = {("inspector", "county"): "inspector1", ("finance", "county"): "finance1",
              ("disclosure", "county"): "disclosure1", ("admin", "county"): "admin1", ("machine", "county"): "machine1",
              ("inspector", "town"): "inspector_town", ("finance", "town"): "finance_town",
              ("disclosure", "town"): "disclosure_town"}


def test_every_role_scope_and_operation_triple_is_enforced(service: Any) -> None:
    client, headers, engine = service
    with engine.begin() as conn:
        town = conn.execute(select(Town.town_code).order_by(Town.town_code).limit(1)).scalar_one()
        create_unit(conn, "归义镇", "town", town, "test")
    _, more = logged_in(engine, {"inspector_town": "inspector", "finance_town": "finance",
                                 "disclosure_town": "disclosure", "machine1": "machine"},
                        units={"inspector_town": "归义镇", "finance_town": "归义镇", "disclosure_town": "归义镇"})
    headers = {**headers, **more}
    case_id = _top_case(engine)
    walked: set[tuple[str, str, str]] = set()
    for router in routers():
        for route in router.routes:
            operation = _operation(route)
            if operation is None:
                continue
            path = "/api" + (route.path.replace("{case_id}", str(case_id)).replace("{decision_id}", "999999")
                    .replace("{check_id}", "999999").replace("{release_id}", "999999").replace("{job_id}", "999999")
                    .replace("{token_id}", "999999").replace("{name}", "nobody")
                    .replace("{complaint_id}", "999999").replace("{batch_id}", "999999")
                    .replace("{watch_id}", "999999"))
            for method in route.methods:
                for (role, scope), name in PRINCIPALS.items():
                    response = client.request(method, path, headers=headers[name], json={})
                    if allows(role, operation, scope):
                        assert response.status_code not in (401, 403), (method, path, role, scope, response.text)
                    else:
                        assert response.status_code == 403, (method, path, role, scope, response.status_code)
                    walked.add((operation, role, scope))
    expected = {(operation, role, scope) for operation in POLICY for role, scope in PRINCIPALS
                if operation != "pii:reveal"}
    assert walked == expected, expected - walked


def test_an_inspector_takes_a_case_through_four_eyes_to_recovery(service: Any) -> None:
    client, headers, engine = service
    case_id = _top_case(engine)
    one, two = headers["inspector1"], headers["inspector2"]
    assert client.post(f"/api/cases/{case_id}/assign", json={"to": "inspector1"}, headers=two).status_code == 204
    assert client.post(f"/api/cases/{case_id}/comments", json={"text": "evidence checked"}, headers=one).status_code == 204
    decided = client.post(f"/api/cases/{case_id}/decisions", json={"decision": "confirmed", "reason": "paid twice"},
                          headers=one)
    assert decided.status_code == 201 and decided.json()["state"] == "pending", decided.text
    decision_id = decided.json()["decision_id"]
    early = client.put(f"/api/cases/{case_id}/rectification", json={"deadline": "2018-03-31"}, headers=one)
    assert early.status_code == 409  # not confirmed until a second inspector approves
    assert client.post(f"/api/cases/{case_id}/decisions/{decision_id}/approve", headers=one).status_code == 403
    assert client.post(f"/api/cases/{case_id}/decisions/{decision_id}/approve", headers=two).status_code == 204
    again = client.post(f"/api/cases/{case_id}/decisions", json={"decision": "dismissed", "reason": "x"}, headers=two)
    assert again.status_code == 409
    fix = {"deadline": "2018-03-31", "recovered": "2860.00", "accountable": ["村会计 张某"], "note": "追回"}
    assert client.put(f"/api/cases/{case_id}/rectification", json=fix, headers=one).status_code == 204
    assert client.post(f"/api/cases/{case_id}/close", headers=one).status_code == 204
    page = client.get(f"/api/cases/{case_id}", headers=one).json()
    assert page["status"] == "closed" and page["assigned_to"] == "inspector1"
    stored = [step for f in page["findings"] for step in f["evidence"]
              if step["kind"] in {"card_payment", "disbursement", "project", "person", "death"}]
    assert stored and all(step["record"] for step in stored)  # each step resolved into its row
    assert page["decisions"][0]["state"] == "effective" and page["decisions"][0]["reviewed_by"] == "inspector2"
    assert page["rectification"]["recovered"] == "2860.00" and page["rectification"]["closed_at"]
    kinds = [event["kind"] for event in page["history"]]
    assert kinds[-5:] == ["comment", "decided", "approved", "rectification", "closed"]
    detect(engine)  # a later run does not reopen or rescore it
    assert client.get(f"/api/cases/{case_id}", headers=one).json()["status"] == "closed"


def test_overdue_rectifications_are_listed(service: Any) -> None:
    client, headers, engine = service
    case_id = _top_case(engine)
    one, two = headers["inspector1"], headers["inspector2"]
    decision = client.post(f"/api/cases/{case_id}/decisions", json={"decision": "confirmed", "reason": "r"},
                           headers=one).json()["decision_id"]
    client.post(f"/api/cases/{case_id}/decisions/{decision}/approve", headers=two)
    client.put(f"/api/cases/{case_id}/rectification", json={"deadline": "2018-01-31"}, headers=one)
    assert [r["case_id"] for r in client.get("/api/rectifications/overdue", headers=one).json()] == [case_id]


def test_numbers_are_masked_unless_revealed_and_a_reveal_is_on_the_record(service: Any) -> None:
    client, headers, engine = service
    one = headers["inspector1"]
    listing = client.get("/api/cases", params={"family": "DC", "limit": 500}, headers=one)
    assert listing.status_code == 200 and listing.json()["total"] > 0
    assert FULL_ID.search(listing.text) is None
    case_id = next(c["id"] for c in listing.json()["items"] if c["subject"]["kind"] == "person")
    masked = client.get(f"/api/cases/{case_id}", headers=one)
    assert FULL_ID.search(masked.text) is None and "*************" in masked.text
    assert client.get(f"/api/cases/{case_id}", params={"reveal": "true"}, headers=one).status_code == 422  # no reason
    revealed = client.get(f"/api/cases/{case_id}", params={"reveal": "true", "reason": "核对身份"}, headers=one)
    assert FULL_ID.search(revealed.text) is not None
    with engine.connect() as conn:
        entry = conn.execute(select(AuditEntry).where(AuditEntry.action == "reveal")).one()
    assert entry.actor == "inspector1" and entry.subject == f"case {case_id}" and entry.detail["reason"] == "核对身份"


def test_filters_and_sorting(service: Any) -> None:
    client, headers, _ = service
    one = headers["inspector1"]
    by_amount = client.get("/api/cases", params={"sort": "amount", "min_amount": "1000"}, headers=one).json()["items"]
    amounts = [float(c["amount_at_risk"]) for c in by_amount]
    assert amounts == sorted(amounts, reverse=True) and min(amounts) >= 1000
    deaths = client.get("/api/cases", params={"code": "dc06"}, headers=one).json()
    assert deaths["total"] == 2 and all("DC-06" in c["codes"] for c in deaths["items"])
    assert client.get("/api/cases", params={"min_score": 2}, headers=one).status_code == 422


def test_the_trail_verifies_and_names_a_changed_deleted_or_inserted_entry(service: Any) -> None:
    client, headers, engine = service
    verdict = client.get("/api/log/verify", headers=headers["admin1"]).json()
    assert verdict["ok"], verdict
    assert verdict["ok"] and verdict["entries"] >= 7  # import, detection, user logins

    with engine.connect() as conn:
        entries = conn.execute(select(AuditEntry).order_by(AuditEntry.id)).all()
    third = entries[2]
    tamper(engine, update(AuditEntry).where(AuditEntry.id == third.id).values(actor="someone else"))
    with engine.connect() as conn:
        assert trail.verify(conn).first_bad == third.id
    tamper(engine, update(AuditEntry).where(AuditEntry.id == third.id).values(actor=third.actor))
    tamper(engine, AuditEntry.__table__.delete().where(AuditEntry.id == entries[3].id))
    with engine.connect() as conn:
        assert trail.verify(conn).first_bad == entries[4].id
    row = dict(entries[3]._mapping)
    tamper(engine, insert(AuditEntry).values(**{**row, "detail": {"forged": True}}))
    with engine.connect() as conn:
        assert trail.verify(conn).first_bad == entries[3].id


def test_postgres_refuses_to_change_the_trail(service: Any, owner_engine: Engine) -> None:
    _, _, engine = service
    if engine.dialect.name != "postgresql":
        pytest.skip("the append-only trigger is PostgreSQL's; SQLite relies on verification")
    from sqlalchemy.exc import DBAPIError

    for statement in (update(AuditEntry).values(actor="x"), AuditEntry.__table__.delete(),
                      text("TRUNCATE audit_log")):
        # The service's role has no such right at all; the owner meets the append-only trigger.
        with pytest.raises(DBAPIError, match="permission denied for table audit_log"):
            with engine.begin() as conn:
                conn.execute(statement)
        with pytest.raises(DBAPIError, match="append-only"):
            with owner_engine.begin() as conn:
                conn.execute(statement)


def test_every_route_has_a_one_line_docstring(service: Any) -> None:
    client, _, _ = service
    schema = client.get("/api/openapi.json").json()
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            assert operation.get("summary") and operation.get("description"), (method, path)


def test_a_request_never_holds_two_pooled_connections(service: Any) -> None:
    """Twenty finance officers checking at once on a pool of fifteen: if a request took its
    transaction's connection before reading its user on a second one, fifteen requests
    would each hold one and wait for another until the pool's timeout, then fail with 500."""
    client, headers, _ = service
    app_engine = get_engine()
    out, peak = [0], [0]

    def checkout(*_: Any) -> None:
        out[0] += 1
        peak[0] = max(peak[0], out[0])

    def checkin(*_: Any) -> None:
        out[0] -= 1

    event.listen(app_engine, "checkout", checkout)
    event.listen(app_engine, "checkin", checkin)
    try:
        for method, path, role, body in [
                ("post", "/api/checks/disbursements", "finance1", {"disbursements": [
                    {"disbursement_id": "POOL-1", "allocation_id": "none", "payer_unit": "汨罗市财政局",
                     "payee_kind": "org", "payee_id": "91430681MA4L000000", "payee_account": "1",
                     "amount": "1.00", "paid_on": "2017-12-20"}]}),
                ("get", "/api/checks", "finance1", None), ("get", "/api/cases", "inspector1", None)]:
            peak[0] = 0
            response = client.request(method, path, json=body, headers=headers[role])
            assert response.status_code == 200, response.text
            assert peak[0] == 1, (path, peak[0])
    finally:
        event.remove(app_engine, "checkout", checkout)
        event.remove(app_engine, "checkin", checkin)


def test_text_with_a_nul_character_is_refused_at_the_door(service: Any) -> None:
    client, headers, _ = service
    assert client.post("/api/auth/login", json={"name": "\x00", "password": "x"}).status_code == 422
    assert client.get("/api/cases", params={"assigned_to": "a\x00"}, headers=headers["inspector1"]).status_code == 422
    assert client.get("/api/cases", headers=headers["inspector1"]).status_code == 200

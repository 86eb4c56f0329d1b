"""Clue hand-out (集中交办) on the shipped county: the county hands a town's open cases to
the town's inspectors in a batch; they decide them (four eyes as ever, in bulk), record
outcomes and return the batch; the county closes it. The report's figures are pinned to
the outcomes recorded; scope keeps a town's inspectors to their town's batches; a bulk
dismissal of serious cases waits for a second inspector and is all or nothing."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from audit.auth.service import create_unit, create_user, principal_for_user
from audit.config import get_settings
from audit.detection.service import detect
from audit.errors import ServiceError
from audit.handouts import service
from audit.importer.service import import_path
from audit.models import AuditEntry, Case, CaseDecision, CaseEvent, HandoutBatch
from tests.conftest import COUNTY, PASSWORD, logged_in

TODAY = date.today()


@pytest.fixture
def county(engine: Engine) -> Engine:
    """The shipped county, detected, with two county inspectors and a finance officer, and
    the two busiest towns' discipline offices with two inspectors each."""
    assert import_path(engine, COUNTY).outcome == "committed"
    detect(engine)
    with engine.begin() as conn:
        towns = [row.town_code for row in conn.execute(
            select(Case.town_code, func.count().label("n")).where(Case.status == "open", Case.town_code.is_not(None))
            .group_by(Case.town_code).order_by(func.count().desc(), Case.town_code).limit(2))]
        for name, role in (("inspector1", "inspector"), ("inspector2", "inspector"), ("finance1", "finance")):
            create_user(conn, name, role, PASSWORD)
        for index, town in enumerate(towns, start=1):
            create_unit(conn, f"乡镇纪委{index}", "town", town, "test")
            for who in ("a", "b"):
                create_user(conn, f"town{index}{who}", "inspector", PASSWORD, unit=f"乡镇纪委{index}")
    engine.info = {"towns": towns}  # type: ignore[attr-defined]
    return engine


def _who(engine: Engine, name: str) -> Any:
    with engine.connect() as conn:
        return principal_for_user(conn, name)


def _open_cases(engine: Engine, town: str, n: int, serious: bool | None = None) -> list[Any]:
    """The first ``n`` open cases of a town by id (serious: those a dismissal of waits for
    a second inspector; not serious: those it does not)."""
    settings = get_settings()
    line = int(settings.four_eyes_min_amount * 100)
    with engine.connect() as conn:
        query = select(Case).where(Case.town_code == town, Case.status == "open").order_by(Case.id)
        if serious is True:
            query = query.where((Case.score >= settings.four_eyes_min_score) | (Case.amount_at_risk_fen >= line))
        if serious is False:
            query = query.where(Case.score < settings.four_eyes_min_score, Case.amount_at_risk_fen < line)
        rows = conn.execute(query.limit(n)).all()
    assert len(rows) == n, (town, n, serious)
    return rows


def _decide_all(engine: Engine, decider: Any, approver: Any, case_ids: list[int], decision: str) -> None:
    """Bulk-decide, then bulk-approve what waits for the second inspector."""
    with engine.begin() as conn:
        done = service.bulk_decide(conn, decider, case_ids, decision, "核查属实" if decision == "confirmed" else "经核实无问题")
    pending = [d["decision_id"] for d in done if d["state"] == "pending"]
    if pending:
        with engine.begin() as conn:
            service.bulk_approve(conn, approver, pending)


def test_a_batch_goes_to_a_town_and_back_and_the_report_counts_its_outcomes(county: Engine) -> None:
    town, other = county.info["towns"]  # type: ignore[attr-defined]
    county_inspector, town_a, town_b = (_who(county, n) for n in ("inspector1", "town1a", "town1b"))
    a, b, c = _open_cases(county, town, 3)
    (d,) = _open_cases(county, other, 1)
    with county.begin() as conn:
        batch = service.create_batch(conn, county_inspector, "2026年第3批", town, TODAY + timedelta(days=10),
                                     [a.id, b.id, c.id], "请于期限内报结")
        late_one = service.create_batch(conn, county_inspector, "2026年第4批", other, TODAY + timedelta(days=1), [d.id])

    # The town's inspectors confirm two (a second one of them approves) and dismiss the third.
    _decide_all(county, town_a, town_b, [a.id, b.id], "confirmed")
    _decide_all(county, town_a, town_b, [c.id], "dismissed")
    with county.begin() as conn:
        service.record_outcome(conn, a.id, town_a, "recovered", "1234.56")
        service.record_outcome(conn, a.id, town_a, "accountability", people=2, accountability_kind="party_discipline")
        service.record_outcome(conn, b.id, town_b, "refunded", "100.04", note="本人退回")
        service.record_outcome(conn, b.id, town_b, "disqualified")
        service.record_outcome(conn, b.id, town_b, "accountability", people=1, accountability_kind="admonish")
        service.record_outcome(conn, b.id, town_b, "filed")

    with county.connect() as conn:
        figures = service.report(conn, county_inspector)
        listed = {x["id"]: x for x in service.list_batches(conn, county_inspector, TODAY + timedelta(days=2))}
    expected = {"handed_out": 3, "decided": 3, "confirmed": 2, "recovered_fen": 123456 + 10004, "people": 3}
    assert figures["total"] == {"handed_out": 4, "decided": 3, "confirmed": 2, "recovered_fen": 133460, "people": 3}
    by_town = {r["town_code"]: r for r in figures["towns"]}
    assert {k: by_town[town][k] for k in expected} == expected
    assert {k: by_town[other][k] for k in expected} == {"handed_out": 1, "decided": 0, "confirmed": 0,
                                                         "recovered_fen": 0, "people": 0}
    assert [(r["title"], r["handed_out"], r["recovered_fen"]) for r in figures["batches"]] == [
        ("2026年第3批", 3, 133460), ("2026年第4批", 1, 0)]
    # By red flag: every case counts under each of its codes.
    money = {a.id: 123456, b.id: 10004, c.id: 0, d.id: 0}
    people = {a.id: 2, b.id: 1, c.id: 0, d.id: 0}
    wanted: dict[str, Counter[str]] = {}
    for case in (a, b, c, d):
        for code in case.codes:
            row = wanted.setdefault(code, Counter())
            row.update({"handed_out": 1, "decided": int(case.id != d.id), "confirmed": int(case.id in (a.id, b.id)),
                        "recovered_fen": money[case.id], "people": people[case.id]})
    assert {r["code"]: {k: r[k] for k in expected} for r in figures["codes"]} == {
        code: {k: row[k] for k in expected} for code, row in wanted.items()}

    # Two days on, the other town's batch is past its deadline with its case undecided: late.
    assert listed[late_one]["late"] and not listed[batch]["late"]
    assert (listed[batch]["decided"], listed[batch]["confirmed"], listed[batch]["undecided"]) == (3, 2, 0)

    # Returned by the town, closed by the county; then no more outcomes count for it.
    with county.begin() as conn:
        with pytest.raises(ServiceError) as refused:
            service.close_batch(conn, batch, county_inspector)
        assert refused.value.message_id == "error.handout_not_returned"
        service.return_batch(conn, batch, town_a)
        with pytest.raises(ServiceError) as refused:
            service.close_batch(conn, batch, town_a)
        assert refused.value.status == 403
        service.close_batch(conn, batch, county_inspector)
    with county.begin() as conn, pytest.raises(ServiceError) as refused:
        service.record_outcome(conn, a.id, town_a, "rectified")
    assert refused.value.message_id == "error.handout_closed"
    other_town = _who(county, "town2a")
    with county.begin() as conn, pytest.raises(ServiceError) as refused:
        service.return_batch(conn, late_one, other_town)
    assert refused.value.message_id == "error.handout_undecided" and refused.value.fields["count"] == 1
    with county.connect() as conn:
        actions = Counter(conn.execute(select(AuditEntry.action)).scalars())
        kinds = Counter(conn.execute(select(CaseEvent.kind).where(CaseEvent.case_id.in_([a.id, b.id]))).scalars())
        status = conn.execute(select(HandoutBatch.status).where(HandoutBatch.id == batch)).scalar_one()
    assert (actions["handout_created"], actions["handout_returned"], actions["handout_closed"],
            actions["case_outcome"]) == (2, 1, 1, 6)
    assert (kinds["handed_out"], kinds["outcome"], status) == (2, 6, "closed")


def test_an_outcome_is_checked_against_its_kind_and_the_case_decision(county: Engine) -> None:
    town, _ = county.info["towns"]  # type: ignore[attr-defined]
    county_inspector, town_a, town_b = (_who(county, n) for n in ("inspector1", "town1a", "town1b"))
    a, b = _open_cases(county, town, 2)
    with county.begin() as conn:
        service.create_batch(conn, county_inspector, "第1批", town, TODAY, [a.id, b.id])
    with county.begin() as conn, pytest.raises(ServiceError) as refused:
        service.record_outcome(conn, a.id, town_a, "recovered", "10.00")
    assert refused.value.message_id == "error.outcome_confirmed_only"  # not decided yet
    _decide_all(county, town_a, town_b, [a.id], "confirmed")
    for kind, amount, people, how, message in (
            ("recovered", "0", 0, None, "error.outcome_needs_amount"),
            ("filed", "5.00", 0, None, "error.outcome_no_amount"),
            ("accountability", "0", 0, "admonish", "error.outcome_needs_people"),
            ("accountability", "0", 2, "a-kind-of-its-own", "error.outcome_needs_people"),
            ("rectified", "0", 1, None, "error.outcome_no_people"),
            ("pardoned", "0", 0, None, "error.outcome_unknown")):
        with county.begin() as conn, pytest.raises(ServiceError) as refused:
            service.record_outcome(conn, a.id, town_a, kind, amount, people, how)
        assert refused.value.message_id == message, kind
    # A case of another town is out of this town's reach.
    (elsewhere,) = _open_cases(county, county.info["towns"][1], 1)  # type: ignore[attr-defined]
    with county.begin() as conn, pytest.raises(ServiceError) as refused:
        service.record_outcome(conn, elsewhere.id, town_a, "filed")
    assert refused.value.status == 404


def test_only_the_county_hands_out_and_a_town_sees_its_own_batches(county: Engine) -> None:
    town, other = county.info["towns"]  # type: ignore[attr-defined]
    a, b = _open_cases(county, town, 2)
    (d,) = _open_cases(county, other, 1)
    client, headers = logged_in(county, {})
    for name in ("inspector1", "town1a", "town2a", "finance1"):
        response = client.post("/api/auth/login", json={"name": name, "password": PASSWORD})
        headers[name] = {"Authorization": f"Bearer {response.json()['access_token']}"}
    deadline = (TODAY + timedelta(days=7)).isoformat()
    body = {"title": "2026年第1批", "town_code": town, "deadline": deadline, "case_ids": [a.id, b.id]}
    assert client.post("/api/handouts", json=body, headers=headers["finance1"]).status_code == 403
    assert client.post("/api/handouts", json=body, headers=headers["town1a"]).status_code == 403
    stray = client.post("/api/handouts", json={**body, "case_ids": [a.id, d.id]}, headers=headers["inspector1"])
    assert stray.status_code == 422 and stray.json()["message"] == "error.handout_case_elsewhere"
    mine = client.post("/api/handouts", json=body, headers=headers["inspector1"])
    assert mine.status_code == 201, mine.text
    again = client.post("/api/handouts", json={**body, "title": "重复"}, headers=headers["inspector1"])
    assert again.status_code == 409 and again.json()["message"] == "error.handout_case_taken"
    theirs = client.post("/api/handouts", json={"title": "2026年第2批", "town_code": other, "deadline": deadline,
                                                "case_ids": [d.id]}, headers=headers["inspector1"]).json()["id"]
    batch = mine.json()["id"]

    assert [x["id"] for x in client.get("/api/handouts", headers=headers["town1a"]).json()] == [batch]
    assert [x["id"] for x in client.get("/api/handouts", headers=headers["town2a"]).json()] == [theirs]
    assert {x["id"] for x in client.get("/api/handouts", headers=headers["inspector1"]).json()} == {batch, theirs}
    assert client.get(f"/api/handouts/{theirs}", headers=headers["town1a"]).status_code == 404
    assert client.get(f"/api/handouts/{batch}", headers=headers["finance1"]).status_code == 403
    seen = client.get(f"/api/handouts/{batch}", headers=headers["town1a"]).json()
    assert [c["id"] for c in seen["cases"]] == [a.id, b.id] and seen["town_code"] == town
    assert [r["town_code"] for r in client.get("/api/handouts/report", headers=headers["town1a"]).json()["towns"]] \
        == [town]
    # Another town's case is not decided through this town's batch.
    foreign = client.post("/api/handouts/decisions", json={"case_ids": [d.id], "decision": "dismissed",
                                                           "reason": "无问题"}, headers=headers["town1a"])
    assert foreign.status_code == 404


def test_a_bulk_dismissal_of_serious_cases_waits_for_a_second_inspector_all_or_none(county: Engine) -> None:
    town, _ = county.info["towns"]  # type: ignore[attr-defined]
    a, b = _open_cases(county, town, 2, serious=True)
    client, headers = logged_in(county, {})
    for name in ("town1a", "town1b"):
        response = client.post("/api/auth/login", json={"name": name, "password": PASSWORD})
        headers[name] = {"Authorization": f"Bearer {response.json()['access_token']}"}
    one, two = headers["town1a"], headers["town1b"]
    done = client.post("/api/handouts/decisions", json={"case_ids": [a.id, b.id], "decision": "dismissed",
                                                        "reason": "经核实系政策允许"}, headers=one)
    assert done.status_code == 201, done.text
    assert [(d["case_id"], d["state"]) for d in done.json()] == [(a.id, "pending"), (b.id, "pending")]
    ids = [d["decision_id"] for d in done.json()]
    own = client.post("/api/handouts/approvals", json={"decision_ids": ids}, headers=one)
    assert own.status_code == 403 and own.json()["message"] == "error.second_inspector_needed"
    with county.connect() as conn:
        states = dict(conn.execute(select(CaseDecision.case_id, CaseDecision.state)
                                   .where(CaseDecision.id.in_(ids))).all())
        status = dict(conn.execute(select(Case.id, Case.status).where(Case.id.in_([a.id, b.id]))).all())
    assert states == {a.id: "pending", b.id: "pending"} and status == {a.id: "open", b.id: "open"}
    approved = client.post("/api/handouts/approvals", json={"decision_ids": ids}, headers=two)
    assert approved.status_code == 200 and approved.json() == {"cases": [a.id, b.id]}
    with county.connect() as conn:
        status = dict(conn.execute(select(Case.id, Case.status).where(Case.id.in_([a.id, b.id]))).all())
    assert status == {a.id: "dismissed", b.id: "dismissed"}

    # All or none: one case already decided, and the other gets no decision either.
    (c,) = _open_cases(county, town, 1)
    mixed = client.post("/api/handouts/decisions", json={"case_ids": [c.id, a.id], "decision": "referred",
                                                         "reason": "移送"}, headers=one)
    assert mixed.status_code == 409
    with county.connect() as conn:
        assert conn.execute(select(func.count()).select_from(CaseDecision)
                            .where(CaseDecision.case_id == c.id)).scalar_one() == 0


def _page_client(name: str) -> Any:
    """A browser-like client of the workspace signed in as ``name``, and its CSRF token."""
    import re

    from fastapi.testclient import TestClient

    from audit.api.app import create_app

    client = TestClient(create_app(), follow_redirects=False)
    form = client.get("/login")
    token = re.search(r'name="login_csrf" value="([^"]+)"', form.text).group(1)
    signed = client.post("/login", data={"name": name, "password": PASSWORD, "login_csrf": token, "next": "/"})
    assert signed.status_code == 303, signed.text[:300]
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/handouts").text).group(1)
    return client, csrf


def test_the_pages_hand_out_decide_refuse_and_report(county: Engine) -> None:
    import io

    import openpyxl

    town, other = county.info["towns"]  # type: ignore[attr-defined]
    a, b = _open_cases(county, town, 2, serious=False)
    chief, chief_csrf = _page_client("inspector1")
    new = chief.get(f"/handouts/new?town={town}")
    assert new.status_code == 200 and f'value="{a.id}"' in new.text
    past = chief.post("/handouts", data={"csrf_token": chief_csrf, "town": town, "title": "第1批",
                                         "deadline": "2000-01-01", "case_id": [a.id]})
    assert past.status_code == 422 and "办理期限 2000-01-01 已过" in past.text
    made = chief.post("/handouts", data={"csrf_token": chief_csrf, "town": town, "title": "2026年第5批",
                                         "deadline": (TODAY + timedelta(days=5)).isoformat(), "note": "",
                                         "case_id": [a.id, b.id]})
    assert made.status_code == 303, made.text[:500]
    batch_url = made.headers["location"].split("?")[0]

    one, one_csrf = _page_client("town1a")
    assert "2026年第5批" in one.get("/handouts").text
    assert one.get("/handouts/new").status_code == 403  # a town does not hand out
    decided = one.post(f"{batch_url}/decide", data={"csrf_token": one_csrf, "decision": "confirmed",
                                                    "reason": "核查属实", "case_id": [a.id, b.id]})
    assert decided.status_code == 303, decided.text[:500]
    with county.connect() as conn:
        own = list(conn.execute(select(CaseDecision.id).where(CaseDecision.case_id.in_([a.id, b.id]))).scalars())
    refused = one.post(f"{batch_url}/approve", data={"csrf_token": one_csrf, "decision_id": own})
    assert refused.status_code == 409 and "不是本批次中待您复核的同事决定" in refused.text
    two, two_csrf = _page_client("town1b")
    assert two.post(f"{batch_url}/approve", data={"csrf_token": two_csrf, "decision_id": own}).status_code == 303
    no_amount = two.post(f"{batch_url}/outcome", data={"csrf_token": two_csrf, "case_id": a.id, "kind": "recovered",
                                                       "amount": ""})
    assert no_amount.status_code == 422 and "须填写大于零的金额" in no_amount.text
    assert two.post(f"{batch_url}/outcome", data={"csrf_token": two_csrf, "case_id": a.id, "kind": "refunded",
                                                  "amount": "0.10"}).status_code == 303
    shown = two.get(batch_url).text
    assert "清退" in shown and "0.10" in shown and "已生效" in shown
    history = chief.get(f"/cases/{a.id}").text
    assert "登记处置结果" in history and "集中交办" in history

    # Another town's inspector does not see the batch.
    stranger, _ = _page_client("town2a")
    assert stranger.get(batch_url).status_code == 404 and "2026年第5批" not in stranger.get("/handouts").text

    sheet = chief.get("/handouts/report.xlsx")
    assert sheet.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(sheet.content))
    lines = {r[0]: r for r in book["按批次"].iter_rows(min_row=2, values_only=True)}
    assert lines["2026年第5批"][2:5] == (2, 2, 2) and f"{lines['2026年第5批'][5]:.2f}" == "0.10"
    assert "0.10" in chief.get("/handouts/report").text


def test_the_inspector_home_counts_late_batches_of_their_scope(county: Engine) -> None:
    """The home screen's count is the batch list's late rule: past the deadline with a case
    undecided; the county sees every town's, a town its own; it links to the open batches."""
    import re

    from sqlalchemy import update

    town, other = county.info["towns"]  # type: ignore[attr-defined]
    chief = _who(county, "inspector1")
    a, b = _open_cases(county, town, 2)
    (c,) = _open_cases(county, other, 1)
    with county.begin() as conn:
        late_here = service.create_batch(conn, chief, "逾期一", town, TODAY + timedelta(days=1), [a.id])
        service.create_batch(conn, chief, "未到期", town, TODAY + timedelta(days=3), [b.id])
        late_there = service.create_batch(conn, chief, "逾期二", other, TODAY + timedelta(days=1), [c.id])
        # Two of them were due yesterday (a batch cannot be made with a past deadline).
        conn.execute(update(HandoutBatch).where(HandoutBatch.id.in_([late_here, late_there]))
                     .values(deadline=TODAY - timedelta(days=1)))

    def shown(name: str) -> int:
        client, _ = _page_client(name)
        home = client.get("/").text
        card = re.search(r'<a class="card stat-link" id="handouts-late" href="([^"]+)">.*?'
                         r'<div class="stat">(\d+)</div>', home, re.S)
        assert card and card.group(1) == "/handouts?status=open"
        return int(card.group(2))

    assert shown("inspector1") == 2
    assert shown("town1a") == 1 and shown("town2a") == 1
    with county.connect() as conn:
        assert service.late_count(conn, chief, TODAY) == 2

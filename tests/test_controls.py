"""Controls that hold: every attack of the "controls" issue, replayed against the service.

Each test names the attack as it was reproduced and asserts the way it now fails: no full
number rebuilt from what a masked reader sees, no one person filling both pairs of eyes by
any path the service offers, one live decision per case whatever races, scopes, logins
that lock out, secrets refused, and the service's database role unable to touch the trail.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, insert, select, text, update
from stdnum.cn import ric

from audit.api.app import create_app
from audit.auth.service import create_unit
from audit.detection.service import detect
from audit.importer.service import import_path
from audit.models import (
    AuditEntry,
    Case,
    CardPayment,
    Death,
    Disclosure,
    Finding,
    Household,
    LoginAttempt,
    Person,
    Rectification,
    Town,
    User,
)
from tests.conftest import COUNTY, PASSWORD, logged_in

USERS = {"inspector1": "inspector", "inspector2": "inspector", "finance1": "finance", "finance2": "finance",
         "disclosure1": "disclosure", "admin1": "admin"}


@pytest.fixture
def county(engine: Engine) -> tuple[TestClient, dict[str, dict[str, str]], Engine]:
    assert import_path(engine, COUNTY).outcome == "committed"
    detect(engine)
    client, headers = logged_in(engine, USERS)
    return client, headers, engine


def _case(engine: Engine, *, min_fen: int = 0, max_fen: int | None = None, kind: str | None = None) -> Any:
    with engine.connect() as conn:
        query = select(Case).where(Case.status == "open", Case.amount_at_risk_fen >= min_fen)
        if max_fen is not None:
            query = query.where(Case.amount_at_risk_fen <= max_fen, Case.score < 0.8)
        if kind:
            query = query.where(Case.subject_kind == kind)
        return conn.execute(query.order_by(Case.amount_at_risk_fen.desc(), Case.id).limit(1)).one()


# ---------------------------------------------------------------------- no number by derivation

def _roster_line(engine: Engine, key: str, home: Any, **change: Any) -> dict[str, Any]:
    return {"payment_id": key, "program_code": "MIN_LIVING", "id_number": home.head_id_number,
            "household_id": home.household_id, "card_account": home.card_account, "amount": "390.00",
            "period": "2018-01", "paid_on": "2018-01-20", "paying_unit": "归义镇财政所", **change}


def _untouched(conn: Any, n: int) -> list[Any]:
    """``n`` low-income households no open finding names and whose head has no death
    registered (a planted case's household would be held for its own reason)."""
    named = {subject["key"] for (subjects,) in conn.execute(select(Finding.subjects).where(
        Finding.status == "open")) for subject in subjects}
    homes = conn.execute(select(Household).where(Household.attribute == "low_income", Household.exited_on.is_(None),
                                                 Household.head_id_number.not_in(select(Death.id_number)))
                         .order_by(Household.household_id)).all()
    return [h for h in homes if h.household_id not in named and h.head_id_number not in named][:n]


def test_a_finance_officer_cannot_rebuild_an_id_number(county: Any) -> None:
    """Attack: a check's evidence printed a masked ID beside the birth date, and filters on
    /records confirmed each of ~60 guesses: 5 of 5 IDs rebuilt in 1.2 s."""
    client, headers, engine = county
    finance = headers["finance1"]
    with engine.begin() as conn:
        homes = _untouched(conn, 5)
        for home in homes:  # each dead: the check shows the person and the death register
            conn.execute(insert(Death).values(id_number=home.head_id_number, died_on=date(2017, 12, 3),
                                              source="火化登记"))
    lines = [_roster_line(engine, f"R{i}", home) for i, home in enumerate(homes)]
    check = client.post("/api/checks/card-roster", json={"card_payments": lines}, headers=finance)
    assert check.status_code == 200, check.text
    recovered = 0
    for home in homes:
        born = ric.get_birth_date(home.head_id_number)
        masked = f"{home.head_id_number[:2]}{'*' * 13}{home.head_id_number[-3:]}"
        assert masked in check.text
        # Nothing beside the masked number gives its birth date, in either form.
        assert born.isoformat() not in check.text and born.strftime("%Y%m%d") not in check.text
        # No lookup confirms a guess: the filters on ID and account columns are refused.
        for path, column, value in (("/api/records/persons", "id_number", home.head_id_number),
                                    ("/api/records/households", "head_id_number", home.head_id_number),
                                    ("/api/records/households", "card_account", home.card_account),
                                    ("/api/records/deaths", "id_number", home.head_id_number),
                                    ("/api/records/card_payments", "card_account", home.card_account)):
            answer = client.get(path, params={column: value}, headers=finance)
            assert answer.status_code == 403, (path, column, answer.text)
            recovered += answer.status_code == 200 and answer.json()["total"] == 1
    assert recovered == 0


def test_a_masked_list_is_not_ordered_by_the_full_number(county: Any) -> None:
    client, headers, engine = county
    listed = client.get("/api/records/persons", params={"limit": 200}, headers=headers["finance1"]).json()["items"]
    with engine.connect() as conn:
        by_id = list(conn.execute(select(Person.id_number).order_by(Person.id_number).limit(200)).scalars())
    masked_by_id = [f"{i[:2]}{'*' * 13}{i[-3:]}" for i in by_id]
    assert [p["id_number"] for p in listed] != masked_by_id
    # Finance finds people by name (in part), village and household instead.
    name = listed[0]["name"][:1]
    found = client.get("/api/records/persons", params={"name": name}, headers=headers["finance1"]).json()
    assert found["total"] > 0 and all(name in p["name"] for p in found["items"])


def test_an_inspectors_bulk_read_of_full_numbers_is_on_the_trail(county: Any) -> None:
    client, headers, engine = county
    page = client.get("/api/records/persons", params={"limit": 7}, headers=headers["inspector1"]).json()
    assert len(page["items"]) == 7 and "*" not in page["items"][0]["id_number"]
    with engine.connect() as conn:
        entry = conn.execute(select(AuditEntry).where(AuditEntry.action == "records_read")).one()
    assert entry.actor == "inspector1" and entry.subject == "persons" and entry.detail["rows"] == 7


def test_codes_that_are_not_personal_data_are_never_masked(county: Any) -> None:
    client, headers, engine = county
    households = client.get("/api/records/households", params={"limit": 3}, headers=headers["finance1"]).json()
    for row in households["items"]:
        assert "*" not in row["household_id"] and "*" not in row["village_code"]
        assert "*" in row["head_id_number"] and "*" in row["card_account"]
    case = _case(engine, kind="project")
    page = client.get(f"/api/cases/{case.id}", headers=headers["inspector1"]).json()
    assert "*" not in page["subject"]["key"]
    orgs = client.get("/api/records/organizations", params={"limit": 3}, headers=headers["admin1"]).json()["items"]
    assert all("*" not in org["uscc"] for org in orgs)


# ---------------------------------------------------------------------- four eyes

def test_no_one_mints_a_token_acting_as_someone_else(county: Any) -> None:
    """Attack: an admin minted API tokens for inspector1 and inspector2, then revealed,
    confirmed and approved a case alone."""
    client, headers, engine = county
    admin = headers["admin1"]
    for person in ("inspector1", "inspector2", "finance2"):
        minted = client.post("/api/auth/api-tokens", json={"label": "x", "user": person}, headers=admin)
        assert minted.status_code == 403, minted.text
    # A user's own tokens are their own: two tokens are still one pair of eyes.
    own = client.post("/api/auth/api-tokens", json={"label": "laptop"}, headers=headers["inspector1"])
    assert own.status_code == 201
    second_token = {"Authorization": f"Bearer {own.json()['access_token']}"}
    case = _case(engine)
    decided = client.post(f"/api/cases/{case.id}/decisions", json={"decision": "confirmed", "reason": "r"},
                          headers=headers["inspector1"]).json()
    assert client.post(f"/api/cases/{case.id}/decisions/{decided['decision_id']}/approve",
                       headers=second_token).status_code == 403
    # A machine user the admin creates holds no inspector operation.
    made = client.post("/api/admin/users", json={"name": "bank-feed", "role": "machine"}, headers=admin)
    assert made.status_code == 201, made.text
    token = client.post("/api/auth/api-tokens", json={"label": "bank", "user": "bank-feed"}, headers=admin)
    assert token.status_code == 201
    machine = {"Authorization": f"Bearer {token.json()['access_token']}"}
    assert client.post(f"/api/cases/{case.id}/decisions/{decided['decision_id']}/approve",
                       headers=machine).status_code == 403
    assert client.get(f"/api/cases/{case.id}", params={"reveal": "true", "reason": "x"}, headers=machine
                      ).status_code == 403


def test_an_admin_who_resets_an_inspectors_password_cannot_approve_through_that_account(county: Any) -> None:
    client, headers, engine = county
    reset = client.post("/api/admin/users/inspector2/reset-password", headers=headers["admin1"])
    assert reset.status_code == 200
    temporary = reset.json()["temporary_password"]
    assert client.get("/api/me", headers=headers["inspector2"]).status_code == 401  # every session ended
    logged = client.post("/api/auth/login", json={"name": "inspector2", "password": temporary}).json()
    taken = {"Authorization": f"Bearer {logged['access_token']}"}
    assert logged["must_change_password"] is True
    assert client.get("/api/cases", headers=taken).status_code == 403  # nothing before a password of one's own
    assert client.post("/api/auth/password", json={"current": temporary, "new": "选一个新的口令 2017"},
                       headers=taken).status_code == 204
    case = _case(engine)
    decided = client.post(f"/api/cases/{case.id}/decisions", json={"decision": "confirmed", "reason": "r"},
                          headers=headers["inspector1"]).json()
    refused = client.post(f"/api/cases/{case.id}/decisions/{decided['decision_id']}/approve", headers=taken)
    assert refused.status_code == 403 and refused.json()["message"] == "error.approval_after_reset"


def test_one_inspector_cannot_drop_a_serious_case_alone(county: Any) -> None:
    """Attack: one inspector alone dismissed and closed a case with 1,731,496.41 yuan at risk."""
    client, headers, engine = county
    one, two = headers["inspector1"], headers["inspector2"]
    serious = _case(engine, min_fen=1_000_000)  # 10,000 yuan and more
    dismissed = client.post(f"/api/cases/{serious.id}/decisions", json={"decision": "dismissed", "reason": "不成立"},
                            headers=one)
    assert dismissed.status_code == 201 and dismissed.json()["state"] == "pending"
    assert client.post(f"/api/cases/{serious.id}/close", headers=one).status_code == 409
    assert client.post(f"/api/cases/{serious.id}/decisions/{dismissed.json()['decision_id']}/approve",
                       headers=one).status_code == 403
    rejected = client.post(f"/api/cases/{serious.id}/decisions/{dismissed.json()['decision_id']}/reject",
                           json={"note": "证据充分，不同意排除"}, headers=two)
    assert rejected.status_code == 204
    page = client.get(f"/api/cases/{serious.id}", headers=one).json()
    assert page["status"] == "open" and page["decisions"][0]["state"] == "rejected"
    referred = client.post(f"/api/cases/{serious.id}/decisions", json={"decision": "referred", "reason": "移送"},
                           headers=one).json()
    assert referred["state"] == "pending"
    # A small, low-score lead may be dismissed by one inspector: a lead is not a sanction.
    small = _case(engine, max_fen=100_000)
    assert client.post(f"/api/cases/{small.id}/decisions", json={"decision": "dismissed", "reason": "核实无误"},
                       headers=one).json()["state"] == "effective"


def _held_roster(engine: Engine) -> tuple[list[dict[str, Any]], str]:
    with engine.begin() as conn:
        homes = _untouched(conn, 3)
        conn.execute(insert(Death).values(id_number=homes[0].head_id_number, died_on=date(2017, 12, 3),
                                          source="火化登记"))
        for home in homes:
            conn.execute(insert(Disclosure).values(
                disclosure_id=f"GS-{home.household_id}", subject_kind="payment_batch",
                subject_ref=f"MIN_LIVING/2018-01/{home.village_code}", channel="both",
                start_on=date(2017, 12, 20), end_on=date(2018, 1, 5)).prefix_with("OR IGNORE")
                if engine.dialect.name == "sqlite" else insert(Disclosure).values(
                disclosure_id=f"GS-{home.household_id}", subject_kind="payment_batch",
                subject_ref=f"MIN_LIVING/2018-01/{home.village_code}", channel="both",
                start_on=date(2017, 12, 20), end_on=date(2018, 1, 5)))
    lines = [_roster_line(engine, "R-DEAD", homes[0]), _roster_line(engine, "R-OVER", homes[1], amount="1300.00"),
             _roster_line(engine, "R-BAD", homes[2], amount="12.345")]
    return lines, homes[0].head_id_number


def test_one_finance_officer_cannot_release_a_dead_persons_payment_alone(county: Any) -> None:
    """Attack: one finance officer released a line held because the beneficiary is dead,
    released an unparseable line ("row 200"), and released a line twice."""
    client, headers, engine = county
    lines, _ = _held_roster(engine)
    check = client.post("/api/checks/card-roster", json={"card_payments": lines}, headers=headers["finance1"]).json()
    held = {line["key"]: {r["code"] for r in line["reasons"]} for line in check["lines"] if line["verdict"] == "hold"}
    assert "DC-06" in held["R-DEAD"] and held["R-BAD"] == {"import"} and "DC-04" in held["R-OVER"]
    path = f"/api/checks/{check['check_id']}/release"
    dead = client.post(path, json={"line": "R-DEAD", "reason": "家属代领"}, headers=headers["finance1"])
    assert dead.status_code == 201 and dead.json()["state"] == "pending"
    approve = f"/api/checks/{check['check_id']}/releases/{dead.json()['release_id']}/approve"
    assert client.post(approve, headers=headers["finance1"]).status_code == 403  # not one's own
    assert client.post(approve, headers=headers["finance2"]).status_code == 204
    assert client.post(path, json={"line": "R-DEAD", "reason": "again"}, headers=headers["finance2"]
                       ).status_code == 409
    bad = client.post(path, json={"line": "R-BAD", "reason": "it is fine"}, headers=headers["finance1"])
    assert bad.status_code == 409 and bad.json()["message"] == "error.release_import_error"
    over = client.post(path, json={"line": "R-OVER", "reason": "补发两个月"}, headers=headers["finance1"])
    assert over.status_code == 201 and over.json()["state"] == "effective"  # DC-04 is not a four-eyes code
    assert client.post(path, json={"line": "R-OVER", "reason": "again"}, headers=headers["finance1"]
                       ).status_code == 409
    stored = client.get(f"/api/checks/{check['check_id']}", headers=headers["finance2"]).json()
    released = {line["key"]: line["released"] for line in stored["lines"] if line["released"]}
    assert released["R-DEAD"]["state"] == "effective" and released["R-DEAD"]["reviewed_by"] == "finance2"


def _confirmed(client: TestClient, headers: dict[str, dict[str, str]], case_id: int) -> None:
    decided = client.post(f"/api/cases/{case_id}/decisions", json={"decision": "confirmed", "reason": "r"},
                          headers=headers["inspector1"]).json()
    assert client.post(f"/api/cases/{case_id}/decisions/{decided['decision_id']}/approve",
                       headers=headers["inspector2"]).status_code == 204


def test_a_recovery_above_the_money_at_risk_needs_a_note_and_an_extension_a_reason(county: Any) -> None:
    """Attack: 65,000 yuan recovered recorded on a 6,500 case; a later deadline took a case
    off the overdue list."""
    client, headers, engine = county
    one = headers["inspector1"]
    case = _case(engine, min_fen=100)
    _confirmed(client, headers, case.id)
    at_risk = case.amount_at_risk_fen
    tenfold = f"{at_risk * 10 // 100}.{at_risk * 10 % 100:02d}"
    path = f"/api/cases/{case.id}/rectification"
    refused = client.put(path, json={"deadline": "2018-01-31", "recovered": tenfold}, headers=one)
    assert refused.status_code == 422 and refused.json()["message"] == "error.recovery_above_risk"
    assert client.put(path, json={"deadline": "2018-01-31", "recovered": tenfold,
                                  "note": "连同违规发放的利息一并追回"}, headers=one).status_code == 204
    later = client.put(path, json={"deadline": "2030-12-31", "recovered": tenfold, "note": "n"}, headers=one)
    assert later.status_code == 422 and later.json()["message"] == "error.extension_needs_reason"
    assert client.put(path, json={"deadline": "2030-12-31", "recovered": tenfold, "note": "n",
                                  "extension_reason": "当事人外出务工，延期追缴"}, headers=one).status_code == 204
    overdue = client.get("/api/rectifications/overdue", headers=one).json()
    row = next(r for r in overdue if r["case_id"] == case.id)  # still past the first deadline
    assert row["original_deadline"] == "2018-01-31" and row["deadline"] == "2030-12-31"
    with engine.connect() as conn:
        fix = conn.execute(select(Rectification).where(Rectification.case_id == case.id)).one()
    assert fix.original_deadline == date(2018, 1, 31)


def test_ten_concurrent_decisions_on_one_case_give_one_success(county: Any) -> None:
    """Attack: on PostgreSQL 10 concurrent decisions on one case all succeeded."""
    _, headers, engine = county
    case = _case(engine)
    who = ["inspector1", "inspector2"] * 5

    def decide(index: int) -> int:
        decision = ("confirmed", "dismissed", "referred")[index % 3]
        return TestClient(create_app()).post(f"/api/cases/{case.id}/decisions",
                                             json={"decision": decision, "reason": f"r{index}"},
                                             headers=headers[who[index]]).status_code

    with ThreadPoolExecutor(max_workers=10) as pool:
        codes = sorted(pool.map(decide, range(10)))
    assert codes == [201] + [409] * 9
    with engine.connect() as conn:
        live = conn.execute(text("SELECT count(*) FROM case_decisions WHERE case_id = :c AND state IN "
                                 "('pending', 'effective')"), {"c": case.id}).scalar_one()
    assert live == 1


def test_the_database_refuses_a_second_live_decision_whatever_the_service_does(county: Any) -> None:
    _, _, engine = county
    case = _case(engine)
    from sqlalchemy.exc import IntegrityError

    with engine.begin() as conn:
        user = conn.execute(select(User.id).where(User.name == "inspector1")).scalar_one()
        row = {"case_id": case.id, "decision": "confirmed", "reason": "r", "decided_by": user,
               "decided_at": date(2018, 1, 1), "state": "pending"}
        conn.execute(text("INSERT INTO case_decisions (case_id, decision, reason, decided_by, decided_at, state) "
                          "VALUES (:case_id, :decision, :reason, :decided_by, :decided_at, :state)"), row)
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(text("INSERT INTO case_decisions (case_id, decision, reason, decided_by, decided_at, state) "
                          "VALUES (:case_id, 'dismissed', 'r', :decided_by, :decided_at, 'effective')"), row)


# ---------------------------------------------------------------------- scopes

def test_a_towns_finance_office_sees_and_checks_its_own_town_only(county: Any) -> None:
    client, headers, engine = county
    with engine.begin() as conn:
        towns = list(conn.execute(select(Town.town_code).order_by(Town.town_code)).scalars())
        create_unit(conn, "古培镇财政所", "town", towns[0], "test")
        mine = conn.execute(select(Household).join(Household.__table__.c.village_code.table, text("1=1"))
                            .limit(0)).all() if False else None
        in_town = conn.execute(text("SELECT h.household_id, h.head_id_number, h.card_account FROM households h "
                                    "JOIN villages v ON v.village_code = h.village_code WHERE v.town_code = :t "
                                    "AND h.exited_on IS NULL ORDER BY h.household_id LIMIT 1"), {"t": towns[0]}).one()
        elsewhere = conn.execute(text("SELECT h.household_id, h.head_id_number, h.card_account FROM households h "
                                      "JOIN villages v ON v.village_code = h.village_code WHERE v.town_code <> :t "
                                      "AND h.exited_on IS NULL ORDER BY h.household_id LIMIT 1"),
                                 {"t": towns[0]}).one()
    assert mine is None
    _, town_headers = logged_in(engine, {"finance_gp": "finance"}, units={"finance_gp": "古培镇财政所"})
    town = town_headers["finance_gp"]
    lines = [_roster_line(engine, "MINE", in_town), _roster_line(engine, "THEIRS", elsewhere)]
    check = client.post("/api/checks/card-roster", json={"card_payments": lines}, headers=town).json()
    verdicts = {line["key"]: line for line in check["lines"]}
    assert [r["code"] for r in verdicts["THEIRS"]["reasons"]] == ["scope"]
    assert "scope" not in {r["code"] for r in verdicts["MINE"]["reasons"]}
    # The county's finance officer reads every check; the town's office not the county's.
    county_check = client.post("/api/checks/card-roster", json={"card_payments": lines[:1]},
                               headers=headers["finance1"]).json()
    assert client.get(f"/api/checks/{county_check['check_id']}", headers=town).status_code == 404
    assert client.get(f"/api/checks/{check['check_id']}", headers=headers["finance1"]).status_code == 200
    listed = client.get("/api/records/households", params={"limit": 1000}, headers=town).json()
    assert listed["total"] > 0 and in_town.household_id in {h["household_id"] for h in listed["items"]}
    assert elsewhere.household_id not in {h["household_id"] for h in listed["items"]}
    assert client.get("/api/records/deaths", headers=town).status_code == 403


# ---------------------------------------------------------------------- logins

def test_failed_logins_are_recorded_and_lock_the_name_out(county: Any) -> None:
    """Attack: failed logins were never recorded, and 300 wrong passwords met no limit."""
    client, _, engine = county
    for attempt in range(5):
        assert client.post("/api/auth/login", json={"name": "finance1", "password": f"wrong-{attempt}"}
                           ).status_code == 401
    locked = client.post("/api/auth/login", json={"name": "finance1", "password": PASSWORD})
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 0
    with engine.connect() as conn:
        failures = conn.execute(select(LoginAttempt).where(LoginAttempt.name == "finance1",
                                                           LoginAttempt.ok.is_(False))).all()
        actions = [a for (a,) in conn.execute(select(AuditEntry.action).where(AuditEntry.subject == "user finance1"))]
    assert len(failures) == 5 and actions.count("login_failed") == 5 and "login_locked" in actions
    # The window passes: the name may log in again.
    with engine.begin() as conn:
        conn.execute(update(LoginAttempt).values(at=datetime.now(UTC) - timedelta(minutes=16)))
    assert client.post("/api/auth/login", json={"name": "finance1", "password": PASSWORD}).status_code == 200


def test_twenty_failures_from_one_address_lock_the_address_out(county: Any) -> None:
    client, _, _ = county
    for attempt in range(20):
        assert client.post("/api/auth/login", json={"name": f"nobody{attempt}", "password": "x"}).status_code == 401
    assert client.post("/api/auth/login", json={"name": "inspector1", "password": PASSWORD}).status_code == 429


def test_deactivation_revokes_every_token_and_reactivation_revives_none(county: Any) -> None:
    client, headers, _ = county
    admin = headers["admin1"]
    extra = client.post("/api/auth/api-tokens", json={"label": "script"}, headers=headers["disclosure1"]).json()
    api = {"Authorization": f"Bearer {extra['access_token']}"}
    assert client.get("/api/me", headers=api).status_code == 200
    assert client.post("/api/admin/users/disclosure1/deactivate", headers=admin).status_code == 204
    assert client.get("/api/me", headers=headers["disclosure1"]).status_code == 401
    assert client.post("/api/admin/users/disclosure1/activate", headers=admin).status_code == 204
    assert client.get("/api/me", headers=headers["disclosure1"]).status_code == 401
    assert client.get("/api/me", headers=api).status_code == 401
    assert client.post("/api/auth/login", json={"name": "disclosure1", "password": PASSWORD}).status_code == 200


def test_logout_revokes_the_token_it_came_with(county: Any) -> None:
    client, headers, _ = county
    assert client.post("/api/auth/logout", headers=headers["finance2"]).status_code == 204
    assert client.get("/api/me", headers=headers["finance2"]).status_code == 401
    assert client.get("/api/me", headers=headers["finance1"]).status_code == 200


@pytest.mark.parametrize("password, reason", [("short-pass", "error.password_too_short"),
                                               ("inspector3inspector3", "error.password_is_name"),
                                               ("password12345", "error.password_common"),
                                               ("qwertyuiop123", "error.password_common")])
def test_weak_passwords_are_refused(county: Any, password: str, reason: str) -> None:
    client, headers, _ = county
    made = client.post("/api/admin/users", json={"name": "inspector3", "role": "inspector"}, headers=headers["admin1"])
    temporary = made.json()["temporary_password"]
    token = client.post("/api/auth/login", json={"name": "inspector3", "password": temporary}).json()["access_token"]
    changed = client.post("/api/auth/password", json={"current": temporary, "new": password},
                          headers={"Authorization": f"Bearer {token}"})
    assert changed.status_code == 422 and changed.json()["message"] == reason


# ---------------------------------------------------------------------- bad input gets a 4xx

def test_absurd_values_get_a_clear_4xx(county: Any) -> None:
    """Attack: amounts of 2^63 fen and more, amount=1e400 as a filter, an as_of of
    0001-01-01, a login name holding a lone surrogate, Arabic-Indic digits: 500s."""
    client, headers, _ = county
    assert client.get("/api/records/card_payments", params={"amount": "1e400"}, headers=headers["inspector1"]
                      ).status_code == 422
    assert client.get("/api/records/card_payments", params={"amount": "١٢٣"}, headers=headers["inspector1"]
                      ).status_code == 422
    assert client.get("/api/cases", params={"min_amount": "١٢٣"}, headers=headers["inspector1"]).status_code == 422
    assert client.post("/api/detect", json={"as_of": "0001-01-01"}, headers=headers["admin1"]).status_code == 422
    assert client.post("/api/detect", json={"as_of": "9999-12-31"}, headers=headers["admin1"]).status_code == 422
    created = client.post("/api/records/projects", headers={**headers["admin1"], "Idempotency-Key": "huge-budget-1"},
                          json={"project_id": "XM-HUGE", "name": "x", "category": "industry",
                                "village_code": "430681100200", "budget": "99999999999999999999.99",
                                "approved_on": "2017-01-01"})
    assert created.status_code == 422
    surrogate = client.post("/api/auth/login", content=b'{"name": "\\ud800", "password": "x"}',
                            headers={"content-type": "application/json"})
    assert surrogate.status_code == 422


# ---------------------------------------------------------------------- secrets and the database role

def test_production_refuses_the_default_or_a_short_log_key() -> None:
    from pydantic import ValidationError

    from audit.config import DEFAULT_LOG_KEY, Settings

    for key in (DEFAULT_LOG_KEY, "short"):
        with pytest.raises(ValidationError, match="AUDIT_LOG_KEY"):
            Settings(database_url="postgresql+psycopg://app@db/audit", log_key=key)
        with pytest.raises(ValidationError, match="AUDIT_LOG_KEY"):
            Settings(env="production", log_key=key)
    assert Settings(env="development", database_url="postgresql+psycopg://app@db/audit", log_key="short")
    assert Settings(database_url="postgresql+psycopg://app@db/audit", log_key="k" * 40).production


def test_serve_refuses_to_start_in_production_with_the_default_key(engine: Engine, database_url: str) -> None:
    from tests.test_cli import audit

    done = audit("serve", "--port", "1", url=database_url, env={"AUDIT_ENV": "production",
                                                                "AUDIT_LOG_KEY": "development-key-change-me"})
    assert done.returncode == 1 and "AUDIT_LOG_KEY" in done.stderr and "Traceback" not in done.stderr


def test_the_service_role_cannot_touch_the_trail(county: Any) -> None:
    _, _, engine = county
    if engine.dialect.name != "postgresql":
        pytest.skip("database roles are PostgreSQL's; SQLite relies on the checkpoints")
    from sqlalchemy.exc import DBAPIError

    for statement in ("ALTER TABLE audit_log DISABLE TRIGGER USER", "SET session_replication_role = replica",
                      "TRUNCATE audit_log", "DELETE FROM audit_log", "UPDATE audit_log SET actor = 'x'",
                      "ALTER TABLE audit_log OWNER TO audit_app", "DROP TABLE audit_log"):
        with pytest.raises(DBAPIError), engine.begin() as conn:
            conn.execute(text(statement))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT current_user")).scalar_one() == "audit_app"
        assert not conn.execute(text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")).scalar_one()


# ---------------------------------------------------------------------- the command line masks

def test_the_command_line_masks_by_default_and_logs_a_reveal(county: Any, database_url: str) -> None:
    from tests.sweep import leaked
    from tests.test_cli import audit

    _, _, engine = county
    listed = audit("cases", "list", "--top", "50", url=database_url)
    assert listed.returncode == 0 and not leaked(listed.stdout), leaked(listed.stdout)[:3]
    exported = audit("findings", "export", "--format", "json", url=database_url)
    assert exported.returncode == 0 and not leaked(exported.stdout)
    revealed = audit("findings", "export", "--format", "csv", "--reveal", url=database_url)
    assert revealed.returncode == 0 and leaked(revealed.stdout)
    with engine.connect() as conn:
        entry = conn.execute(select(AuditEntry).where(AuditEntry.action == "findings_revealed")).one()
    assert entry.detail["findings"] > 0
    assert re.search(r"\d+", revealed.stderr)


def test_a_finance_officer_no_longer_writes_card_payments(county: Any) -> None:
    client, headers, engine = county
    with engine.connect() as conn:
        row = conn.execute(select(CardPayment).limit(1)).one()
    body = {"payment_id": "FIN-1", "program_code": row.program_code, "id_number": row.id_number,
            "card_account": row.card_account, "amount": "1.00", "period": row.period, "paid_on": "2017-12-01",
            "paying_unit": row.paying_unit}
    answer = client.post("/api/records/card_payments", json=body, headers={**headers["finance1"],
                                                                       "Idempotency-Key": "finance-writes-1"})
    assert answer.status_code == 403 and "财政人员" in answer.json()["detail"]

"""The workspace's pages through the app itself: sessions, CSRF, the policy on pages, the
language, and that pages and API keep apart (the API reads no cookie)."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from audit.api.app import create_app, page_routers
from audit.auth.service import create_user
from audit.detection.service import detect
from audit.importer.service import import_path
from audit.models import ApiToken, Case
from audit.web.session import PageAllowed
from tests.conftest import COUNTY, PASSWORD

ROLES = {"inspector1": "inspector", "finance1": "finance", "disclosure1": "disclosure", "admin1": "admin"}


@pytest.fixture
def site(engine: Engine) -> tuple[Engine, dict[str, TestClient]]:
    assert import_path(engine, COUNTY).outcome == "committed"
    detect(engine)
    with engine.begin() as conn:
        for name, role in ROLES.items():
            create_user(conn, name, role, PASSWORD)
    clients = {}
    for name in ROLES:
        client = TestClient(create_app(), follow_redirects=False)
        signed = _sign_in(client, name)
        assert signed.status_code == 303, signed.text[:300]
        clients[name] = client
    return engine, clients


def _sign_in(client: TestClient, name: str, password: str = PASSWORD) -> Any:
    form = client.get("/login")
    token = re.search(r'name="login_csrf" value="([^"]+)"', form.text).group(1)
    return client.post("/login", data={"name": name, "password": password, "login_csrf": token, "next": "/cases"})


def _csrf(client: TestClient, path: str = "/") -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text).group(1)


def test_a_page_needs_a_session_and_the_login_sends_back(engine: Engine) -> None:
    client = TestClient(create_app(), follow_redirects=False)
    answer = client.get("/cases")
    assert answer.status_code == 303 and answer.headers["location"] == "/login?next=/cases"
    page = client.get("/login")
    assert page.status_code == 200 and "登录" in page.text and 'lang="zh-CN"' in page.text


def test_the_session_cookie_is_httponly_strict_and_the_api_ignores_it(site: Any) -> None:
    engine, clients = site
    client = TestClient(create_app(), follow_redirects=False)
    with engine.begin() as conn:
        create_user(conn, "inspector9", "inspector", PASSWORD)
    signed = _sign_in(client, "inspector9")
    cookie = signed.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    assert signed.headers["location"] == "/cases"
    assert client.get("/cases").status_code == 200
    assert client.get("/api/cases").status_code == 401  # a cookie is not a bearer token
    with engine.connect() as conn:
        kinds = set(conn.execute(select(ApiToken.kind)).scalars())
    assert "browser" in kinds


def test_a_form_without_its_csrf_token_is_refused(site: Any) -> None:
    engine, clients = site
    client = clients["inspector1"]
    with engine.connect() as conn:
        case_id = conn.execute(select(Case.id).order_by(Case.score.desc()).limit(1)).scalar_one()
    forged = client.post(f"/cases/{case_id}/comment", data={"text": "x"})
    assert forged.status_code == 403 and "页面已过期" in forged.text
    token = _csrf(client, f"/cases/{case_id}")
    done = client.post(f"/cases/{case_id}/comment", data={"text": "核实中", "csrf_token": token})
    assert done.status_code == 303 and done.headers["location"].endswith("done=case_commented")
    assert "核实中" in client.get(f"/cases/{case_id}").text
    header = client.post(f"/cases/{case_id}/comment", data={"text": "htmx"}, headers={"X-CSRF-Token": token})
    assert header.status_code == 303


def test_a_login_form_needs_its_own_token_and_counts_failures(site: Any) -> None:
    _, _ = site
    client = TestClient(create_app(), follow_redirects=False)
    client.get("/login")
    forged = client.post("/login", data={"name": "finance1", "password": PASSWORD, "login_csrf": "made-up"})
    assert forged.status_code == 403
    for _ in range(5):
        assert _sign_in(client, "finance1", "wrong password here").status_code == 401
    locked = _sign_in(client, "finance1")
    assert locked.status_code == 429 and "登录失败次数过多" in locked.text


@pytest.mark.parametrize("path", ["/", "/cases", "/account"])
def test_pages_speak_the_readers_language(site: Any, path: str) -> None:
    _, clients = site
    client = clients["inspector1"]
    chinese = client.get(path)
    english = client.get(path, headers={"Accept-Language": "en-US,en;q=0.9"})
    assert chinese.status_code == english.status_code == 200
    assert "扶贫资金监管工作台" in chinese.text and "Poverty-fund supervision workspace" in english.text
    token = _csrf(client)
    client.post("/account/language", data={"language": "en", "csrf_token": token})
    assert "Poverty-fund supervision workspace" in client.get(path).text  # the user's setting wins
    client.post("/account/language", data={"language": "", "csrf_token": _csrf(client)})


def _page_operation(route: Any) -> str | None:
    stack = list(route.dependant.dependencies)
    while stack:
        dependency = stack.pop()
        if isinstance(dependency.call, PageAllowed):
            return dependency.call.operation
        stack.extend(dependency.dependencies)
    return None


def test_every_page_follows_the_policy(site: Any) -> None:
    """Each page route as each role: a role the policy refuses gets a 403 page in Chinese."""
    from audit.api.policy import allows

    engine, clients = site
    with engine.connect() as conn:
        case_id = conn.execute(select(Case.id).limit(1)).scalar_one()
    walked = 0
    for router in page_routers():
        for route in router.routes:
            operation = _page_operation(route)
            if operation is None or "GET" not in route.methods:
                continue
            path = (route.path.replace("{case_id}", str(case_id)).replace("{household_id}", "x")
                    .replace("{name}", "x").replace("{project_id}", "x").replace("{uscc}", "x")
                    .replace("{official_id}", "x").replace("{job_id}", "999999").replace("{run_id}", "999999")
                    .replace("{check_id}", "999999").replace("{complaint_id}", "999999").replace("{batch_id}", "999999"))
            for name, role in ROLES.items():
                answer = clients[name].get(path)
                if allows(role, operation):
                    assert answer.status_code in (200, 404), (path, role, answer.status_code)
                else:
                    assert answer.status_code == 403 and "您的角色" in answer.text, (path, role, answer.status_code)
                walked += 1
    assert walked >= 20


def test_logout_revokes_the_session(site: Any) -> None:
    _, clients = site
    client = clients["disclosure1"]
    assert client.get("/").status_code == 200
    assert client.post("/logout", data={"csrf_token": _csrf(client)}).status_code == 303
    assert client.get("/").status_code == 303


def test_the_case_list_exports_to_excel_with_numbers_masked(site: Any) -> None:
    from io import BytesIO

    from openpyxl import load_workbook

    _, clients = site
    answer = clients["inspector1"].get("/cases/export.xlsx", params={"family": "DC"})
    assert answer.status_code == 200
    sheet = load_workbook(BytesIO(answer.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:4] == ("编号", "案件", "风险分", "涉及金额（元）")
    assert len(rows) > 5 and all(isinstance(r[3], float | int) for r in rows[1:])


def test_the_case_list_export_carries_each_case_tier(site: Any) -> None:
    """The last column is the tier in words, the same as the case's stored tier."""
    from io import BytesIO

    from openpyxl import load_workbook
    from sqlalchemy import select

    from audit.models import Case

    engine, clients = site
    answer = clients["inspector1"].get("/cases/export.xlsx", params={"status": "open"})
    assert answer.status_code == 200
    rows = list(load_workbook(BytesIO(answer.content)).active.iter_rows(values_only=True))
    assert rows[0][10] == "分级"
    with engine.connect() as conn:
        tiers = dict(conn.execute(select(Case.id, Case.tier).where(Case.status == "open")).all())
    words = {1: "一级", 2: "二级", 3: "三级"}
    assert len(rows) - 1 == len(tiers)
    assert {row[0]: row[10] for row in rows[1:]} == {case_id: words[tier] for case_id, tier in tiers.items()}
    assert {row[10] for row in rows[1:]} >= {"一级", "二级"}  # the shipped county has both


def test_the_api_documentation_loads_nothing_from_another_host(site: Any) -> None:
    _, clients = site
    docs = clients["inspector1"].get("/docs").text
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in docs
    assert not re.search(r'(src|href)="https?://', docs)


def test_a_household_page_shows_money_that_did_not_move_apart(site: Any) -> None:
    """A failed payment and its reissue: the subtotal counts the reissue once, the failed
    money is shown apart with its reason, the reissue names what it pays again."""
    from sqlalchemy import insert, select

    from audit.models import CardPayment, Household

    engine, clients = site
    with engine.begin() as conn:
        home = conn.execute(select(Household).order_by(Household.household_id).limit(1)).one()
        line = {"program_code": "MEDICAL_AID", "id_number": home.head_id_number, "household_id": home.household_id,
                "card_account": home.card_account or "6228480402564890018", "amount_fen": 123_456, "period": "2017",
                "paying_unit": "归义镇财政所"}
        conn.execute(insert(CardPayment).values(payment_id="WEB-FAILED", paid_on=date(2017, 11, 2), status="failed",
                                                failure_reason="账户已销户", **line))
        conn.execute(insert(CardPayment).values(payment_id="WEB-REISSUE", paid_on=date(2017, 12, 2),
                                                reissue_of="WEB-FAILED", **line))
    page = clients["inspector1"].get(f"/records/household/{home.household_id}").text
    assert "失败未到账 1,234.56 元" in page and "账户已销户" in page and "系补发 WEB-FAILED" in page

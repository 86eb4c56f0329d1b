"""The villagers' window (民生资金查询) and residents' complaints (群众投诉), through the app on
the shipped county: a resident finds their household's payments with their ID number and
name and nothing with a wrong one; every mismatch gets the same page from the same work;
the limits per address and per ID number hold and lift after their window; a complaint
about a payment reaches the inspectors linked to it and is answered on the trail; a town's
inspectors see their town's complaints only; the count of complaints per case links by
household, person and payment."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, func, insert, select, update

from audit.api.app import create_app
from audit.auth.service import create_unit, create_user
from audit.complaints import service as complaints
from audit.config import get_settings
from audit.db import get_engine
from audit.detection.service import detect
from audit.importer.service import import_path
from audit.masking import mask_id
from audit.models import (
    AuditEntry,
    CardPayment,
    Case,
    Complaint,
    Finding,
    Household,
    Person,
    PublicAttempt,
    Town,
    Village,
)
from audit.public import service as public
from tests.conftest import COUNTY, PASSWORD
from tests.sweep import full_cards, full_ids

def _id(body: str) -> str:
    """A resident ID number the store has never seen: 17 digits and the check character that fits."""
    from stdnum.cn import ric

    return body + ric.calc_check_digit(body + "0")


ELSEWHERE = _id("11010119500307001")  # registered in Beijing
UNKNOWN = _id("11010119900307003")
TOKEN = re.compile(r'name="form_token" value="([^"]+)"')
IDENTITY = re.compile(r'name="identity" value="([^"]+)"')


def _client(address: str = "203.0.113.7") -> TestClient:
    return TestClient(create_app(), follow_redirects=False, client=(address, 40000))


def _token(client: TestClient) -> str:
    page = client.get("/public")
    assert page.status_code == 200, page.text[:300]
    return TOKEN.search(page.text).group(1)


def _lookup(client: TestClient, id_number: str, name: str) -> Any:
    return client.post("/public/lookup", data={"form_token": _token(client), "id_number": id_number, "name": name})


def _complain(client: TestClient, result: Any, payment_id: str, text: str, phone: str) -> Any:
    return client.post("/public/complaints", data={
        "form_token": TOKEN.search(result.text).group(1), "identity": IDENTITY.search(result.text).group(1),
        "payment_id": payment_id, "text": text, "phone": phone})


def _without_tokens(html: str) -> str:
    return IDENTITY.sub("", TOKEN.sub("", html))


@pytest.fixture
def county(engine: Engine) -> Engine:
    assert import_path(engine, COUNTY).outcome == "committed"
    return engine


def _resident(engine: Engine, *, failed: bool = False, x: bool = False) -> Any:
    """A member of a household of the shipped county (with a failed payment, or with an ID
    number ending in X), with their household."""
    with engine.connect() as conn:
        query = select(Person.id_number, Person.name, Person.household_id).order_by(Person.id_number)
        if failed:
            query = query.where(Person.household_id.in_(select(CardPayment.household_id)
                                                         .where(CardPayment.status == "failed")))
        if x:
            query = query.where(Person.id_number.like("%X"))
        return conn.execute(query.limit(1)).one()


def _paid(engine: Engine, household_id: str) -> tuple[int, int, set[str]]:
    """The household's money that reached its card (fen, count) and every card account it used."""
    with engine.connect() as conn:
        rows = conn.execute(select(CardPayment.amount_fen, CardPayment.status, CardPayment.card_account)
                            .where(CardPayment.household_id == household_id,
                                   CardPayment.paid_on <= date.today())).all()
        card = conn.execute(select(Household.card_account).where(Household.household_id == household_id)
                            ).scalar_one()
    paid = [r.amount_fen for r in rows if r.status == "paid"]
    return sum(paid), len(paid), {r.card_account for r in rows} | ({card} if card else set())


def _yuan(fen: int) -> str:
    from audit.i18n import money

    return money(fen)


# ---------------------------------------------------------------------- typing

@pytest.mark.parametrize("typed, expected", [
    ("43068119781012634x", "43068119781012634X"), (" 430681 1978\u30001012 634X ", "43068119781012634X"),
    ("４３０６８１１９７８１０１２６３４ｘ", "43068119781012634X"), ("4306\x0081", "430681")])
def test_an_id_number_is_folded_as_a_resident_types_it(expected: str, typed: str) -> None:
    assert public.normal_id(typed) == expected


def test_an_id_number_is_valid_by_its_check_character_and_birth_date() -> None:
    assert public.valid_id("430681197810126346")
    assert not public.valid_id("430681197810126347")  # check character
    assert not public.valid_id("430681197813126346")  # no 13th month (check character made to fit)
    assert not public.valid_id("43068119781012634")
    assert not public.valid_id("abc")


@pytest.mark.parametrize("typed, expected", [
    ("13812345678", "13812345678"), ("138 1234 5678", "13812345678"), ("+86 138-1234-5678", "13812345678"),
    ("１３８１２３４５６７８", "13812345678"), ("0730-5218726", "0730-5218726"), ("(0730)5218726", "0730-5218726"),
    ("010-62345678", "010-62345678"), ("020 8765 4321", "020-87654321"), ("12812345678", None), ("5218726", None), ("0730-0218726", None),
    ("1381234567", None), ("电话13812345678", None), ("", None)])
def test_a_phone_number_is_a_mobile_or_a_landline_with_its_area_code(typed: str, expected: str | None) -> None:
    assert complaints.normal_phone(typed) == expected


# ---------------------------------------------------------------------- a lookup

def test_a_resident_finds_their_households_payments_with_id_and_name(county: Engine) -> None:
    resident = _resident(county, failed=True)
    paid_fen, paid_count, accounts = _paid(county, resident.household_id)
    client = _client()
    # The ID number as a phone's keyboard may give it: spaced, a lower-case x.
    typed = " ".join([resident.id_number[:6], resident.id_number[6:14], resident.id_number[14:].lower()])
    found = _lookup(client, typed, resident.name)
    assert found.status_code == 200, found.text[:500]
    page = found.text
    with county.connect() as conn:
        place = conn.execute(select(Village.village_name, Town.town_name, Household.head_name)
                             .join(Household, Household.village_code == Village.village_code)
                             .join(Town, Town.town_code == Village.town_code)
                             .where(Household.household_id == resident.household_id)).one()
        programs = set(conn.execute(select(func.count(func.distinct(CardPayment.program_code)))
                                    .where(CardPayment.household_id == resident.household_id)).scalars())
    assert place.village_name in page and place.town_name in page and f"户主：{place.head_name}" in page
    assert resident.name in page and mask_id(resident.id_number) in page
    assert f"<strong>{_yuan(paid_fen)}</strong>" in page and f"共 {paid_count} 笔" in page
    assert "发放失败，未到账" in page and "另有发放失败、未到账的" in page
    assert page.count('class="program"') == programs.pop()
    # No account number at all (not even masked), no full ID number.
    assert not any(account in page or account[-4:] + "<" in page for account in accounts)
    assert full_ids(page) == [] and full_cards(page) == [] and not re.search(r"\*{4,}[0-9]{4}", page)
    assert resident.id_number not in page
    assert found.headers["cache-control"] == "no-store" and "default-src 'self'" in found.headers[
        "content-security-policy"]
    # Assets from this app only.
    assert not re.search(r'(src|href)="(https?:)?//', page)
    with county.connect() as conn:
        entry = conn.execute(select(AuditEntry).where(AuditEntry.action == "public_lookup")).one()
        attempt = conn.execute(select(PublicAttempt)).one()
    assert entry.actor == "public:203.0.113.7" and entry.subject == f"household {resident.household_id}"
    assert entry.detail["matched"] is True and entry.detail["id"] == mask_id(resident.id_number)
    assert attempt.ok and attempt.address == "203.0.113.7" and attempt.id_key == public.id_key(resident.id_number)
    assert resident.id_number not in str(entry.detail) and resident.id_number not in attempt.id_key


def test_only_money_paid_by_today_is_shown(county: Engine) -> None:
    """A line dated after today (a batch entered ahead of its pay day) is not money the
    household has received: neither listed nor counted."""
    resident = _resident(county)
    paid_fen, paid_count, _ = _paid(county, resident.household_id)
    with county.begin() as conn:
        home = conn.execute(select(Household).where(Household.household_id == resident.household_id)).one()
        conn.execute(insert(CardPayment).values(
            payment_id="FUTURE-1", program_code="MEDICAL_AID", id_number=resident.id_number,
            household_id=resident.household_id, card_account=home.card_account or "6228480402564890018",
            amount_fen=777_700, period=str(date.today().year + 1), paid_on=date.today() + timedelta(days=1),
            paying_unit="某镇财政所"))
    page = _lookup(_client(), resident.id_number, resident.name).text
    assert "FUTURE-1" not in page and "7,777.00" not in page
    assert f"<strong>{_yuan(paid_fen)}</strong>" in page and f"共 {paid_count} 笔" in page


def test_a_head_registered_elsewhere_is_found_by_the_households_own_record(county: Engine, owner_engine: Engine
                                                                          ) -> None:
    """The head of a household who is nobody's member in this county's persons (registered
    elsewhere): the household records the head's number and name, and that is enough."""
    with county.connect() as conn:
        home = conn.execute(select(Household.household_id, Household.head_id_number)
                            .order_by(Household.household_id).limit(1)).one()
    elsewhere = ELSEWHERE
    assert public.valid_id(elsewhere)
    with owner_engine.begin() as conn:
        conn.execute(update(Household).where(Household.household_id == home.household_id)
                     .values(head_id_number=elsewhere, head_name="欧阳明"))
    found = _lookup(_client(), elsewhere, "欧阳明")
    assert found.status_code == 200 and "户主：欧阳明" in found.text and "查询结果" in found.text
    assert _lookup(_client(), elsewhere, "欧阳").text.count("没有查到与这个身份证号和姓名相符的记录") == 1


def test_a_wrong_name_an_unknown_id_and_a_malformed_id_get_the_same_page_from_the_same_work(county: Engine) -> None:
    resident = _resident(county)
    unknown = UNKNOWN
    assert public.valid_id(unknown) and resident.id_number != unknown
    client = _client()
    pages, statements = [], []
    engine = get_engine()
    for id_number, name in ((resident.id_number, resident.name[:-1] + "某"), (unknown, resident.name),
                            ("43068119781012", resident.name), ("", "")):
        token = _token(client)
        seen: list[str] = []

        def remember(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            seen.append(statement)

        event.listen(engine, "before_cursor_execute", remember)
        try:
            answer = client.post("/public/lookup", data={"form_token": token, "id_number": id_number, "name": name})
        finally:
            event.remove(engine, "before_cursor_execute", remember)
        assert answer.status_code == 200
        pages.append(_without_tokens(answer.text))
        statements.append(seen)
    assert "没有查到与这个身份证号和姓名相符的记录" in pages[0]
    assert all(p == pages[0] for p in pages), "a mismatch told apart by its page"
    # The store is asked the same statements in the same order: nothing to time apart.
    assert all(s == statements[0] for s in statements), [len(s) for s in statements]
    assert any("persons" in s and "households" in s and "UNION ALL" in s for s in statements[0])
    with county.connect() as conn:
        attempts = conn.execute(select(PublicAttempt.ok)).scalars().all()
        entries = conn.execute(select(AuditEntry.subject, AuditEntry.detail)
                               .where(AuditEntry.action == "public_lookup")).all()
    assert attempts == [False] * 4
    assert [e.subject for e in entries] == ["public window"] * 4 and not any(e.detail["matched"] for e in entries)


def test_a_form_from_another_site_another_browser_or_too_old_is_refused(county: Engine) -> None:
    resident = _resident(county)
    client = _client()
    token = _token(client)
    stranger = _client()  # no cookie of this window: a form posted from elsewhere
    refused = stranger.post("/public/lookup", data={"form_token": token, "id_number": resident.id_number,
                                                     "name": resident.name})
    assert refused.status_code == 403 and "页面已过期" in refused.text and "查询结果" not in refused.text
    other = _client()
    _token(other)  # a cookie of its own: the token is bound to the first browser's
    assert other.post("/public/lookup", data={"form_token": token, "id_number": resident.id_number,
                                              "name": resident.name}).status_code == 403
    nonce = client.cookies.get("audit_public")
    old = str(int(datetime.now(UTC).timestamp()) - get_settings().public_form_minutes * 60 - 5)
    stale = f"{old}.{public._sign('form', old, nonce)}"
    assert client.post("/public/lookup", data={"form_token": stale, "id_number": resident.id_number,
                                               "name": resident.name}).status_code == 403
    assert client.post("/public/lookup", data={"form_token": "1.✓", "id_number": "x", "name": "y"}).status_code == 403
    with county.connect() as conn:
        assert conn.execute(select(func.count()).select_from(PublicAttempt)).scalar_one() == 0
    assert _lookup(client, resident.id_number, resident.name).status_code == 200
    assert client.get("/public/lookup").status_code == 303  # a result is no address to come back to
    # A form of the window is as small as a login: a megabyte is refused at the door.
    assert client.post("/public/lookup", data={"form_token": _token(client), "id_number": "1" * 20_000,
                                               "name": "x"}).status_code == 413


def test_a_complaint_form_is_good_for_its_minutes_and_for_its_browser_only(monkeypatch: pytest.MonkeyPatch) -> None:
    who = public.Identity(("4306811022060001",), "k" * 64, "张芳凤", "43*************346")
    token = public.identity_token("nonce-of-this-browser-000", who)
    assert public.read_identity(token, "nonce-of-this-browser-000") == who
    for nonce in ("nonce-of-another-browser", None):
        with pytest.raises(public.PublicError):
            public.read_identity(token, nonce)
    later = datetime.now(UTC).timestamp() + get_settings().public_form_minutes * 60 + 5
    monkeypatch.setattr(public.time, "time", lambda: later)
    with pytest.raises(public.PublicError):
        public.read_identity(token, "nonce-of-this-browser-000")


# ---------------------------------------------------------------------- limits

def _age(engine: Engine, owner_engine: Engine) -> None:
    """Every counted attempt as if it were one window old."""
    window = timedelta(minutes=get_settings().public_window_minutes, seconds=1)
    with owner_engine.begin() as conn:
        conn.execute(update(PublicAttempt).values(at=PublicAttempt.at - window))


def test_a_wrong_name_counts_against_the_id_number_until_its_window_has_passed(county: Engine,
                                                                              owner_engine: Engine) -> None:
    resident = _resident(county)
    limit = get_settings().public_failures_per_id
    for attempt in range(limit):  # from several addresses: the ID number is what counts
        wrong = _lookup(_client(f"198.51.100.{attempt}"), resident.id_number, "王某某")
        assert wrong.status_code == 200 and "没有查到" in wrong.text
    for address in ("198.51.100.200", "203.0.113.99"):
        locked = _lookup(_client(address), resident.id_number, resident.name)
        assert locked.status_code == 429 and "查询次数过多" in locked.text and "查询结果" not in locked.text
        assert int(locked.headers["retry-after"]) > 60 * (get_settings().public_window_minutes - 1)
    other = _resident(county, x=True)
    assert _lookup(_client("198.51.100.200"), other.id_number, other.name).status_code == 200  # another ID: free
    with county.connect() as conn:
        refused = conn.execute(select(AuditEntry.detail).where(AuditEntry.action == "public_lookup_refused")
                               ).scalars().all()
        counted = conn.execute(select(func.count()).select_from(PublicAttempt)).scalar_one()
    assert [r["limit"] for r in refused] == ["id", "id"] and counted == limit + 1  # a refusal counts nothing
    _age(county, owner_engine)
    assert _lookup(_client("198.51.100.200"), resident.id_number, resident.name).status_code == 200


def test_an_address_is_limited_and_lifted_after_its_window(county: Engine, owner_engine: Engine,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUDIT_PUBLIC_LOOKUPS_PER_ADDRESS", "3")
    get_settings.cache_clear()
    resident, other = _resident(county), _resident(county, x=True)
    client = _client("192.0.2.44")
    assert _lookup(client, resident.id_number, resident.name).status_code == 200
    assert _lookup(client, other.id_number, other.name).status_code == 200
    assert _lookup(client, UNKNOWN, "张三").status_code == 200  # no match: counts too
    locked = _lookup(client, resident.id_number, resident.name)
    assert locked.status_code == 429 and "请 60 分钟后再试" in locked.text and "查询结果" not in locked.text
    assert _lookup(_client("192.0.2.45"), resident.id_number, resident.name).status_code == 200
    _age(county, owner_engine)
    assert _lookup(client, resident.id_number, resident.name).status_code == 200


# ---------------------------------------------------------------------- complaints

def _inspectors(engine: Engine, town: str | None = None) -> dict[str, TestClient]:
    """Signed-in workspace clients of a county inspector (and a town's, when given)."""
    from tests.test_web import _sign_in

    with engine.begin() as conn:
        create_user(conn, "inspector1", "inspector", PASSWORD)
        if town:
            create_unit(conn, "某镇纪委", "town", town, "test")
            create_user(conn, "inspector_town", "inspector", PASSWORD, unit="某镇纪委")
    clients = {}
    for name in ("inspector1", "inspector_town") if town else ("inspector1",):
        client = TestClient(create_app(), follow_redirects=False)
        assert _sign_in(client, name).status_code == 303
        clients[name] = client
    return clients


def _case_payment(engine: Engine) -> tuple[int, str, str, Any]:
    """A case of the shipped county about a person whose findings name one of their card
    payments: (case id, payment id, household id, the person)."""
    with engine.connect() as conn:
        for finding in conn.execute(select(Finding.case_id, Finding.records, Case.subject_key)
                                    .join(Case, Case.id == Finding.case_id)
                                    .where(Finding.code == "DC-06", Case.subject_kind == "person")
                                    .order_by(Finding.id)):
            paid = [r["key"] for r in finding.records if r["kind"] == "card_payment"]
            person = conn.execute(select(Person).where(Person.id_number == finding.subject_key)).first()
            if paid and person is not None:
                household = conn.execute(select(CardPayment.household_id)
                                         .where(CardPayment.payment_id == paid[0])).scalar_one()
                return finding.case_id, paid[0], household, person
    raise AssertionError("no DC-06 case with a payment in the shipped county")


def test_a_complaint_about_a_payment_reaches_an_inspector_linked_to_it_and_is_answered_on_the_trail(
        county: Engine) -> None:
    detect(county)
    case_id, payment_id, household_id, person = _case_payment(county)
    clients = _inspectors(county)
    inspector = clients["inspector1"]
    assert "待答复的群众投诉" in inspector.get("/").text
    resident = _client()
    found = _lookup(resident, person.id_number, person.name)
    assert found.status_code == 200 and f'data-payment="{payment_id}"' in found.text
    filed = _complain(resident, found, payment_id, "这笔钱我家没有收到，请核实。", "138 1234 5678")
    assert filed.status_code == 200, filed.text[:800]
    reference = re.search(r'class="reference" translate="no">([^<]+)<', filed.text).group(1)
    assert complaints.REFERENCE.match(reference) and "13812345678" in filed.text
    with county.connect() as conn:
        row = conn.execute(select(Complaint)).one()
        filed_entry = conn.execute(select(AuditEntry).where(AuditEntry.action == "complaint_filed")).one()
    assert (row.household_id, row.payment_id, row.name, row.phone, row.status) == (
        household_id, payment_id, person.name, "13812345678", "new")
    assert filed_entry.subject == f"complaint {reference}" and filed_entry.detail["payment_id"] == payment_id

    # The inspector's screens: home count, list, detail with household, payment and case.
    home = inspector.get("/").text
    assert re.search(r'href="/complaints"><div class="muted small">待答复的群众投诉</div><div class="stat">1<', home)
    listing = inspector.get("/complaints").text
    assert reference in listing and "这笔钱我家没有收到" in listing
    detail = inspector.get(f"/complaints/{row.id}")
    assert detail.status_code == 200
    assert f'href="/records/household/{household_id}"' in detail.text and payment_id in detail.text
    assert f'href="/cases/{case_id}"' in detail.text and "13812345678" in detail.text
    assert person.id_number not in detail.text
    # The household's record page and the case page show it.
    assert reference in inspector.get(f"/records/household/{household_id}").text
    assert reference in inspector.get(f"/cases/{case_id}").text
    with county.connect() as conn:
        assert complaints.counts_by_case(conn, [case_id])[case_id] == 1

    # The answer, on record and on the trail; once.
    from tests.test_web import _csrf

    token = _csrf(inspector, f"/complaints/{row.id}")
    answered = inspector.post(f"/complaints/{row.id}/answer",
                              data={"text": "已电话联系，系银行退回后补发，已到账。", "csrf_token": token})
    assert answered.status_code == 303 and answered.headers["location"].endswith("done=complaint_answered")
    after = inspector.get(f"/complaints/{row.id}").text
    assert "已电话联系" in after and "inspector1 于" in after and "答复已记录" not in after.split("<main>")[0]
    again = inspector.post(f"/complaints/{row.id}/answer", data={"text": "再答一次", "csrf_token": token})
    assert again.status_code == 409 and "已经答复过了" in again.text
    with county.connect() as conn:
        entry = conn.execute(select(AuditEntry).where(AuditEntry.action == "complaint_answered")).one()
        stored = conn.execute(select(Complaint)).one()
    assert entry.actor == "inspector1" and entry.subject == f"complaint {reference}"
    assert entry.detail["answer"] == "已电话联系，系银行退回后补发，已到账。"
    assert stored.status == "answered" and stored.answered_at is not None
    assert re.search(r'待答复的群众投诉</div><div class="stat">0<', inspector.get("/").text)


def test_the_api_lists_reads_and_answers_complaints_as_the_screen_does(county: Engine) -> None:
    from tests.conftest import logged_in

    detect(county)
    case_id, payment_id, household_id, person = _case_payment(county)
    resident = _client()
    found = _lookup(resident, person.id_number, person.name)
    text = f"我的身份证号是{person.id_number}，家里的补贴总体上少了，想问问。"
    assert _complain(resident, found, "", text, "0730-5218726").status_code == 200
    client, headers = logged_in(county, {"inspector1": "inspector", "finance1": "finance"})
    listing = client.get("/api/complaints", headers=headers["inspector1"]).json()
    assert listing["total"] == 1 and listing["items"][0]["payment_id"] is None
    complaint_id = listing["items"][0]["id"]
    one = client.get(f"/api/complaints/{complaint_id}", headers=headers["inspector1"]).json()
    assert one["household_id"] == household_id and one["phone"] == "0730-5218726"
    # A number typed into a complaint is shown masked, as in any free text.
    assert person.id_number not in one["text"] and mask_id(person.id_number) in one["text"]
    assert case_id in [c["id"] for c in one["cases"]]  # about a member of the household
    assert client.get("/api/complaints", headers=headers["finance1"]).status_code == 403
    case = client.get(f"/api/cases/{case_id}", headers=headers["inspector1"]).json()
    assert [c["id"] for c in case["complaints"]] == [complaint_id]
    assert client.post(f"/api/complaints/{complaint_id}/answer", json={"text": "已回电说明"},
                       headers=headers["inspector1"]).status_code == 204
    assert client.post(f"/api/complaints/{complaint_id}/answer", json={"text": "again"},
                       headers=headers["inspector1"]).status_code == 409
    assert client.get("/api/complaints", params={"status": "answered"},
                      headers=headers["inspector1"]).json()["total"] == 1


def test_a_complaint_needs_a_phone_and_its_words_and_stays_within_the_household(county: Engine) -> None:
    resident = _resident(county)
    client = _client()
    found = _lookup(client, resident.id_number, resident.name)
    bad_phone = _complain(client, found, "", "我家的补贴少发了两个月。", "12345")
    assert bad_phone.status_code == 422 and "请填写正确的回电号码" in bad_phone.text
    assert "我家的补贴少发了两个月。" in bad_phone.text and "查询结果" in bad_phone.text  # kept to correct
    assert _complain(client, found, "", "少", "13812345678").status_code == 422
    assert _complain(client, found, "", "字" * 1001, "13812345678").status_code == 422
    with county.connect() as conn:
        foreign = conn.execute(select(CardPayment.payment_id).where(
            CardPayment.household_id != resident.household_id).limit(1)).scalar_one()
    elsewhere = _complain(client, found, foreign, "这一笔有问题。", "13812345678")
    assert elsewhere.status_code == 422 and "不是您家的" in elsewhere.text
    forged = client.post("/public/complaints", data={
        "form_token": TOKEN.search(found.text).group(1), "identity": IDENTITY.search(found.text).group(1)[:-2] + "00",
        "payment_id": "", "text": "这一笔有问题。", "phone": "13812345678"})
    assert forged.status_code == 403
    with county.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Complaint)).scalar_one() == 0
    assert _complain(client, found, "", "这\x00一笔有问题。", "13812345678").status_code == 200  # NUL dropped


def test_complaints_are_limited_per_address_and_per_id_number(county: Engine, owner_engine: Engine,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUDIT_PUBLIC_COMPLAINTS_PER_ID", "2")
    get_settings.cache_clear()
    resident = _resident(county)
    for address in ("192.0.2.1", "192.0.2.2"):
        client = _client(address)
        assert _complain(client, _lookup(client, resident.id_number, resident.name), "", "补贴少发了。",
                         "13812345678").status_code == 200
    client = _client("192.0.2.3")
    third = _complain(client, _lookup(client, resident.id_number, resident.name), "", "补贴少发了。", "13812345678")
    assert third.status_code == 429 and "提交次数过多" in third.text
    _age(county, owner_engine)
    assert _complain(client, _lookup(client, resident.id_number, resident.name), "", "补贴少发了。",
                     "13812345678").status_code == 200
    with county.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Complaint)).scalar_one() == 3


def test_a_town_inspector_sees_only_their_towns_complaints(county: Engine) -> None:
    with county.connect() as conn:
        towns = conn.execute(select(Town.town_code).order_by(Town.town_code)).scalars().all()
        people = [conn.execute(select(Person.id_number, Person.name, Person.household_id)
                               .join(Household, Household.household_id == Person.household_id)
                               .join(Village, Village.village_code == Household.village_code)
                               .where(Village.town_code == town).order_by(Person.id_number).limit(1)).one()
                  for town in towns[:2]]
    for person in people:
        client = _client()
        assert _complain(client, _lookup(client, person.id_number, person.name), "", "补贴少发了。",
                         "13812345678").status_code == 200
    clients = _inspectors(county, town=towns[0])
    with county.connect() as conn:
        ours, theirs = (conn.execute(select(Complaint.id).where(Complaint.household_id == p.household_id)
                                     ).scalar_one() for p in people)
    county_wide = clients["inspector1"].get("/complaints").text
    town_only = clients["inspector_town"].get("/complaints").text
    assert f"/complaints/{ours}\"" in county_wide and f"/complaints/{theirs}\"" in county_wide
    assert f"/complaints/{ours}\"" in town_only and f"/complaints/{theirs}\"" not in town_only
    assert clients["inspector_town"].get(f"/complaints/{theirs}").status_code == 404
    assert re.search(r'待答复的群众投诉</div><div class="stat">1<', clients["inspector_town"].get("/").text)


def test_every_page_of_the_window_reads_in_chinese_on_a_phone_and_holds_no_number(county: Engine) -> None:
    resident = _resident(county, failed=True)
    client = _client()
    pages = [client.get("/public"), _lookup(client, resident.id_number, resident.name)]
    pages.append(_complain(client, pages[1], "", "补贴少发了。", "13812345678"))
    for answer in pages:
        assert answer.status_code == 200 and 'lang="zh-CN"' in answer.text
        assert 'name="viewport" content="width=device-width, initial-scale=1"' in answer.text
        assert "/static/app/public.css" in answer.text and "/static/app/app.css" not in answer.text
        assert full_ids(answer.text) == [] and full_cards(answer.text) == []
        assert "ui.public" not in answer.text and "error." not in answer.text
    english = client.get("/public", headers={"Accept-Language": "en"}).text
    assert "Benefit payments lookup" in english


def test_the_window_reads_no_session_a_signed_in_user_is_the_public_there(county: Engine) -> None:
    """Outside the login: a workspace session changes nothing on the window's pages (no menu,
    no user, no CSRF token of the session), and its forms need the window's own token."""
    from tests.test_web import _sign_in

    with county.begin() as conn:
        create_user(conn, "inspector1", "inspector", PASSWORD)
    signed = _client()
    assert _sign_in(signed, "inspector1").status_code == 303
    plain = _client()
    assert _without_tokens(signed.get("/public").text) == _without_tokens(plain.get("/public").text)
    assert "inspector1" not in signed.get("/public").text and "csrf_token" not in signed.get("/public").text
    resident = _resident(county)
    assert signed.post("/public/lookup", data={"id_number": resident.id_number, "name": resident.name}
                       ).status_code == 403


# ---------------------------------------------------------------------- complaints and cases

def test_complaints_count_per_case_by_household_person_and_payment(county: Engine) -> None:
    """The tier's count: a complaint counts for a case about its household, about a member
    or the head of its household, or whose findings name its payment; once each."""
    detect(county)
    case_id, payment_id, household_id, person = _case_payment(county)
    with county.begin() as conn:
        other_home = conn.execute(select(Household.household_id).where(Household.household_id != household_id)
                                  .order_by(Household.household_id).limit(1)).scalar_one()
        other_case = conn.execute(select(Case.id).where(Case.id != case_id).order_by(Case.id).limit(1)
                                  ).scalar_one()
        household_case = conn.execute(insert(Case).values(
            subject_kind="household", subject_key=household_id, title="t", score=0.5, amount_at_risk_fen=0,
            codes=["DC-16"], status="open", created_at=datetime.now(UTC), updated_at=datetime.now(UTC))
            .returning(Case.id)).scalar_one()
        assert complaints.counts_by_case(conn, [case_id, household_case]) == {case_id: 0, household_case: 0}
        complaints.file(conn, household_id=household_id, payment_id=payment_id, name=person.name,
                        phone="13812345678", text="这一笔没收到。", actor="test")
        complaints.file(conn, household_id=household_id, payment_id=None, name=person.name,
                        phone="13812345678", text="总体少发了。", actor="test")
        complaints.file(conn, household_id=other_home, payment_id=None, name="某某", phone="13812345678",
                        text="别家的事情。", actor="test")
        counts = complaints.counts_by_case(conn, [case_id, household_case, other_case, 999_999])
    # The person's case: their household's two (the one about the payment linked both ways, once).
    assert counts[case_id] == 2 and counts[household_case] == 2
    assert 999_999 not in counts and counts[other_case] == (
        1 if other_case in _cases_of(county, other_home) else 0)


def _cases_of(engine: Engine, household_id: str) -> set[int]:
    with engine.connect() as conn:
        members = conn.execute(select(Person.id_number).where(Person.household_id == household_id)).scalars().all()
        return set(conn.execute(select(Case.id).where(
            ((Case.subject_kind == "household") & (Case.subject_key == household_id))
            | ((Case.subject_kind == "person") & Case.subject_key.in_(members)))).scalars())


def test_a_payment_named_by_a_case_links_a_complaint_from_another_household(county: Engine) -> None:
    """A card payment a finding names, complained about by the household it was paid to,
    links the complaint to the case whatever the case's subject (here: made to be another's)."""
    detect(county)
    case_id, payment_id, household_id, _ = _case_payment(county)
    with county.begin() as conn:
        conn.execute(update(Case).where(Case.id == case_id).values(subject_kind="paying_unit",
                                                                   subject_key="某镇财政所"))
        assert complaints.counts_by_case(conn, [case_id]) == {case_id: 0}
        complaints.file(conn, household_id=household_id, payment_id=payment_id, name="某某",
                        phone="13812345678", text="这一笔没收到。", actor="test")
        complaints.file(conn, household_id=household_id, payment_id=None, name="某某",
                        phone="13812345678", text="总体少发了。", actor="test")
        assert complaints.counts_by_case(conn, [case_id]) == {case_id: 1}
        assert [c["payment_id"] for c in complaints.for_case(conn, case_id)] == [payment_id]

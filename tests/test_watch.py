"""Watchlists (我的关注) on the shipped county: an inspector watches a household; an import
that adds a payment to it, and the detection run that then finds it paid twice, each tell
that inspector once (and no one else); running detection again or importing the same file
again tells no one; with nothing watched a hook costs one query; a town's inspector watches
only what lives in their town; numbers stay masked; the bell counts the unread, and the
我的关注 page marks them read."""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, func, select

from audit.api.app import create_app
from audit.auth.service import create_unit, create_user
from audit.detection.service import detect
from audit.importer.service import import_path
from audit.importer.spec import BY_NAME
from audit.masking import mask_account, mask_id
from audit.models import AuditEntry, CardPayment, Household, Notification, Organization, Person, Town, Village, Watch
from audit.watch import service as watches
from tests.browser.test_crawl import ENGLISH_WORD
from tests.conftest import COUNTY, PASSWORD, logged_in

# A household of the shipped county no case is about, and one of its monthly payments.
HOUSEHOLD = "4306811022060002"
PAYMENT = "P2017-0000002"
PLANTED = "P2017-W000001"


@pytest.fixture
def county(engine: Engine) -> Engine:
    assert import_path(engine, COUNTY).outcome == "committed"
    detect(engine)
    return engine


def _api(engine: Engine, town: str | None = None) -> tuple[TestClient, dict[str, dict[str, str]]]:
    """An API client and bearer headers of two county inspectors (and a town's, when given)."""
    units = None
    if town:
        with engine.begin() as conn:
            create_unit(conn, "某镇纪委", "town", town, "test")
        units = {"inspector_town": "某镇纪委"}
    users = {"inspector1": "inspector", "inspector2": "inspector", "finance1": "finance"}
    return logged_in(engine, {**users, **({"inspector_town": "inspector"} if town else {})}, units)


def _plant_payment(folder: Path, payment_id: str = PLANTED) -> Path:
    """A dataset of one card payment: the household's January minimum-living payment again,
    under a new payment id (the same person, program and period: DC-01, paid twice)."""
    with (COUNTY / "card_payments.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    row = next(r for r in rows if r["payment_id"] == PAYMENT)
    assert row["household_id"] == HOUSEHOLD
    folder.mkdir(exist_ok=True)
    with (folder / "card_payments.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, list(row))
        writer.writeheader()
        writer.writerow({**row, "payment_id": payment_id})
    return folder


def _notifications(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(select(Notification.user_id, Notification.kind, Notification.code,
                                        Notification.table_name, Notification.record_key, Notification.read_at)
                                 .order_by(Notification.id)))


def test_an_import_and_the_run_after_it_tell_the_watcher_once_and_no_one_else(county: Engine, tmp_path: Path
                                                                               ) -> None:
    client, headers = _api(county)
    added = client.post("/api/watches", json={"subject_kind": "household", "subject_key": HOUSEHOLD,
                                              "note": "群众反映"}, headers=headers["inspector1"])
    assert added.status_code == 200 and added.json()["created"] is True, added.text
    # Watching it again is the same watch.
    again = client.post("/api/watches", json={"subject_kind": "household", "subject_key": HOUSEHOLD},
                        headers=headers["inspector1"])
    assert again.json() == {"id": added.json()["id"], "created": False}
    # inspector2 watches another household: told nothing about this one.
    with county.connect() as conn:
        other = conn.execute(select(Household.household_id).where(Household.household_id != HOUSEHOLD)
                             .order_by(Household.household_id).limit(1)).scalar_one()
        one = conn.execute(select(Watch.user_id).where(Watch.id == added.json()["id"])).scalar_one()
    assert client.post("/api/watches", json={"subject_kind": "household", "subject_key": other},
                       headers=headers["inspector2"]).status_code == 200
    assert _notifications(county) == []

    folder = _plant_payment(tmp_path / "plant")
    assert import_path(county, folder).outcome == "committed"
    told = _notifications(county)
    assert [(n.user_id, n.kind, n.table_name, n.record_key) for n in told] == [
        (one, "record", "card_payments", PLANTED)]
    # The same file again writes nothing, and tells no one.
    assert import_path(county, folder).outcome == "committed"
    assert len(_notifications(county)) == 1

    detect(county)  # the payment twice in one period: a new DC-01 finding about the household's member
    told = _notifications(county)
    assert [(n.user_id, n.kind, n.code) for n in told] == [(one, "record", None), (one, "finding", "DC-01")]
    detect(county)  # nothing new: no second notification
    assert len(_notifications(county)) == 2

    listed = client.get("/api/watches/notifications", headers=headers["inspector1"]).json()
    assert (listed["total"], listed["unread"]) == (2, 2)
    finding = next(i for i in listed["items"] if i["kind"] == "finding")
    assert finding["code"] == "DC-01" and finding["link"] == f"/cases/{finding['case_id']}"
    assert finding["watch"]["key"] == HOUSEHOLD and finding["watch"]["label"]
    assert client.get("/api/watches/notifications", headers=headers["inspector2"]).json()["total"] == 0
    # inspector2 cannot mark inspector1's notification read; inspector1 marks one, then all.
    ids = [i["id"] for i in listed["items"]]
    assert client.post("/api/watches/notifications/read", json={"ids": ids},
                       headers=headers["inspector2"]).json() == {"marked": 0}
    assert client.post("/api/watches/notifications/read", json={"ids": ids[:1]},
                       headers=headers["inspector1"]).json() == {"marked": 1}
    assert client.get("/api/watches/notifications?show=unread", headers=headers["inspector1"]).json()["total"] == 1
    assert client.post("/api/watches/notifications/read", json={}, headers=headers["inspector1"]).json() == {
        "marked": 1}
    with county.connect() as conn:
        assert watches.unread_count(conn, one) == 0
        actions = conn.execute(select(AuditEntry.action).where(AuditEntry.action.like("watch%"))).scalars().all()
    assert actions == ["watch_added", "watch_added"]  # each user's first watch; the repeat added nothing


def test_a_payment_to_a_watched_person_or_account_tells_its_watchers_and_keys_stay_masked(county: Engine,
                                                                                          tmp_path: Path) -> None:
    client, headers = _api(county)
    with county.connect() as conn:
        payment = conn.execute(select(CardPayment.id_number, CardPayment.card_account)
                               .where(CardPayment.payment_id == PAYMENT)).one()
    assert client.post("/api/watches", json={"subject_kind": "person", "subject_key": payment.id_number},
                       headers=headers["inspector1"]).status_code == 200
    assert client.post("/api/watches", json={"subject_kind": "account", "subject_key": payment.card_account},
                       headers=headers["inspector2"]).status_code == 200
    # inspector1 watches the card too: told once, under the oldest of their watches.
    assert client.post("/api/watches", json={"subject_kind": "account", "subject_key": payment.card_account},
                       headers=headers["inspector1"]).status_code == 200
    assert import_path(county, _plant_payment(tmp_path / "plant")).outcome == "committed"
    told = _notifications(county)
    assert sorted((n.kind, n.record_key) for n in told) == [("record", PLANTED), ("record", PLANTED)]
    assert len({n.user_id for n in told}) == 2
    listed = client.get("/api/watches", headers=headers["inspector1"]).json()
    assert [w["key"] for w in listed] == [mask_account(payment.card_account), mask_id(payment.id_number)]
    assert [w["unread"] for w in listed] == [0, 1]
    assert payment.id_number not in client.get("/api/watches/notifications", headers=headers["inspector1"]).text


def test_nothing_watched_costs_one_query_and_tells_no_one(county: Engine, tmp_path: Path) -> None:
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    with county.begin() as conn:
        event.listen(conn, "before_cursor_execute", count)
        assert watches.notify_import(conn, 1) == 0
        assert watches.notify_run(conn, 1) == 0
        event.remove(conn, "before_cursor_execute", count)
    assert len(statements) == 2 and all("watches" in s for s in statements)
    assert import_path(county, _plant_payment(tmp_path / "plant")).outcome == "committed"
    detect(county)
    assert _notifications(county) == []


def test_a_town_inspector_watches_only_what_lives_in_their_town(county: Engine) -> None:
    with county.connect() as conn:
        towns = conn.execute(select(Town.town_code).order_by(Town.town_code)).scalars().all()
        homes = [conn.execute(select(Household.household_id).join(Village, Village.village_code == Household.village_code)
                              .where(Village.town_code == town).order_by(Household.household_id).limit(1)).scalar_one()
                 for town in towns[:2]]
        organization = conn.execute(select(Organization.uscc).limit(1)).scalar_one()
        person = conn.execute(select(Person.id_number).where(Person.household_id == homes[1]).limit(1)).scalar_one()
    client, headers = _api(county, town=towns[0])
    town = headers["inspector_town"]

    def watch(kind: str, key: str, who: dict[str, str] = town) -> int:
        return client.post("/api/watches", json={"subject_kind": kind, "subject_key": key}, headers=who).status_code

    assert watch("household", homes[0]) == 200
    assert watch("household", homes[1]) == 404  # another town's: as if it were not there
    assert watch("person", person) == 404
    assert watch("organization", organization) == 404  # an organization lives in no town
    assert watch("household", homes[1], headers["inspector1"]) == 200  # the county sees every town
    assert watch("organization", organization, headers["inspector1"]) == 200
    assert watch("household", "no-such-household", headers["inspector1"]) == 404
    assert client.get("/api/watches", headers=headers["finance1"]).status_code == 403
    # One's own watch only is removed; removing it takes its notifications.
    mine = client.get("/api/watches", headers=town).json()
    assert client.delete(f"/api/watches/{mine[0]['id']}", headers=headers["inspector1"]).status_code == 404
    assert client.delete(f"/api/watches/{mine[0]['id']}", headers=town).status_code == 204
    assert client.get("/api/watches", headers=town).json() == []


def test_every_record_link_names_an_indexed_column_of_its_table() -> None:
    for table, column, kinds in watches.RECORD_LINKS:
        model = BY_NAME[table].model.__table__
        assert column in model.c, (table, column)
        indexed = {c.name for index in model.indexes for c in list(index.columns)[:1]} | \
            {list(model.primary_key.columns)[0].name}
        assert column in indexed, (table, column)  # a hook reads only the rows about watched keys
        assert set(kinds) <= set(watches.KINDS)


def test_the_bell_counts_the_unread_and_the_watch_page_marks_them_read(county: Engine, tmp_path: Path) -> None:
    from tests.test_web import _csrf, _sign_in

    with county.begin() as conn:
        create_user(conn, "inspector1", "inspector", PASSWORD)
        create_user(conn, "finance1", "finance", PASSWORD)
    inspector = TestClient(create_app(), follow_redirects=False)
    assert _sign_in(inspector, "inspector1").status_code == 303
    household_page = inspector.get(f"/records/household/{HOUSEHOLD}").text
    assert f'action="/watch/household/{HOUSEHOLD}"' in household_page and 'data-unread' not in household_page
    token = _csrf(inspector, f"/records/household/{HOUSEHOLD}")
    done = inspector.post(f"/watch/household/{HOUSEHOLD}", data={"csrf_token": token})
    assert done.status_code == 303 and done.headers["location"] == f"/records/household/{HOUSEHOLD}?done=watch_added"
    assert inspector.post(f"/watch/household/{HOUSEHOLD}", data={}).status_code == 403  # no CSRF token
    assert 'data-watch="on"' in inspector.get(f"/records/household/{HOUSEHOLD}").text

    assert import_path(county, _plant_payment(tmp_path / "plant")).outcome == "committed"
    assert import_path(county, _plant_payment(tmp_path / "plant2", "P2017-W000002")).outcome == "committed"
    home = inspector.get("/").text
    assert re.search(r'data-unread="2">2<', home) and 'id="watch-news"' in home and PLANTED in home
    listing = inspector.get("/watches").text
    assert "我的关注" in listing and PLANTED in listing and "P2017-W000002" in listing
    prose = re.sub(r"<[^>]+>", " ", re.sub(r"<(script|style|head)\b.*?</\1>", " ", listing, flags=re.S))
    assert not ENGLISH_WORD.findall(prose)  # as the browser crawl reads a Chinese page
    with county.connect() as conn:
        first = conn.execute(select(func.min(Notification.id))).scalar_one()
    token = _csrf(inspector, "/watches")
    assert inspector.post("/watches/notifications/read", data={"csrf_token": token,
                                                               "notification": str(first)}).status_code == 303
    assert re.search(r'data-unread="1">1<', inspector.get("/watches").text)
    assert inspector.post("/watches/notifications/read", data={"csrf_token": token}).status_code == 303
    after = inspector.get("/watches?show=all").text
    assert "data-unread" not in after and PLANTED in after and 'id="read-all"' not in after
    assert all(n.read_at is not None for n in _notifications(county))

    finance = TestClient(create_app(), follow_redirects=False)
    assert _sign_in(finance, "finance1").status_code == 303
    assert 'class="bell"' not in finance.get("/").text  # only those who may watch have the bell
    assert finance.get("/watches").status_code == 403

    # Unwatching from the household page: back there, the watch and its notifications gone.
    watch_id = re.search(r'action="/watches/(\d+)/remove"', inspector.get(f"/records/household/{HOUSEHOLD}").text)
    assert watch_id
    gone = inspector.post(f"/watches/{watch_id.group(1)}/remove",
                          data={"csrf_token": token, "back": f"/records/household/{HOUSEHOLD}"})
    assert gone.headers["location"] == f"/records/household/{HOUSEHOLD}?done=watch_removed"
    assert _notifications(county) == []
    evil = inspector.post("/watches/999/remove", data={"csrf_token": token, "back": "//example.com"})
    assert evil.status_code == 404


def test_a_case_page_watches_its_subject(county: Engine) -> None:
    from tests.test_web import _csrf, _sign_in

    from audit.models import Case

    with county.begin() as conn:
        create_user(conn, "inspector1", "inspector", PASSWORD)
        case_id, kind, key, home, name = conn.execute(
            select(Case.id, Case.subject_kind, Case.subject_key, Person.household_id, Person.name)
            .join(Person, Person.id_number == Case.subject_key)
            .where(Case.subject_kind == "person").order_by(Case.id).limit(1)).one()
    inspector = TestClient(create_app(), follow_redirects=False)
    assert _sign_in(inspector, "inspector1").status_code == 303
    token = _csrf(inspector, f"/cases/{case_id}")
    assert inspector.post(f"/watch/case/{case_id}", data={"csrf_token": token}).headers["location"] == \
        f"/cases/{case_id}?done=watch_added"
    with county.connect() as conn:
        assert conn.execute(select(Watch.subject_kind, Watch.subject_key)).one() == (kind, key)
    page = inspector.get(f"/cases/{case_id}").text
    assert 'data-watch="on"' in page and key not in inspector.get("/watches").text
    # The person's own page knows the watch (found by household and name, as the page is).
    own = inspector.get(f"/records/person/{home}/{name}").text
    assert 'data-watch="on"' in own and "/remove" in own

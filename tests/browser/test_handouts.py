"""Clue hand-out in the browser, in Chinese: the county's inspector hands two open cases of a
town to its discipline office in a batch; the town's two inspectors confirm both in one
bulk decision and approve it in bulk (four eyes), record a recovery and an accountability,
and return the batch; the county's inspector reads 交办统计 and downloads it as .xlsx, and
the screen, the sheet and the service's figures agree."""

from __future__ import annotations

import io
from datetime import date, timedelta
from typing import Any

import openpyxl
from sqlalchemy import create_engine, func, select
from sqlalchemy.pool import NullPool

from audit.auth.service import create_unit, create_user, principal_for_user
from audit.handouts import service
from audit.models import Case, Town
from tests.browser.conftest import Live, Watched, password, sign_in, sign_out

TITLE = "2026年第3批"


def _prepare(live: Live) -> tuple[str, str, list[int]]:
    """The town with the most open cases of no live batch, its discipline office with two
    inspectors, and two of its open cases: (town code, town name, case ids)."""
    engine = create_engine(live.database_url, poolclass=NullPool)
    try:
        with engine.begin() as conn:
            town = conn.execute(select(Case.town_code).where(Case.status == "open", Case.town_code.is_not(None))
                                .group_by(Case.town_code).order_by(func.count().desc(), Case.town_code)
                                .limit(1)).scalar_one()
            name = conn.execute(select(Town.town_name).where(Town.town_code == town)).scalar_one()
            cases = [row.id for row in service.open_cases_of_town(conn, town)[:2]]
            create_unit(conn, f"{name}纪委", "town", town, "test")
            for who in ("towna", "townb"):
                create_user(conn, who, "inspector", password(who), unit=f"{name}纪委")
    finally:
        engine.dispose()
    return town, name, cases


def _report(live: Live) -> dict[str, Any]:
    engine = create_engine(live.database_url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return service.report(conn, principal_for_user(conn, "inspector1"))
    finally:
        engine.dispose()


def _settle(watched: Watched) -> None:
    watched.page.wait_for_load_state("networkidle")
    assert watched.problems() == [], watched.problems()
    assert watched.page.locator(".error").count() == 0, watched.page.locator(".error").all_inner_texts()


def test_a_batch_goes_to_a_town_and_back_and_the_report_matches_the_sheet(browser: Any, live: Live) -> None:
    town, town_name, (first, second) = _prepare(live)

    # The county hands out the batch.
    county = sign_in(browser, live, "inspector1")
    page = county.page
    page.goto(f"{live.base}/handouts")
    page.click("#new-handout")
    page.select_option("#handout-town", town)
    page.click("form[action='/handouts/new'] button[type=submit]")
    _settle(county)
    page.fill("#handout-form input[name=title]", TITLE)
    page.fill("#handout-form input[name=deadline]", (date.today() + timedelta(days=15)).isoformat())
    for case_id in (first, second):
        page.check(f"#handout-form input[name=case_id][value='{case_id}']")
    page.click("#handout-form button[type=submit]")
    _settle(county)
    assert "/handouts/" in page.url and page.locator("#handout-status").inner_text() == "办理中"
    batch_url = page.url.split("?")[0]
    sign_out(county)

    # The town's first inspector sees the batch and confirms both cases in one decision.
    town_a = sign_in(browser, live, "towna")
    page = town_a.page
    page.goto(f"{live.base}/handouts")
    page.click(f"text={TITLE}")
    _settle(town_a)
    for case_id in (first, second):
        page.check(f"#bulk-decide input[name=case_id][value='{case_id}']")
    page.select_option("#bulk-decide select[name=decision]", "confirmed")
    page.fill("#bulk-decide textarea[name=reason]", "经入户核查，问题属实")
    page.click("#bulk-decide button[type=submit]")
    _settle(town_a)
    assert page.locator("#bulk-approve").count() == 0  # one's own decisions are not offered to approve
    sign_out(town_a)

    # The second approves both at once.
    town_b = sign_in(browser, live, "townb")
    page = town_b.page
    page.goto(batch_url)
    for box in page.locator("#bulk-approve input[name=decision_id]").all():
        box.check()
    page.click("#bulk-approve button[type=submit]")
    _settle(town_b)
    assert page.locator(f"#handout-case-{first}").inner_text().count("已生效") == 1

    # Outcomes: 888.88 yuan recovered on the first, two people admonished for the second.
    page.select_option("#outcome-form select[name=case_id]", str(first))
    page.select_option("#outcome-form select[name=kind]", "recovered")
    page.fill("#outcome-form input[name=amount]", "888.88")
    page.click("#outcome-form button[type=submit]")
    _settle(town_b)
    page.select_option("#outcome-form select[name=case_id]", str(second))
    page.select_option("#outcome-form select[name=kind]", "accountability")
    page.fill("#outcome-form input[name=people]", "2")
    page.select_option("#outcome-form select[name=accountability_kind]", "admonish")
    page.click("#outcome-form button[type=submit]")
    _settle(town_b)
    assert "888.88" in page.locator(f"#handout-case-{first}").inner_text()
    assert "诫勉" in page.locator(f"#handout-case-{second}").inner_text()
    page.click("#handout-return")
    _settle(town_b)
    assert page.locator("#handout-status").inner_text() == "已报结"
    sign_out(town_b)

    # The county reads the report, on screen and as a sheet.
    county = sign_in(browser, live, "inspector1")
    page = county.page
    page.goto(f"{live.base}/handouts/report")
    _settle(county)
    figures = _report(live)
    ours = next(r for r in figures["batches"] if r["title"] == TITLE)
    assert {k: ours[k] for k in ("handed_out", "decided", "confirmed", "recovered_fen", "people")} == {
        "handed_out": 2, "decided": 2, "confirmed": 2, "recovered_fen": 88888, "people": 2}
    row = page.locator("#report-batch tbody tr", has_text=TITLE).inner_text().split("\t")
    assert [cell.strip() for cell in row] == [TITLE, town_name, "2", "2", "2", "888.88", "2"]
    town_row = page.locator("#report-town tbody tr", has_text=town_name).first.inner_text().split("\t")
    assert [cell.strip() for cell in town_row][1:] == ["2", "2", "2", "888.88", "2"]
    with page.expect_download() as download:
        page.click("#report-xlsx")
    book = openpyxl.load_workbook(io.BytesIO(download.value.path().read_bytes()), data_only=True)
    sheet = book["按批次"]
    assert [c.value for c in sheet[1]] == ["批次", "乡镇", "交办件数", "已处置", "查实", "追缴金额（元）", "问责人数"]
    lines = {r[0]: r for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert lines[TITLE][1:5] == (town_name, 2, 2, 2) and f"{lines[TITLE][5]:.2f}" == "888.88" \
        and lines[TITLE][6] == 2
    total = figures["total"]
    assert lines["合计"][2:5] == (total["handed_out"], total["decided"], total["confirmed"])
    assert f"{lines['合计'][5]:.2f}" == service.yuan(total["recovered_fen"]) and lines["合计"][6] == total["people"]
    by_town = {r[0]: r for r in book["按乡镇"].iter_rows(min_row=2, values_only=True)}
    assert by_town[town_name][1:4] == (2, 2, 2) and f"{by_town[town_name][4]:.2f}" == "888.88"
    sign_out(county)

"""我的关注 in the browser: an inspector watches a household from its page, an import adds
a payment to it (the command line, as an operator runs it), the bell in the header shows
one unread, 我的关注 lists the payment, and marking it read empties the bell."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.browser.conftest import Live, sign_in, sign_out
from tests.test_watch import HOUSEHOLD, _plant_payment

PAYMENT = "P2017-B000001"


def test_an_inspector_watches_a_household_and_is_told_of_an_imported_payment(browser: Any, live: Live,
                                                                             tmp_path: Path) -> None:
    watched = sign_in(browser, live, "inspector2")
    page = watched.page
    page.goto(f"{live.base}/records/household/{HOUSEHOLD}")
    assert page.locator("header .bell").count() == 1 and page.locator("header .bell .badge").count() == 0
    page.click("button[data-watch=off]")
    page.wait_for_load_state("networkidle")
    assert page.url.endswith(f"/records/household/{HOUSEHOLD}?done=watch_added")
    assert page.locator("button[data-watch=on]").count() == 1

    live.audit("import", str(_plant_payment(tmp_path / "plant", PAYMENT)))
    page.goto(f"{live.base}/")
    assert page.locator("header .bell .badge").inner_text() == "1"
    assert PAYMENT in page.locator("#watch-news").inner_text()  # the home screen's latest unread
    page.click("header .bell")
    page.wait_for_load_state("networkidle")
    assert page.url.endswith("/watches")
    unread = page.locator("tr.unread")
    assert unread.count() == 1 and PAYMENT in unread.inner_text()
    unread.locator("button[type=submit]").click()  # 标为已读
    page.wait_for_load_state("networkidle")
    assert page.locator("p.notice").inner_text() == "已标记为已读"
    assert page.locator("header .bell .badge").count() == 0 and page.locator("tr.unread").count() == 0
    page.goto(f"{live.base}/watches?show=all")
    assert PAYMENT in page.locator("main").inner_text()
    assert live.rows("SELECT count(*) FROM notifications WHERE read_at IS NULL") == [(0,)]
    assert watched.problems() == []
    sign_out(watched)

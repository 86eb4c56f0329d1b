"""The villagers' window on a phone (390×844, touch), in Chinese: a resident looks up their
household with their ID number and name, sees its payments, files a complaint about one of
them and is given a reference number; an inspector then finds it on the 群众投诉 screen,
linked to that payment, its household and the case about it. A wrong name shows nothing.

Screenshots of the phone's pages go to AUDIT_SCREENSHOTS (a folder) when it is set."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from tests.browser.conftest import Live, Watched, sign_in, sign_out
from tests.browser.test_crawl import ENGLISH_WORD, _accounts, _prose
from tests.conftest import COUNTY
from tests.sweep import full_cards, full_ids

PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True,
         "locale": "zh-CN"}


def _shot(page: Any, name: str) -> None:
    folder = os.environ.get("AUDIT_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / name), full_page=True)


def _relative_and_payment(live: Live) -> tuple[str, str, str, str, int]:
    """A planted DC-06 case (paid after death): a living member of the dead person's household
    (ID number, name), the payment made after the death, its household, and the case."""
    truth = json.loads((COUNTY / "truth.json").read_text(encoding="utf-8"))
    dead = next(c["subjects"][0]["key"] for c in truth["cases"] if c["code"] == "DC-06")
    case_id, records = live.rows("SELECT c.id, f.records FROM cases c JOIN findings f ON f.case_id = c.id "
                                 "WHERE c.subject_key = :k AND f.code = 'DC-06'", k=dead)[0]
    records = json.loads(records) if isinstance(records, str) else records
    payment = next(r["key"] for r in records if r["kind"] == "card_payment")
    household = live.rows("SELECT household_id FROM card_payments WHERE payment_id = :p", p=payment)[0][0]
    members = live.rows("SELECT id_number, name FROM persons WHERE household_id = :h AND id_number <> :d "
                        "ORDER BY id_number", h=household, d=dead)
    number, name = members[0] if members else live.rows(
        "SELECT id_number, name FROM persons WHERE id_number = :d", d=dead)[0]
    return number, name, payment, household, case_id


def _clean(watched: Watched, live: Live, accounts: set[str]) -> list[str]:
    """What a page must not show a resident: a full number, an English word, a page wider
    than the phone."""
    page = watched.page
    html = page.content()
    found = []
    if full_ids(html) or [n for n in full_cards(html) if n in accounts]:
        found.append(f"{page.url}: a full number")
    if re.search(r"\*{4,}[0-9]{4}", html):
        found.append(f"{page.url}: an account's last digits")
    english = sorted(set(ENGLISH_WORD.findall(_prose(page))))
    if english:
        found.append(f"{page.url}: English words {english[:10]}")
    if page.evaluate("document.documentElement.scrollWidth > window.innerWidth + 1"):
        found.append(f"{page.url}: wider than the phone")
    return found


def test_a_resident_looks_up_complains_about_a_payment_and_an_inspector_sees_it_linked(browser: Any,
                                                                                       live: Live) -> None:
    number, name, payment, household, case_id = _relative_and_payment(live)
    accounts = _accounts(live)
    context = browser.new_context(**PHONE)
    watched = Watched(context.new_page(), live.base)
    page = watched.page
    problems: list[str] = []

    page.goto(f"{live.base}/public")
    assert page.title().startswith("民生资金查询")
    assert page.locator("input[name=id_number]").bounding_box()["height"] >= 44  # a finger's target
    _shot(page, "public-1-form.png")
    problems += _clean(watched, live, accounts)

    # A wrong name: nothing about anyone.
    page.fill("input[name=id_number]", number)
    page.fill("input[name=name]", name[0] + "某某")
    with page.expect_navigation():
        page.tap("button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "没有查到与这个身份证号和姓名相符的记录" in page.inner_text("main")
    assert page.locator("li.payment").count() == 0 and page.input_value("input[name=id_number]") == ""

    # The right name, the ID number's x typed in lower case.
    page.fill("input[name=id_number]", number.lower())
    page.fill("input[name=name]", name)
    with page.expect_navigation():
        page.tap("button[type=submit]")
    page.wait_for_load_state("networkidle")
    main = page.inner_text("main")
    assert "查询结果" in main and name in main and "已到账合计" in main, main[:500]
    assert number not in page.content() and number[:2] + "*" * 13 + number[-3:] in main
    assert page.locator("li.payment").count() > 0
    _shot(page, "public-2-result.png")
    problems += _clean(watched, live, accounts)

    # 对这笔有疑问 beside the payment chooses it in the form below.
    page.tap(f"a.ask[data-payment='{payment}']")
    assert page.input_value("select[name=payment_id]") == payment
    page.fill("textarea[name=text]", "这笔补贴是家里老人去世以后发的，我们家没有人领到，请核实是谁领走了。")
    page.fill("input[name=phone]", "139 0730 1234")
    with page.expect_navigation():
        page.locator("#complaint button[type=submit]").tap()
    page.wait_for_load_state("networkidle")
    main = page.inner_text("main")
    assert "已收到您反映的问题" in main and "13907301234" in main
    reference = page.inner_text(".reference").strip()
    assert re.fullmatch(r"TS[0-9]{8}-[A-Z2-9]{6}", reference), reference
    _shot(page, "public-3-filed.png")
    problems += _clean(watched, live, accounts)
    problems += watched.problems()
    context.close()
    assert problems == [], "\n".join(problems)

    # The inspector: the home count, the list, the complaint linked to the payment and the case.
    one = sign_in(browser, live, "inspector1")
    inspector = one.page
    assert "待答复的群众投诉" in inspector.inner_text("main")
    inspector.click("nav.menu >> text=群众投诉")
    inspector.wait_for_load_state("networkidle")
    inspector.click(f"text={reference}")
    inspector.wait_for_load_state("networkidle")
    main = inspector.inner_text("main")
    assert reference in main and "13907301234" in main and payment in main and "请核实是谁领走了" in main
    assert inspector.locator(f"a[href='/records/household/{household}']").count() >= 1
    assert inspector.locator(f"a[href='/cases/{case_id}']").count() >= 1
    _shot(inspector, "complaint-inspector.png")
    inspector.fill("textarea[name=text]", "已回电：系冒领，已并入案件核查。")
    with inspector.expect_navigation():
        inspector.click("button:has-text('提交答复')")
    inspector.wait_for_load_state("networkidle")
    assert "答复已记录" in inspector.content() and "inspector1 于" in inspector.inner_text("main")
    inspector.goto(f"{live.base}/cases/{case_id}")
    assert reference in inspector.inner_text("main")
    problems = one.problems()
    sign_out(one)
    assert problems == []
    answered = live.rows("SELECT detail FROM audit_log WHERE action = 'complaint_answered'")
    assert "已回电：系冒领，已并入案件核查。" in [(json.loads(row[0]) if isinstance(row[0], str) else row[0])["answer"]
                                        for row in answered]

"""The inspector's whole job in the browser, in Chinese: sign in, find a planted case by a
person's name, read its evidence, reveal a number with a reason, confirm; a second
inspector approves (and the home screen's hit rates learn from it); rectify and close."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from typing import Any

from tests.browser.conftest import Live, sign_in, sign_out
from tests.conftest import COUNTY


def _planted_death(live: Live) -> tuple[str, str]:
    """The ID and name of the person of a planted DC-06 case (paid after death)."""
    truth = json.loads((COUNTY / "truth.json").read_text(encoding="utf-8"))
    id_number = next(c["subjects"][0]["key"] for c in truth["cases"] if c["code"] == "DC-06")
    name = live.rows("SELECT name FROM persons WHERE id_number = :i UNION SELECT head_name FROM households "
                     "WHERE head_id_number = :i", i=id_number)[0][0]
    return id_number, name


def test_an_inspector_takes_a_planted_case_from_the_list_to_its_close(browser: Any, live: Live) -> None:
    id_number, name = _planted_death(live)
    one = sign_in(browser, live, "inspector1")
    page = one.page
    assert "工作台" in page.title() and "待处理线索" in page.content()
    page.click("text=案件列表")
    page.fill("input[name=q]", name[:2])  # part of the name
    page.click("button:has-text('查询')")
    page.wait_for_load_state("networkidle")
    link = page.locator(f"#results a:has-text('{name}')").first
    assert link.count() == 1, page.content()[:2000]
    link.click()
    page.wait_for_load_state("networkidle")
    text = page.inner_text("main")
    assert "死亡后仍发放" in text and "死亡" in text and "疑点及证据" in text
    assert id_number not in page.content()  # masked until revealed
    case_url = page.url

    page.click("summary:has-text('查看完整号码')")
    page.fill("form[action$='/reveal'] input[name=reason]", "核对死亡登记与发放记录")
    page.click("form[action$='/reveal'] button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert id_number in page.content() and "此次查看及理由已记入审计日志" in page.content()

    page.goto(case_url)
    page.select_option("select[name=decision]", "confirmed")
    page.fill("textarea[name=reason]", "死亡后仍领取残疾人补贴，事实清楚")
    page.click("button:has-text('提交决定')")
    page.wait_for_load_state("networkidle")
    assert "决定已提交" in page.content() and "正等待复核" in page.content()
    assert page.locator("button:has-text('同意')").count() == 0  # not one's own decision
    sign_out(one)

    two = sign_in(browser, live, "inspector2")
    two.page.goto(case_url)
    two.page.click("button:has-text('同意')")
    two.page.wait_for_load_state("networkidle")
    assert "已同意该决定" in two.page.content() and "已确认" in two.page.inner_text("main")
    sign_out(two)

    one = sign_in(browser, live, "inspector1")
    page = one.page
    # The approved confirmation taught DC-06's hit rate: (1 + 2) / (1 + 4) = 60% on the home
    # screen, which leads with the open cases by tier.
    page.goto(f"{live.base}/")
    tiers = page.inner_text("#tiers")
    assert "一级待办案件" in tiers and "二级待办案件" in tiers and "三级待办案件" in tiers
    rate_row = page.inner_text("#hit-rates tr:has-text('DC-06')")
    assert re.split(r"\s+", rate_row.strip())[-3:] == ["1", "1", "60%"], rate_row
    page.goto(case_url)
    deadline = (date.today() + timedelta(days=30)).isoformat()
    page.fill("input[name=deadline]", deadline)
    page.fill("input[name=recovered]", "600.00")
    page.fill("input[name=accountable]", "村会计 张某、村主任 李某")
    page.click("button:has-text('保存整改情况')")
    page.wait_for_load_state("networkidle")
    assert "整改情况已保存" in page.content() and deadline in page.content()
    page.click("button:has-text('办结')")
    page.wait_for_load_state("networkidle")
    main = page.inner_text("main")
    assert "案件已办结" in page.content() and "已办结" in main
    assert re.search(r"立案.*作出决定.*复核同意.*登记整改.*办结", main.replace("\n", " ")), main[-1500:]
    problems = one.problems()
    sign_out(one)
    assert problems == []
    details = [row[0] for row in live.rows("SELECT detail FROM audit_log WHERE action = 'reveal'")]
    reasons = [(json.loads(d) if isinstance(d, str) else d).get("reason") for d in details]
    assert "核对死亡登记与发放记录" in reasons


def test_a_wrong_password_says_so_in_chinese_and_the_pages_need_a_session(browser: Any, live: Live) -> None:
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    page.goto(f"{live.base}/cases")
    assert "/login" in page.url
    page.fill("input[name=name]", "inspector1")
    page.fill("input[name=password]", "not the password at all")
    page.click("button[type=submit]")
    assert "用户名或密码错误" in page.content()
    context.close()

"""案件材料 in the browser: on a case's page, one click downloads the case file as a PDF, and
the download is on the audit trail with the digest the PDF prints; a file with the numbers in
full, for a referral, takes a reason that goes on the trail first."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.browser.conftest import Live, sign_in, sign_out


def test_an_inspector_downloads_a_case_file_from_the_case_page(browser: Any, live: Live) -> None:
    case_id = live.rows("SELECT id FROM cases ORDER BY score DESC, id LIMIT 1")[0][0]
    watched = sign_in(browser, live, "inspector1")
    page = watched.page
    page.goto(f"{live.base}/cases/{case_id}")
    assert "下载案件材料（Excel）" in page.inner_text("main")
    with page.expect_download() as download:
        page.click("a:has-text('下载案件材料（PDF）')")
    got = download.value
    assert got.suggested_filename == f"案件材料-{case_id}.pdf"
    content = Path(got.path()).read_bytes()
    assert content.startswith(b"%PDF-")
    details = [json.loads(d) if isinstance(d, str) else d for (d,) in live.rows(
        "SELECT detail FROM audit_log WHERE action = 'casefile_downloaded' AND subject = :s AND actor = 'inspector1'",
        s=f"case {case_id}")]
    assert [d["format"] for d in details] == ["pdf"] and details[0]["masked"] is True
    assert details[0]["digest"].encode() in content  # printed on every page, in the page's plain text

    # For a referral, the numbers in full: a reveal with its reason, on the trail first.
    page.click("summary:has-text('下载完整号码的案件材料')")
    page.select_option("form[action$='/file'] select[name=fmt]", "xlsx")
    page.fill("form[action$='/file'] input[name=reason]", "移送县监委")
    with page.expect_download() as full:
        page.click("form[action$='/file'] button[type=submit]")
    assert full.value.suggested_filename == f"案件材料-{case_id}.xlsx"
    last = live.rows("SELECT action, detail FROM audit_log WHERE subject = :s ORDER BY id DESC LIMIT 2",
                     s=f"case {case_id}")
    actions = [(action, json.loads(d) if isinstance(d, str) else d) for action, d in last]
    assert [a for a, _ in actions] == ["casefile_downloaded", "reveal"]
    assert actions[0][1]["masked"] is False and actions[0][1]["format"] == "xlsx"
    assert actions[1][1] == {"reason": "移送县监委"}
    assert watched.problems() == []
    sign_out(watched)

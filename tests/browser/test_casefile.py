"""案件材料 in the browser: on a case's page, one click downloads the case file as a PDF, and
the download is on the audit trail with the digest the PDF prints."""

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
    assert watched.problems() == []
    sign_out(watched)

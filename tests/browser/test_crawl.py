"""Every page, as every role: no console error, no request to another host, no server
error, no full ID or card number, no English a Chinese reader would meet. The crawl
follows every link a page shows (breadth first, bounded), as each user sees it."""

from __future__ import annotations

import re
from collections import deque
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest

from tests.browser.conftest import USERS, Live, sign_in
from tests.sweep import full_cards, full_ids

PAGES_PER_ROLE = 70
# Pages made for another reader: the API's documentation (Swagger UI, for developers).
NOT_CRAWLED = ("/docs", "/logout", "/api/", "/static/")
# A lowercase word of three letters or more, standing alone (not part of a code or a
# user name such as inspector1): English prose.
ENGLISH_WORD = re.compile(r"(?<![A-Za-z0-9_./@-])[a-z]{3,}(?![A-Za-z0-9_.@-])")


def _accounts(live: Live) -> set[str]:
    rows = live.rows("SELECT card_account FROM households UNION SELECT card_account FROM card_payments "
                     "UNION SELECT account_number FROM accounts UNION SELECT payee_account FROM disbursements "
                     "UNION SELECT from_account FROM transfers UNION SELECT to_account FROM transfers")
    return {row[0] for row in rows if row[0]}


def _prose(page: Any) -> str:
    """The page's text as a reader meets it, without what is marked ``translate="no"``:
    verbatim identifiers (user names, file names, codes and values quoted from a file)."""
    page.evaluate("() => document.querySelectorAll('[translate=no]').forEach(e => { e.style.display = 'none'; })")
    text = page.inner_text("body")
    return text


def _followable(base: str, href: str) -> str | None:
    url = urljoin(base + "/", href)
    parts = urlsplit(url)
    if not url.startswith(base) or parts.path.startswith(NOT_CRAWLED) or parts.path.endswith((".xlsx", ".pdf")):
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


@pytest.mark.parametrize("name", list(USERS))
def test_every_page_as_every_role(browser: Any, live: Live, name: str) -> None:
    watched = sign_in(browser, live, name)
    page = watched.page
    accounts = _accounts(live)
    queue, seen, failures = deque(["/", "/account"]), set(), []
    cases_listed = 0
    while queue and len(seen) < PAGES_PER_ROLE:
        path = queue.popleft()
        if path in seen:
            continue
        if path.startswith("/cases?"):  # filters and pages of one list: a few are enough
            cases_listed += 1
            if cases_listed > 8:
                continue
        seen.add(path)
        response = page.goto(live.base + path)
        page.wait_for_load_state("networkidle")
        if response is None or response.status != 200:
            failures.append(f"{path}: status {response.status if response else None}")
            continue
        html = page.content()
        text = _prose(page)
        numbers = full_ids(html) + [n for n in full_cards(html) if n in accounts]
        if numbers:
            failures.append(f"{path}: a full number shows, e.g. {numbers[0][:2]}…{numbers[0][-3:]}")
        english = sorted(set(ENGLISH_WORD.findall(text)))
        if english:
            failures.append(f"{path}: English words for a Chinese reader: {english[:10]}")
        for href in page.eval_on_selector_all("a[href]", "links => links.map(a => a.getAttribute('href'))"):
            target = _followable(live.base, href)
            if target and target not in seen:
                queue.append(target)
    failures += watched.problems()
    watched.page.context.close()
    assert len(seen) >= (5 if USERS[name] == "inspector" else 2), seen
    assert failures == [], "\n".join(failures[:30])

"""The suite-wide sweep for unmasked resident ID and bank-card numbers.

Every HTTP response any test receives (JSON, CSV, ``.xlsx`` and PDF exports alike), every
log record emitted while the suite runs, and every audit-trail entry a test leaves behind
is searched for a full 18-character resident ID number (a valid check digit and birth
date, so USCCs and invoice numbers do not count) and a full bank-card number (16 to 19
digits passing the Luhn check, as every clear card's does). Only an inspector's responses
may hold one; anywhere else it is a leak, and the test during which it happened fails at
teardown, naming the request, the role and where the number was.

Wired up in ``conftest.py``: TestClient apps and the Schemathesis app are wrapped with
:class:`SweptApp`, a handler on the root logger feeds :meth:`Sweep.log_line`, and the
``engine`` fixture's teardown hands the audit trail to :meth:`Sweep.audit_entry`.
"""

from __future__ import annotations

import io
import json
import logging
import re
import zipfile
import zlib
from urllib.parse import unquote
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from stdnum import luhn
from stdnum.cn import ric
from stdnum.exceptions import ValidationError

# 17 digits and a check character, not part of a longer run of letters or digits (a
# 19-digit card number holds 18-digit runs) and not the tail of a masked number.
CANDIDATE = re.compile(r"(?<![0-9A-Za-z*])\d{17}[\dXx](?![0-9A-Za-z])")
ALLOWED_ROLES = frozenset({"inspector"})
# The one answer that may hold full numbers for another role: a finance officer's own
# uploaded roster given back for the bank (``?full=1``). The service gives it to the
# uploader alone (tests/test_finance_pages.py proves a colleague is refused), and the
# file holds nothing they did not send.
OWN_FILE = re.compile(r"^/(api/)?(finance/)?checks/\d+/sheet(\.xlsx)?$")


def _is_resident_id(number: str) -> bool:
    """Check character and birth date, as the importer checks them (the region code is
    not: ``ric.is_valid`` refuses codes its table dates after the holder's birth)."""
    number = number.upper()
    if len(number) != 18 or ric.calc_check_digit(number) != number[-1]:
        return False
    try:
        ric.get_birth_date(number)
    except ValidationError:
        return False
    return True


def full_ids(text: str) -> list[str]:
    """The valid resident ID numbers written out in full in ``text``."""
    return [m for m in CANDIDATE.findall(text) if _is_resident_id(m)]


CARD_CANDIDATE = re.compile(r"(?<![0-9A-Za-z*])\d{16,19}(?![0-9A-Za-z])")


def full_cards(text: str) -> list[str]:
    """Bank-card numbers (16-19 digits, Luhn-valid) written out in full in ``text``."""
    return [m for m in CARD_CANDIDATE.findall(text) if luhn.is_valid(m) and not _is_resident_id(m)]


def full_numbers(text: str) -> list[str]:
    return full_ids(text) + full_cards(text)


def personal_accounts(numbers: set[str]) -> set[str]:
    """Which of these card-shaped numbers are someone's account in the test's store. A
    16-19 digit code that passes the Luhn check by chance (a household ID: one in ten do)
    is not personal data and is shown unmasked by design; a real card number is. Without
    a test database every candidate counts (the cautious answer)."""
    import os

    if not numbers or "AUDIT_DATABASE_URL" not in os.environ:
        return numbers
    from sqlalchemy import select, union

    from audit.db import get_engine
    from audit.models import Account, CardPayment, Disbursement, Household, Transfer

    wanted = sorted(numbers)
    try:
        with get_engine().connect() as conn:
            found = conn.execute(union(
                select(Household.card_account).where(Household.card_account.in_(wanted)),
                select(CardPayment.card_account).where(CardPayment.card_account.in_(wanted)),
                select(Account.account_number).where(Account.account_number.in_(wanted)),
                select(Disbursement.payee_account).where(Disbursement.payee_account.in_(wanted)),
                select(Transfer.from_account).where(Transfer.from_account.in_(wanted)),
                select(Transfer.to_account).where(Transfer.to_account.in_(wanted)))).scalars()
            return set(found)
    except Exception:  # no schema in this test's database: every candidate counts
        return numbers


def leaked(text: str, allowed: str = "") -> list[str]:
    """The full ID numbers and real card numbers written out in ``text`` (not counting any
    in ``allowed``, what a caller sent)."""
    ids = [n for n in full_ids(text) if n not in allowed]
    cards = {n for n in full_cards(text) if n not in allowed}
    return ids + sorted(personal_accounts(cards))


def _pdf_texts(body: bytes) -> Iterator[str]:
    """A PDF's streams inflated, read both as bytes and as the UTF-16 of a CID font (an
    embedded TrueType subset writes ASCII, digits included, as itself: the bytes show it)."""
    chunks = [body]
    for match in re.finditer(rb"stream\r?\n", body):
        start = match.end()
        end = body.find(b"endstream", start)
        if end < 0:
            continue
        try:
            chunks.append(zlib.decompress(body[start:end]))
        except zlib.error:
            chunks.append(body[start:end])
    for chunk in chunks:
        yield chunk.decode("latin-1")
        # reportlab writes CID-font text as <hex> or (literal) UTF-16BE strings.
        for hexed in re.findall(rb"<([0-9A-Fa-f\s]+)>", chunk):
            digits = b"".join(hexed.split())
            if len(digits) % 2:
                continue  # bytes of an embedded font file that happen to sit between < and >, not text
            yield bytes.fromhex(digits.decode()).decode("utf-16-be", "ignore")
        yield chunk.replace(b"\\000", b"").replace(b"\x00", b"").decode("latin-1")


def texts_of(content_type: str, body: bytes) -> Iterator[str]:
    """Every readable text a response body carries."""
    if body.startswith(b"%PDF"):
        yield from _pdf_texts(body)
    elif body.startswith(b"PK"):
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            for name in archive.namelist():
                yield archive.read(name).decode("utf-8", "ignore")
    else:
        text = body.decode("utf-8", "ignore")
        yield text
        if "json" in content_type:
            # JSON may escape non-ASCII around a number; the parsed form is searched too.
            try:
                yield json.dumps(json.loads(text), ensure_ascii=False)
            except ValueError:
                pass


def _mask(number: str) -> str:
    return number[:2] + "*" * 13 + number[-3:]


@dataclass
class Sweep:
    responses: int = 0
    log_lines: int = 0
    audit_entries: int = 0
    leaks: list[str] = field(default_factory=list)

    def response(self, method: str, path: str, role: str | None, content_type: str, body: bytes,
                 status: int = 200, request: str = "") -> None:
        """``request`` is what the caller sent (path, query, body): an error that quotes the
        caller's own input back (a 422 naming the bad value) discloses nothing; a success
        must hold no full number whatever was sent."""
        self.responses += 1
        if role in ALLOWED_ROLES:
            return
        query = request.split("\n")[1] if "\n" in request else ""  # what the caller sent: path, query, body
        if role == "finance" and status == 200 and OWN_FILE.match(path) and "full=1" in query.split("&"):
            return
        for text in texts_of(content_type, body):
            found = leaked(text, request if status >= 400 else "")
            if found:
                self.leaks.append(f"{method} {path} answered a {role or 'caller without a token'} with "
                                  f"{len(found)} full ID or card number(s), e.g. {_mask(found[0])} ({content_type})")
                return

    def log_line(self, line: str) -> None:
        self.log_lines += 1
        found = leaked(line)
        if found:
            self.leaks.append(f"a log line holds the full number {_mask(found[0])}")

    def audit_entry(self, entry_id: int, action: str, subject: str, detail: Any) -> None:
        self.audit_entries += 1
        found = leaked(subject + " " + json.dumps(detail, ensure_ascii=False))
        if found:
            self.leaks.append(f"audit entry {entry_id} ({action}) holds the full number {_mask(found[0])}")

    def take(self) -> list[str]:
        leaks, self.leaks = self.leaks, []
        return leaks


SWEEP = Sweep()


# The test client's own loggers: they log the requests a test sends (an attack's guessed
# number in a URL), which are the caller's words, not the service's.
CLIENT_LOGGERS = ("httpx", "httpcore")


class SweepHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        if record.name.split(".")[0] in CLIENT_LOGGERS:
            return
        try:
            SWEEP.log_line(self.format(record))
        except Exception:  # a handler must never break the code that logs
            self.handleError(record)


def role_of(authorization: str, cookie: str = "") -> str | None:
    """The role behind a bearer token or a workspace session cookie, read from the store
    as the request arrives."""
    token = None
    if authorization.lower().startswith("bearer "):
        token = authorization.split(" ", 1)[1].strip()
    else:
        from http.cookies import SimpleCookie

        jar = SimpleCookie()
        try:
            jar.load(cookie)
        except Exception:  # an unreadable cookie header: no session
            return None
        if "audit_session" in jar:
            token = jar["audit_session"].value
    if not token:
        return None
    from audit.auth.service import user_for_token
    from audit.db import get_engine

    try:
        with get_engine().connect() as conn:
            user = user_for_token(conn, token)
    except Exception:  # no database configured for this test: no role
        return None
    return user.role if user else None


class SweptApp:
    """An ASGI wrapper that hands every response body to the sweep."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def __getattr__(self, name: str) -> Any:  # the wrapped app's routes, openapi() etc.
        return getattr(self.app, name)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        role = role_of(headers.get("authorization", ""), headers.get("cookie", ""))
        sent = [scope.get("path", ""), scope.get("query_string", b"").decode("latin-1")]
        chunks: list[bytes] = []
        content_type = ""
        status = 0

        async def remember() -> dict[str, Any]:
            message = await receive()
            if message["type"] == "http.request":
                sent.append(message.get("body", b"").decode("utf-8", "replace"))
            return message

        async def capture(message: dict[str, Any]) -> None:
            nonlocal content_type, status
            if message["type"] == "http.response.start":
                status = message["status"]
                for key, value in message.get("headers", []):
                    if key.decode("latin-1").lower() == "content-type":
                        content_type = value.decode("latin-1")
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        await self.app(scope, remember, capture)
        SWEEP.response(scope["method"], scope["path"], role, content_type, b"".join(chunks), status,
                       unquote("\n".join(sent)))

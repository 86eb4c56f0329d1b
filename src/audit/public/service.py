"""The villagers' window (民生资金查询): a resident's ID number and name, matched to one
person, show what their household received; a complaint goes to the inspectors.

Matching. The ID number is normalised (full-width digits and letters folded by NFKC,
spaces dropped, a lower-case ``x`` made ``X``) and validated as GB 11643 with python-stdnum's
``cn.ric`` (check character, birth date); the name has its spaces dropped. Both must match
one person of the store: a member (``persons``) or a household's head as the household
records them (``households.head_id_number``/``head_name``: a head registered elsewhere
counts too). A wrong name, an unknown ID number and a malformed one get the same answer:
the store is asked the same single question (one statement matching number and name at
once, run even for a malformed number, which then cannot match), the attempt is recorded
and put on the trail the same way, and the same page comes back; nothing a caller sees
or waits for tells the three apart, or tells whether an ID number exists.

Limits. Every lookup and every complaint is a row of ``public_attempts`` with the
client's address and an HMAC of the ID number under the service's key (never the
number): within ``public_window_minutes`` an address may look up
``public_lookups_per_address`` times (matched or not), an ID number may fail
``public_failures_per_id`` times (a wrong name counts against the ID number typed), and an
address and an ID number may file ``public_complaints_per_address`` and
``public_complaints_per_id`` complaints. Past a limit nothing is looked up or filed; the
refusal says when to come back and goes on the trail.

Forms. There is no session: the page sets a random value in a cookie of its own
(HttpOnly, SameSite=Strict, path ``/public``) and every form carries a token signed under
the service's key over that value and the time it was issued, good for
``public_form_minutes``. A form posted from another site (without the cookie), replayed
from another browser, or kept too long is refused before anything is looked up. The
result page's complaint form carries a second signed token naming the household(s) and
the HMAC of the ID number that matched, so a complaint names what the lookup found and
nothing the browser could change.

Everything shown is masked: the person's ID number as ``43*************34X``, no account
or card number at all. Every lookup, refusal and complaint is on the trail, with the ID
number masked and its HMAC's first 16 characters (what ties attempts on one number together).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import time
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, insert, literal, or_, select
from stdnum.cn import ric
from stdnum.exceptions import ValidationError

from audit import trail
from audit.complaints import service as complaints
from audit.config import get_settings
from audit.errors import ServiceError
from audit.masking import mask_id
from audit.models import CardPayment, Household, Person, Program, PublicAttempt, Town, Village

LOOKUP, COMPLAINT = "lookup", "complaint"
ID_CHARS = re.compile(r"^[0-9]{17}[0-9X]$")
MAX_ID_CHARS = 64  # what is kept of a typed ID number (an ID has 18)
MAX_NAME_CHARS = 50


class PublicError(ServiceError):
    def __init__(self, status: int, message_id: str, /, **fields: Any) -> None:
        super().__init__(status, message_id, **fields)


def _now() -> datetime:
    return datetime.now(UTC)


def _key(purpose: str) -> bytes:
    """A key of this window's own for each purpose, derived from the service's key."""
    return hmac.new(get_settings().log_key.encode(), f"public|{purpose}".encode(), hashlib.sha256).digest()


def _sign(purpose: str, *parts: str) -> str:
    return hmac.new(_key(purpose), "|".join(parts).encode(), hashlib.sha256).hexdigest()[:40]


def _same(sent: str, expected: str) -> bool:
    """A signature as sent against the one expected, in constant time (bytes: a form may
    send any characters)."""
    return hmac.compare_digest(sent.encode(), expected.encode())


# ---------------------------------------------------------------------- what a resident types

def _typed(text: str) -> str:
    """What a resident typed, folded (full-width characters to ASCII by NFKC), without
    spaces or control characters (no record holds a NUL)."""
    folded = unicodedata.normalize("NFKC", text or "")
    return "".join(c for c in folded if not c.isspace() and unicodedata.category(c) not in {"Cc", "Cf", "Cs"})


def normal_id(text: str) -> str:
    """An ID number as typed, folded: full-width characters to ASCII, spaces gone, ``x`` to ``X``."""
    return _typed(text).upper()[:MAX_ID_CHARS]


def valid_id(number: str) -> bool:
    """A resident ID number (GB 11643): 17 digits and a check character that fits them,
    a birth date that exists (python-stdnum ``cn.ric``)."""
    if not ID_CHARS.match(number) or ric.calc_check_digit(number) != number[-1]:
        return False
    try:
        born = ric.get_birth_date(number)
    except ValidationError:
        return False
    return date(1890, 1, 1) <= born <= date.today()


def id_key(number: str) -> str:
    """The HMAC of an ID number under the service's key: what the limits count and the trail
    names instead of the number."""
    return hmac.new(_key("id"), number.encode(), hashlib.sha256).hexdigest()


def normal_name(text: str) -> str:
    """A name as typed, folded, without spaces (张 三 is 张三)."""
    return _typed(text)[:MAX_NAME_CHARS]


# ---------------------------------------------------------------------- form tokens

def new_nonce() -> str:
    """The random value of the window's own cookie, which every form token is bound to."""
    return secrets.token_urlsafe(24)


def form_token(nonce: str) -> str:
    """A form's token: when it was issued and a signature over that and the cookie's value."""
    issued = str(int(time.time()))
    return f"{issued}.{_sign('form', issued, nonce)}"


def _fresh(issued: str) -> bool:
    try:
        at = int(issued)
    except ValueError:
        return False
    now = time.time()
    return now - get_settings().public_form_minutes * 60 <= at <= now + 60


def check_form_token(token: str, nonce: str | None) -> None:
    """Refuse a form not made by this window for this browser, or kept too long."""
    issued, _, signature = (token or "").partition(".")
    if not nonce or not signature or not _fresh(issued) or not _same(signature, _sign("form", issued, nonce)):
        raise PublicError(403, "error.public.expired")


@dataclass(frozen=True)
class Identity:
    """Who a result page was shown to, as its complaint form carries it (signed)."""

    households: tuple[str, ...]
    id_key: str
    name: str
    masked_id: str


def identity_token(nonce: str, who: Identity) -> str:
    payload = base64.urlsafe_b64encode(json.dumps(
        {"h": list(who.households), "k": who.id_key, "n": who.name, "m": who.masked_id, "t": int(time.time())},
        ensure_ascii=False, separators=(",", ":")).encode()).decode().rstrip("=")
    return f"{payload}.{_sign('identity', payload, nonce)}"


def read_identity(token: str, nonce: str | None) -> Identity:
    """The identity a complaint form carries, if this window signed it for this browser
    within the form's lifetime."""
    payload, _, signature = (token or "").rpartition(".")
    if not nonce or not payload or not _same(signature, _sign("identity", payload, nonce)):
        raise PublicError(403, "error.public.expired")
    body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    if not _fresh(str(body["t"])):
        raise PublicError(403, "error.public.expired")
    return Identity(tuple(body["h"]), body["k"], body["n"], body["m"])


# ---------------------------------------------------------------------- limits

@dataclass(frozen=True)
class Limited:
    retry_after: int  # seconds
    by: str  # address | id

    @property
    def minutes(self) -> int:
        return max(1, (self.retry_after + 59) // 60)


def limited(conn: Connection, kind: str, address: str, key: str) -> Limited | None:
    """Whether this address, or this ID number (its HMAC), has reached its limit for
    ``kind`` within the window; when the oldest attempt counted leaves it."""
    settings = get_settings()
    window = timedelta(minutes=settings.public_window_minutes)
    since = _now() - window
    if kind == LOOKUP:
        checks = (("address", PublicAttempt.address == address, None, settings.public_lookups_per_address),
                  ("id", PublicAttempt.id_key == key, False, settings.public_failures_per_id))
    else:
        checks = (("address", PublicAttempt.address == address, True, settings.public_complaints_per_address),
                  ("id", PublicAttempt.id_key == key, True, settings.public_complaints_per_id))
    for by, condition, ok, limit in checks:
        query = select(PublicAttempt.at).where(condition, PublicAttempt.kind == kind, PublicAttempt.at >= since)
        if ok is not None:
            query = query.where(PublicAttempt.ok.is_(ok))
        counted = conn.execute(query.order_by(PublicAttempt.at.desc()).limit(limit)).scalars().all()
        if len(counted) >= limit:
            oldest = counted[-1] if counted[-1].tzinfo else counted[-1].replace(tzinfo=UTC)
            return Limited(max(1, int((oldest + window - _now()).total_seconds()) + 1), by)
    return None


def record(conn: Connection, kind: str, address: str, key: str, ok: bool) -> None:
    """Count an attempt; attempts older than two windows are no longer needed (the trail
    keeps every one)."""
    now = _now()
    conn.execute(insert(PublicAttempt).values(at=now, kind=kind, address=address[:64], id_key=key, ok=ok))
    horizon = now - timedelta(minutes=2 * get_settings().public_window_minutes)
    conn.execute(delete(PublicAttempt).where(PublicAttempt.at < horizon))


def _actor(address: str) -> str:
    # No user name holds a colon: the trail never confuses the public with a user.
    return f"public:{address[:56]}"


# ---------------------------------------------------------------------- a lookup

@dataclass
class Lookup:
    """What a lookup found: nothing (the one answer for every mismatch), a refusal past a
    limit, or the person and their household's money."""

    matched: bool = False
    limited: Limited | None = None
    identity: Identity | None = None
    households: list[dict[str, Any]] = field(default_factory=list)


def _match(conn: Connection, number: str, name: str) -> list[tuple[str, str]]:
    """(household id, how the person belongs to it) for the person with this ID number and
    name: one statement, whatever the input, so every mismatch costs the store the same."""
    member = select(Person.household_id, literal("member").label("how")).where(
        Person.id_number == number, Person.name == name)
    head = select(Household.household_id, literal("head").label("how")).where(
        Household.head_id_number == number, Household.head_name == name)
    return [(row[0], row[1]) for row in conn.execute(member.union_all(head))]


def lookup(conn: Connection, id_text: str, name_text: str, address: str) -> Lookup:
    """Look a resident up by ID number and name (see the module's docstring): the attempt
    is counted and on the trail before the caller answers."""
    number, name = normal_id(id_text), normal_name(name_text)
    key = id_key(number)
    masked = mask_id(number) if number else ""
    stop = limited(conn, LOOKUP, address, key)
    if stop is not None:
        trail.append(conn, _actor(address), "public_lookup_refused", "public window",
                     {"address": address, "id": masked, "id_key": key[:16], "limit": stop.by})
        return Lookup(limited=stop)
    found = _match(conn, number, name)
    matched = bool(found) and valid_id(number) and bool(name)
    record(conn, LOOKUP, address, key, matched)
    member_of = {hid for hid, how in found if how == "member"}  # their own household first, then any they head
    homes = sorted({hid for hid, _ in found}, key=lambda hid: (hid not in member_of, hid))
    detail: dict[str, Any] = {"address": address, "id": masked, "id_key": key[:16], "matched": matched}
    if matched:
        detail.update({"name": name, "households": homes})
    trail.append(conn, _actor(address), "public_lookup",
                 f"household {homes[0]}" if matched else "public window", detail)
    if not matched:
        return Lookup()
    who = Identity(tuple(homes), key, name, masked)
    return Lookup(matched=True, identity=who, households=household_money(conn, homes))


def household_money(conn: Connection, household_ids: list[str], today: date | None = None
                    ) -> list[dict[str, Any]]:
    """What each household received, as of ``today``: its place and head, then each program
    with its payments by period (amount, date paid, paying unit, status: money that failed,
    came back or is pending is shown with its words and counted apart), program totals and
    the household's total. No account or card number is read at all."""
    today = today or date.today()
    out = []
    for hid in household_ids:
        home = conn.execute(select(Household.household_id, Household.head_name, Village.village_name,
                                   Town.town_name)
                            .join(Village, Village.village_code == Household.village_code)
                            .join(Town, Town.town_code == Village.town_code)
                            .where(Household.household_id == hid)).one()
        names = dict(conn.execute(select(Person.id_number, Person.name).where(Person.household_id == hid)).all())
        head = conn.execute(select(Household.head_id_number).where(Household.household_id == hid)).scalar_one()
        names.setdefault(head, home.head_name)
        rows = conn.execute(
            select(CardPayment.payment_id, CardPayment.program_code, Program.name.label("program"),
                   CardPayment.period, CardPayment.amount_fen, CardPayment.paid_on, CardPayment.paying_unit,
                   CardPayment.status, CardPayment.failure_reason, CardPayment.reissue_of, CardPayment.id_number)
            .join(Program, Program.program_code == CardPayment.program_code)
            .where(or_(CardPayment.household_id == hid,
                       CardPayment.household_id.is_(None) & CardPayment.id_number.in_(sorted(names))),
                   CardPayment.paid_on <= today)
            .order_by(CardPayment.program_code, CardPayment.period, CardPayment.paid_on, CardPayment.payment_id)
        ).all()
        programs: dict[str, dict[str, Any]] = {}
        for p in rows:
            group = programs.setdefault(p.program_code, {"code": p.program_code, "name": p.program, "rows": [],
                                                         "paid_fen": 0, "not_paid": {}})
            group["rows"].append({"payment_id": p.payment_id, "period": p.period, "amount_fen": p.amount_fen,
                                  "paid_on": p.paid_on.isoformat(), "paying_unit": p.paying_unit,
                                  "status": p.status, "failure_reason": p.failure_reason,
                                  "reissue": p.reissue_of is not None, "name": names.get(p.id_number, "")})
            if p.status == "paid":
                group["paid_fen"] += p.amount_fen
            else:
                group["not_paid"][p.status] = group["not_paid"].get(p.status, 0) + p.amount_fen
        paid = [r for g in programs.values() for r in g["rows"] if r["status"] == "paid"]
        out.append({"household_id": hid, "head_name": home.head_name, "village": home.village_name,
                    "town": home.town_name, "programs": list(programs.values()),
                    "paid_fen": sum(r["amount_fen"] for r in paid), "paid_count": len(paid),
                    "count": len(rows)})
    return out


# ---------------------------------------------------------------------- a complaint

@dataclass
class Filed:
    limited: Limited | None = None
    reference: str | None = None


def complain(conn: Connection, who: Identity, payment_id: str | None, text: str, phone: str, address: str) -> Filed:
    """File a complaint for the person a result page was shown to, about one of their
    household's payments (``payment_id``) or in general; a refused phone number or text
    raises (the page shows why, nothing stored)."""
    stop = limited(conn, COMPLAINT, address, who.id_key)
    if stop is not None:
        trail.append(conn, _actor(address), "public_complaint_refused", "public window",
                     {"address": address, "id": who.masked_id, "id_key": who.id_key[:16], "limit": stop.by})
        return Filed(limited=stop)
    household = who.households[0]
    if payment_id:
        owner = next((hid for hid in who.households if payment_id in complaints.payments_of(conn, hid)), None)
        if owner is None:
            raise PublicError(422, "error.complaint.payment_unknown")
        household = owner
    _, reference = complaints.file(conn, household_id=household, payment_id=payment_id or None, name=who.name,
                                   phone=phone, text=text, actor=_actor(address),
                                   detail={"address": address, "id": who.masked_id, "id_key": who.id_key[:16]})
    record(conn, COMPLAINT, address, who.id_key, True)
    return Filed(reference=reference)


def hotlines(conn: Connection) -> dict[str, str]:
    """What the window's pages print of the county: its name, its 监督电话 and the discipline
    office's number when set, and the national poverty-alleviation hotline 12317."""
    from audit.county.service import NATIONAL_HOTLINE, current

    settings = current(conn)
    return {"county_name": settings.get("county_name") or "", "county": settings.get("hotline") or "",
            "discipline": settings.get("discipline_phone") or "", "national": NATIONAL_HOTLINE}


__all__ = ["Identity", "Lookup", "PublicError", "complain", "form_token", "lookup", "normal_id", "valid_id"]

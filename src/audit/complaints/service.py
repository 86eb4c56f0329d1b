"""Residents' complaints (群众投诉): a lead from the people the money is for.

A resident files one at the public window (:mod:`audit.public`) about one of their
household's payments or about its money in general, with a number to call back; it is
stored with the household and the payment it names, the place the household lives (what a
town's inspectors' scope reads) and a reference number (查询编号) the resident quotes later.
Inspectors list and read complaints within their scope, see the household, the payment and
the cases about either, and answer on record (who, when, what; on the trail). A complaint
is answered once: the answer is the record of what the resident was told.

Linked to a case: a complaint is linked to a case when its household is the case's subject
household or the household of the case's subject person, or when its payment is one of the
records the case's findings name (:func:`linked_cases`, :func:`counts_by_case`).
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, Text, cast, func, insert, or_, select, true, update
from sqlalchemy.exc import IntegrityError

from audit import trail
from audit.auth.service import Principal
from audit.db import LIKE_ESCAPE, contains_pattern
from audit.detectors.base import yuan
from audit.errors import ServiceError
from audit.masking import mask_text
from audit.models import CardPayment, Case, Complaint, Finding, Household, Person, Program, Town, User, Village

STATUSES = ("new", "answered")
MAX_TEXT = 1000  # a complaint: what is wrong, in the resident's words
MIN_TEXT = 5
MAX_ANSWER = 4000
# 查询编号: TS, the day it was received, six characters no one misreads on the phone.
REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
REFERENCE = re.compile(r"^TS[0-9]{8}-[A-Z2-9]{6}$")
# A mobile number (11 digits from 13…19) or a landline with its area code (010-12345678,
# 0730-5218726), as people write them: spaces, hyphens, +86.
MOBILE = re.compile(r"^1[3-9][0-9]{9}$")
LANDLINE = re.compile(r"^0[0-9]{9,11}$")
CHUNK = 1000  # ids per IN list


class ComplaintError(ServiceError):
    def __init__(self, status: int, message_id: str, /, **fields: Any) -> None:
        super().__init__(status, message_id, **fields)


def _now() -> datetime:
    return datetime.now(UTC)


def _chunks(values: Iterable[Any]) -> Iterable[list[Any]]:
    items = sorted(set(values))
    for start in range(0, len(items), CHUNK):
        yield items[start:start + CHUNK]


# ---------------------------------------------------------------------- filing

def normal_phone(text: str) -> str | None:
    """A Chinese mobile number (13812345678) or a landline with its area code
    (0730-5218726) as stored, from what a resident typed (full-width digits, spaces,
    hyphens, brackets, +86); None when it is neither."""
    plain = unicodedata.normalize("NFKC", text or "")
    digits = re.sub(r"[\s\-()]", "", plain)
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    if not digits.isascii() or not digits.isdigit():
        return None
    if MOBILE.fullmatch(digits):
        return digits
    # Area codes: 010 and 020…029 have three digits, every other (0730) four.
    area = 3 if digits[:2] in {"01", "02"} else 4
    code, local = digits[:area], digits[area:]
    if LANDLINE.fullmatch(digits) and 7 <= len(local) <= 8 and local[0] not in "01":  # no local number starts so
        return f"{code}-{local}"
    return None


def plain_text(text: str) -> str:
    """Free text without control characters other than line breaks and tabs (no record
    holds a NUL), trimmed."""
    return "".join(c for c in (text or "") if c in "\n\t" or unicodedata.category(c) not in {"Cc", "Cs"}).strip()


def check_text(text: str) -> str:
    """What is wrong, in the resident's words: trimmed, at least a few characters, at most
    :data:`MAX_TEXT`."""
    words = plain_text(text)
    if len(words) < MIN_TEXT:
        raise ComplaintError(422, "error.complaint.text_short", min=MIN_TEXT)
    if len(words) > MAX_TEXT:
        raise ComplaintError(422, "error.complaint.text_long", max=MAX_TEXT, length=len(words))
    return words


def _reference(day: date) -> str:
    return f"TS{day:%Y%m%d}-" + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(6))


def file(conn: Connection, *, household_id: str, payment_id: str | None, name: str, phone: str, text: str,
         actor: str, detail: dict[str, Any] | None = None) -> tuple[int, str]:
    """Store a complaint about ``household_id`` (and ``payment_id``, one of its payments, or
    None for its money in general); returns its id and reference (查询编号). The phone and
    the text are checked here (:func:`normal_phone`, :func:`check_text`); the payment must
    be the household's. On the trail as ``complaint_filed`` by ``actor`` with ``detail``."""
    words = check_text(text)
    number = normal_phone(phone)
    if number is None:
        raise ComplaintError(422, "error.complaint.phone")
    home = conn.execute(select(Household.household_id, Household.village_code, Village.town_code)
                        .join(Village, Village.village_code == Household.village_code)
                        .where(Household.household_id == household_id)).first()
    if home is None:
        raise ComplaintError(404, "error.no_record", kind="household", key=household_id)
    if payment_id is not None and payment_id not in payments_of(conn, household_id):
        raise ComplaintError(422, "error.complaint.payment_unknown")
    now = _now()
    for _ in range(5):
        reference = _reference(now.date())
        savepoint = conn.begin_nested()
        try:
            complaint_id = conn.execute(insert(Complaint).values(
                reference=reference, received_at=now, household_id=household_id, payment_id=payment_id,
                name=name[:200], phone=number, text=words, village_code=home.village_code,
                town_code=home.town_code, status="new").returning(Complaint.id)).scalar_one()
            savepoint.commit()
            break
        except IntegrityError:  # that reference was taken the same day: draw another
            savepoint.rollback()
    else:  # pragma: no cover - five draws from 32^6 colliding
        raise ComplaintError(503, "error.complaint.busy")
    trail.append(conn, actor, "complaint_filed", f"complaint {reference}",
                 {"household_id": household_id, "payment_id": payment_id, **(detail or {})})
    _retier_linked(conn, household_id, payment_id)
    return complaint_id, reference


def payments_of(conn: Connection, household_id: str) -> set[str]:
    """The ids of a household's card payments: its own lines, and a member's line that
    names no household (as the household page counts them)."""
    members = select(Person.id_number).where(Person.household_id == household_id)
    head = select(Household.head_id_number).where(Household.household_id == household_id)
    return set(conn.execute(select(CardPayment.payment_id).where(or_(
        CardPayment.household_id == household_id,
        CardPayment.household_id.is_(None) & (CardPayment.id_number.in_(members) | CardPayment.id_number.in_(head)),
    ))).scalars())


# ---------------------------------------------------------------------- the inspectors' side

def in_scope(user: Principal) -> Any:
    """The complaints a user's scope reaches: all for the county, a town's own."""
    return Complaint.town_code == user.town if user.town else true()


def _summaries(conn: Connection, rows: list[Any]) -> list[dict[str, Any]]:
    """Complaints as a list shows them: the household's head and place, what the payment was."""
    homes = {h.household_id: h for h in conn.execute(
        select(Household.household_id, Household.head_name, Village.village_name, Town.town_name)
        .join(Village, Village.village_code == Household.village_code).join(Town, Town.town_code == Village.town_code)
        .where(Household.household_id.in_(sorted({r.household_id for r in rows}))))} if rows else {}
    wanted = sorted({r.payment_id for r in rows if r.payment_id})
    payments = {p.payment_id: p for p in conn.execute(
        select(CardPayment.payment_id, CardPayment.period, CardPayment.amount_fen, CardPayment.paid_on,
               CardPayment.status, Program.name.label("program"))
        .join(Program, Program.program_code == CardPayment.program_code)
        .where(CardPayment.payment_id.in_(wanted)))} if wanted else {}
    out = []
    for r in rows:
        home, paid = homes.get(r.household_id), payments.get(r.payment_id or "")
        out.append({"id": r.id, "reference": r.reference, "received_at": r.received_at.isoformat(),
                    "status": r.status, "household_id": r.household_id, "head_name": home.head_name if home else "",
                    "town": home.town_name if home else "", "village": home.village_name if home else "",
                    # A resident may type a number into their complaint: shown masked, as any free text.
                    "name": r.name, "text": mask_text(r.text), "payment_id": r.payment_id,
                    "payment": None if paid is None else {
                        "program": paid.program, "period": paid.period, "amount": yuan(paid.amount_fen),
                        "paid_on": paid.paid_on.isoformat(), "status": paid.status},
                    "answered_at": r.answered_at.isoformat() if r.answered_at else None})
    return out


def list_complaints(conn: Connection, user: Principal, status: str | None = "new", limit: int = 50,
                    offset: int = 0) -> tuple[int, list[dict[str, Any]]]:
    """Complaints within the reader's scope, newest first (unanswered only by default)."""
    query = select(Complaint).where(in_scope(user))
    if status:
        query = query.where(Complaint.status == status)
    total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = conn.execute(query.order_by(Complaint.received_at.desc(), Complaint.id.desc())
                        .limit(limit).offset(offset)).all()
    return total, _summaries(conn, list(rows))


def unanswered(conn: Connection, user: Principal) -> int:
    """How many complaints within the reader's scope wait for an answer (the home screen's count)."""
    return conn.execute(select(func.count()).select_from(Complaint)
                        .where(Complaint.status == "new", in_scope(user))).scalar_one()


def _complaint(conn: Connection, complaint_id: int, user: Principal) -> Any:
    row = conn.execute(select(Complaint).where(Complaint.id == complaint_id, in_scope(user))).first()
    if row is None:  # another town's: not even its existence
        raise ComplaintError(404, "error.complaint.none", complaint_id=complaint_id)
    return row


def detail(conn: Connection, complaint_id: int, user: Principal) -> dict[str, Any]:
    """One complaint: what the resident wrote and the number to call back, the household
    and the payment it names, the cases about either (within the reader's scope), and the
    answer on record."""
    row = _complaint(conn, complaint_id, user)
    shown = _summaries(conn, [row])[0]
    payment = None
    if row.payment_id:
        paid = conn.execute(select(CardPayment.payment_id, CardPayment.period, CardPayment.amount_fen,
                                   CardPayment.paid_on, CardPayment.paying_unit, CardPayment.status,
                                   CardPayment.failure_reason, CardPayment.reissue_of, CardPayment.household_id,
                                   Program.name.label("program"), Person.name.label("payee"))
                            .join(Program, Program.program_code == CardPayment.program_code)
                            .outerjoin(Person, Person.id_number == CardPayment.id_number)
                            .where(CardPayment.payment_id == row.payment_id)).first()
        if paid is not None:
            payment = {"payment_id": paid.payment_id, "program": paid.program, "period": paid.period,
                       "amount": yuan(paid.amount_fen), "paid_on": paid.paid_on.isoformat(),
                       "paying_unit": paid.paying_unit, "status": paid.status,
                       "failure_reason": paid.failure_reason, "reissue_of": paid.reissue_of,
                       "payee": paid.payee}
    by = conn.execute(select(User.name).where(User.id == row.answered_by)).scalar_one_or_none() \
        if row.answered_by else None
    return {**shown, "phone": row.phone, "payment": payment, "answer": mask_text(row.answer or "") or None,
            "answered_by": by,
            "cases": linked_cases(conn, row.household_id, row.payment_id, user)}


def answer(conn: Connection, complaint_id: int, text: str, user: Principal) -> None:
    """Answer a complaint on record: who, when, what (on the trail). Once: the answer is
    what the resident was told; a second is refused."""
    row = _complaint(conn, complaint_id, user)
    words = plain_text(text)
    if not words:
        raise ComplaintError(422, "error.complaint.answer_empty")
    if len(words) > MAX_ANSWER:
        raise ComplaintError(422, "error.complaint.answer_long", max=MAX_ANSWER)
    done = conn.execute(update(Complaint).where(Complaint.id == complaint_id, Complaint.status == "new")
                        .values(status="answered", answer=words, answered_by=user.id, answered_at=_now())).rowcount
    if done != 1:  # answered already (perhaps a moment ago, by a colleague)
        raise ComplaintError(409, "error.complaint.answered", reference=row.reference)
    trail.append(conn, user.name, "complaint_answered", f"complaint {row.reference}", {"answer": words})


def for_household(conn: Connection, household_id: str, user: Principal) -> list[dict[str, Any]]:
    """The complaints about a household (its record page), within the reader's scope."""
    rows = conn.execute(select(Complaint).where(Complaint.household_id == household_id, in_scope(user))
                        .order_by(Complaint.received_at.desc(), Complaint.id.desc())).all()
    return _summaries(conn, list(rows))


# ---------------------------------------------------------------------- complaints and cases

def _members(conn: Connection, household_ids: Iterable[str]) -> dict[str, set[str]]:
    """{household id: the ID numbers of its members and its head}."""
    out: dict[str, set[str]] = defaultdict(set)
    for chunk in _chunks(household_ids):
        for hid, number in conn.execute(select(Person.household_id, Person.id_number)
                                        .where(Person.household_id.in_(chunk))):
            out[hid].add(number)
        for hid, number in conn.execute(select(Household.household_id, Household.head_id_number)
                                        .where(Household.household_id.in_(chunk))):
            out[hid].add(number)
    return out


def _findings_naming(conn: Connection, payment_id: str) -> set[int]:
    """The cases whose findings name this card payment among their records."""
    pattern = contains_pattern(f'"{payment_id}"')
    found = set()
    for case_id, records in conn.execute(select(Finding.case_id, Finding.records).where(
            cast(Finding.records, Text).like(pattern, escape=LIKE_ESCAPE))):
        if any(r.get("kind") == "card_payment" and r.get("key") == payment_id for r in records):
            found.add(case_id)
    return found


def _linking(conn: Connection, household_id: str, payment_id: str | None) -> Any:
    """The condition on cases a complaint is linked to: about the household, about one of
    its members or its head, or naming the payment among their findings' records."""
    subjects = [("household", household_id)] + [("person", n) for n in
                                                sorted(_members(conn, [household_id]).get(household_id, ()))]
    conditions = [(Case.subject_kind == kind) & (Case.subject_key == key) for kind, key in subjects]
    if payment_id:
        naming = _findings_naming(conn, payment_id)
        if naming:
            conditions.append(Case.id.in_(sorted(naming)))
    return or_(*conditions)


def linked_cases(conn: Connection, household_id: str, payment_id: str | None, user: Principal) -> list[Any]:
    """The cases a complaint is linked to (:func:`_linking`), within the reader's scope;
    highest score first."""
    scope = Case.town_code == user.town if user.town else true()
    return list(conn.execute(select(Case).where(_linking(conn, household_id, payment_id), scope)
                             .order_by(Case.score.desc(), Case.id).limit(100)))


def _retier_linked(conn: Connection, household_id: str, payment_id: str | None) -> None:
    """A complaint raises the tier of the open cases it is linked to at once, not at the
    next detection run: a resident's complaint is a lead an inspector should see first."""
    from audit.cases import triage

    ids = list(conn.execute(select(Case.id).where(_linking(conn, household_id, payment_id),
                                                  Case.status == "open")).scalars())
    if ids:
        triage.refresh(conn, ids)


def _case_links(conn: Connection, case_ids: Iterable[int]) -> dict[int, tuple[set[str], set[str]]]:
    """{case id: (the households it is about, the card payments its findings name)}."""
    links: dict[int, tuple[set[str], set[str]]] = {}
    people: dict[str, set[int]] = defaultdict(set)
    for chunk in _chunks(case_ids):
        for case_id, kind, key in conn.execute(select(Case.id, Case.subject_kind, Case.subject_key)
                                               .where(Case.id.in_(chunk))):
            links[case_id] = (set(), set())
            if kind == "household":
                links[case_id][0].add(key)
            elif kind == "person":
                people[key].add(case_id)
        for case_id, records in conn.execute(select(Finding.case_id, Finding.records).where(Finding.case_id.in_(chunk))):
            links[case_id][1].update(r["key"] for r in records if r.get("kind") == "card_payment")
    for chunk in _chunks(people):
        homes = conn.execute(select(Person.id_number, Person.household_id).where(Person.id_number.in_(chunk))
                             .union_all(select(Household.head_id_number, Household.household_id)
                                        .where(Household.head_id_number.in_(chunk)))).all()
        for number, hid in homes:
            for case_id in people[number]:
                links[case_id][0].add(hid)
    return links


def counts_by_case(conn: Connection, case_ids: Iterable[int]) -> dict[int, int]:
    """How many complaints are linked to each case (for a case's tier): {case id: count},
    every case asked about present (0 when none; an id that is no case is left out).

    A complaint is linked to a case when

    - its household is the case's subject (a case about a household), or the household of
      the case's subject person: the household they are a member of (``persons``), or the
      one they head (``households.head_id_number``, a head registered elsewhere too); or
    - its payment is one of the card payments the case's findings name among their
      records (open or stale findings alike: the case was about that money).

    A complaint linked both ways counts once. Answered complaints count as well as new
    ones: an answer is what the resident was told, not a sign the money was right. Reads
    every table by index, in chunks of ids, so the whole county's cases can be asked at once.
    """
    links = _case_links(conn, case_ids)
    households = set().union(*(h for h, _ in links.values())) if links else set()
    payments = set().union(*(p for _, p in links.values())) if links else set()
    complaints: list[tuple[int, str, str | None]] = []
    for chunk in _chunks(households):
        complaints += conn.execute(select(Complaint.id, Complaint.household_id, Complaint.payment_id)
                                   .where(Complaint.household_id.in_(chunk))).all()
    for chunk in _chunks(payments):
        complaints += conn.execute(select(Complaint.id, Complaint.household_id, Complaint.payment_id)
                                   .where(Complaint.payment_id.in_(chunk))).all()
    return {case_id: len({c for c, hid, pid in complaints if hid in homes or (pid is not None and pid in paid)})
            for case_id, (homes, paid) in links.items()}


def rows_for_case(conn: Connection, case_id: int) -> list[Any]:
    """The stored complaints linked to a case, as :func:`counts_by_case` links them, newest
    first (at most 200): the rows the case page shows and the case file fingerprints."""
    homes, paid = _case_links(conn, [case_id]).get(case_id, (set(), set()))
    if not homes and not paid:
        return []
    conditions = []
    if homes:
        conditions.append(Complaint.household_id.in_(sorted(homes)))
    if paid:
        conditions.append(Complaint.payment_id.in_(sorted(paid)))
    return list(conn.execute(select(Complaint).where(or_(*conditions))
                             .order_by(Complaint.received_at.desc(), Complaint.id.desc()).limit(200)).all())


def for_case(conn: Connection, case_id: int) -> list[dict[str, Any]]:
    """The complaints linked to a case (its page), as :func:`counts_by_case` links them."""
    return _summaries(conn, rows_for_case(conn, case_id))

"""Watchlists (我的关注) and the notifications they bring.

An inspector watches a person, a household, an official, an organization or an account,
keyed as findings and records name it:

=============  ==============================================================
person         the resident ID number (``persons.id_number``, a household head's)
household      ``households.household_id``
official       ``officials.official_id``
organization   the credit code (``organizations.uscc``)
account        the card or account number (``accounts.account_number``, a card)
=============  ==============================================================

A household stands for its members too: watching it watches its members' and its head's ID
numbers and its card account, so a finding about a member (DC-01 names the person paid
twice) or a payment to a member's card reaches the watcher.

Two hooks tell the watchers, each one set-based pass that first reads the watches (one
query) and stops there when nobody watches anything:

- :func:`notify_run`, at the end of a detection run: each new finding of the run
  (``first_run_id`` is the run) whose subjects or records name a watched key gives one
  notification per user (and finding), whichever of their watches it matched;
- :func:`notify_import`, at the end of an import that stored rows: each row the import
  wrote (added, or changed: its ``batch_id`` is the import's) in a column that names a
  watched key (:data:`RECORD_LINKS`) gives one notification per user and record.

Scope: a town's inspector watches only subjects that live in their town (a person's or a
household's village, an official's); an organization or an account belongs to no town
(unless it is a household's card), so only county inspectors watch those, as only they
see the cases about them. A finding is told to a town's inspector only when its case is
in their town.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Text, cast, delete, func, insert, or_, select, update

from audit import trail
from audit.auth.service import Principal
from audit.complaints.service import plain_text
from audit.db import LIKE_ESCAPE, contains_pattern
from audit.errors import ServiceError
from audit.masking import mask_key
from audit.models import (
    Account,
    CardPayment,
    Case,
    Finding,
    Household,
    Notification,
    Person,
    Unit,
    User,
    Watch,
)
from audit.records.links import record_link

KINDS = ("person", "household", "official", "organization", "account")
MAX_NOTE = 500
MAX_KEY = 64
CHUNK = 500  # keys per IN list (SQLite caps the bound values of one statement)
PATTERNS = 100  # LIKE patterns per pass over a run's new findings

# Columns of the interchange tables that name a watchable subject: (table, column, the
# kinds of key it holds). Each column is a key or indexed, so a hook reads only the rows
# about watched keys. A payee or an account holder is a person or an organization.
RECORD_LINKS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("card_payments", "household_id", ("household",)),
    ("card_payments", "id_number", ("person",)),
    ("card_payments", "card_account", ("account",)),
    ("persons", "household_id", ("household",)),
    ("persons", "id_number", ("person",)),
    ("households", "household_id", ("household",)),
    ("households", "head_id_number", ("person",)),
    ("households", "card_account", ("account",)),
    ("household_events", "id_number", ("person",)),
    ("household_events", "from_household", ("household",)),
    ("household_events", "to_household", ("household",)),
    ("deaths", "id_number", ("person",)),
    ("detentions", "id_number", ("person",)),
    ("pensions", "id_number", ("person",)),
    ("public_employees", "id_number", ("person",)),
    ("vehicles", "id_number", ("person",)),
    ("real_estate", "id_number", ("person",)),
    ("school_enrolments", "id_number", ("person",)),
    ("disability_certificates", "id_number", ("person",)),
    ("kinship", "id_number_a", ("person",)),
    ("kinship", "id_number_b", ("person",)),
    ("officials", "official_id", ("official",)),
    ("officials", "id_number", ("person",)),
    ("organizations", "uscc", ("organization",)),
    ("organizations", "legal_rep_id_number", ("person",)),
    ("shareholders", "uscc", ("organization",)),
    ("shareholders", "id_number", ("person",)),
    ("accounts", "account_number", ("account",)),
    ("accounts", "holder_id", ("person", "organization")),
    ("disbursements", "payee_id", ("person", "organization")),
    ("disbursements", "payee_account", ("account",)),
    ("disbursements", "approved_by", ("official",)),
    ("projects", "contractor_uscc", ("organization",)),
    ("projects", "implementing_uscc", ("organization",)),
    ("projects", "approver_official_id", ("official",)),
    ("transfers", "from_account", ("account",)),
    ("transfers", "to_account", ("account",)),
)


class WatchError(ServiceError):
    def __init__(self, status: int, message_id: str, /, **fields: Any) -> None:
        super().__init__(status, message_id, **fields)


def _now() -> datetime:
    return datetime.now(UTC)


def _chunks(values: Iterable[Any], size: int = CHUNK) -> Iterable[list[Any]]:
    items = sorted(set(values))
    for start in range(0, len(items), size):
        yield items[start:start + size]


# ---------------------------------------------------------------------- subjects

def _subject(conn: Connection, kind: str, key: str) -> tuple[str | None, str | None, str | None]:
    """(label, town code, page) of a subject the store knows; a WatchError 404 when it knows
    none. The label is a name (a person's, a household head's, an account holder's)."""
    from audit.detection.queries import subject_labels, subject_places

    if kind == "account":
        home = conn.execute(select(Household.household_id, Household.head_name)
                            .where(Household.card_account == key).limit(1)).first()
        holder = conn.execute(select(Account.holder_kind, Account.holder_id)
                              .where(Account.account_number == key)).first()
        if home is not None:
            label = home.head_name
            _, town = subject_places(conn, [("household", home.household_id)]).get(
                ("household", home.household_id), (None, None))
            return label, town, record_link("household", None, home.household_id)
        if holder is not None:
            holder_kind = "person" if holder.holder_kind == "person" else "organization"
            label = subject_labels(conn, [(holder_kind, holder.holder_id)]).get((holder_kind, holder.holder_id))
            _, town = subject_places(conn, [(holder_kind, holder.holder_id)]).get(
                (holder_kind, holder.holder_id), (None, None))
            return label, town, record_link("account", {"holder_kind": holder.holder_kind,
                                                        "holder_id": holder.holder_id}, key)
        # A card only the payments know (a ring of shared cards, DC-08): its payee's.
        payee = conn.execute(select(CardPayment.id_number).where(CardPayment.card_account == key)
                             .order_by(CardPayment.paid_on, CardPayment.payment_id).limit(1)).scalar_one_or_none()
        if payee is not None:
            label = subject_labels(conn, [("person", payee)]).get(("person", payee))
            _, town = subject_places(conn, [("person", payee)]).get(("person", payee), (None, None))
            return label, town, _page(conn, "person", payee)
        raise WatchError(404, "error.watch.unknown_subject", kind=kind)
    label = subject_labels(conn, [(kind, key)]).get((kind, key))
    if label is None:
        raise WatchError(404, "error.watch.unknown_subject", kind=kind)
    _, town = subject_places(conn, [(kind, key)]).get((kind, key), (None, None))
    return label, town, _page(conn, kind, key)


def _page(conn: Connection, kind: str, key: str) -> str | None:
    """The record page of a subject; a person's by household and name (no link carries an
    ID number)."""
    if kind == "person":
        row = conn.execute(select(Person.household_id, Person.name).where(Person.id_number == key)).first()
        if row is None:
            row = conn.execute(select(Household.household_id, Household.head_name.label("name"))
                               .where(Household.head_id_number == key).limit(1)).first()
        return record_link("person", {"household_id": row.household_id, "name": row.name}, key) if row else None
    return record_link(kind, None, key)


def _check_scope(user: Principal, town: str | None, kind: str) -> None:
    """A town's inspector watches only what lives in their town; what lives nowhere (an
    organization, an account no household holds) is the county's. Refused as unknown, as a
    case outside the reader's town is: not even its existence."""
    if user.town is not None and town != user.town:
        raise WatchError(404, "error.watch.unknown_subject", kind=kind)


def add(conn: Connection, user: Principal, kind: str, key: str, note: str | None = None) -> tuple[int, bool]:
    """Watch a subject (``kind``, ``key``); returns the watch's id and whether it is new (a
    second watch of the same subject is the first one). The subject must be one the store
    knows and within the user's scope. On the trail as ``watch_added``, the key masked."""
    if kind not in KINDS:
        raise WatchError(422, "error.watch.kind", kind=kind)
    key = (key or "").strip()
    if not key or len(key) > MAX_KEY or not key.isprintable():  # no key holds a control character (nor a NUL)
        raise WatchError(404, "error.watch.unknown_subject", kind=kind)
    words = plain_text(note or "") or None
    if words is not None and len(words) > MAX_NOTE:
        raise WatchError(422, "error.watch.note_long", max=MAX_NOTE)
    label, town, _ = _subject(conn, kind, key)
    _check_scope(user, town, kind)
    existing = conn.execute(select(Watch.id).where(Watch.user_id == user.id, Watch.subject_kind == kind,
                                                   Watch.subject_key == key)).scalar_one_or_none()
    if existing is not None:
        return existing, False
    watch_id = conn.execute(insert(Watch).values(
        user_id=user.id, subject_kind=kind, subject_key=key, label=label, note=words, created_at=_now(),
    ).returning(Watch.id)).scalar_one()
    trail.append(conn, user.name, "watch_added", f"watch {watch_id}", {"kind": kind, "key": mask_key(kind, key)})
    return watch_id, True


def remove(conn: Connection, user: Principal, watch_id: int) -> None:
    """Stop watching: the watch and its notifications go (they were about it). Only one's
    own watch; on the trail as ``watch_removed``."""
    row = conn.execute(select(Watch).where(Watch.id == watch_id, Watch.user_id == user.id)).first()
    if row is None:
        raise WatchError(404, "error.watch.none", watch_id=watch_id)
    conn.execute(delete(Notification).where(Notification.watch_id == watch_id))
    conn.execute(delete(Watch).where(Watch.id == watch_id))
    trail.append(conn, user.name, "watch_removed", f"watch {watch_id}",
                 {"kind": row.subject_kind, "key": mask_key(row.subject_kind, row.subject_key)})


def find(conn: Connection, user: Principal, kind: str, keys: Sequence[str]) -> dict[str, int]:
    """{key: watch id} of the user's watches on these subjects (a record page's button)."""
    if not keys:
        return {}
    return dict(conn.execute(select(Watch.subject_key, Watch.id).where(
        Watch.user_id == user.id, Watch.subject_kind == kind, Watch.subject_key.in_(list(keys)))).all())


def person_keys(conn: Connection, household_id: str, name: str) -> list[str]:
    """The ID numbers of the people a person page shows (found by household and name)."""
    return list(conn.execute(select(Person.id_number).where(Person.household_id == household_id,
                                                            Person.name == name).order_by(Person.id_number))
                .scalars())


def watches(conn: Connection, user: Principal) -> list[dict[str, Any]]:
    """The user's watches, newest first: the subject (key masked), its page, the note, and
    how many of its notifications are unread."""
    rows = conn.execute(select(Watch).where(Watch.user_id == user.id)
                        .order_by(Watch.created_at.desc(), Watch.id.desc())).all()
    unread = dict(conn.execute(select(Notification.watch_id, func.count())
                               .where(Notification.user_id == user.id, Notification.read_at.is_(None))
                               .group_by(Notification.watch_id)).all())
    return [{"id": r.id, "kind": r.subject_kind, "key": mask_key(r.subject_kind, r.subject_key),
             "label": r.label, "note": r.note, "created_at": r.created_at.isoformat(),
             "link": _page_quietly(conn, r.subject_kind, r.subject_key), "unread": unread.get(r.id, 0)}
            for r in rows]


def _page_quietly(conn: Connection, kind: str, key: str) -> str | None:
    if kind == "account":
        try:
            return _subject(conn, kind, key)[2]
        except WatchError:  # the account is gone from the store since it was watched
            return None
    return _page(conn, kind, key)


# ---------------------------------------------------------------------- notifications

def unread_count(conn: Connection, user_id: int) -> int:
    """The bell's number: one count on the index (user_id, read_at)."""
    return conn.execute(select(func.count()).select_from(Notification)
                        .where(Notification.user_id == user_id, Notification.read_at.is_(None))).scalar_one()


def notifications(conn: Connection, user: Principal, unread_only: bool = False, limit: int = 50,
                  offset: int = 0) -> tuple[int, list[dict[str, Any]]]:
    """The user's notifications, newest first (unread only when asked): what it is about
    (the watch), and what happened (a finding: its code and case; a record: its table and
    key, masked), with the run or the import that brought it."""
    from audit.importer.spec import BY_NAME

    query = select(Notification, Watch.subject_kind, Watch.subject_key, Watch.label).join(
        Watch, Watch.id == Notification.watch_id).where(Notification.user_id == user.id)
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = conn.execute(query.order_by(Notification.created_at.desc(), Notification.id.desc())
                        .limit(limit).offset(offset)).all()
    pages: dict[tuple[str, str], str | None] = {}
    items = []
    for r in rows:
        subject = (r.subject_kind, r.subject_key)
        if subject not in pages:
            pages[subject] = _page_quietly(conn, *subject)
        spec = BY_NAME.get(r.table_name or "")
        items.append({
            "id": r.id, "kind": r.kind, "created_at": r.created_at.isoformat(),
            "read_at": r.read_at.isoformat() if r.read_at else None,
            "watch": {"id": r.watch_id, "kind": r.subject_kind, "key": mask_key(*subject), "label": r.label,
                      "link": pages[subject]},
            "finding_id": r.finding_id, "case_id": r.case_id, "code": r.code, "run_id": r.run_id,
            "table": r.table_name, "record_key": mask_key(spec.kind, r.record_key) if spec and r.record_key else None,
            "batch_id": r.batch_id,
            "link": f"/cases/{r.case_id}" if r.case_id else pages[subject],
        })
    return total, items


def mark_read(conn: Connection, user: Principal, notification_ids: Sequence[int] | None = None) -> int:
    """Mark the user's unread notifications read: these (others' ids are ignored), or all
    of them; returns how many were unread."""
    statement = update(Notification).where(Notification.user_id == user.id, Notification.read_at.is_(None))
    if notification_ids is not None:
        if not notification_ids:
            return 0
        statement = statement.where(Notification.id.in_(list(notification_ids)))
    done = conn.execute(statement.values(read_at=_now())).rowcount or 0
    if done:
        trail.append(conn, user.name, "notifications_read", f"user {user.id}", {"count": done})
    return done


def latest_unread(conn: Connection, user: Principal, limit: int = 5) -> list[dict[str, Any]]:
    """The newest unread notifications (the inspector's home screen)."""
    return notifications(conn, user, unread_only=True, limit=limit)[1]


# ---------------------------------------------------------------------- the hooks

def _watchers(conn: Connection) -> list[Any]:
    """Every active user's watches with the town their scope is limited to (None: county)."""
    return list(conn.execute(
        select(Watch.id, Watch.user_id, Watch.subject_kind, Watch.subject_key, Unit.scope, Unit.town_code)
        .join(User, User.id == Watch.user_id).join(Unit, Unit.id == User.unit_id)
        .where(User.active.is_(True))))


def _targets(conn: Connection, watches: list[Any]) -> dict[tuple[str, str], list[Any]]:
    """{(kind, key): the watches it answers to}: each watch's own subject, and for a
    watched household its members', its head's ID numbers and its card account."""
    targets: dict[tuple[str, str], list[Any]] = defaultdict(list)
    by_household: dict[str, list[Any]] = defaultdict(list)
    for w in watches:
        targets[(w.subject_kind, w.subject_key)].append(w)
        if w.subject_kind == "household":
            by_household[w.subject_key].append(w)
    for chunk in _chunks(by_household):
        for hid, number in conn.execute(select(Person.household_id, Person.id_number)
                                        .where(Person.household_id.in_(chunk))):
            targets[("person", number)].extend(by_household[hid])
        for hid, head, card in conn.execute(select(Household.household_id, Household.head_id_number,
                                                   Household.card_account).where(Household.household_id.in_(chunk))):
            targets[("person", head)].extend(by_household[hid])
            if card:
                targets[("account", card)].extend(by_household[hid])
    return targets


def _one_per_user(watches: Iterable[Any]) -> dict[int, Any]:
    """{user id: the watch to file a notification under}: the user's oldest matching watch."""
    chosen: dict[int, Any] = {}
    for w in sorted(watches, key=lambda w: w.id):
        chosen.setdefault(w.user_id, w)
    return chosen


def notify_run(conn: Connection, run_id: int) -> int:
    """Tell the watchers about the new findings of a detection run; returns how many
    notifications were filed. One query when nobody watches anything."""
    watches = _watchers(conn)
    if not watches:
        return 0
    targets = _targets(conn, watches)
    new = (Finding.last_run_id == run_id) & (Finding.first_run_id == run_id)  # the index on last_run_id
    found: dict[int, Any] = {}
    keys = sorted({key for _, key in targets})
    for start in range(0, len(keys), PATTERNS):
        # A first cut in SQL (the key quoted in the subjects' or records' JSON), then exactly.
        patterns = [contains_pattern(f'"{key}"') for key in keys[start:start + PATTERNS]]
        naming = or_(*[cast(column, Text).like(p, escape=LIKE_ESCAPE)
                       for p in patterns for column in (Finding.subjects, Finding.records)])
        for row in conn.execute(select(Finding.id, Finding.case_id, Finding.code, Finding.subjects, Finding.records,
                                       Case.town_code).join(Case, Case.id == Finding.case_id)
                                .where(new, naming)):
            found[row.id] = row
    if not found:
        return 0
    told = _told(conn, sorted(found))
    now = _now()
    rows = []
    for finding_id, row in sorted(found.items()):
        named = {(r.get("kind"), r.get("key")) for r in [*row.subjects, *row.records]}
        matching = [w for name in named for w in targets.get(name, ())  # type: ignore[arg-type]
                    if w.scope != "town" or w.town_code == row.town_code]
        for user_id, w in _one_per_user(matching).items():
            if (user_id, finding_id) in told:
                continue
            rows.append({"user_id": user_id, "watch_id": w.id, "kind": "finding", "finding_id": finding_id,
                         "case_id": row.case_id, "code": row.code, "run_id": run_id, "created_at": now})
    if rows:
        conn.execute(insert(Notification), rows)
    return len(rows)


def _told(conn: Connection, finding_ids: list[int]) -> set[tuple[int, int]]:
    """(user, finding) pairs already told: a hook run twice files nothing twice."""
    told: set[tuple[int, int]] = set()
    for chunk in _chunks(finding_ids):
        told.update((user_id, finding_id) for user_id, finding_id in conn.execute(
            select(Notification.user_id, Notification.finding_id).where(Notification.finding_id.in_(chunk))))
    return told


def notify_import(conn: Connection, batch_id: int) -> int:
    """Tell the watchers about the records an import wrote (added or changed) about what they
    watch; returns how many notifications were filed. One query when nobody watches anything."""
    from audit.importer.spec import BY_NAME

    watches = _watchers(conn)
    if not watches:
        return 0
    targets = _targets(conn, watches)
    by_kind: dict[str, set[str]] = defaultdict(set)
    for kind, key in targets:
        by_kind[kind].add(key)
    # {(table, record key): the watches it answers to}
    written: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for table_name, column_name, kinds in RECORD_LINKS:
        wanted = {key: kind for kind in kinds for key in by_kind.get(kind, ())}
        if not wanted:
            continue
        spec = BY_NAME[table_name]
        table = spec.model.__table__
        key_columns = [table.c[spec.by_name[k].db_name] for k in spec.key]
        column = table.c[column_name]
        for chunk in _chunks(wanted):
            for row in conn.execute(select(column, *key_columns).where(column.in_(chunk),
                                                                      table.c.batch_id == batch_id)):
                record_key = "|".join(str(value.isoformat() if hasattr(value, "isoformat") else value)
                                      for value in row[1:])
                for kind in kinds:
                    written[(table_name, record_key)].extend(targets.get((kind, row[0]), ()))
    now = _now()
    rows = []
    for (table_name, record_key), matched in sorted(written.items()):
        for user_id, w in _one_per_user(matched).items():
            rows.append({"user_id": user_id, "watch_id": w.id, "kind": "record", "table_name": table_name,
                         "record_key": record_key[:200], "batch_id": batch_id, "created_at": now})
    if rows:
        conn.execute(insert(Notification), rows)
    return len(rows)


__all__ = ["KINDS", "RECORD_LINKS", "WatchError", "add", "find", "latest_unread", "mark_read", "notifications",
           "notify_import", "notify_run", "remove", "unread_count", "watches"]

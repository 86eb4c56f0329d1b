"""Household membership, shared by the DC detectors: who belongs to the household a
payment went to (its registered members and its head, who may be registered elsewhere)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, false, func, or_, select, true, union, union_all

from audit.detectors.moved import CardPayment
from audit.models import Household, Person


def payment_household(payments: Any = CardPayment) -> Any:
    """The beneficiary's household for a payment: its own ``household_id``, else the person's.
    Use with ``outerjoin(Person, Person.id_number == payments.id_number)``; ``payments`` is
    the paid card payments (what detectors read) unless a caller reads every line."""
    return func.coalesce(payments.household_id, Person.household_id)


def household_members(context: Any = None, among: Any = None) -> Any:
    """(household_id, id_number) for every member and every head. Narrowed, each branch
    of the UNION reading its own index, to the same rows a filter outside would leave
    (instead of the database materialising every household's members first): given a
    check's ``context``, to the candidates' households; given ``among`` (a one-column
    SELECT of ID numbers, a register's), to the members it names."""
    homes = context.candidate_values("card_payment", candidate_household()) if context is not None else None
    people = select(Person.household_id.label("household_id"), Person.id_number.label("id_number"))
    heads = select(Household.household_id, Household.head_id_number)
    if homes is not None:
        people = people.where(Person.household_id.in_(homes))
        heads = heads.where(Household.household_id.in_(homes))
    if among is not None:
        people = people.where(Person.id_number.in_(among))
        heads = heads.where(Household.head_id_number.in_(among))
    return union(people, heads).subquery()


def candidate_household() -> Any:
    """The household of each payment, as a one-column SELECT for ``Context.among``'s ``via``:
    the rows about the same household as a pre-release check's candidate payments."""
    return select(payment_household()).select_from(CardPayment).outerjoin(
        Person, Person.id_number == CardPayment.id_number)


def paid_to_candidates_households(context: Any) -> Any:
    """A filter on payments (joined to ``Person`` as :func:`payment_household` needs) that
    leaves a scan whole and, in a check, keeps the payments to the candidates' households.
    The household is COALESCE(payment's, person's), which no index serves; the OR beside it
    (the payment's own household, or a person registered there) lets the database start
    from the indexes and then apply the exact test."""
    homes = context.candidate_values("card_payment", candidate_household())
    if homes is None:
        return true()
    if not homes:
        return false()
    registered = select(Person.id_number).where(Person.household_id.in_(homes)).correlate(None)
    return and_(payment_household().in_(homes),
                or_(CardPayment.household_id.in_(homes), CardPayment.id_number.in_(registered)))


def payments_to_households(homes: Any, until: Any) -> Any:
    """The paid card payments up to ``until`` to the households ``homes`` names (a
    one-column SELECT): payment_id, household_id (:func:`payment_household`'s: the
    payment's own, else its beneficiary's), amount_fen, paid_on and paying_unit. Two
    disjoint branches, each reading an index (payments by household; a household's
    people, then their payments by ID number), so a detector that finds its few households
    first reads only their payments, instead of joining every payment to every
    household's members and filtering afterwards."""
    columns = (CardPayment.payment_id.label("payment_id"), CardPayment.amount_fen.label("amount_fen"),
               CardPayment.paid_on.label("paid_on"), CardPayment.paying_unit.label("paying_unit"))
    own = (select(*columns, CardPayment.household_id.label("household_id"))
           .where(CardPayment.household_id.in_(homes), CardPayment.paid_on <= until))
    registered = (select(*columns, Person.household_id)
                  .join(Person, Person.id_number == CardPayment.id_number)
                  .where(CardPayment.household_id.is_(None), Person.household_id.in_(homes),
                         CardPayment.paid_on <= until))
    return union_all(own, registered).subquery()

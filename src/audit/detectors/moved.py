"""The payments that moved money (interchange v1.1, red-flags.md "Money that moved").

Every detector reads card payments and disbursements through these two, never through the
tables themselves (a test holds every detector file to it), so no rule can count money that
did not move:

- ``CardPayment``: the card payments whose ``status`` is ``paid``. A ``failed`` or
  ``returned`` payment paid nothing; its reissue (``reissue_of``) is then the one payment,
  never a second one (DC-01). A reissue of a *paid* payment is paid twice, and DC-01 finds
  it, since both are here. A pre-release check holds a ``pending`` line as if it were
  paid: it marks its own lines paid before the detectors run (checks/service.py).
- ``Disbursement``: the effective disbursements: ``status`` ``paid`` and not replaced by
  another's ``correction_of`` (the replaced one is void; its correction counts instead).

``EveryCardPayment`` is the table itself, for the one rule about the lines rather than the
money (DV-08 compares a reissue with its failed original): importing it from here keeps
that choice visible.

They keep the tables' names, columns and ORM attributes, so a detector's query reads as
before; the databases flatten the filter into the query (PostgreSQL always, SQLite for
these simple subqueries), reading the tables' own indexes. Evidence (facts.py) reads the
tables themselves: a reviewer sees a failed original beside its reissue.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import aliased

from audit import models

PAID = "paid"

_replacement = aliased(models.Disbursement, name="correction")

CardPayment: Any = aliased(
    models.CardPayment,
    select(models.CardPayment).where(models.CardPayment.status == PAID).subquery("card_payments_paid"),
    name="card_payments_paid")

Disbursement: Any = aliased(
    models.Disbursement,
    select(models.Disbursement).where(
        models.Disbursement.status == PAID,
        ~exists().where(_replacement.correction_of == models.Disbursement.disbursement_id),
    ).subquery("disbursements_effective"),
    name="disbursements_effective")

# Every line, moved or not (see the module's docstring).
EveryCardPayment: Any = models.CardPayment

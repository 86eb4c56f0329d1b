"""DV-08 reissue to another account (补发改卡).

What it flags: a paid card payment that reissues another (``reissue_of``, interchange
v1.1) onto a card account other than the original's, where that account is held by no
member of the beneficiary's household (the bank's accounts register says who holds it; an
account it does not know is held by no one the store can name).

Why it matters: a failed payment is the easiest money to divert: nobody is waiting at the
bank for it, and the clerk who reissues it chooses the account. Reissues to a cadre's or a
stranger's card are how 补发 money disappears.

Settings: none.

Evidence, in order: the original payment (with its status and why it failed), the
reissue, then the account it went to and who holds it. Money at risk: the reissue.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import and_, select
from sqlalchemy.orm import aliased

from audit.detectors.base import Context, Detector, Found, Ref, msg
from audit.detectors.facts import Facts
from audit.detectors.members import household_members, payment_household
from audit.detectors.moved import CardPayment, EveryCardPayment
from audit.models import Account, Person


class ReissueToAnotherAccount(Detector):
    code = "DV-08"
    judges = "card_payment"
    defaults: dict = {}

    def run(self, context: Context) -> Iterator[Found]:
        original = aliased(EveryCardPayment, name="original")
        household = payment_household()
        members = household_members(context)
        # The reissue's account, unless a member of the beneficiary's household holds it.
        rows = context.conn.execute(
            select(CardPayment.payment_id, CardPayment.id_number, CardPayment.card_account, CardPayment.amount_fen,
                   original.payment_id.label("original_id"), household.label("household"), Account.holder_id)
            .join(original, original.payment_id == CardPayment.reissue_of)
            .outerjoin(Person, Person.id_number == CardPayment.id_number)
            .outerjoin(Account, Account.account_number == CardPayment.card_account)
            .outerjoin(members, and_(members.c.household_id == household, members.c.id_number == Account.holder_id))
            .where(CardPayment.reissue_of.is_not(None), CardPayment.card_account != original.card_account,
                   CardPayment.paid_on <= context.as_of, members.c.id_number.is_(None),
                   context.among("card_payment", CardPayment.payment_id))
            .order_by(CardPayment.payment_id)).all()
        facts = Facts(context.conn)
        facts.load("card_payments", [r.payment_id for r in rows] + [r.original_id for r in rows])
        facts.load("accounts", [r.card_account for r in rows])
        for row in rows:
            known = row.holder_id is not None
            yield Found(
                subjects=[Ref("person", row.id_number), Ref("account", row.card_account)],
                records=[Ref("card_payment", row.payment_id, amount_fen=row.amount_fen),
                         Ref("card_payment", row.original_id, amount_fen=0)],
                evidence=[facts.card_payment(row.original_id, msg("note.reissued_original")),
                          facts.card_payment(row.payment_id),
                          facts.account(row.card_account, msg("note.reissue_account_not_household"
                                                              if known else "note.reissue_account_unknown"))],
                score=0.85 if known else 0.7, amount_at_risk_fen=row.amount_fen)

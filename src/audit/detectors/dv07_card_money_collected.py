"""DV-07 card money collected (明白卡资金被归集).

What it flags: for one program and period, at least ``min_accounts`` beneficiaries' card
accounts that each transfer at least ``share`` of what the card was paid for it to one
same account, within ``days`` days after the card's first payment of it (bank transfers
collected in an investigation, read as the transfer graph's edges out of card accounts).
A transfer counts for one payment of its card: when it falls in the windows of several
(June's 低保 and the industry award, paid the same day), for the largest, the money it can
be. A transfer to an account held by a member of the card's own household (a family moving
its own money) does not count. The finding scores higher when that account is an official's
(in office when the money arrived) or a village committee's.

Why it matters: 明白卡 money collected back (归集) by a cadre "for the cooperative", "to
repay a loan" or for nothing at all is the commonest way subsidies are taken from the
households they were paid to: each payment looks proper, and only the card statements
show the money leaving, card after card, to one account.

Settings: ``min_accounts`` (3), ``share`` (0.5), ``days`` (30).

Evidence, in order: for each card, its payments of the program and period, then its
transfers to the collecting account; the collecting account and its holder (how many cards,
how much in all); the official or village committee holding it, when one does. Money at
risk: what each card forwarded, up to what it was paid.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction
from typing import Any

from sqlalchemy import and_, func, select, tuple_, union

from audit.detectors.base import Context, Detector, Found, Ref, msg, yuan
from audit.detectors.facts import Facts
from audit.detectors.members import payment_household
from audit.detectors.moved import CardPayment
from audit.detectors.power import Power
from audit.detectors.sql import add_days
from audit.models import Account, Household, Organization, Person, Transfer


@dataclass
class Card:
    """One card's payments of a program and period, and what it sent to one account."""

    account: str
    paid_fen: int
    first_paid: date
    transfers: list[Any] = field(default_factory=list)

    @property
    def sent_fen(self) -> int:
        return sum(int(t.amount_fen) for t in self.transfers)


class CardMoneyCollected(Detector):
    code = "DV-07"
    judges = "card_payment"
    needs = ("transfers",)
    defaults = {"min_accounts": 3, "share": 0.5, "days": 30}

    def run(self, context: Context) -> Iterator[Found]:
        days, least = int(context.settings["days"]), int(context.settings["min_accounts"])
        share = Fraction(str(context.settings["share"]))
        # Only the transfers that leave card accounts: the cards that sent anything, their
        # payments by program and period, then each one's transfers in its window.
        senders = select(Transfer.from_account).where(Transfer.transferred_on <= context.as_of)
        paid = (select(CardPayment.card_account, CardPayment.program_code, CardPayment.period,
                       func.min(CardPayment.paid_on).label("first_paid"),
                       func.sum(CardPayment.amount_fen).label("paid"))
                .where(CardPayment.card_account.in_(senders), CardPayment.paid_on <= context.as_of)
                .group_by(CardPayment.card_account, CardPayment.program_code, CardPayment.period)).subquery()
        rows = context.conn.execute(
            select(paid, Transfer.transfer_id, Transfer.to_account, Transfer.amount_fen, Transfer.transferred_on)
            .select_from(paid)
            .join(Transfer, and_(Transfer.from_account == paid.c.card_account,
                                 Transfer.to_account != paid.c.card_account,
                                 Transfer.transferred_on >= paid.c.first_paid,
                                 Transfer.transferred_on <= add_days(paid.c.first_paid, days),
                                 Transfer.transferred_on <= context.as_of))
            .order_by(Transfer.transferred_on, Transfer.transfer_id)).all()
        # A transfer forwards one payment of its card: where it falls in the windows of
        # several (June's 低保 and the industry award paid the same day), the largest, the
        # money it can be; never counted for two programs at once.
        meant: dict[str, Any] = {}
        for row in rows:
            now = meant.get(row.transfer_id)
            if now is None or (int(row.paid), row.first_paid, row.program_code, row.period) > \
                    (int(now.paid), now.first_paid, now.program_code, now.period):
                meant[row.transfer_id] = row
        # (program, period, collecting account) -> card -> what it was paid and sent there.
        sent: dict[tuple[str, str, str], dict[str, Card]] = {}
        for row in meant.values():
            cards = sent.setdefault((row.program_code, row.period, row.to_account), {})
            card = cards.setdefault(row.card_account, Card(row.card_account, int(row.paid), row.first_paid))
            card.transfers.append(row)
        for key, cards in sent.items():
            sent[key] = {a: c for a, c in cards.items() if c.sent_fen >= share * c.paid_fen}
        candidates = {key: cards for key, cards in sent.items() if len(cards) >= least}
        if not candidates:
            return
        # The payments behind each card, and the households they were paid to.
        wanted = sorted({(a, program, period) for (program, period, _), cards in candidates.items() for a in cards})
        household = payment_household()
        payments: dict[tuple[str, str, str], list[Any]] = {}
        for start in range(0, len(wanted), 300):
            for row in context.conn.execute(
                    select(CardPayment.payment_id, CardPayment.card_account, CardPayment.program_code,
                           CardPayment.period, CardPayment.amount_fen, CardPayment.id_number,
                           household.label("household"))
                    .outerjoin(Person, Person.id_number == CardPayment.id_number)
                    .where(tuple_(CardPayment.card_account, CardPayment.program_code, CardPayment.period)
                           .in_(wanted[start:start + 300]), CardPayment.paid_on <= context.as_of)
                    .order_by(CardPayment.paid_on, CardPayment.payment_id)):
                payments.setdefault((row.card_account, row.program_code, row.period), []).append(row)
        targets = sorted({target for _, _, target in candidates})
        holders = {row.account_number: (row.holder_kind, row.holder_id) for row in context.conn.execute(
            select(Account.account_number, Account.holder_kind, Account.holder_id)
            .where(Account.account_number.in_(targets)))}
        homes = {p.household for rows in payments.values() for p in rows if p.household}
        family = self._members(context, homes)
        committees = set(context.conn.execute(select(Organization.uscc).where(
            Organization.kind == "village_committee",
            Organization.uscc.in_([h for kind, h in holders.values() if kind == "org"]))).scalars())
        power = Power.of(context.conn, context.cache)
        facts = Facts(context.conn)
        facts.load("card_payments", [p.payment_id for rows in payments.values() for p in rows])
        facts.load("transfers", [t.transfer_id for cards in candidates.values() for c in cards.values()
                                 for t in c.transfers])
        facts.load("accounts", targets)
        for (program, period, target), cards in sorted(candidates.items()):
            kind, holder = holders.get(target, ("", ""))
            # A card whose own household holds the collecting account is a family's own money.
            counted = [c for a, c in sorted(cards.items()) if not (kind == "person" and any(
                holder in family.get(p.household, ()) for p in payments[(a, program, period)]))]
            beneficiaries = {p.id_number for c in counted for p in payments[(c.account, program, period)]}
            if len(counted) < least or len(beneficiaries) < least:
                continue
            arrived = min(t.transferred_on for c in counted for t in c.transfers)
            official = next((o for o in power.by_person.get(holder, []) if power.in_office(o, arrived)), None) \
                if kind == "person" else None
            committee = holder if kind == "org" and holder in committees else None
            records, steps, at_risk = [], [], 0
            for card in counted:
                left = min(card.sent_fen, card.paid_fen)
                at_risk += left
                for p in payments[(card.account, program, period)]:
                    taken = min(left, int(p.amount_fen))
                    left -= taken
                    records.append(Ref("card_payment", p.payment_id, amount_fen=taken))
                    steps.append(facts.card_payment(p.payment_id))
                for t in card.transfers:
                    records.append(Ref("transfer", t.transfer_id, amount_fen=0))
                    steps.append(facts.transfer(t.transfer_id))
            steps.append(facts.account(target, msg(
                "note.card_money_collected", cards=len(counted), program=facts.program_name(program), period=period,
                amount=yuan(at_risk), days=max((t.transferred_on - c.first_paid).days
                                               for c in counted for t in c.transfers))))
            subjects = [Ref("account", target)]
            if official is not None:
                row = facts.get("officials", official)
                assert row is not None
                steps.append(facts.official(official, msg("note.collector_is_official")))
                subjects.insert(0, Ref("official", official, row["name"]))
            elif committee is not None:
                steps.append(facts.organization(committee, msg("note.collector_is_committee")))
                subjects.insert(0, Ref("organization", committee))
            elif kind == "person":
                subjects.insert(0, Ref("person", holder))
            yield Found(subjects=subjects, records=records, evidence=steps,
                        score=0.9 if official or committee else 0.7, amount_at_risk_fen=at_risk)

    @staticmethod
    def _members(context: Context, homes: set[str]) -> dict[str, set[str]]:
        """The members and the head of each of these households, by household."""
        found: dict[str, set[str]] = {}
        listed = sorted(homes)
        for start in range(0, len(listed), 500):
            part = listed[start:start + 500]
            for household_id, id_number in context.conn.execute(union(
                    select(Person.household_id, Person.id_number).where(Person.household_id.in_(part)),
                    select(Household.household_id, Household.head_id_number).where(Household.household_id.in_(part)))):
                found.setdefault(household_id, set()).add(id_number)
        return found

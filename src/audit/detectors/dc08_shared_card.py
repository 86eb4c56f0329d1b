"""DC-08 shared or captured card.

What it flags: one card account receiving payments for beneficiaries of two or more
households — taken as a ring: cards and households linked by payments, so a chain of
shared cards is one finding — or a card account held (per the account register) by
someone outside the beneficiary's household, an official above all.

Why it matters: the one-card (一卡通) exists so money goes straight to the family; a card
that collects for several households, or that a cadre holds, is money that never reached
them (截留).

Settings: none.

Evidence, in order: the card account and its holder (the official, when one holds it),
then each payment into it, by household.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import networkx as nx
from sqlalchemy import exists, or_, select
from sqlalchemy.orm import aliased

from audit.detectors.base import Context, Detector, Found, Ref, msg
from audit.detectors.facts import Facts
from audit.detectors.members import candidate_household, payment_household
from audit.detectors.power import Power
from audit.detectors.moved import CardPayment
from audit.models import Account, Household, Person

# Hops a check follows from its candidates through cards and households before it reads
# the whole graph instead (a real ring is a few hops across).
MAX_HOPS = 12


class SharedCard(Detector):
    code = "DC-08"
    judges = "card_payment"
    defaults: dict = {}

    def run(self, context: Context) -> Iterator[Found]:
        household = payment_household()
        links = self._links(context, household)
        graph = nx.Graph()
        for card, home in links:
            graph.add_edge(("card", card), ("household", home))
        rings = [c for c in nx.connected_components(graph) if sum(1 for kind, _ in c if kind == "household") > 1]
        # Two NOT EXISTS, one per kind of membership (registered member, head), rather than
        # one over their UNION: each is an index lookup, which a UNION cannot offer.
        holder = aliased(Person)
        is_member = exists().where(holder.household_id == household, holder.id_number == Account.holder_id)
        is_head = exists().where(Household.household_id == household, Household.head_id_number == Account.holder_id)
        captured = context.conn.execute(
            select(CardPayment.card_account, Account.holder_id).distinct()
            .outerjoin(Person, Person.id_number == CardPayment.id_number)
            .join(Account, Account.account_number == CardPayment.card_account)
            .where(CardPayment.paid_on <= context.as_of, Account.holder_kind == "person",
                   ~is_member, ~is_head,
                   context.among("card_payment", CardPayment.card_account, via=select(CardPayment.card_account)))
        ).all()
        cards = {card for ring in rings for kind, card in ring if kind == "card"} | {c.card_account for c in captured}
        payments: dict[str, list[Any]] = {}
        card_list = sorted(cards)
        for start in range(0, len(card_list), 500):
            for row in context.conn.execute(
                    select(CardPayment.payment_id, CardPayment.card_account, CardPayment.amount_fen,
                           household.label("household"))
                    .outerjoin(Person, Person.id_number == CardPayment.id_number)
                    .where(CardPayment.card_account.in_(card_list[start:start + 500]),
                           CardPayment.paid_on <= context.as_of)
                    .order_by(CardPayment.paid_on, CardPayment.payment_id)):
                payments.setdefault(row.card_account, []).append(row)
        facts = Facts(context.conn)
        facts.load("accounts", card_list)
        facts.load("card_payments", [p.payment_id for rows in payments.values() for p in rows])
        power = Power.of(context.conn, context.cache)
        for ring in rings:
            ring_cards = sorted(card for kind, card in ring if kind == "card")
            homes = sorted(home for kind, home in ring if kind == "household")
            rows = [p for card in ring_cards for p in payments[card]]
            yield Found(
                subjects=[Ref("account", ring_cards[0])] + [Ref("account", c) for c in ring_cards[1:]],
                records=[Ref("card_payment", p.payment_id, amount_fen=p.amount_fen) for p in rows],
                evidence=[facts.account(card, msg("note.card_for_households", households=homes))
                          for card in ring_cards] + [facts.card_payment(p.payment_id) for p in rows],
                score=0.85, amount_at_risk_fen=sum(p.amount_fen for p in rows))
        for card, holder in captured:
            rows = payments[card]
            officials = power.by_person.get(holder, [])
            holder_step = ([facts.official(officials[0], msg("note.holds_the_card"))] if officials else [])
            yield Found(
                subjects=[Ref("account", card)] + [Ref("official", o) for o in officials[:1]],
                records=[Ref("card_payment", p.payment_id, amount_fen=p.amount_fen) for p in rows],
                evidence=[facts.account(card, msg("note.holder_outside_household")),
                          *holder_step] + [facts.card_payment(p.payment_id) for p in rows],
                score=0.95 if officials else 0.7, amount_at_risk_fen=sum(p.amount_fen for p in rows))

    @staticmethod
    def _links(context: Context, household: Any) -> list[tuple[str, str]]:
        """(card, household) pairs paid: all of them in a scan; in a check, the connected
        part of the card-household graph that holds the candidate payments, grown a hop
        at a time from their cards and households (the same rings a scan would find)."""
        links = (select(CardPayment.card_account, household.label("household")).distinct()
                 .outerjoin(Person, Person.id_number == CardPayment.id_number)
                 .where(CardPayment.paid_on <= context.as_of, household.is_not(None)))
        cards = context.candidate_values("card_payment", select(CardPayment.card_account))
        homes = context.candidate_values("card_payment", candidate_household())
        if cards is None or homes is None:
            return [(card, home) for card, home in context.conn.execute(links)]
        known_cards, known_homes, found = set(cards), set(homes), set()
        for _ in range(MAX_HOPS):
            # Indexed columns first; the exact household is then checked here.
            registered = select(Person.id_number).where(Person.household_id.in_(sorted(known_homes)))
            by_payment = links.where(or_(CardPayment.card_account.in_(sorted(known_cards)),
                                         CardPayment.household_id.in_(sorted(known_homes))))
            by_person = links.where(CardPayment.id_number.in_(registered.correlate(None)))
            adjacent = {(card, home) for query in (by_payment, by_person) for card, home in context.conn.execute(query)
                        if card in known_cards or home in known_homes}
            new_cards = {card for card, _ in adjacent} - known_cards
            new_homes = {home for _, home in adjacent} - known_homes
            found |= adjacent
            if not new_cards and not new_homes:
                return sorted(found)
            known_cards |= new_cards
            known_homes |= new_homes
        return [(card, home) for card, home in context.conn.execute(links)]  # a sprawling ring: read it all

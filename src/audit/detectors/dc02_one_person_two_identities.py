"""DC-02 one person, two identities.

What it flags: two person records that are one human being — the same or a near-same
name (the same pinyin: homophone and one-character variants such as 张伟/张玮), the same
birth date, and the same village or the same card account, under different ID numbers —
both drawing benefits; or one ID number drawing benefits in two households.

How: entity resolution. SQL blocks candidate pairs among people who draw benefits (same
birth date and village; same birth date and card account); only those pairs have their
names compared (pypinyin, with the southern -n/-ng merger folded). Two people sharing a
common name in one village is normal in rural China: without the same birth date they are
never compared, so namesakes are not flagged.

Why it matters: a second identity (a forged or duplicated registration) doubles a
household's benefits; one ID in two households collects twice under one name.

Settings: none.

Evidence, in order: both people, the comparison (birth date, village or card, names),
then the payments each drew.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pypinyin import Style, lazy_pinyin, pinyin
from sqlalchemy import and_, exists, func, or_, select, union, union_all
from sqlalchemy.orm import aliased

from audit.detectors.base import Context, Detector, Evidence, Found, Msg, Ref, msg
from audit.detectors.facts import Facts
from audit.detectors.members import payment_household
from audit.detectors.moved import CardPayment
from audit.models import Household, Person


def _fold(syllable: str) -> str:
    # Hunan and much of the south do not tell -in/-ing, -en/-eng, -an/-ang apart.
    return syllable[:-1] if syllable.endswith("ng") else syllable


SAME_NAME = "clause.same_name"


def same_name(a: str, b: str) -> Msg | None:
    """Why two names are one person's name (a message), or None."""
    if not a or not b:
        return None
    if a == b:
        return msg(SAME_NAME, name=a)
    if len(a) != len(b) or a[0] != b[0]:
        return None
    if [_fold(s) for s in lazy_pinyin(a)] == [_fold(s) for s in lazy_pinyin(b)]:
        # Shown with tone marks (chén huì): how the names sound, for a reader to hear.
        return msg("clause.names_sound_alike", a=a, b=b, pinyin=" ".join(p[0] for p in pinyin(a, style=Style.TONE)))
    return None


class OnePersonTwoIdentities(Detector):
    code = "DC-02"
    judges = "card_payment"
    needs = ("persons",)
    defaults: dict = {}

    def run(self, context: Context) -> Iterator[Found]:
        household = payment_household()
        born = func.substr(CardPayment.id_number, 7, 8)
        paid = and_(CardPayment.paid_on <= context.as_of,
                    # in a check: the drawers born on a candidate's birth date
                    context.among("card_payment", born, via=select(born)))
        # Read once (a CTE), then blocked by two equi-joins, birth date and village, birth date
        # and card: one join on the birth date with an OR beside it compared every two drawers
        # born on one day (tens of millions of pairs at a million households).
        drawers = (select(CardPayment.id_number, household.label("household"), Household.village_code,
                          CardPayment.card_account, born.label("born"), Person.name)
                   .distinct()
                   .outerjoin(Person, Person.id_number == CardPayment.id_number)
                   .join(Household, Household.household_id == household)
                   .where(paid).cte("drawers"))
        blocks = []
        for column in ("village_code", "card_account"):
            a, b = aliased(drawers), aliased(drawers)
            blocks.append(select(a.c.id_number.label("a"), b.c.id_number.label("b"),
                                 a.c.village_code.label("village_a"), b.c.village_code.label("village_b"),
                                 a.c.card_account.label("card_a"), b.c.card_account.label("card_b"))
                          .join(b, (b.c.born == a.c.born) & (b.c.id_number > a.c.id_number)
                                & (b.c[column] == a.c[column]))
                          # What same_name needs of two names it can match (the same length and
                          # surname), asked of the database first; a name it does not hold
                          # (a head registered nowhere) is looked up below.
                          .where(or_(a.c.name.is_(None), b.c.name.is_(None),
                                     and_(func.length(a.c.name) == func.length(b.c.name),
                                          func.substr(a.c.name, 1, 1) == func.substr(b.c.name, 1, 1)))))
        pairs = sorted(set(context.conn.execute(union(*blocks)).all()))
        names = self._names(context, {p.a for p in pairs} | {p.b for p in pairs})
        facts = Facts(context.conn)
        matched: dict[tuple[str, str], tuple[Any, Msg]] = {}
        for pair in pairs:
            why = same_name(names.get(pair.a, ""), names.get(pair.b, ""))
            if why and (pair.a, pair.b) not in matched:
                matched[(pair.a, pair.b)] = (pair, why)
        split = self._in_two_households(context)
        payments = self._payments(context, {i for key in matched for i in key} | set(split))
        facts.load("card_payments", [p.payment_id for rows in payments.values() for p in rows])
        facts.load("persons", list(names))
        for (first, second), (pair, why) in matched.items():
            where = (msg("clause.same_village", village=facts.place(pair.village_a)[1], village_code=pair.village_a)
                     if pair.village_a == pair.village_b else msg("clause.same_card", card_account=pair.card_a))
            rows = payments.get(first, []) + payments.get(second, [])
            born = f"{first[6:10]}-{first[10:12]}-{first[12:14]}"
            yield Found(
                subjects=[Ref("person", first, names.get(first)), Ref("person", second, names.get(second))],
                records=[Ref("card_payment", p.payment_id, amount_fen=p.amount_fen if p.id_number == second else 0)
                         for p in rows],
                evidence=[facts.person(first), facts.person(second),
                          Evidence("comparison", f"{first}|{second}",
                                   msg("evidence.one_person_two_ids", why=why.as_dict(), born=born,
                                       where=where.as_dict(), id_number_a=first, id_number_b=second),
                                   {"names": [names.get(first), names.get(second)], "birth_date": born})]
                + [facts.card_payment(p.payment_id) for p in rows],
                score=0.9 if why.id == SAME_NAME else 0.8,
                amount_at_risk_fen=sum(p.amount_fen for p in rows if p.id_number == second))
        for id_number in split:
            rows = payments.get(id_number, [])
            registered = facts.person(id_number)
            homes = sorted({p.household for p in rows} | ({registered.fields["household_id"]}
                                                          if registered.fields.get("household_id") else set()))
            yield Found(
                subjects=[Ref("person", id_number, names.get(id_number))],
                records=[Ref("card_payment", p.payment_id, amount_fen=p.amount_fen) for p in rows
                         if p.household != registered.fields.get("household_id")],
                evidence=[registered,
                          Evidence("comparison", id_number, msg("evidence.one_id_two_households",
                                                                id_number=id_number, households=homes),
                                   {"households": homes})]
                + [facts.card_payment(p.payment_id) for p in rows],
                score=0.85, amount_at_risk_fen=sum(p.amount_fen for p in rows
                                                   if p.household != registered.fields.get("household_id")))

    @staticmethod
    def _in_two_households(context: Context) -> list[str]:
        """The IDs that draw benefits and are in two households: an ID is in every household
        it is paid in, registered in, or head of. Found as the ways two of those can differ
        (two households on its payments; a payment's household not the one it is registered
        in, or not the one it heads; registered in one and head of another; head of two),
        each an equi-join or an aggregate over an index, never a DISTINCT over every
        payment's household; then kept when the ID drew a payment that reached a household."""
        own = CardPayment.household_id
        registered = aliased(Person, name="registered")
        headed = aliased(Household, name="headed")
        paid = CardPayment.paid_on <= context.as_of
        ways = union(
            select(CardPayment.id_number).where(paid, own.is_not(None)).group_by(CardPayment.id_number)
            .having(func.count(own.distinct()) > 1),
            select(CardPayment.id_number).join(registered, registered.id_number == CardPayment.id_number)
            .where(paid, own.is_not(None), own != registered.household_id),
            select(CardPayment.id_number).join(headed, headed.head_id_number == CardPayment.id_number)
            .where(paid, own.is_not(None), own != headed.household_id),
            select(registered.id_number).join(headed, headed.head_id_number == registered.id_number)
            .where(registered.household_id != headed.household_id),
            select(headed.head_id_number).group_by(headed.head_id_number).having(func.count() > 1),
        ).subquery()
        drew = (select(CardPayment.id_number)
                .outerjoin(Person, Person.id_number == CardPayment.id_number)
                .where(paid, payment_household().is_not(None), CardPayment.id_number == ways.c.id_number)
                .correlate(ways))
        return sorted(context.conn.execute(
            select(ways.c.id_number).where(exists(drew), context.among("card_payment", ways.c.id_number,
                                                                       via=select(CardPayment.id_number)))).scalars())

    @staticmethod
    def _names(context: Context, ids: set[str]) -> dict[str, str]:
        wanted = sorted(ids)
        names: dict[str, str] = {}
        for start in range(0, len(wanted), 500):
            part = wanted[start:start + 500]
            both = union_all(select(Household.head_id_number.label("id"), Household.head_name.label("name"))
                             .where(Household.head_id_number.in_(part)),
                             select(Person.id_number, Person.name).where(Person.id_number.in_(part)))
            for id_number, name in context.conn.execute(both):
                names[id_number] = name
        return names

    @staticmethod
    def _payments(context: Context, ids: set[str]) -> dict[str, list[Any]]:
        household = payment_household()
        wanted = sorted(ids)
        found: dict[str, list[Any]] = {}
        for start in range(0, len(wanted), 500):
            for row in context.conn.execute(
                    select(CardPayment.payment_id, CardPayment.id_number, CardPayment.amount_fen,
                           household.label("household"))
                    .outerjoin(Person, Person.id_number == CardPayment.id_number)
                    .where(CardPayment.id_number.in_(wanted[start:start + 500]), CardPayment.paid_on <= context.as_of)
                    .order_by(CardPayment.paid_on, CardPayment.payment_id)):
                found.setdefault(row.id_number, []).append(row)
        return found

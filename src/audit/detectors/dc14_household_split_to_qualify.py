"""DC-14 household split to qualify (突击分户).

What it flags: a registered poor household whose head split from another household (a
``split`` event of the household register, 户籍变动, interchange v1.1) 0 to ``days`` days
before the household was registered, where the household split from (``from_household``,
a household ID) is not in the register of poor households: a family that was not poor
carved out a member, usually an old parent, to make a household that qualifies.

What it judges: the new household's registration, and so every payment made to it: its
card payments up to the date detection runs as of are the money at risk. A household that
has drawn nothing yet is flagged all the same (the household is among the records), with
nothing at risk.

Why it matters: splitting a household just before the poverty census (突击分户, 拆户) is
how better-off families put a parent on the list; the county's own rectification work
names it, and only the household register shows when the split happened and from whom.

Settings: ``days`` (180: how long before the registration a split counts).

Evidence, in order: the household (with how many days after the split it was
registered), the split (date, from which household), the search of the register that
did not find the household split from, then each payment to the new household.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import exists, select
from sqlalchemy.orm import aliased

from audit.detectors.base import Context, Detector, Evidence, Found, Ref, msg
from audit.detectors.facts import Facts
from audit.detectors.members import candidate_household, payments_to_households
from audit.detectors.sql import days_between
from audit.models import Household, HouseholdEvent


class HouseholdSplitToQualify(Detector):
    code = "DC-14"
    judges = "card_payment"
    needs = ("household_events",)
    defaults = {"days": 180}

    def run(self, context: Context) -> Iterator[Found]:
        origin = aliased(Household, name="origin")
        gap = days_between(HouseholdEvent.event_on, Household.registered_on)
        # The splits (a few hundred) first, then the households their heads head.
        splits = context.conn.execute(
            select(Household.household_id, Household.head_id_number, HouseholdEvent.event, HouseholdEvent.event_on,
                   HouseholdEvent.from_household, gap.label("days"))
            .select_from(HouseholdEvent)
            .join(Household, Household.head_id_number == HouseholdEvent.id_number)
            .where(HouseholdEvent.event == "split", HouseholdEvent.from_household.is_not(None),
                   HouseholdEvent.from_household != Household.household_id, HouseholdEvent.event_on <= context.as_of,
                   Household.registered_on <= context.as_of, gap >= 0, gap <= int(context.settings["days"]),
                   ~exists().where(origin.household_id == HouseholdEvent.from_household,
                                   origin.registered_on <= context.as_of),
                   context.among("card_payment", Household.household_id, via=candidate_household()))
            .order_by(Household.household_id, HouseholdEvent.event_on)).all()
        # One finding per household: the latest split before its registration.
        by_household = {row.household_id: row for row in splits}
        paid = payments_to_households(select(Household.household_id).where(
            Household.household_id.in_(list(by_household))), context.as_of)
        payments: dict[str, list[tuple[str, int]]] = {}
        for row in context.conn.execute(select(paid.c.household_id, paid.c.payment_id, paid.c.amount_fen)
                                        .order_by(paid.c.paid_on, paid.c.payment_id)):
            payments.setdefault(row.household_id, []).append((row.payment_id, int(row.amount_fen)))
        facts = Facts(context.conn)
        facts.load("households", list(by_household))
        facts.load("card_payments", [p for rows in payments.values() for p, _ in rows])
        for household_id, split in sorted(by_household.items()):
            mine = payments.get(household_id, [])
            event = (split.head_id_number, split.event, split.event_on)
            yield Found(
                subjects=[Ref("household", household_id), Ref("person", split.head_id_number)],
                records=[Ref("household", household_id, amount_fen=0)]
                + [Ref("card_payment", payment_id, amount_fen=amount) for payment_id, amount in mine],
                evidence=[facts.household(household_id, msg("note.registered_after_split", days=int(split.days))),
                          facts.household_event(event, "evidence.household_split", household_id),
                          Evidence("search", f"households/{split.from_household}",
                                   msg("evidence.split_from_unregistered", from_household=split.from_household),
                                   {"table": "households", "household_id": split.from_household})]
                + [facts.card_payment(payment_id) for payment_id, _ in mine],
                score=0.7, amount_at_risk_fen=sum(amount for _, amount in mine))

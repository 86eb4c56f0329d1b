"""FP-03 not disclosed.

What it flags: a project paid without a public notice of it that ended before its first
payment, or whose notice ran fewer than ``min_days`` days; likewise a card-payment batch
(program / period / village of the beneficiary's household) paid without such a notice.

Why it matters: public notice (公告公示) before money moves is the villagers' own check on
who gets what; a project or a payment list that skipped it, or was posted for a couple of
days, was kept from the people who could have objected.

Settings: ``min_days`` (default 10): the shortest notice, ``end_on − start_on`` in days.

Records: the project's disbursements paid before any notice of ``min_days`` had ended
(all of them when there is none), or the batch's payments, each with its amount: the
money at risk, and the lines a pre-release check holds.

Evidence, in order:
    1. the project and its first payment (or, for a batch, its payments, at most 20)
    2. each notice of it that exists, with why it does not count (too short, too late),
       or none
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import String, exists, func, literal, select, tuple_

from audit.detectors.base import Context, Detector, Evidence, Found, Ref, msg, yuan
from audit.detectors.facts import Facts
from audit.detectors.sql import days_between
from audit.detectors.moved import CardPayment, Disbursement
from audit.models import Disclosure, Household, Person, Project


def household_key() -> Any:
    """The beneficiary's household: the payment's own, else the person's."""
    return func.coalesce(CardPayment.household_id, Person.household_id)


class NotDisclosed(Detector):
    code = "FP-03"
    judges = "disbursement"
    version = 2  # a project's disbursements are records of its finding
    defaults = {"min_days": 10}

    def run(self, context: Context) -> Iterator[Found]:
        min_days = context.settings["min_days"]
        facts = Facts(context.conn)

        def proper(ref: Any, first_paid: Any) -> Any:
            return exists().where(Disclosure.subject_ref == ref, Disclosure.end_on < first_paid,
                                  days_between(Disclosure.start_on, Disclosure.end_on) >= min_days)

        if context.wants("disbursement"):
            yield from self._projects(context, facts, proper, min_days)
        if context.wants("card_payment"):
            yield from self._batches(context, facts, proper, min_days)

    def _projects(self, context: Context, facts: Facts, proper: Any, min_days: int) -> Iterator[Found]:
        first = (select(Disbursement.project_id, func.min(Disbursement.paid_on).label("first_paid"),
                        func.sum(Disbursement.amount_fen).label("paid"))
                 .where(Disbursement.project_id.is_not(None), Disbursement.paid_on <= context.as_of,
                        context.among("disbursement", Disbursement.project_id, via=Disbursement.project_id))
                 .group_by(Disbursement.project_id).subquery())
        projects = context.conn.execute(
            select(first.c.project_id, first.c.first_paid, first.c.paid, Project.name)
            .join(Project, Project.project_id == first.c.project_id)
            .where(~proper(first.c.project_id, first.c.first_paid))).all()
        notices = self._notices(context, [p.project_id for p in projects])
        facts.load("projects", [p.project_id for p in projects])
        payments: dict[str, list[Any]] = {}
        for start in range(0, len(projects), 500):
            part = [p.project_id for p in projects[start:start + 500]]
            for payment in context.conn.execute(
                    select(Disbursement.project_id, Disbursement.disbursement_id, Disbursement.amount_fen,
                           Disbursement.paid_on)
                    .where(Disbursement.project_id.in_(part), Disbursement.paid_on <= context.as_of)
                    .order_by(Disbursement.paid_on, Disbursement.disbursement_id)):
                payments.setdefault(payment.project_id, []).append(payment)
        facts.load("disbursements", [p[0].disbursement_id for p in payments.values()])
        facts.load("disclosures", [key for keys in notices.values() for key in keys])
        for row in projects:
            paid = payments[row.project_id]
            # A notice long enough but late still covers what was paid after it ended.
            long_enough = [facts.rows["disclosures"][key] for key in notices.get(row.project_id, [])]
            ends = [n["end_on"] for n in long_enough if (n["end_on"] - n["start_on"]).days >= min_days]
            unnoticed = [p for p in paid if not ends or p.paid_on <= min(ends)]
            at_risk = sum(p.amount_fen for p in unnoticed)
            yield Found(
                subjects=[Ref("project", row.project_id, row.name)],
                records=[Ref("project", row.project_id)]
                + [Ref("disbursement", p.disbursement_id, amount_fen=p.amount_fen) for p in unnoticed],
                evidence=[facts.project(row.project_id, msg("note.paid_before_notice", paid=yuan(row.paid),
                                                            at_risk=yuan(at_risk), count=len(unnoticed))),
                          facts.disbursement(paid[0].disbursement_id, msg("note.first_payment"))]
                + self._why(facts, row.project_id, notices.get(row.project_id, []), row.first_paid, min_days),
                score=0.6, amount_at_risk_fen=at_risk)

    def _batches(self, context: Context, facts: Facts, proper: Any, min_days: int) -> Iterator[Found]:
        household = household_key()
        batch_ref = (CardPayment.program_code + literal("/", String) + CardPayment.period
                     + literal("/", String) + Household.village_code)
        batches = (select(CardPayment.program_code, CardPayment.period, Household.village_code,
                          batch_ref.label("ref"), func.min(CardPayment.paid_on).label("first_paid"),
                          func.sum(CardPayment.amount_fen).label("paid"))
                   .outerjoin(Person, Person.id_number == CardPayment.id_number)
                   .join(Household, Household.household_id == household)
                   .where(CardPayment.paid_on <= context.as_of,
                          context.among("card_payment", CardPayment.period, via=CardPayment.period),
                          context.among("card_payment", CardPayment.program_code, via=CardPayment.program_code))
                   .group_by(CardPayment.program_code, CardPayment.period, Household.village_code).subquery())
        undisclosed = context.conn.execute(select(batches).where(~proper(batches.c.ref, batches.c.first_paid))).all()
        if not undisclosed:
            return
        keys = [(b.program_code, b.period, b.village_code) for b in undisclosed]
        members: dict[tuple[str, str, str], list[Any]] = {}
        for start in range(0, len(keys), 300):
            rows = context.conn.execute(
                select(CardPayment.payment_id, CardPayment.amount_fen, CardPayment.program_code, CardPayment.period,
                       Household.village_code)
                .outerjoin(Person, Person.id_number == CardPayment.id_number)
                .join(Household, Household.household_id == household)
                .where(tuple_(CardPayment.program_code, CardPayment.period, Household.village_code)
                       .in_(keys[start:start + 300]), CardPayment.paid_on <= context.as_of)
                .order_by(CardPayment.paid_on, CardPayment.payment_id))
            for row in rows:
                members.setdefault((row.program_code, row.period, row.village_code), []).append(row)
        notices = self._notices(context, [b.ref for b in undisclosed])
        facts.load("card_payments", [p.payment_id for rows in members.values() for p in rows])
        for batch in undisclosed:
            rows = members[(batch.program_code, batch.period, batch.village_code)]
            yield Found(
                subjects=[Ref("payment_batch", batch.ref)],
                records=[Ref("card_payment", r.payment_id, amount_fen=r.amount_fen) for r in rows],
                evidence=[Evidence("payment_batch", batch.ref,
                                   msg("evidence.payment_batch", count=len(rows), total=yuan(batch.paid),
                                       program=facts.program_name(batch.program_code), period=batch.period,
                                       village=facts.place(batch.village_code)[1], village_code=batch.village_code,
                                       first_paid=batch.first_paid),
                                   {"payments": len(rows), "total": yuan(batch.paid), "first_paid": batch.first_paid,
                                    "program_code": batch.program_code, "period": batch.period,
                                    "village_code": batch.village_code})]
                + [facts.card_payment(r.payment_id) for r in rows[:20]]
                + self._why(facts, batch.ref, notices.get(batch.ref, []), batch.first_paid, min_days),
                score=0.5, amount_at_risk_fen=batch.paid)

    @staticmethod
    def _notices(context: Context, refs: list[str]) -> dict[str, list[Any]]:
        found: dict[str, list[Any]] = {}
        for start in range(0, len(refs), 500):
            for row in context.conn.execute(select(Disclosure.disclosure_id, Disclosure.subject_ref)
                                            .where(Disclosure.subject_ref.in_(refs[start:start + 500]))):
                found.setdefault(row.subject_ref, []).append(row.disclosure_id)
        return found

    @staticmethod
    def _why(facts: Facts, ref: str, notices: list[str], first_paid: Any, min_days: int) -> list[Evidence]:
        if not notices:
            # An absence is evidence too: the step names the search a reviewer can repeat.
            return [Evidence("search", f"disclosures/subject_ref={ref}", msg("evidence.no_notice", subject_ref=ref),
                             {"table": "disclosures", "subject_ref": ref})]
        steps = []
        for key in notices:
            row = facts.get("disclosures", key)
            assert row is not None
            days = (row["end_on"] - row["start_on"]).days
            reason = (msg("note.notice_too_short", days=days, min_days=min_days) if days < min_days else
                      msg("note.notice_too_late", end_on=row["end_on"], first_paid=first_paid))
            steps.append(facts.disclosure(key, reason))
        return steps



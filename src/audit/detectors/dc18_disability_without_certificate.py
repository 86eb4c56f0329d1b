"""DC-18 disability benefit without a certificate (无残疾证享受残疾补贴).

What it flags: a payment of a person-basis program with a ``min_disability_level`` (levels
1-4, 1 most severe: a program's 2 means levels 1-2 qualify) to a person who, on the payment
date, holds no ``disability_certificates`` row (interchange v1.1) in force — issued on or
before that day and not revoked by then — or whose certified level is less severe than the
program requires. Only where the certificate register holds any row: without it the rule
sees nothing (and the coverage report says the table is missing), rather than flag every
disability payment.

Why it matters: the poverty register's disability level is typed in by the village; the
disabled persons' federation's certificate is what entitles. Audits comparing the two find
allowances paid on a level nobody certified, on a certificate revoked years before, or at
the severe-disability rate for a mild one.

Settings: none (the levels are the programs' own).

Evidence, in order: the program's criterion, the beneficiary, each certificate the register
holds for them (with why it does not count on the payment date), or the search that found
none, then each payment concerned. Money at risk: the payments.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import and_, exists, or_, select

from audit.detectors.base import Context, Detector, Evidence, Found, Msg, Ref, msg
from audit.detectors.facts import Facts
from audit.detectors.moved import CardPayment
from audit.models import DisabilityCertificate, Person, Program


class DisabilityWithoutCertificate(Detector):
    code = "DC-18"
    judges = "card_payment"
    needs = ("disability_certificates",)
    defaults: dict = {}

    def run(self, context: Context) -> Iterator[Found]:
        if not context.conn.execute(select(exists().select_from(DisabilityCertificate))).scalar():
            return  # no register to compare with: nothing is known, nothing is flagged
        in_force = exists().where(
            DisabilityCertificate.id_number == CardPayment.id_number,
            DisabilityCertificate.issued_on <= CardPayment.paid_on,
            or_(DisabilityCertificate.revoked_on.is_(None), DisabilityCertificate.revoked_on > CardPayment.paid_on),
            DisabilityCertificate.level <= Program.min_disability_level)
        rows = context.conn.execute(
            select(CardPayment.payment_id, CardPayment.id_number, CardPayment.program_code, CardPayment.amount_fen,
                   CardPayment.paid_on, Program.min_disability_level, Person.name)
            .join(Program, Program.program_code == CardPayment.program_code)
            .outerjoin(Person, Person.id_number == CardPayment.id_number)
            .where(Program.min_disability_level.is_not(None), Program.basis == "person",
                   CardPayment.paid_on <= context.as_of, ~in_force,
                   context.among("card_payment", CardPayment.id_number, via=CardPayment.id_number))
            .order_by(CardPayment.paid_on, CardPayment.payment_id)).all()
        groups: dict[tuple[str, str], list[Any]] = {}
        for row in rows:
            groups.setdefault((row.id_number, row.program_code), []).append(row)
        certificates: dict[str, list[Any]] = {}
        people = sorted({row.id_number for row in rows})
        for start in range(0, len(people), 500):
            for cert in context.conn.execute(
                    select(DisabilityCertificate.id_number, DisabilityCertificate.issued_on,
                           DisabilityCertificate.level, DisabilityCertificate.category,
                           DisabilityCertificate.revoked_on)
                    .where(DisabilityCertificate.id_number.in_(people[start:start + 500]),
                           DisabilityCertificate.issued_on <= context.as_of)
                    .order_by(DisabilityCertificate.issued_on)):
                certificates.setdefault(cert.id_number, []).append(cert)
        facts = Facts(context.conn)
        facts.load("card_payments", [r.payment_id for r in rows])
        facts.load("persons", people)
        for (id_number, program), payments in groups.items():
            first = payments[0]
            name = facts.program_name(program)
            steps = [Evidence("program", program, msg("evidence.program_criterion", program=name,
                                                      criterion=msg("criterion.disability",
                                                                    level=first.min_disability_level).as_dict()), {}),
                     facts.person(id_number)]
            held = certificates.get(id_number, [])
            if held:
                steps += [self._certificate(facts, cert, self._why(cert, first, name), context.as_of) for cert in held]
            else:
                steps.append(Evidence("search", f"disability_certificates/{id_number}",
                                      msg("evidence.no_certificate", who=facts.who(id_number, first.name),
                                          id_number=id_number), {"id_number": id_number}))
            steps += [facts.card_payment(p.payment_id) for p in payments]
            yield Found(subjects=[Ref("person", id_number, first.name)],
                        records=[Ref("card_payment", p.payment_id, amount_fen=p.amount_fen) for p in payments],
                        evidence=steps, score=0.8 if held else 0.85,
                        amount_at_risk_fen=sum(p.amount_fen for p in payments))

    @staticmethod
    def _why(cert: Any, payment: Any, program: str) -> Msg:
        """Why a certificate the person holds does not entitle them on the (first) payment date."""
        if cert.issued_on > payment.paid_on:
            return msg("note.certificate_issued_after", paid_on=payment.paid_on)
        if cert.revoked_on is not None and cert.revoked_on <= payment.paid_on:
            return msg("note.certificate_revoked_before", revoked_on=cert.revoked_on, paid_on=payment.paid_on)
        return msg("note.certificate_level_short", level=cert.level, program=program,
                   required=payment.min_disability_level)

    @staticmethod
    def _certificate(facts: Facts, cert: Any, note: Msg, as_of: Any) -> Evidence:
        # A revocation after the run's "as of" date was not known then.
        revoked = cert.revoked_on if cert.revoked_on is not None and cert.revoked_on <= as_of else None
        said = dict(who=facts.who(cert.id_number), id_number=cert.id_number, level=cert.level,
                    category=cert.category or "—", issued_on=cert.issued_on, revoked_on=revoked)
        return Evidence("disability_certificate", f"{cert.id_number}|{cert.issued_on.isoformat()}",
                        msg("evidence.disability_certificate_revoked" if revoked
                            else "evidence.disability_certificate", **said),
                        {"level": cert.level, "category": cert.category, "issued_on": cert.issued_on,
                         "revoked_on": revoked}, note)

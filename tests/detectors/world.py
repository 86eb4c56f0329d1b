"""A tiny county built row by row, for detector tests that read like their rule.

Every method inserts the fewest valid rows with sensible defaults and returns their keys;
``run(code)`` runs one detector and returns what it found.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from itertools import count
from typing import Any

from sqlalchemy import Connection, insert
from stdnum import luhn
from stdnum.cn import ric, uscc

from audit import models
from audit.detectors.base import Context, Found
from audit.detectors.registry import select_detectors
from audit.synth.county import MEANS_TESTED, PROGRAMS

AS_OF = date(2017, 12, 31)
TOWN_OFFICE = "归义镇财政所"
COUNTY_FINANCE = "汨罗市财政局"


def fen(yuan: float | int | str) -> int:
    return int(Decimal(str(yuan)) * 100)


class World:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.seq = count(1)
        self.add(models.Town, town_code="430681100", town_name="归义镇")
        self.village = self.new_village()
        for p in PROGRAMS:
            self.add(models.Program, program_code=p[0], name=p[1], standard_amount_fen=fen(p[2]) if p[2] else None,
                     cap_amount_fen=fen(p[3]) if p[3] else None, period=p[4], basis=p[5], min_disability_level=p[6],
                     school_stage=p[7], boarding_required=p[8], household_attributes=p[9], exclusive_group=p[10],
                     means_tested=p[0] in MEANS_TESTED)
        # Allocations made for convenience are issued late, so no idle-funds rule judges them.
        self.allocation_id = self.allocation("social_security", issued_on=date(2017, 12, 1))

    # ------------------------------------------------------------------ plumbing

    def add(self, model: type[models.Base], **values: Any) -> None:
        self.conn.execute(insert(model).values(**values))

    def n(self) -> int:
        return next(self.seq)

    def id_number(self, born: date = date(1960, 3, 4), male: bool = True) -> str:
        sequence = self.n() * 2 + (1 if male else 0)
        body = f"430681{born:%Y%m%d}{sequence % 1000:03d}"
        return body + ric.calc_check_digit(body + "0")

    def card(self) -> str:
        body = f"622848{self.n():012d}"
        return body + luhn.calc_check_digit(body)

    def credit_code(self, prefix: str = "91") -> str:
        body = f"{prefix}430681{self.n():09d}"
        return body + uscc.calc_check_digit(body + "0")

    def run(self, code: str, as_of: date = AS_OF, **settings: Any) -> list[Found]:
        (detector,) = select_detectors([code])
        return list(detector.run(Context(self.conn, as_of, {**detector.defaults, **settings})))

    # ------------------------------------------------------------------ people

    def new_village(self) -> str:
        code = f"430681100{200 + self.n():03d}"
        self.add(models.Village, village_code=code, village_name=f"村{code[-3:]}", town_code="430681100",
                 is_poor_village=True)
        return code

    def household(self, village: str | None = None, attribute: str = "low_income", head: str = "张伟",
                  registered_on: date = date(2014, 5, 1), exited_on: date | None = None,
                  born: date = date(1960, 3, 4)) -> dict[str, str]:
        household_id = f"H{self.n():05d}"
        head_id = self.id_number(born)
        card = self.card()
        self.add(models.Household, household_id=household_id, village_code=village or self.village,
                 head_id_number=head_id, head_name=head, attribute=attribute, registered_on=registered_on,
                 exited_on=exited_on, card_account=card)
        self.add(models.Person, id_number=head_id, name=head, household_id=household_id, relation="head")
        self.account(card, "person", head_id)
        return {"id": household_id, "head": head_id, "card": card, "village": village or self.village}

    def member(self, household: dict[str, str], name: str, born: date = date(2008, 6, 1), relation: str = "child",
               disability: int | None = None, school: str | None = None, boarding: bool | None = None,
               id_number: str | None = None) -> str:
        person = id_number or self.id_number(born)
        self.add(models.Person, id_number=person, name=name, household_id=household["id"], relation=relation,
                 disability_level=disability, school_stage=school, boarding=boarding)
        return person

    def pay(self, program: str, person: str, household: dict[str, str], amount: float | int, period: str = "2017",
            paid_on: date = date(2017, 6, 20), unit: str = TOWN_OFFICE, card: str | None = None,
            allocation: str | None = None, status: str = "paid", reissue_of: str | None = None,
            failure_reason: str | None = None) -> str:
        payment_id = f"P{self.n():06d}"
        self.add(models.CardPayment, payment_id=payment_id, program_code=program, id_number=person,
                 household_id=household["id"], card_account=card or household["card"], amount_fen=fen(amount),
                 period=period, paid_on=paid_on, paying_unit=unit, allocation_id=allocation, status=status,
                 reissue_of=reissue_of, failure_reason=failure_reason)
        return payment_id

    def official(self, role: str, village: str | None = None, unit: str = "归义镇", from_on: date = date(2014, 1, 1),
                 to_on: date | None = None, name: str = "李书记") -> tuple[str, str]:
        official_id = f"GB{self.n():04d}"
        person = self.id_number(date(1970, 1, 1))
        self.add(models.Official, official_id=official_id, id_number=person, name=name, role=role, unit=unit,
                 village_code=village, from_on=from_on, to_on=to_on)
        return official_id, person

    def kin(self, a: str, b: str, kind: str = "sibling") -> None:
        self.add(models.Kinship, id_number_a=a, id_number_b=b, kind=kind, source="申报")

    def account(self, number: str, kind: str, holder: str) -> str:
        self.add(models.Account, account_number=number, holder_kind=kind, holder_id=holder)
        return number

    # ------------------------------------------------------------------ v1.1 registers: pensions, school, disability

    def pension(self, person: str, monthly: float | int, from_on: date, to_on: date | None = None,
                source: str = "机关事业单位养老保险") -> str:
        self.add(models.Pension, id_number=person, monthly_amount_fen=fen(monthly), from_on=from_on, to_on=to_on,
                 source=source)
        return f"{person}|{from_on.isoformat()}"

    def enrolment(self, person: str, school_year: int, stage: str, boarding: bool | None = None,
                  school: str = "汨罗市第三中学") -> str:
        self.add(models.SchoolEnrolment, id_number=person, school_year=school_year, stage=stage, boarding=boarding,
                 school=school)
        return f"{person}|{school_year}"

    def certificate(self, person: str, level: int, issued_on: date = date(2012, 3, 1),
                    revoked_on: date | None = None, category: str = "肢体") -> str:
        self.add(models.DisabilityCertificate, id_number=person, level=level, issued_on=issued_on,
                 revoked_on=revoked_on, category=category)
        return f"{person}|{issued_on.isoformat()}"

    def died(self, person: str, on: date) -> None:
        self.add(models.Death, id_number=person, died_on=on, source="民政殡葬火化登记")

    # ------------------------------------------------------------------ money

    def allocation(self, purpose: str = "industry", amount: float = 10_000_000, issued_on: date = date(2017, 1, 5)
                   ) -> str:
        allocation_id = f"A{self.n():04d}"
        self.add(models.Allocation, allocation_id=allocation_id, doc_number=f"汨财〔2017〕{self.n()}号",
                 source_level="central", purpose=purpose, amount_fen=fen(amount), issued_on=issued_on)
        return allocation_id

    def org(self, kind: str = "company", registered_on: date = date(2010, 1, 1), rep: str | None = None,
            name: str = "湖南测试建设有限公司") -> dict[str, str]:
        code = self.credit_code({"company": "91", "cooperative": "93", "government_unit": "11",
                                 "village_committee": "54"}[kind])
        self.add(models.Organization, uscc=code, name=name, kind=kind, registered_on=registered_on,
                 legal_rep_id_number=rep, legal_rep_name="法人" if rep else None)
        account = self.account(f"4300{self.n():016d}", "org", code)
        return {"uscc": code, "account": account}

    def project(self, village: str | None = None, category: str = "infrastructure", budget: float = 500_000,
                approved_on: date = date(2017, 3, 1), contractor: dict[str, str] | None = None,
                approver: str | None = None, name: str = "组级道路硬化工程", unit: str = "km", quantity: float = 2.0,
                planned: tuple[date, date] = (date(2017, 4, 1), date(2017, 8, 1)), **extra: Any) -> str:
        project_id = f"XM{self.n():04d}"
        self.add(models.Project, project_id=project_id, name=name, category=category,
                 village_code=village or self.village, budget_fen=fen(budget), quantity=quantity, unit=unit,
                 contractor_uscc=contractor["uscc"] if contractor else None, approved_on=approved_on,
                 approver_official_id=approver, planned_start=planned[0], planned_end=planned[1], **extra)
        return project_id

    def disburse(self, amount: float, paid_on: date, project: str | None = None, allocation: str | None = None,
                 payee: dict[str, str] | None = None, payee_kind: str = "org", payee_id: str | None = None,
                 account: str | None = None, payer: str = COUNTY_FINANCE, invoice: str | None = None,
                 approved_by: str | None = None, status: str = "paid", correction_of: str | None = None) -> str:
        disbursement_id = f"D{self.n():05d}"
        self.add(models.Disbursement, disbursement_id=disbursement_id,
                 allocation_id=allocation or self.allocation("infrastructure", issued_on=date(2017, 12, 1)),
                 project_id=project,
                 payer_unit=payer, payee_kind=payee_kind, payee_id=payee_id or (payee or {}).get("uscc", ""),
                 payee_account=account or (payee or {}).get("account", ""), amount_fen=fen(amount), paid_on=paid_on,
                 invoice_number=invoice, approved_by=approved_by, status=status, correction_of=correction_of)
        return disbursement_id

    def disclose(self, ref: str, start: date, end: date, kind: str = "project") -> str:
        disclosure_id = f"GS{self.n():05d}"
        self.add(models.Disclosure, disclosure_id=disclosure_id, subject_kind=kind, subject_ref=ref, channel="both",
                 start_on=start, end_on=end)
        return disclosure_id

    def transfer(self, source: str, target: str, amount: float, on: date) -> str:
        transfer_id = f"T{self.n():05d}"
        self.add(models.Transfer, transfer_id=transfer_id, from_account=source, to_account=target,
                 amount_fen=fen(amount), transferred_on=on)
        return transfer_id

    def person_account(self, person: str) -> str:
        return self.account(self.card(), "person", person)

    # ------------------------------------------------------------------ v1.1 registries

    def real_estate(self, person: str, kind: str = "urban_home", registered_on: date = date(2015, 3, 1),
                 deregistered_on: date | None = None, location: str = "汨罗市归义镇滨江花园 3 栋 502 室",
                 area: float | None = 89.5) -> str:
        """A row of the real-estate register (不动产登记); its key, as evidence names it."""
        property_id = f"湘（{registered_on.year}）汨罗市不动产权第{self.n():07d}号"
        self.add(models.RealEstate, id_number=person, property_id=property_id, kind=kind, location=location,
                 area_m2=area, registered_on=registered_on, deregistered_on=deregistered_on)
        return f"{person}|{property_id}"

    def household_event(self, person: str, event: str, on: date, from_household: str | None = None,
              to_household: str | None = None, place: str | None = None) -> str:
        """A change of the household register (户籍变动); its key, as evidence names it."""
        self.add(models.HouseholdEvent, id_number=person, event=event, event_on=on, from_household=from_household,
                 to_household=to_household, place=place)
        return f"{person}|{event}|{on.isoformat()}"

"""Planted cases for every red flag of red-flags.md, and near-miss decoys.

Each plant changes or adds the fewest rows that make its rule fire, on households and
projects no other plant touches, and is listed in ``truth.json`` with the records a
detector must name (``records``) and who it is about (``subjects``). ``may_also`` lists
other codes the same rows rightly raise (an eval counts them neither as misses nor as
false alarms). Decoys are rows that look suspicious and are not: no finding of their
``code`` may name them.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from itertools import count
from typing import Any

from audit.synth import names
from audit.synth.county import (
    AGRICULTURE_BUREAU,
    APPROVAL_THRESHOLD_FEN,
    COUNTY,
    COUNTY_FINANCE,
    POVERTY_OFFICE,
    PROJECT_KINDS,
    YEAR,
    County,
    Household,
    Member,
    Village,
    fen,
    yuan_text,
)

ROAD, CHANNEL, SOLAR, PEACH, CATTLE = PROJECT_KINDS


class TooSmall(Exception):
    """The county has too few households, villages or contractors for every plant."""

    def __init__(self, what: str) -> None:
        super().__init__(f"the county is too small for its planted cases ({what}); use at least 2,000 households")
        self.what = what


def period_start(period: str) -> date:
    return date(int(period[:4]), int(period[5:7]) if len(period) == 7 else 1, 1)


def ref(kind: str, key: str) -> dict[str, str]:
    return {"kind": kind, "key": key}


class Planter:
    def __init__(self, county: County) -> None:
        self.c = county
        # v1.1 registers the plants write themselves (the background fills the rest):
        # the people whose certificates a plant sets (none, or its own rows), whose pensions it sets.
        self.certificates_set: set[str] = set()
        self.pensions_set: set[str] = set()
        self.rng = random.Random(county.seed * 7 + 1)
        self.cases: list[dict[str, Any]] = []
        self.decoys: list[dict[str, Any]] = []
        self.special_allocations: list[dict[str, Any]] = []
        # A household whose member moved away in the background is left alone: a payment
        # planted to that member would be a DC-13 finding no truth names.
        self.used: set[str] = set(county.quiet_households)
        self.used_contractors: set[str] = set()
        self.used_projects: set[str] = set()
        self.collecting_villages: set[str] = set()  # DV-07's plants and near misses, a village each
        self.case_seq = count(1)
        self.special_seq = count(1)
        self.repeat = 1 if len(county.households) < 5000 else 2
        self.by_person: dict[str, list[dict[str, Any]]] = {}
        for payment in county.rows["card_payments"]:
            self.by_person.setdefault(payment["id_number"], []).append(payment)
        self.slots = {(p["village_code"], p["category"], p["approved_on"].year) for p in county.projects}
        self.named = {(p["village_code"], p["name"], p["approved_on"].year) for p in county.projects}

    # ------------------------------------------------------------------ bookkeeping

    def case(self, code: str, subjects: list[dict[str, str]], records: list[dict[str, str]], note: str,
             may_also: tuple[str, ...] = ()) -> None:
        assert records, f"{code}: a planted case must name records"
        self.cases.append({"id": f"T{next(self.case_seq):03d}-{code}", "code": code, "may_also": list(may_also),
                           "subjects": subjects, "records": records, "note": note})

    def decoy(self, code: str, subjects: list[dict[str, str]], records: list[dict[str, str]], note: str) -> None:
        assert records, f"{code}: a decoy must name records"
        self.decoys.append({"id": f"D{len(self.decoys) + 1:03d}-{code}", "code": code, "subjects": subjects,
                            "records": records, "note": note})

    def pay(self, program: str, member: Member, amount_yuan: float, period: str, paid_on: date,
            household: Household | None = None, unit: str | None = None) -> dict[str, Any]:
        row = self.c.card_payment(program, member, fen(amount_yuan), period, paid_on, household, unit)
        self.by_person.setdefault(member.id_number, []).append(row)
        return row

    def household(self, attribute: str | None = None, village: Village | None = None,
                  test: Any = None) -> Household:
        """An untouched household, registered since 2014 and not exited, all alive."""
        pool = [h for h in self.c.households if h.household_id not in self.used
                and h.exited_on is None and h.registered_on.year == 2014
                and all(m.died_on is None for m in h.members)
                and (attribute is None or h.attribute == attribute)
                and (village is None or h.village is village) and (test is None or test(h))]
        if not pool:
            raise TooSmall("no untouched household of the kind a plant needs is left")
        chosen = self.rng.choice(pool)
        self.used.add(chosen.household_id)
        return chosen

    def payments_of(self, household: Household) -> list[dict[str, Any]]:
        return [p for m in household.members for p in self.by_person.get(m.id_number, [])
                if p["household_id"] == household.household_id]

    def add_member(self, household: Household, name: str, born: date, male: bool, relation: str = "other",
                   id_number: str | None = None) -> Member:
        member = Member(id_number or self.c.ids.resident(born, male), name, born, male, relation, household)
        household.members.append(member)
        self.c.members[member.id_number] = member
        return member

    def free_village(self, category: str, *years: int, kind: tuple[Any, ...] | None = None) -> Village:
        """A village with no project of ``category`` in ``years``; failing that (small
        counties), given ``kind``, one with no project of that kind: a project of another
        kind has a dissimilar name, so no duplicate-project flag can join the two."""
        pool = [v for v in self.c.villages if all((v.code, category, y) not in self.slots for y in years)]
        if not pool and kind is not None:
            pool = [v for v in self.c.villages
                    if all((v.code, kind[2].format(v=v.name), y) not in self.named for y in years)]
        if not pool:
            raise TooSmall(f"no village without a {category} project left for the plants")
        village = self.rng.choice(pool)
        for y in years:
            self.slots.add((village.code, category, y))
            if kind is not None:
                self.named.add((village.code, kind[2].format(v=village.name), y))
        return village

    def pick(self, pool: list[Any], what: str) -> Any:
        if not pool:
            raise TooSmall(what)
        return self.rng.choice(pool)

    def contractor(self, exclusive: bool = False) -> dict[str, Any]:
        """A background contractor that no contractor-level plant has tainted; ``exclusive``
        taints it, for plants whose flag is about the contractor itself."""
        pool = [c for c in self.c.contractors if c["uscc"] not in self.used_contractors]
        chosen = self.pick(pool, "no untouched contractor left")
        if exclusive:
            self.used_contractors.add(chosen["uscc"])
        return chosen

    def background_project(self, test: Any = None, exclusive: bool = False) -> dict[str, Any]:
        """A paid background project of this year that no other plant touches."""
        pool = [p for p in self.c.projects if p["project_id"] not in self.used_projects
                and p["approved_on"].year == YEAR and p["_contractor"]["uscc"] not in self.used_contractors
                and self.disbursements_of(p) and (test is None or test(p))]
        chosen = self.pick(pool, "no untouched paid project left")
        self.used_projects.add(chosen["project_id"])
        if exclusive:
            self.used_contractors.add(chosen["_contractor"]["uscc"])
        return chosen

    def carried_by(self, account: str, first_hop: date, test: Any = None) -> list[dict[str, Any]]:
        """Disbursements into ``account`` in the 90 days before money left it: a path from
        that account carries any of them, so a detector rightly names each."""
        return [d for d in self.c.rows["disbursements"] if d["payee_account"] == account
                and timedelta(0) <= first_hop - d["paid_on"] <= timedelta(days=90) and (test is None or test(d))]

    def disbursements_of(self, project: dict[str, Any]) -> list[dict[str, Any]]:
        return [d for d in self.c.rows["disbursements"] if d["project_id"] == project["project_id"]]

    def rebucket(self, row: dict[str, Any], purpose: str, source: str = "central") -> None:
        for rows in self.c.buckets.values():
            if any(r is row for r in rows):
                rows[:] = [r for r in rows if r is not row]
        self.c.bucket(purpose, row["paid_on"], row, source)

    def special_allocation(self, purpose: str, issued: date, amount_fen: int, rows: list[dict[str, Any]],
                           source: str = "provincial") -> dict[str, Any]:
        for row in rows:
            for bucket_rows in self.c.buckets.values():
                bucket_rows[:] = [r for r in bucket_rows if r is not row]
        allocation = {"allocation_id": f"ZX{issued.year}-{next(self.special_seq):03d}",
                      "doc_number": f"湘财农指〔{issued.year}〕{self.rng.randrange(10, 99)}号", "source_level": source,
                      "purpose": purpose, "amount": amount_fen, "issued_on": issued, "recipient_unit": COUNTY_FINANCE}
        for row in rows:
            row["allocation_id"] = allocation["allocation_id"]
        self.special_allocations.append(allocation)
        return allocation

    def project(self, kind: tuple[Any, ...], approved: date, *, village: Village | None = None,
                contractor: dict[str, Any] | None = None, quantity: float | None = None, **kwargs: Any) -> dict[str, Any]:
        village = village or self.free_village(kind[0], approved.year, kind=kind)
        contractor = contractor or self.contractor()
        project = self.c.new_project(village, kind, approved, contractor, quantity=quantity, **kwargs)
        self.used_projects.add(project["project_id"])
        return project

    def tranche(self, project: dict[str, Any], amount_fen: int, paid: date, source: str | None = None,
                account: str | None = None) -> dict[str, Any]:
        contractor = project["_contractor"]
        return self.c.disbursement(project["category"], project, COUNTY_FINANCE, "org", contractor["uscc"],
                                   account or contractor["account"], amount_fen, paid, f"{project['name']}工程款",
                                   self.c.county_finance_officers[0]["official_id"], source=source)

    # ------------------------------------------------------------------ all plants

    def plant_all(self) -> None:
        for _ in range(self.repeat):
            for plant in (self.fp01, self.fp02, self.fp03, self.fp04, self.fp05, self.fp06, self.fp07, self.fp08,
                          self.dc01, self.dc02, self.dc03, self.dc04, self.dc05, self.dc06, self.dc07, self.dc08,
                          self.dc09, self.dc10, self.dc12, self.dc16, self.dc17,
                          self.dc11, self.dc13, self.dc14,
                          self.dv01, self.dv02, self.dv03, self.dv04, self.dv05, self.dv06,
                          self.dv07, self.dc15, self.dc18, self.me01):
                plant()
        self.an01()
        self.an02()
        self.an03()
        self.money_that_did_not_move()
        self.pensions_schools_certificates()

    # ------------------------------------------------------------------ v1.1: money that moved

    def money_that_did_not_move(self) -> None:
        """What real one-card and treasury files carry (interchange v1.1): about 3% of the
        card payments failed and were paid again (补发) a few days later, 1% came back
        (退回), a few treasury payments came back and were paid again or were corrected
        (更正). None of it is a finding. Then one case that is: a payment reissued although
        it had been paid; and near misses that name what each rule must not count."""
        # The case: paid, then "reissued" although the first payment had been paid.
        household = self.household(test=lambda h: h.attribute != "extreme_poor" and not any(
            p["program_code"] == "INDUSTRY_AWARD" for p in self.payments_of(h)))
        first = self.pay("INDUSTRY_AWARD", household.head, 2000, str(YEAR), date(YEAR, 6, 20))
        again = self.pay("INDUSTRY_AWARD", household.head, 2000, str(YEAR), date(YEAR, 7, 20))
        again["reissue_of"] = first["payment_id"]
        self.case("DC-01", [ref("person", household.head.id_number)],
                  [ref("card_payment", first["payment_id"]), ref("card_payment", again["payment_id"])],
                  "an industry award paid in June and 'reissued' in July although June's had been paid",
                  may_also=("DC-04",))  # (two awards in a year pass the program's cap too)
        # Near misses. A failed payment and its reissue: one payment.
        household = self.household(test=lambda h: h.attribute != "extreme_poor" and not any(
            p["program_code"] == "INDUSTRY_AWARD" for p in self.payments_of(h)))
        failed = self.pay("INDUSTRY_AWARD", household.head, 2000, str(YEAR), date(YEAR, 6, 20))
        failed["status"], failed["failure_reason"] = "failed", "账户已销户"
        reissue = self.pay("INDUSTRY_AWARD", household.head, 2000, str(YEAR), date(YEAR, 6, 27))
        reissue["reissue_of"] = failed["payment_id"]
        self.decoy("DC-01", [ref("person", household.head.id_number)],
                   [ref("card_payment", failed["payment_id"]), ref("card_payment", reissue["payment_id"])],
                   "a payment that failed (account closed) and its reissue: paid once")
        # A payment of twice the standard that came back, and the right one paid.
        household, member, payment = self._disabled_payee()
        payment["amount"] = fen(1200)
        payment["status"] = "returned"
        right = self.pay("DIS_LIVING", member, 600, payment["period"], payment["paid_on"] + timedelta(days=5),
                         household, payment["paying_unit"])
        right["reissue_of"] = payment["payment_id"]
        self.decoy("DC-04", [ref("person", member.id_number)], [ref("card_payment", payment["payment_id"])],
                   "twice the standard, returned by the bank and paid again at the standard")
        # A tranche past the budget that came back; an invoice on a payment and its correction.
        project = self.project(ROAD, date(YEAR, 3, 10), quantity=2.0)
        project["completed_on"], project["accepted_on"] = date(YEAR, 7, 10), date(YEAR, 7, 25)
        project["acceptance_result"] = "pass"
        self.c.disclose("project", project["project_id"], date(YEAR, 3, 20))
        paid = [self.tranche(project, project["budget"] * 60 // 100, date(YEAR, 4, 1)),
                self.tranche(project, project["budget"] * 40 // 100, date(YEAR, 8, 1))]
        extra = self.tranche(project, project["budget"] * 30 // 100, date(YEAR, 9, 1))
        extra["status"] = "returned"
        self.c.wages(project["_contractor"], paid)
        self.decoy("DV-02", [ref("project", project["project_id"])], [ref("disbursement", extra["disbursement_id"])],
                   "a tranche past the budget, returned by the bank")
        corrected = {**paid[1], "disbursement_id": f"{paid[1]['disbursement_id']}-GZ",
                     "paid_on": paid[1]["paid_on"] + timedelta(days=2), "correction_of": paid[1]["disbursement_id"],
                     "voucher_number": f"{paid[1]['voucher_number']}-2", "_copy_of": paid[1]}
        self.c.rows["disbursements"].append(corrected)
        self.decoy("DC-09", [ref("disbursement", paid[1]["disbursement_id"])],
                   [ref("disbursement", paid[1]["disbursement_id"]), ref("disbursement", corrected["disbursement_id"])],
                   "a treasury payment and its correction carry one invoice: the corrected one is void")
        self.dv08()
        # Then the background, around every plant and decoy (their households are used): a
        # line that moved no money must never touch a planted one.
        planted = {r["key"] for item in self.cases + self.decoys for r in item["records"]}
        touched = {r["key"] for item in self.cases + self.decoys for r in item["subjects"]}
        reasons = ("账户已销户", "姓名与证件号不符", "账户已冻结", "卡号不存在")
        for payment in list(self.c.rows["card_payments"]):
            if payment["payment_id"] in planted or payment["household_id"] in self.used \
                    or payment["id_number"] in touched or payment.get("status"):
                continue
            roll = self.rng.random()
            if roll < 0.03:
                member = self.c.members.get(payment["id_number"])
                household = next((h for h in [member.household] if member is not None), None)
                again = payment["paid_on"] + timedelta(days=self.rng.randrange(3, 8))
                if member is None or household is None or household.household_id != payment["household_id"] \
                        or not self.c._alive_registered(household, member, again) or again.month != payment["paid_on"].month:
                    continue
                payment["status"], payment["failure_reason"] = "failed", self.rng.choice(reasons)
                reissue = self.pay(payment["program_code"], member, payment["amount"] / 100, payment["period"], again,
                                   household, payment["paying_unit"])
                reissue["reissue_of"] = payment["payment_id"]
            elif roll < 0.04:
                payment["status"] = "returned"
        for row in list(self.c.rows["disbursements"]):
            if row["disbursement_id"] in planted or row.get("project_id") in self.used_projects \
                    or row["paid_on"].month == 12 or self.rng.random() >= 0.02:
                continue
            # Paid again 5 days later: never within 30 days of another small payment to the
            # payee (two would be split payments, DV-04), nor near the original's neighbours.
            if row["amount"] < APPROVAL_THRESHOLD_FEN and any(
                    (other != row["paid_on"] and abs((row["paid_on"] + timedelta(days=5) - other).days) <= 30)
                    or 0 < abs((other - row["paid_on"]).days) <= 40
                    for other in self.c.small_payment_days[row["payee_id"]]):
                continue
            copy = {**row, "paid_on": row["paid_on"] + timedelta(days=5),
                    "voucher_number": f"{row['voucher_number']}-2", "_copy_of": row}
            if self.rng.random() < 0.5:
                row["status"] = "returned"  # came back (a wrong account): paid again
                copy["disbursement_id"] = f"{row['disbursement_id']}-ZF"
            else:
                copy["disbursement_id"] = f"{row['disbursement_id']}-GZ"  # 更正: replaces the row
                copy["correction_of"] = row["disbursement_id"]
            self.c.rows["disbursements"].append(copy)


    def dv08(self) -> None:
        """A failed 低保 payment reissued onto a village committee member's own card; and a
        near miss, a reissue onto the spouse's own card."""
        def monthly(h: Household) -> list[dict[str, Any]]:
            return [p for p in self.payments_of(h) if p["program_code"] == "MIN_LIVING" and p["paid_on"].month < 12]

        for variant in ("cadre", "spouse"):
            household = self.household("low_income", test=lambda h: bool(monthly(h)) and len(h.members) >= 2)
            payment = monthly(household)[0]
            payment["status"], payment["failure_reason"] = "failed", "账户已冻结"
            holder = (household.village.cadres[1]["id_number"] if variant == "cadre"
                      else next(m.id_number for m in household.members if m.id_number != household.head.id_number))
            card = self.c.ids.card()
            self.c.rows["accounts"].append({"account_number": card, "bank": "湖南农村信用社", "holder_kind": "person",
                                            "holder_id": holder, "opened_on": date(YEAR - 2, 3, 1)})
            reissue = self.pay("MIN_LIVING", household.head, payment["amount"] / 100, payment["period"],
                               payment["paid_on"] + timedelta(days=6), household, payment["paying_unit"])
            reissue["card_account"], reissue["reissue_of"] = card, payment["payment_id"]
            records = [ref("card_payment", reissue["payment_id"]), ref("card_payment", payment["payment_id"])]
            if variant == "cadre":
                self.case("DV-08", [ref("person", household.head.id_number), ref("account", card)], records,
                          "a failed minimum-living payment reissued onto a village committee member's card",
                          may_also=("DC-08",))
            else:
                self.decoy("DV-08", [ref("person", household.head.id_number)], records,
                           "a failed payment reissued onto the spouse's own card, in the household")

    # ------------------------------------------------------------------ FP: fictitious projects

    def fp01(self) -> None:
        project = self.project(ROAD, date(YEAR, 5, 20), quantity=3.0)
        early = date(YEAR, 5, 10)
        self.c.disclose("project", project["project_id"], early)
        first = self.tranche(project, project["budget"] * 30 // 100, early)
        self.tranche(project, project["budget"] * 35 // 100, date(YEAR, 8, 1))
        self.c.wages(project["_contractor"], [first])
        self.case("FP-01", [ref("project", project["project_id"])],
                  [ref("disbursement", first["disbursement_id"]), ref("project", project["project_id"])],
                  "first tranche paid 10 days before the project's approval")

    def fp02(self) -> None:
        never = self.project(PEACH, date(YEAR, 2, 20), quantity=120, planned_days=90)
        never["completed_on"] = never["planned_end"] + timedelta(days=5)
        self.c.disclose("project", never["project_id"], date(YEAR, 3, 25))
        paid = [self.tranche(never, never["budget"] * 30 // 100, date(YEAR, 3, 25)),
                self.tranche(never, never["budget"] * 45 // 100, date(YEAR, 5, 30))]
        self.c.wages(never["_contractor"], paid)
        self.case("FP-02", [ref("project", never["project_id"])], [ref("project", never["project_id"])],
                  "75% of the budget paid, completed in June, never accepted")
        failed = self.project(CATTLE, date(YEAR, 2, 25), quantity=40, planned_days=90)
        failed["completed_on"] = failed["planned_end"]
        failed["accepted_on"] = failed["completed_on"] + timedelta(days=20)
        failed["acceptance_result"] = "fail"
        self.c.disclose("project", failed["project_id"], date(YEAR, 3, 30))
        paid = [self.tranche(failed, failed["budget"] * 30 // 100, date(YEAR, 3, 30)),
                self.tranche(failed, failed["budget"] * 35 // 100, date(YEAR, 5, 10))]
        after = self.tranche(failed, failed["budget"] * 25 // 100, failed["accepted_on"] + timedelta(days=30))
        self.c.wages(failed["_contractor"], paid)
        self.case("FP-02", [ref("project", failed["project_id"])],
                  [ref("project", failed["project_id"]), ref("disbursement", after["disbursement_id"])],
                  "acceptance failed and a further tranche was paid a month later")

    def fp03(self) -> None:
        hidden = self.project(SOLAR, date(YEAR, 4, 12), quantity=100)
        paid = [self.tranche(hidden, hidden["budget"] * 30 // 100, date(YEAR, 5, 20))]
        self.c.wages(hidden["_contractor"], paid)
        self.case("FP-03", [ref("project", hidden["project_id"])],
                  [ref("project", hidden["project_id"]), ref("disbursement", paid[0]["disbursement_id"])],
                  "project paid with no public notice at all")
        short = self.project(ROAD, date(YEAR, 3, 15), quantity=2.5)
        first_day = date(YEAR, 4, 28)
        self.c.disclose("project", short["project_id"], first_day, days=6)
        paid = [self.tranche(short, short["budget"] * 30 // 100, first_day)]
        self.c.wages(short["_contractor"], paid)
        self.case("FP-03", [ref("project", short["project_id"])],
                  [ref("project", short["project_id"]), ref("disbursement", paid[0]["disbursement_id"])],
                  "project notice posted for only 6 days")
        household = self.household("low_income")
        batch_ref = f"MIN_LIVING/{YEAR}-04/{household.village.code}"
        self.c.undisclosed_batches.add(batch_ref)
        records = [ref("card_payment", p["payment_id"]) for p in self.c.rows["card_payments"]
                   if p["program_code"] == "MIN_LIVING" and p["period"] == f"{YEAR}-04"
                   and p["_village"] == household.village.code]
        self.case("FP-03", [ref("payment_batch", batch_ref)], records,
                  "April minimum-living batch of a village paid without a notice")

    def fp04(self) -> None:
        village = self.free_village("industry", YEAR)
        first = self.project(PEACH, date(YEAR, 3, 10), village=village, quantity=150)
        second = self.project(PEACH, date(YEAR, 3, 28), village=village, quantity=150,
                              name=f"{village.name}黄桃种植基地建设项目")
        for project, source in ((first, "central"), (second, "provincial")):
            day = project["planned_start"] + timedelta(days=3)
            self.c.disclose("project", project["project_id"], day)
            paid = [self.tranche(project, project["budget"] * 30 // 100, day, source=source)]
            self.c.wages(project["_contractor"], paid)
        self.case("FP-04", [ref("project", first["project_id"]), ref("project", second["project_id"])],
                  [ref("project", first["project_id"]), ref("project", second["project_id"])],
                  "one peach orchard approved twice in one village, paid from two allocations")
        other = self.free_village("infrastructure", YEAR - 1, YEAR)
        phases = []
        for year, phase in ((YEAR - 1, "一期"), (YEAR, "二期")):
            project = self.project(CHANNEL, date(year, 3, 1), village=other, quantity=1500,
                                   name=f"{other.name}灌溉渠道修复工程{phase}", planned_days=120)
            project["completed_on"] = project["planned_end"]
            project["accepted_on"] = project["planned_end"] + timedelta(days=20)
            project["acceptance_result"] = "pass"
            day = project["planned_start"] + timedelta(days=3)
            self.c.disclose("project", project["project_id"], day)
            paid = [self.tranche(project, project["budget"] * 30 // 100, day)]
            self.c.wages(project["_contractor"], paid)
            phases.append(project)
        self.decoy("FP-04", [ref("project", p["project_id"]) for p in phases],
                   [ref("project", p["project_id"]) for p in phases],
                   "phase one and phase two of a canal: similar names, periods do not overlap")

    def fp05(self) -> None:
        approved = date(YEAR, 4, 10)
        rep = self.c.outsider(1970, 1985)
        code = self.c.organization("company", f"湖南汨{self.rng.choice('鑫恒')}路建工程有限公司",
                                   approved - timedelta(days=30), rep)
        fresh = {"uscc": code, "name": "new", "rep": rep, "account": self.c.org_accounts[code],
                 "workers": [self.c.outsider(1970, 1995)], "projects": []}
        self.used_contractors.add(code)
        project = self.project(ROAD, approved, contractor=fresh, quantity=2.0)
        self.c.pay_project(project)
        self.case("FP-05", [ref("organization", code)],
                  [ref("project", project["project_id"]), ref("organization", code)],
                  "contractor registered 30 days before the approval")
        rep = self.c.outsider(1970, 1985)
        code = self.c.organization("company", f"岳阳{self.rng.choice('福满')}农业开发有限公司", date(2012, 6, 1), rep)
        shell = {"uscc": code, "name": "shell", "rep": rep, "account": self.c.org_accounts[code], "workers": [],
                 "projects": []}
        self.used_contractors.add(code)
        project = self.project(CATTLE, date(YEAR, 3, 5), contractor=shell, quantity=50)
        self.c.pay_project(project)  # no workers: the shell pays no wages
        self.case("FP-05", [ref("organization", code)],
                  [ref("project", project["project_id"]), ref("organization", code)],
                  "contractor with this one project whose accounts pay no one")

    def fp06(self) -> None:
        project = self.background_project(exclusive=True)
        contractor = project["_contractor"]
        secretary = project["_village"].cadres[0]
        self.c.rows["kinship"].append({"id_number_a": secretary["id_number"], "id_number_b": contractor["rep"]["id_number"],
                                       "kind": "sibling", "source": "纪检监察调查"})
        in_village = [p for p in contractor["projects"] if p["village_code"] == project["village_code"]]
        self.case("FP-06", [ref("organization", contractor["uscc"]), ref("official", secretary["official_id"])],
                  [ref("project", p["project_id"]) for p in in_village],
                  "the contractor's legal representative is the village secretary's sibling")
        other = self.background_project(exclusive=True)
        owner = other["_contractor"]
        approver = next(a for a in self.c.approvers if a["official_id"] == other["approver_official_id"])
        self.c.rows["shareholders"].append({"uscc": owner["uscc"], "id_number": approver["id_number"], "share_pct": 15.0})
        approved_by_them = [p for p in owner["projects"] if p["approver_official_id"] == approver["official_id"]]
        self.case("FP-06", [ref("organization", owner["uscc"]), ref("official", approver["official_id"])],
                  [ref("project", p["project_id"]) for p in approved_by_them],
                  "the project's approver holds 15% of the contractor")
        third = self.contractor(exclusive=True)
        villages = {p["village_code"] for p in third["projects"]}
        outside = next(v for v in self.c.villages if v.code not in villages)
        self.c.rows["shareholders"].append({"uscc": third["uscc"], "id_number": outside.cadres[1]["id_number"],
                                            "share_pct": 10.0})
        self.decoy("FP-06", [ref("organization", third["uscc"])],
                   [ref("project", p["project_id"]) for p in third["projects"]] or [ref("organization", third["uscc"])],
                   "a shareholder is a cadre of a village where this contractor has no project")

    def fp07(self) -> None:
        project = self.background_project(lambda p: len(self.disbursements_of(p)) >= 2)
        rep = project["_contractor"]["rep"]
        moved = self.disbursements_of(project)[1]
        moved["payee_account"] = self.c.person_cards[rep["id_number"]]
        self.case("FP-07", [ref("project", project["project_id"])],
                  [ref("disbursement", moved["disbursement_id"])],
                  "a tranche paid to the legal representative's personal card")

    def fp08(self) -> None:
        project = self.project(ROAD, date(YEAR, 4, 2), quantity=2.0, cost_factor=4.0)
        self.c.pay_project(project)
        self.case("FP-08", [ref("project", project["project_id"])], [ref("project", project["project_id"])],
                  "road hardening at four times its peers' cost per km")

    # ------------------------------------------------------------------ DC: false and duplicate claims

    def dc01(self) -> None:
        household = self.household(test=lambda h: h.attribute != "extreme_poor")
        patient = household.members[-1]
        first = self.pay("MEDICAL_AID", patient, 2860, str(YEAR), date(YEAR, 4, 18))
        second = self.pay("MEDICAL_AID", patient, 2860, str(YEAR), date(YEAR, 9, 6), unit="汨罗市民政局")
        self.case("DC-01", [ref("person", patient.id_number)],
                  [ref("card_payment", first["payment_id"]), ref("card_payment", second["payment_id"])],
                  "one hospital bill reimbursed twice, by the town and by the civil-affairs bureau")
        household = self.household(test=lambda h: not any(p["program_code"] == "HOUSING_RENOVATION"
                                                           for p in self.payments_of(h)))
        first = self.pay("HOUSING_RENOVATION", household.head, 10000, str(YEAR - 1), date(YEAR - 1, 7, 20))
        second = self.pay("HOUSING_RENOVATION", household.head, 10000, str(YEAR), date(YEAR, 7, 20))
        self.case("DC-01", [ref("person", household.head.id_number)],
                  [ref("card_payment", first["payment_id"]), ref("card_payment", second["payment_id"])],
                  "a one-off house renovation grant paid in 2016 and again in 2017", may_also=("DC-04",))
        household = self.household(test=lambda h: h.attribute != "extreme_poor" and len(h.members) >= 2
                                   and all(m.disability is None for m in h.members))
        pair = household.members[:2]
        rows = []
        for member in pair:
            member.disability = 4
            rows.append(self.pay("DIS_LIVING", member, 600, str(YEAR), date(YEAR, 5, 20)))
        self.decoy("DC-01", [ref("household", household.household_id)],
                   [ref("card_payment", r["payment_id"]) for r in rows],
                   "two disabled members of one household, each paid once")
        self.decoy("DC-16", [ref("household", household.household_id)],
                   [ref("card_payment", r["payment_id"]) for r in rows],
                   "a person's benefit (disability living allowance) for two members: each their own")

    def _disabled_payee(self, variant_name: bool = False) -> tuple[Household, Member, dict[str, Any]]:
        household = self.household(test=lambda h: h.attribute != "extreme_poor" and any(
            p["program_code"] == "DIS_LIVING" and (not variant_name or names.has_variant(
                self.c.members[p["id_number"]].name)) for p in self.payments_of(h)))
        payment = next(p for p in self.payments_of(household) if p["program_code"] == "DIS_LIVING"
                       and (not variant_name or names.has_variant(self.c.members[p["id_number"]].name)))
        return household, self.c.members[payment["id_number"]], payment

    def dc12(self) -> None:
        """A disabled member held since last August, his allowance for this year still paid;
        a near miss released in February; and people detained who draw nothing."""
        household, member, payment = self._disabled_payee()
        self.c.rows["detentions"].append({"id_number": member.id_number, "from_on": date(YEAR - 1, 8, 12),
                                          "to_on": None, "source": "汨罗市看守所"})
        self.case("DC-12", [ref("person", member.id_number)], [ref("card_payment", payment["payment_id"])],
                  "a disability living allowance for the year paid to a man held since the August before")
        household, member, payment = self._disabled_payee()
        self.c.rows["detentions"].append({"id_number": member.id_number, "from_on": date(YEAR - 1, 3, 1),
                                          "to_on": date(YEAR, 2, 10), "source": "岳阳监狱"})
        self.decoy("DC-12", [ref("person", member.id_number)], [ref("card_payment", payment["payment_id"])],
                   "released in February: the year's allowance is not paid for a time in detention")
        for _ in range(3):
            held = self.c.outsider(account=False)
            since = date(YEAR - self.rng.randrange(1, 4), 1 + self.rng.randrange(12), 5)
            self.c.rows["detentions"].append({"id_number": held["id_number"], "from_on": since, "to_on": None,
                                              "source": "汨罗市看守所"})

    def dc16(self) -> None:
        """The household's 低保 for May paid to the head, and again to the spouse."""
        household = self.household("low_income", test=lambda h: len(h.members) >= 2 and any(
            p["program_code"] == "MIN_LIVING" and p["period"] == f"{YEAR}-05" for p in self.payments_of(h)))
        head_paid = next(p for p in self.payments_of(household)
                         if p["program_code"] == "MIN_LIVING" and p["period"] == f"{YEAR}-05")
        other = next(m for m in household.members if m.id_number != household.head.id_number)
        again = self.pay("MIN_LIVING", other, head_paid["amount"] / 100, f"{YEAR}-05",
                         head_paid["paid_on"] + timedelta(days=6), household, head_paid["paying_unit"])
        self.case("DC-16", [ref("household", household.household_id)],
                  [ref("card_payment", head_paid["payment_id"]), ref("card_payment", again["payment_id"])],
                  "May's minimum-living allowance paid to the head and again to another member")

    def dc17(self) -> None:
        """A village's 低保 batch shared out: every household of one month given 300 yuan."""
        planted = {r["key"] for item in self.cases + self.decoys for r in item["records"]}
        batches: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for payment in self.c.rows["card_payments"]:
            if payment["program_code"] == "MIN_LIVING" and not payment.get("status"):
                batches.setdefault((payment["_village"], payment["period"]), []).append(payment)
        fit = sorted(key for key, rows in batches.items() if len(rows) >= 12 and key[1] == f"{YEAR}-08"
                     and not any(r["payment_id"] in planted or r["household_id"] in self.used for r in rows))
        if len(fit) < 2:
            raise TooSmall("no village's minimum-living batch is free for the flat-split plant")
        village, period = fit[self.rng.randrange(len(fit))]
        for row in batches[(village, period)]:
            row["amount"] = fen(300)
            self.used.add(row["household_id"])
        self.case("DC-17", [ref("payment_batch", f"MIN_LIVING/{period}/{village}")],
                  [ref("card_payment", r["payment_id"]) for r in batches[(village, period)]],
                  "every household of the village's August minimum-living batch given 300 yuan")
        decoy_village, decoy_period = next(key for key in fit if key[0] != village)
        self.decoy("DC-17", [ref("payment_batch", f"MIN_LIVING/{decoy_period}/{decoy_village}")],
                   [ref("card_payment", r["payment_id"]) for r in batches[(decoy_village, decoy_period)][:12]],
                   "a minimum-living batch whose amounts follow each household's size")

    # ------------------------------------------------------------------ v1.1: property and household registers

    def _paid_since(self, household: Household, since: date) -> list[dict[str, Any]]:
        """The household's payments made on or after ``since`` (all of them moved money: no
        background failure touches a planted household)."""
        return [p for p in self.payments_of(household) if p["paid_on"] >= since]

    def dc11(self) -> None:
        """A son's (or spouse's) flat in town, bought the autumn before; a head's shop; near
        misses: a member's new rural house, and a flat sold before the household's first
        payment of the year."""
        def member_of(household: Household) -> Member:
            return next((m for m in household.members[1:] if m.relation == "child" and m.born.year <= YEAR - 22),
                        household.members[1])

        def property_row(person: str, kind: str, registered: date, location: str, area: float,
                         deregistered: date | None = None) -> str:
            property_id = self.c.property_id(max(registered.year, 2015))
            self.c.rows["real_estate"].append({
                "id_number": person, "property_id": property_id, "kind": kind, "location": location,
                "area_m2": area, "registered_on": registered, "deregistered_on": deregistered})
            return f"{person}|{property_id}"

        household = self.household("low_income", test=lambda h: len(h.members) >= 2)
        member = member_of(household)
        bought = date(YEAR - 1, 9, 12)
        flat = property_row(member.id_number, "urban_home", bought, f"{COUNTY}滨江花园7栋1203室", 118.6)
        self.case("DC-11", [ref("household", household.household_id), ref("person", member.id_number)],
                  [ref("card_payment", p["payment_id"]) for p in self._paid_since(household, bought)]
                  + [ref("real_estate", flat)],
                  "a member's flat in town, bought the autumn before; the household's allowance paid on")
        household = self.household(test=lambda h: bool(self.payments_of(h)))
        opened = date(YEAR - 2, 5, 18)
        shop = property_row(household.head.id_number, "shop", opened, f"{COUNTY}归义镇屈原大道88号门面", 46.0)
        self.case("DC-11", [ref("household", household.household_id), ref("person", household.head.id_number)],
                  [ref("card_payment", p["payment_id"]) for p in self._paid_since(household, opened)]
                  + [ref("real_estate", shop)],
                  "the head owns a shop on the main street")
        household = self.household(test=lambda h: len(h.members) >= 2 and bool(self.payments_of(h)))
        member = member_of(household)
        village = household.village
        house = property_row(member.id_number, "rural_home", date(YEAR - 1, 4, 2),
                             f"{COUNTY}{village.town.name}{village.name}3组", 132.0)
        self.decoy("DC-11", [ref("household", household.household_id)],
                   [ref("card_payment", p["payment_id"]) for p in self.payments_of(household)]
                   + [ref("real_estate", house)],
                   "a member's new house in the village: a rural home is no sign of wealth")
        household = self.household(test=lambda h: len(h.members) >= 2 and bool(self.payments_of(h)) and all(
            p["paid_on"] >= date(YEAR, 1, 1) for p in self.payments_of(h)))
        member = member_of(household)
        sold = property_row(member.id_number, "urban_home", date(YEAR - 5, 3, 8), f"{COUNTY}龙舟小区2栋301室", 76.3,
                            deregistered=date(YEAR - 1, 11, 20))
        self.decoy("DC-11", [ref("household", household.household_id)],
                   [ref("card_payment", p["payment_id"]) for p in self.payments_of(household)]
                   + [ref("real_estate", sold)],
                   "a member's flat, sold the November before the year's first payment")

    def dc13(self) -> None:
        """A daughter who married into another county, her disability allowance still paid;
        a head who moved to the city in March, the household's 低保 paid to him from April;
        near misses: a member who moved out and came back, one who left after the year's
        period began."""
        def grown_daughter(h: Household) -> Member | None:
            return next((m for m in h.members[1:] if m.relation == "child" and not m.male
                         and m.born.year <= YEAR - 19 and not self.by_person.get(m.id_number)), None)

        household = self.household(test=lambda h: h.attribute != "extreme_poor" and grown_daughter(h) is not None)
        daughter = grown_daughter(household)
        assert daughter is not None
        daughter.disability = 4
        paid = self.pay("DIS_LIVING", daughter, 600, str(YEAR), date(YEAR, 5, 20))
        self._hukou(daughter.id_number, "marry_out", date(YEAR - 1, 10, 6), household.household_id, "湖南省平江县")
        self.case("DC-13", [ref("person", daughter.id_number), ref("household", household.household_id)],
                  [ref("card_payment", paid["payment_id"])],
                  "a daughter married into another county in October; her disability allowance still paid")
        household = self.household("low_income", test=lambda h: len(h.members) >= 2 and sum(
            p["program_code"] == "MIN_LIVING" for p in self.payments_of(h)) >= 10)
        left = date(YEAR, 3, 10)
        self._hukou(household.head.id_number, "move_out", left, household.household_id, "长沙市岳麓区")
        after = [p for p in self.by_person.get(household.head.id_number, [])
                 if p["household_id"] == household.household_id and period_start(p["period"]) > left]
        self.case("DC-13", [ref("person", household.head.id_number), ref("household", household.household_id)],
                  [ref("card_payment", p["payment_id"]) for p in after],
                  "the head moved his hukou to Changsha in March; the household's allowance paid to him from April")
        household, member, payment = self._disabled_payee()
        self._hukou(member.id_number, "move_out", date(YEAR - 3, 3, 1), household.household_id, "广东省东莞市")
        self._hukou(member.id_number, "move_in", date(YEAR - 2, 6, 15), None, "广东省东莞市",
                    to_household=household.household_id)
        self.decoy("DC-13", [ref("person", member.id_number)], [ref("card_payment", payment["payment_id"])],
                   "moved out for work and moved back the year after: a member again")
        household, member, payment = self._disabled_payee()
        while member.relation == "head":  # a head's monthly allowance from July would rightly be DC-13
            household, member, payment = self._disabled_payee()
        self._hukou(member.id_number, "move_out", date(YEAR, 6, 30), household.household_id, "岳阳市岳阳楼区")
        self.decoy("DC-13", [ref("person", member.id_number)], [ref("card_payment", payment["payment_id"])],
                   "moved out in June, after the year's allowance period had begun")

    def _hukou(self, id_number: str, event: str, on: date, from_household: str | None, place: str | None,
               to_household: str | None = None) -> None:
        self.c.rows["household_events"].append({"id_number": id_number, "event": event, "event_on": on,
                                                "from_household": from_household, "to_household": to_household,
                                                "place": place})

    def dc14(self) -> None:
        """An old man split from his son's household (not poor) 60 days before his own was
        registered; a son split from his parents' five months before; near misses: a split
        eleven years before, and a split from a household that is itself registered poor."""
        try:
            household = self.household(test=lambda h: len(h.members) <= 2 and h.head.born.year <= 1955)
        except TooSmall:
            household = self.household()
        split = household.registered_on - timedelta(days=60)
        self._hukou(household.head.id_number, "split", split, self.c.other_household(household.village), None,
                    to_household=household.household_id)
        self.case("DC-14", [ref("household", household.household_id), ref("person", household.head.id_number)],
                  [ref("household", household.household_id)]
                  + [ref("card_payment", p["payment_id"]) for p in self.payments_of(household)],
                  "the head split from his son's household, not a poor one, 60 days before his was registered")
        household = self.household(test=lambda h: len(h.members) >= 3)
        self._hukou(household.head.id_number, "split", household.registered_on - timedelta(days=150),
                    self.c.other_household(household.village), None)  # the register names no new household
        self.case("DC-14", [ref("household", household.household_id), ref("person", household.head.id_number)],
                  [ref("household", household.household_id)]
                  + [ref("card_payment", p["payment_id"]) for p in self.payments_of(household)],
                  "a son split from his parents' household, not a poor one, five months before his was registered")
        household = self.household()
        self._hukou(household.head.id_number, "split", date(household.registered_on.year - 11, 4, 8),
                    self.c.other_household(household.village), None, to_household=household.household_id)
        self.decoy("DC-14", [ref("household", household.household_id)], [ref("household", household.household_id)],
                   "the head split from his parents' household eleven years before the registration")
        household = self.household(test=lambda h: len(h.village.households) >= 2)
        parents = next(h for h in household.village.households if h is not household)
        self._hukou(household.head.id_number, "split", household.registered_on - timedelta(days=60),
                    parents.household_id, None, to_household=household.household_id)
        self.decoy("DC-14", [ref("household", household.household_id)], [ref("household", household.household_id)],
                   "a split 60 days before the registration, from a household that is itself registered poor")

    def dc02(self) -> None:
        for variant in (False, True):
            _, person, payment = self._disabled_payee(variant_name=variant)
            other = self.household(village=person.household.village,
                                   test=lambda h: h.attribute != "extreme_poor")
            name = names.variant_of(person.name) if variant else person.name
            twin = self.add_member(other, name, person.born, person.male,
                                   id_number=self.c.ids.sibling_identity(person.id_number))
            twin.disability = person.disability
            self.certificates_set.add(twin.id_number)  # the second identity holds no disability certificate
            second = self.pay("DIS_LIVING", twin, 600, str(YEAR), date(YEAR, 5, 21))
            self.case("DC-02", [ref("person", person.id_number), ref("person", twin.id_number)],
                      [ref("card_payment", payment["payment_id"]), ref("card_payment", second["payment_id"])],
                      f"one person registered twice in {person.household.village.name}"
                      + (f" as {person.name} and {name}" if variant else " under two ID numbers"),
                      may_also=("DC-18",))
        member_home = self.household("low_income", test=lambda h: len(h.members) >= 2)
        member = member_home.members[1]
        # Not a village whose April batch FP-03 left undisclosed: the ghost's April payment
        # would join that batch after its case was written down.
        village = self.rng.choice([v for v in self.c.villages
                                   if f"MIN_LIVING/{YEAR}-04/{v.code}" not in self.c.undisclosed_batches])
        ghost = Household(f"{village.code}9{self.rng.randrange(100, 999)}", village, "low_income",
                          date(2014, 6, 1), None, self.c.ids.card(), [member])
        ghost.ghost = True  # type: ignore[attr-defined]  # its member is already a person elsewhere
        ghost.village.households.append(ghost)
        self.c.households.append(ghost)
        self.used.add(ghost.household_id)
        self.c.rows["accounts"].append({"account_number": ghost.card, "bank": "湖南农村信用社", "holder_kind": "person",
                                        "holder_id": member.id_number, "opened_on": date(2014, 7, 1)})
        rows = [self.pay("MIN_LIVING", member, 260, f"{YEAR}-{month:02d}", date(YEAR, month, 22), household=ghost)
                for month in range(1, 13)]
        self.case("DC-02", [ref("person", member.id_number)],
                  [ref("card_payment", r["payment_id"]) for r in rows],
                  "a member of one registered household is also the head of another, drawing its benefits")
        _, person, payment = self._disabled_payee()
        other = self.household(village=person.household.village, test=lambda h: h.attribute != "extreme_poor")
        older = date(person.born.year - 3, person.born.month, min(person.born.day, 28))
        namesake = self.add_member(other, person.name, older, person.male)
        namesake.disability = 3
        second = self.pay("DIS_LIVING", namesake, 600, str(YEAR), date(YEAR, 5, 21))
        self.decoy("DC-02", [ref("person", person.id_number), ref("person", namesake.id_number)],
                   [ref("card_payment", payment["payment_id"]), ref("card_payment", second["payment_id"])],
                   "two people of one name in one village, born three years apart: namesakes, not one person")

    def dc03(self) -> None:
        household = self.household("extreme_poor")
        person = household.head
        support = next(p for p in self.payments_of(household)
                       if p["program_code"] == "EXTREME_SUPPORT" and p["id_number"] == person.id_number)
        person.disability = person.disability or 3
        living = self.pay("DIS_LIVING", person, 600, str(YEAR), date(YEAR, 5, 20))
        self.case("DC-03", [ref("person", person.id_number)],
                  [ref("card_payment", support["payment_id"]), ref("card_payment", living["payment_id"])],
                  "extreme-poverty support and the disability living allowance, mutually exclusive, both paid")

    def dc04(self) -> None:
        _, person, payment = self._disabled_payee()
        payment["amount"] = fen(1200)
        self.case("DC-04", [ref("person", person.id_number)], [ref("card_payment", payment["payment_id"])],
                  "disability living allowance paid at 1,200 yuan against a standard of 600")
        household = self.household(test=lambda h: h.attribute != "extreme_poor")
        big = self.pay("MEDICAL_AID", household.head, 32000, str(YEAR), date(YEAR, 6, 21))
        self.case("DC-04", [ref("person", household.head.id_number)], [ref("card_payment", big["payment_id"])],
                  "medical aid of 32,000 yuan above the 30,000 cap", may_also=("AN-01",))
        household = self.household("low_income")
        month = next(p for p in self.payments_of(household) if p["program_code"] == "MIN_LIVING")
        month["amount"] = fen(1300)
        self.case("DC-04", [ref("person", household.head.id_number)], [ref("card_payment", month["payment_id"])],
                  "a month of minimum-living allowance of 1,300 yuan above the 800 cap")

    def dc05(self) -> None:
        household = self.household("low_income")
        household.exited_on = date(YEAR, 6, 30)
        after = [p for p in self.payments_of(household) if p["paid_on"] > household.exited_on]
        before = [p for p in self.payments_of(household) if p["paid_on"] <= household.exited_on]
        self.case("DC-05", [ref("household", household.household_id)],
                  [ref("card_payment", p["payment_id"]) for p in after],
                  "household exited poverty on 30 June; payments went on")
        self.decoy("DC-05", [ref("household", household.household_id)],
                   [ref("card_payment", p["payment_id"]) for p in before],
                   "payments of the same household before its exit")
        household = self.household(test=lambda h: h.attribute != "extreme_poor" and any(
            m.school == "junior" and not m.boarding for m in h.members))
        pupil = next(m for m in household.members if m.school == "junior" and not m.boarding)
        wrong = self.pay("EDU_BOARD_JUNIOR", pupil, 1250, str(YEAR), date(YEAR, 9, 20))
        self.case("DC-05", [ref("person", pupil.id_number)], [ref("card_payment", wrong["payment_id"])],
                  "boarding allowance paid to a junior-school pupil who does not board")
        household = self.household(test=lambda h: h.attribute != "extreme_poor" and any(
            m.disability == 3 for m in h.members))
        disabled = next(m for m in household.members if m.disability == 3)
        care = self.pay("DIS_CARE", disabled, 1200, str(YEAR), date(YEAR, 5, 20))
        self.case("DC-05", [ref("person", disabled.id_number)], [ref("card_payment", care["payment_id"])],
                  "severe-disability care paid for a level-3 disability (levels 1-2 qualify)",
                  may_also=("DC-18",))  # (the certificate says level 3 too)
        household = self.household("low_income")
        household.registered_on = date(YEAR, 5, 10)
        early = [p for p in self.payments_of(household) if p["paid_on"] < household.registered_on]
        self.case("DC-05", [ref("household", household.household_id)],
                  [ref("card_payment", p["payment_id"]) for p in early],
                  "paid from January for a household registered only on 10 May")

    def dc06(self) -> None:
        _, person, payment = self._disabled_payee()
        if person.relation == "head":
            _, person, payment = self._disabled_payee()
        person.died_on = date(YEAR - 1, 11, 2)
        self.c.rows["deaths"].append({"id_number": person.id_number, "died_on": person.died_on, "source": "民政殡葬火化登记"})
        records = [p for p in self.by_person[person.id_number] if p["period"][:4] >= str(YEAR)]
        self.case("DC-06", [ref("person", person.id_number)], [ref("card_payment", p["payment_id"]) for p in records],
                  "disability allowance for 2017 paid to a man cremated in November 2016")
        household = self.household("low_income")
        head = household.head
        head.died_on = date(YEAR, 2, 10)
        self.c.rows["deaths"].append({"id_number": head.id_number, "died_on": head.died_on, "source": "公安户籍注销"})
        after = [p for p in self.payments_of(household) if p["id_number"] == head.id_number
                 and period_start(p["period"]) > head.died_on]
        self.case("DC-06", [ref("person", head.id_number)], [ref("card_payment", p["payment_id"]) for p in after],
                  "monthly allowance kept flowing to a head of household who died in February")
        _, person, payment = self._disabled_payee()
        while person.relation == "head":  # a head's monthly allowance after March would rightly be DC-06
            _, person, payment = self._disabled_payee()
        person.died_on = date(YEAR, 3, 10)
        self.c.rows["deaths"].append({"id_number": person.id_number, "died_on": person.died_on, "source": "民政殡葬火化登记"})
        self.decoy("DC-06", [ref("person", person.id_number)], [ref("card_payment", payment["payment_id"])],
                   "died in March 2017; the 2017 allowance covers a period that began while alive")
        household = self.household("low_income", test=lambda h: any(
            m.relation == "spouse" and m.disability is None and m.school is None for m in h.members))
        spouse = next(m for m in household.members if m.relation == "spouse")
        spouse.died_on = date(YEAR, 4, 1)
        self.c.rows["deaths"].append({"id_number": spouse.id_number, "died_on": spouse.died_on, "source": "民政殡葬火化登记"})
        self.decoy("DC-06", [ref("person", spouse.id_number)],
                   [ref("card_payment", p["payment_id"]) for p in self.payments_of(household)
                    if p["paid_on"] > spouse.died_on],
                   "a member died; the household allowance rightly goes on to the living head")

    def dc07(self) -> None:
        household = self.household("low_income", test=lambda h: any(
            m.relation in {"spouse", "child"} and 1967 <= m.born.year <= 1995 for m in h.members))
        worker = next(m for m in household.members if m.relation in {"spouse", "child"} and 1967 <= m.born.year <= 1995)
        self.c.rows["public_employees"].append({"id_number": worker.id_number, "name": worker.name,
                                                "employer": "汨罗市城关第二小学", "from_on": date(2015, 9, 1), "to_on": None})
        self.case("DC-07", [ref("household", household.household_id), ref("person", worker.id_number)],
                  [ref("card_payment", p["payment_id"]) for p in self.payments_of(household)],
                  "a member of the household is a teacher on the public payroll")
        household = self.household("low_income")
        self.c.rows["vehicles"].append({"id_number": household.head.id_number, "plate": self.c.plate(),
                                        "registered_on": date(2016, 5, 12), "vehicle_type": "小型轿车"})
        self.case("DC-07", [ref("household", household.household_id), ref("person", household.head.id_number)],
                  [ref("card_payment", p["payment_id"]) for p in self.payments_of(household)],
                  "the head of the household registered a car in 2016")
        household = self.household("low_income")
        member = household.members[-1] if household.members[-1].born.year < 1999 else household.head
        self.c.organization("company", f"汨罗市{member.name[0]}氏商贸有限公司", date(2015, 8, 3),
                            {"id_number": member.id_number, "name": member.name})
        self.case("DC-07", [ref("household", household.household_id), ref("person", member.id_number)],
                  [ref("card_payment", p["payment_id"]) for p in self.payments_of(household)],
                  "a member of the household is the legal representative of a trading company")
        household = self.household("low_income")
        self.c.rows["public_employees"].append({"id_number": household.head.id_number, "name": household.head.name,
                                                "employer": "汨罗市环卫所", "from_on": date(2010, 3, 1),
                                                "to_on": date(2015, 12, 31)})
        self.decoy("DC-07", [ref("household", household.household_id)],
                   [ref("card_payment", p["payment_id"]) for p in self.payments_of(household)],
                   "the head's public job ended two years before these payments")
        household = self.household("general", test=lambda h: self.payments_of(h) and all(
            p["paid_on"] < date(YEAR, 12, 1) for p in self.payments_of(h)))
        self.c.rows["vehicles"].append({"id_number": household.head.id_number, "plate": self.c.plate(),
                                        "registered_on": date(YEAR, 12, 5), "vehicle_type": "轻型货车"})
        self.decoy("DC-07", [ref("household", household.household_id)],
                   [ref("card_payment", p["payment_id"]) for p in self.payments_of(household)],
                   "a van registered in December, after every payment")
        household = self.household("general", test=lambda h: bool(self.payments_of(h)))
        self.c.organization("cooperative", f"汨罗市{household.village.name}种养专业合作社", date(2016, 3, 1),
                            {"id_number": household.head.id_number, "name": household.head.name})
        self.decoy("DC-07", [ref("household", household.household_id)],
                   [ref("card_payment", p["payment_id"]) for p in self.payments_of(household)],
                   "the head leads a farmers' cooperative, which is not a company")

    def dc08(self) -> None:
        keeper = self.household("low_income")
        lender = self.household("low_income", village=keeper.village)
        moved = self.payments_of(lender)
        for payment in moved:
            payment["card_account"] = keeper.card
        lender.card = keeper.card
        self.case("DC-08", [ref("account", keeper.card)],
                  [ref("card_payment", p["payment_id"]) for p in self.payments_of(keeper) + moved],
                  "a second household's allowances are paid onto the first household's card")
        captured = self.household("low_income")
        cadre = captured.village.cadres[2]
        account = next(a for a in self.c.rows["accounts"] if a["account_number"] == captured.card)
        account["holder_id"] = cadre["id_number"]
        self.case("DC-08", [ref("account", captured.card), ref("official", cadre["official_id"])],
                  [ref("card_payment", p["payment_id"]) for p in self.payments_of(captured)],
                  "the household's one-card account is held by a village committee member")

    def dc09(self) -> None:
        first = self.background_project()
        second = self.background_project()
        a, b = self.disbursements_of(first)[0], self.disbursements_of(second)[0]
        b["invoice_number"] = a["invoice_number"]
        self.case("DC-09", [ref("disbursement", a["disbursement_id"])],
                  [ref("disbursement", a["disbursement_id"]), ref("disbursement", b["disbursement_id"])],
                  "one invoice backs payments for two projects")
        third = self.background_project()
        fourth = self.background_project()
        c, d = self.disbursements_of(third)[0], self.disbursements_of(fourth)[0]
        d["invoice_number"] = "043001700112" + c["invoice_number"][12:]
        self.decoy("DC-09", [ref("disbursement", c["disbursement_id"])],
                   [ref("disbursement", c["disbursement_id"]), ref("disbursement", d["disbursement_id"])],
                   "same invoice number under a different invoice code: two different invoices")

    def dc10(self) -> None:
        household = self.household(test=lambda h: bool(self.payments_of(h)))
        secretary = household.village.cadres[0]
        self.c.rows["kinship"].append({"id_number_a": secretary["id_number"], "id_number_b": household.head.id_number,
                                       "kind": "sibling", "source": "纪检监察调查"})
        self.case("DC-10", [ref("household", household.household_id), ref("official", secretary["official_id"])],
                  [ref("card_payment", p["payment_id"]) for p in self.payments_of(household)],
                  "the head of the household is the village secretary's brother")
        household = self.household(test=lambda h: bool(self.payments_of(h)))
        officer = household.village.town.finance_officer
        self.c.rows["kinship"].append({"id_number_a": household.head.id_number, "id_number_b": officer["id_number"],
                                       "kind": "in_law", "source": "干部个人事项报告"})
        self.case("DC-10", [ref("household", household.household_id), ref("official", officer["official_id"])],
                  [ref("card_payment", p["payment_id"]) for p in self.payments_of(household)],
                  "the head is an in-law of the finance officer whose office pays the household")
        household = self.household(test=lambda h: bool(self.payments_of(h)))
        far = next(v for v in self.c.villages if v.town is not household.village.town)
        self.c.rows["kinship"].append({"id_number_a": far.cadres[0]["id_number"], "id_number_b": household.head.id_number,
                                       "kind": "sibling", "source": "干部个人事项报告"})
        self.decoy("DC-10", [ref("household", household.household_id)],
                   [ref("card_payment", p["payment_id"]) for p in self.payments_of(household)],
                   "kin of a secretary of a village in another town, with no power over this money")

    # ------------------------------------------------------------------ DV: diversion

    def dv01(self) -> None:
        project = self.background_project(lambda p: p["category"] == "infrastructure" and len(self.disbursements_of(p)) >= 2)
        moved = self.disbursements_of(project)[1]
        self.rebucket(moved, "education")
        self.case("DV-01", [ref("project", project["project_id"])], [ref("disbursement", moved["disbursement_id"])],
                  "a road tranche paid from an education allocation")
        stranger = self.c.outsider(1970, 1990)
        row = self.c.disbursement("industry", None, POVERTY_OFFICE, "person", stranger["id_number"],
                                  self.c.person_cards[stranger["id_number"]], fen(38000), date(YEAR, 7, 12),
                                  "产业扶持资金", self.c.county_finance_officers[1]["official_id"])
        self.case("DV-01", [ref("person", stranger["id_number"])], [ref("disbursement", row["disbursement_id"])],
                  "industry money paid to a person in no registered household, with no project")

    def dv02(self) -> None:
        project = self.project(SOLAR, date(YEAR, 2, 20), quantity=80, planned_days=100)
        paid = self.c.pay_project(project)
        extra = self.tranche(project, project["budget"] * 20 // 100, paid[-1]["paid_on"] + timedelta(days=7))
        self.case("DV-02", [ref("project", project["project_id"])],
                  [ref("project", project["project_id"]), ref("disbursement", extra["disbursement_id"])],
                  "paid 117% of the approved budget")
        town = self.rng.choice(self.c.towns)
        rows = [p for p in self.c.rows["card_payments"] if p["program_code"] == "EDU_BOARD_JUNIOR"
                and p["paying_unit"] == town.finance_office and p["allocation_id"] is None][:40]
        if len(rows) < 3:
            rows = [p for p in self.c.rows["card_payments"] if p["program_code"] == "EDU_BOARD_JUNIOR"][:40]
        spent = sum(r["amount"] for r in rows)
        allocation = self.special_allocation("education", date(YEAR, 8, 25), spent * 80 // 100 // 100 * 100, rows)
        self.case("DV-02", [ref("allocation", allocation["allocation_id"])],
                  [ref("allocation", allocation["allocation_id"])],
                  "an education allocation paid out 125% of its amount")

    def _insider_account(self, person: dict[str, Any]) -> str:
        return self.c.person_cards[person["id_number"]]

    def dv03(self) -> None:
        project = self.background_project(lambda p: p["_village"].cadres[0]["kin"], exclusive=True)
        paid = self.disbursements_of(project)[0]
        secretary = project["_village"].cadres[0]
        rep = project["_contractor"]["rep"]
        t1 = self.c.transfer(paid["payee_account"], self.c.person_cards[rep["id_number"]], fen(60000),
                             paid["paid_on"] + timedelta(days=5), "借款")
        t2 = self.c.transfer(self.c.person_cards[rep["id_number"]], self._insider_account(secretary["kin"][0]),
                             fen(50000), paid["paid_on"] + timedelta(days=12), "还款")
        in_village = self.carried_by(paid["payee_account"], t1["transferred_on"],
                                     lambda d: d["project_id"] in {p["project_id"] for p in project["_contractor"]["projects"]
                                                                   if p["village_code"] == project["village_code"]})
        self.case("DV-03", [ref("official", secretary["official_id"]), ref("project", project["project_id"])],
                  [ref("disbursement", d["disbursement_id"]) for d in in_village]
                  + [ref("transfer", t1["transfer_id"]), ref("transfer", t2["transfer_id"])],
                  "50,000 yuan reached the village secretary's wife through the contractor's boss in 12 days")
        project = self.background_project(exclusive=True)
        paid = self.disbursements_of(project)[0]
        approver = next(a for a in self.c.approvers if a["official_id"] == project["approver_official_id"])
        x, y = self.c.outsider(), self.c.outsider()
        hops = [self.c.transfer(paid["payee_account"], self.c.person_cards[x["id_number"]], fen(90000),
                                paid["paid_on"] + timedelta(days=9), "材料款"),
                self.c.transfer(self.c.person_cards[x["id_number"]], self.c.person_cards[y["id_number"]], fen(85000),
                                paid["paid_on"] + timedelta(days=30), "转账"),
                self.c.transfer(self.c.person_cards[y["id_number"]], self._insider_account(approver["kin"][0]),
                                fen(80000), paid["paid_on"] + timedelta(days=60), "购房款")]
        approved = {p["project_id"] for p in self.c.projects if p["approver_official_id"] == approver["official_id"]}
        carried = self.carried_by(paid["payee_account"], hops[0]["transferred_on"], lambda d: d["project_id"] in approved)
        self.case("DV-03", [ref("official", approver["official_id"]), ref("project", project["project_id"])],
                  [ref("disbursement", d["disbursement_id"]) for d in carried]
                  + [ref("transfer", t["transfer_id"]) for t in hops],
                  "80,000 yuan reached the approver's wife in three hops within 60 days")
        project = self.background_project(lambda p: p["_village"].cadres[0]["kin"], exclusive=True)
        paid = self.disbursements_of(project)[0]
        secretary = project["_village"].cadres[0]
        rep = project["_contractor"]["rep"]
        late = [self.c.transfer(paid["payee_account"], self.c.person_cards[rep["id_number"]], fen(30000),
                                paid["paid_on"] + timedelta(days=5), "借款"),
                self.c.transfer(self.c.person_cards[rep["id_number"]], self._insider_account(secretary["kin"][0]),
                                fen(20000), paid["paid_on"] + timedelta(days=130), "还款")]
        self.decoy("DV-03", [ref("official", secretary["official_id"])],
                   [ref("transfer", t["transfer_id"]) for t in late],
                   "money reached an insider's kin, but 130 days after the payment (window 90)")
        project = self.background_project(exclusive=True)
        paid = self.disbursements_of(project)[0]
        approver = next(a for a in self.c.approvers if a["official_id"] == project["approver_official_id"])
        chain = [self.c.outsider() for _ in range(3)]
        accounts = [paid["payee_account"]] + [self.c.person_cards[p["id_number"]] for p in chain] + \
                   [self._insider_account(approver["kin"][0])]
        far = [self.c.transfer(accounts[i], accounts[i + 1], fen(40000 - 1000 * i),
                               paid["paid_on"] + timedelta(days=5 + 5 * i), "转账") for i in range(4)]
        self.decoy("DV-03", [ref("official", approver["official_id"])],
                   [ref("transfer", t["transfer_id"]) for t in far],
                   "money reached an insider's kin, but in four hops (limit three)")

    def dv04(self) -> None:
        def quiet(contractor: dict[str, Any], start: date) -> bool:
            return all(abs((d - start).days) > 60 for d in self.c.small_payment_days[contractor["uscc"]])

        start = date(YEAR, 5, 2)
        contractor = self.pick([c for c in self.c.contractors if c["uscc"] not in self.used_contractors
                                and quiet(c, start)], "no contractor free of small payments in the window")
        self.used_contractors.add(contractor["uscc"])
        project = self.project(CHANNEL, date(YEAR, 3, 20), contractor=contractor, quantity=400, planned_days=100)
        project["budget"] = fen(150000)
        project["completed_on"] = project["planned_end"] - timedelta(days=5)
        project["accepted_on"] = project["planned_end"] + timedelta(days=20)
        project["acceptance_result"] = "pass"
        self.c.disclose("project", project["project_id"], start)
        rows = [self.tranche(project, fen(amount), start + timedelta(days=offset))
                for amount, offset in ((45000, 0), (48000, 13), (40000, 26))]
        self.c.wages(contractor, rows)
        self.case("DV-04", [ref("organization", contractor["uscc"])],
                  [ref("disbursement", r["disbursement_id"]) for r in rows],
                  "133,000 yuan in three payments under 50,000 within 26 days")
        start = date(YEAR, 6, 5)
        contractor = self.pick([c for c in self.c.contractors if c["uscc"] not in self.used_contractors
                                and quiet(c, start)], "no contractor free of small payments in the window")
        self.used_contractors.add(contractor["uscc"])
        project = self.project(CHANNEL, date(YEAR, 4, 20), contractor=contractor, quantity=130, planned_days=60)
        project["budget"] = fen(50000)
        project["completed_on"] = project["planned_end"]
        project["accepted_on"] = project["planned_end"] + timedelta(days=15)
        project["acceptance_result"] = "pass"
        self.c.disclose("project", project["project_id"], start)
        rows = [self.tranche(project, fen(amount), start + timedelta(days=offset))
                for amount, offset in ((20000, 0), (24000, 14))]
        self.c.wages(contractor, rows)
        self.decoy("DV-04", [ref("organization", contractor["uscc"])],
                   [ref("disbursement", r["disbursement_id"]) for r in rows],
                   "two small payments within 30 days that together stay under the threshold")

    def dv05(self) -> None:
        project = self.background_project(exclusive=True)
        paid = self.disbursements_of(project)[0]
        middle = self.c.outsider()
        broker_rep = self.c.outsider()
        broker = self.c.organization("company", f"汨罗市{self.rng.choice('顺通达')}商贸有限公司", date(2010, 5, 1), broker_rep)
        loop = [self.c.transfer(paid["payee_account"], self.c.person_cards[middle["id_number"]], fen(70000),
                                paid["paid_on"] + timedelta(days=3), "劳务费"),
                self.c.transfer(self.c.person_cards[middle["id_number"]], self.c.org_accounts[broker], fen(68000),
                                paid["paid_on"] + timedelta(days=7), "货款"),
                self.c.transfer(self.c.org_accounts[broker], self.c.org_accounts[self.c.unit_uscc[COUNTY_FINANCE]],
                                fen(65000), paid["paid_on"] + timedelta(days=11), "往来款")]
        self.case("DV-05", [ref("project", project["project_id"])],
                  [ref("disbursement", d["disbursement_id"]) for d in self.carried_by(paid["payee_account"], loop[0]["transferred_on"])]
                  + [ref("transfer", t["transfer_id"]) for t in loop],
                  "money paid out by the finance bureau came back to its own account in 11 days")
        project = self.background_project(exclusive=True)
        paid = self.disbursements_of(project)[0]
        contractor = project["_contractor"]
        second = self.c.ids.corporate_account()
        self.c.rows["accounts"].append({"account_number": second, "bank": "中国银行汨罗支行", "holder_kind": "org",
                                        "holder_id": contractor["uscc"], "opened_on": date(2016, 2, 1)})
        middle = self.c.outsider()
        loop = [self.c.transfer(paid["payee_account"], self.c.person_cards[middle["id_number"]], fen(50000),
                                paid["paid_on"] + timedelta(days=4), "咨询费"),
                self.c.transfer(self.c.person_cards[middle["id_number"]], second, fen(49000),
                                paid["paid_on"] + timedelta(days=9), "还款")]
        self.case("DV-05", [ref("organization", contractor["uscc"])],
                  [ref("disbursement", d["disbursement_id"]) for d in self.carried_by(paid["payee_account"], loop[0]["transferred_on"])]
                  + [ref("transfer", t["transfer_id"]) for t in loop],
                  "the contractor's payment went out and returned to its own second account")

    def dv06(self) -> None:
        issued = date(YEAR, 3, 1)
        window_end = issued + timedelta(days=180)
        rows = [d for d in self.c.rows["disbursements"] if d["project_id"] and d["paid_on"] >= issued
                and d["paid_on"] <= window_end - timedelta(days=10) and d["allocation_id"] is None
                and d["payer_unit"] == COUNTY_FINANCE and any(
                    p["project_id"] == d["project_id"] and p["category"] == "industry" for p in self.c.projects)
                and d["project_id"] not in self.used_projects][:4]
        spent = sum(r["amount"] for r in rows)
        allocation = self.special_allocation("industry", issued, spent * 100 // 55 // 100 * 100, rows, "central")
        self.case("DV-06", [ref("allocation", allocation["allocation_id"])],
                  [ref("allocation", allocation["allocation_id"])],
                  "45% of an industry allocation still unspent 180 days after it arrived")

    def dv07(self) -> None:
        """Four or five households of a village send most of their industry award, within
        days, to a village committee member's own card (归集); three send theirs to a grower
        who holds no office; near misses: a household paying a neighbour once, two cards
        only, and three cards of which one sends after 30 days."""
        def award(h: Household) -> dict[str, Any] | None:
            return next((p for p in self.payments_of(h) if p["program_code"] == "INDUSTRY_AWARD"), None)

        def free(h: Household) -> bool:
            return (h.household_id not in self.used and h.exited_on is None and h.registered_on.year == 2014
                    and all(m.died_on is None for m in h.members) and award(h) is not None)

        def households(n: int) -> list[Household]:
            # A village of its own each time (a second round too): cards of two plants sent to
            # one cadre would be one finding, and a near miss could join a case.
            pool = sorted((v for v in self.c.villages if v.code not in self.collecting_villages
                           and sum(free(h) for h in v.households) >= n), key=lambda v: v.code)
            village = self.pick(pool, "no village with enough households paid an industry award left")
            self.collecting_villages.add(village.code)
            return [self.household(village=village, test=free) for _ in range(n)]

        def send(rows: list[Household], account: str, days: list[int], share: float, memo: str
                 ) -> list[dict[str, str]]:
            records = []
            for household, after in zip(rows, days, strict=True):
                payment = award(household)
                assert payment is not None
                moved = self.c.transfer(household.card, account, payment["amount"] * int(share * 100) // 10000 * 100,
                                        payment["paid_on"] + timedelta(days=after), memo)
                records += [ref("card_payment", payment["payment_id"]), ref("transfer", moved["transfer_id"])]
            return records

        rows = households(self.rng.choice((4, 5)))
        cadre = rows[0].village.cadres[2]
        account = self.c.person_cards[cadre["id_number"]]
        records = send(rows, account, [self.rng.randrange(1, 6) for _ in rows], 0.9, "产业奖补统一入股")
        self.case("DV-07", [ref("official", cadre["official_id"]), ref("account", account)], records,
                  f"{len(rows)} households' industry awards sent on within days to a village committee member's card")
        rows = households(3)
        grower = self.c.outsider(1965, 1980)
        account = self.c.person_cards[grower["id_number"]]
        records = send(rows, account, [2, 4, 9], 0.8, "合作社入股")
        self.case("DV-07", [ref("person", grower["id_number"]), ref("account", account)], records,
                  "three households' industry awards sent on to a grower who holds no office")
        rows = households(1)
        neighbour = self.household(village=rows[0].village)
        records = send(rows, neighbour.card, [4], 0.7, "还款")
        self.decoy("DV-07", [ref("household", rows[0].household_id)], records,
                   "a household pays a neighbour back once, from its award")
        rows = households(2)
        cadre = rows[0].village.cadres[2]
        records = send(rows, self.c.person_cards[cadre["id_number"]], [2, 3], 0.9, "产业奖补统一入股")
        self.decoy("DV-07", [ref("official", cadre["official_id"])], records,
                   "two cards only send their award on to a cadre")
        rows = households(3)
        lender = self.c.outsider(1960, 1980)
        records = send(rows, self.c.person_cards[lender["id_number"]], [3, 6, 40], 0.9, "还款")
        self.decoy("DV-07", [ref("person", lender["id_number"])], records,
                   "three cards send on to one account, but the third 40 days after its award: two within 30")

    # ------------------------------------------------------------------ AN: anomalies

    def an01(self) -> None:
        household = self.household(test=lambda h: h.attribute != "extreme_poor" and not any(
            p["program_code"] == "MEDICAL_AID" for p in self.payments_of(h)))
        other_town = next(t for t in self.c.towns if t is not household.village.town)
        odd = self.pay("MEDICAL_AID", household.head, 29950, str(YEAR), date(YEAR, 8, 3), unit=other_town.finance_office)
        self.case("AN-01", [ref("person", household.head.id_number)], [ref("card_payment", odd["payment_id"])],
                  "medical aid of 29,950 yuan, ten times the usual, paid by another town's office on an odd day")

    def an02(self) -> None:
        heads = [h for h in self.c.households if h.household_id not in self.used and h.exited_on is None
                 and h.registered_on.year == 2014 and h.head.died_on is None][:120]
        rows = []
        for index, household in enumerate(heads):
            self.used.add(household.household_id)
            paid = date(YEAR, 3, 1) + timedelta(days=index * 2)
            rows.append(self.c.disbursement("industry", None, AGRICULTURE_BUREAU, "person", household.head.id_number,
                                            household.card, fen(self.rng.randrange(4000, 6000)), paid, "产业奖补",
                                            self.c.county_finance_officers[0]["official_id"], source="provincial"))
        self.case("AN-02", [ref("paying_unit", AGRICULTURE_BUREAU)],
                  [ref("disbursement", r["disbursement_id"]) for r in rows],
                  "120 payments whose amounts all begin with 4 or 5")

    def an03(self) -> None:
        town = next(t for t in self.c.towns if any(v.poor for v in t.villages))
        rows = [d for d in self.c.rows["disbursements"] if d["payer_unit"] == town.finance_office]
        keep = []
        for village in town.villages:
            if not village.poor:
                continue
            mine = [d for d in rows if d["payee_id"] == village.committee_uscc]
            first = mine[0]
            first["amount"], first["paid_on"] = fen(170000), date(YEAR, 12, 20)
            keep.append(first)
            for extra in mine[1:]:
                self.c.rows["disbursements"].remove(extra)
                for bucket_rows in self.c.buckets.values():
                    bucket_rows[:] = [r for r in bucket_rows if r is not extra]
        self.special_allocation("village_operation", date(YEAR, 11, 20), sum(r["amount"] for r in keep), keep, "county")
        self.case("AN-03", [ref("paying_unit", town.finance_office)],
                  [ref("disbursement", r["disbursement_id"]) for r in keep],
                  "the town paid its whole year of village running costs in December")

    # ------------------------------------------------------------------ v1.1: pensions, schools, certificates

    def _pension(self, id_number: str, monthly_yuan: int, from_on: date, source: str,
                 to_on: date | None = None) -> None:
        self.c.rows["pensions"].append({"id_number": id_number, "monthly_amount": yuan_text(fen(monthly_yuan)),
                                        "from_on": from_on, "to_on": to_on, "source": source})
        self.pensions_set.add(id_number)

    def _certificate(self, id_number: str, level: int, issued_on: date, revoked_on: date | None = None,
                     category: str | None = None) -> None:
        self.c.rows["disability_certificates"].append({
            "id_number": id_number, "level": level, "category": category or self.rng.choice(DISABILITY_KINDS),
            "issued_on": issued_on, "revoked_on": revoked_on})
        self.certificates_set.add(id_number)

    def _drop(self, payment: dict[str, Any]) -> None:
        """A background payment that was never made."""
        self.c.rows["card_payments"] = [p for p in self.c.rows["card_payments"] if p is not payment]
        for rows in list(self.c.buckets.values()) + list(self.by_person.values()):
            rows[:] = [r for r in rows if r is not payment]

    def _paid_in_village(self, program: str, village: Village, besides: Household) -> list[dict[str, Any]]:
        """The village's other payments of a program, on households no plant has touched."""
        rows = self.c.rows["card_payments"]
        # Indexed by program and village, built again only when payments were added since:
        # a plant asks this of every candidate household, and a scan of every payment each
        # time made a million-household county take hours.
        if getattr(self, "_by_batch_rows", -1) != len(rows):
            self._by_batch: dict[tuple[str, str], list[dict[str, Any]]] = {}
            for p in rows:
                self._by_batch.setdefault((p["program_code"], p["_village"]), []).append(p)
            self._by_batch_rows = len(rows)
        return [p for p in self._by_batch.get((program, village.code), [])
                if p["household_id"] != besides.household_id and p["household_id"] not in self.used
                and not p.get("status")]

    def _payee_of(self, program: str, test: Any = None) -> tuple[Household, Member, dict[str, Any]]:
        """An untouched household (not on extreme-poverty support) whose member is paid
        ``program`` from no special allocation, in a village that pays it to two others too."""
        def payment(h: Household) -> dict[str, Any] | None:
            return next((p for p in self.payments_of(h) if p["program_code"] == program
                         and p["allocation_id"] is None and not p.get("status")
                         and (test is None or test(self.c.members[p["id_number"]]))), None)

        household = self.household(test=lambda h: h.attribute != "extreme_poor" and payment(h) is not None
                                   and len(self._paid_in_village(program, h.village, h)) >= 2)
        paid = payment(household)
        assert paid is not None
        return household, self.c.members[paid["id_number"]], paid

    def dc15(self) -> None:
        """A retired teacher in a 低保 household, her pension from mid-June: the household's
        allowance from June on; a man on extreme-poverty support with a factory pension; and
        near misses: an elder's small rural pension (far under the line), and a pension that
        began after the last month the household was paid."""
        def teacher(h: Household) -> Member | None:
            return next((m for m in h.members if m.relation in {"spouse", "parent"} and 1950 <= m.born.year <= 1962),
                        None)

        household = self.household("low_income", test=lambda h: teacher(h) is not None and len(
            [p for p in self.payments_of(h) if p["program_code"] == "MIN_LIVING"]) == 12)
        member = teacher(household)
        assert member is not None
        self._pension(member.id_number, 3200, date(YEAR, 6, 15), "机关事业单位养老保险")
        covered = [p for p in self.payments_of(household) if p["program_code"] == "MIN_LIVING"
                   and p["period"] >= f"{YEAR}-06"]
        self.case("DC-15", [ref("household", household.household_id), ref("person", member.id_number)],
                  [ref("card_payment", p["payment_id"]) for p in covered],
                  "a retired teacher's pension of 3,200 yuan a month from 15 June; the household's 低保 went on")
        household = self.household("extreme_poor", test=lambda h: h.head.born.year <= 1957 and any(
            p["program_code"] == "EXTREME_SUPPORT" and p["id_number"] == h.head.id_number for p in self.payments_of(h)))
        self._pension(household.head.id_number, 1450, date(2014, 3, 1), "企业职工基本养老保险")
        support = [p for p in self.payments_of(household)
                   if p["program_code"] == "EXTREME_SUPPORT" and p["id_number"] == household.head.id_number]
        self.case("DC-15", [ref("person", household.head.id_number)],
                  [ref("card_payment", p["payment_id"]) for p in support],
                  "extreme-poverty support paid to a man drawing a factory pension of 1,450 yuan a month")
        household = self.household("low_income", test=lambda h: any(m.born.year <= 1955 for m in h.members) and any(
            p["program_code"] == "MIN_LIVING" for p in self.payments_of(h)))
        elder = next(m for m in household.members if m.born.year <= 1955)
        self._pension(elder.id_number, 105, max(date(2012, 7, 1), date(elder.born.year + 60, elder.born.month, 1)),
                      "城乡居民基本养老保险")
        self.decoy("DC-15", [ref("household", household.household_id)],
                   [ref("card_payment", p["payment_id"]) for p in self.payments_of(household)
                    if p["program_code"] == "MIN_LIVING"],
                   "an elder's rural pension of 105 yuan a month, far under the line")

        def last_month(h: Household) -> str:
            return max((p["period"] for p in self.payments_of(h) if p["program_code"] == "MIN_LIVING"), default="")

        pool = [h for h in self.c.households if h.household_id not in self.used and h.attribute == "low_income"
                and h.exited_on is not None and h.exited_on.year == YEAR and h.registered_on.year == 2014
                and all(m.died_on is None for m in h.members) and f"{YEAR}-03" <= last_month(h) <= f"{YEAR}-10"]
        household = self.pick(pool, "no household that left the list this year is left for the pension decoy")
        self.used.add(household.household_id)
        last = last_month(household)
        start = date(YEAR, int(last[5:7]) + 1, 1)
        self._pension(household.head.id_number, 2600, start, "机关事业单位养老保险")
        self.decoy("DC-15", [ref("household", household.household_id)],
                   [ref("card_payment", p["payment_id"]) for p in self.payments_of(household)
                    if p["program_code"] == "MIN_LIVING"],
                   "a pension from the month after the household's last 低保 (it left the list): no period overlaps")

    def dc18(self) -> None:
        """A disability allowance paid to a man the certificate register has never heard of;
        severe-disability care paid on a level-4 certificate (levels 1-2 qualify); and a near
        miss, a certificate revoked in September, after the May payment."""
        household, member, payment = self._payee_of("DIS_LIVING")
        self.certificates_set.add(member.id_number)  # no certificate at all
        paid = [p for p in self.payments_of(household) if p["id_number"] == member.id_number
                and p["program_code"] in ("DIS_LIVING", "DIS_CARE")]
        self.case("DC-18", [ref("person", member.id_number)], [ref("card_payment", p["payment_id"]) for p in paid],
                  "a disability living allowance for a man who holds no disability certificate")
        household, member, payment = self._payee_of("DIS_CARE")
        self._certificate(member.id_number, 4, date(2013, 4, 9))
        self.case("DC-18", [ref("person", member.id_number)], [ref("card_payment", payment["payment_id"])],
                  "severe-disability care paid on a level-4 certificate; the register says level "
                  f"{member.disability}")
        household, member, payment = self._payee_of("DIS_LIVING")
        self._certificate(member.id_number, member.disability or 3, date(2009, 4, 8), revoked_on=date(YEAR, 9, 15))
        self.decoy("DC-18", [ref("person", member.id_number)],
                   [ref("card_payment", p["payment_id"]) for p in self.payments_of(household)
                    if p["id_number"] == member.id_number and p["program_code"] in ("DIS_LIVING", "DIS_CARE")],
                   "a certificate revoked in September, after the allowance was paid in May")

    def me01(self) -> None:
        """应享未享: a boarding junior pupil left off the boarding allowance his classmates of the
        village were paid; a certified disabled man left off the living allowance; near misses:
        a boarder paid in another village's batch (he lives with his grandparents there), and a
        woman certified in August, after the village's allowance was paid in May."""
        _, pupil, payment = self._payee_of("EDU_BOARD_JUNIOR")
        self._drop(payment)
        self.case("ME-01", [ref("person", pupil.id_number)], [ref("person", pupil.id_number)],
                  "a boarding junior pupil never paid the boarding allowance his village's pupils were paid")
        _, disabled, payment = self._payee_of("DIS_LIVING")
        self._drop(payment)
        self.case("ME-01", [ref("person", disabled.id_number)], [ref("person", disabled.id_number)],
                  f"a level-{disabled.disability} certified disabled person left off the village's living allowance")
        household, pupil, payment = self._payee_of("EDU_BOARD_JUNIOR")
        grandparents = self.household(test=lambda h: h.village is not household.village
                                      and h.attribute != "extreme_poor")
        payment.update(household_id=grandparents.household_id, card_account=grandparents.card,
                       _village=grandparents.village.code, paying_unit=grandparents.village.town.finance_office)
        self.decoy("ME-01", [ref("person", pupil.id_number)], [ref("person", pupil.id_number)],
                   "a boarder paid in his grandparents' village's batch, not his own village's: paid all the same")
        # Paid under a household he is not registered in: one ID in two households, which
        # DC-02 rightly puts to a reviewer (who finds he lives with them).
        self.case("DC-02", [ref("person", pupil.id_number)], [ref("card_payment", payment["payment_id"])],
                  "a boarder's allowance paid under his grandparents' household in another village")
        household = self.household(test=lambda h: h.attribute != "extreme_poor" and any(
            m.disability is None and m.school is None and m.relation != "head" for m in h.members)
            and len(self._paid_in_village("DIS_LIVING", h.village, h)) >= 2)
        late = next(m for m in household.members if m.disability is None and m.school is None and m.relation != "head")
        late.disability = 3
        self._certificate(late.id_number, 3, date(YEAR, 8, 10))
        self.decoy("ME-01", [ref("person", late.id_number)], [ref("person", late.id_number)],
                   "certified disabled in August, after the village's allowance was paid in May")

    def pensions_schools_certificates(self) -> None:
        """The three v1.1 registers a county compares with its lists, in the background:
        pensions of retired teachers and officials (people outside the poor households, above
        the line) and small rural pensions of poor elders (under it); the school enrolment of
        every pupil of the poor households, this school year and the last, as the persons
        register and the education allowances have them; a certificate for every disabled
        member at the level the register gives (some re-assessed: an older certificate
        revoked the day the new one was issued), and certificates of people outside the
        register. A returned payment of an allowance someone is entitled to is paid again
        (补发) a fortnight later, as a line department does."""
        c, rng = self.c, self.rng
        reissued = {p["reissue_of"] for p in c.rows["card_payments"] if p.get("reissue_of")}
        for payment in list(c.rows["card_payments"]):
            if payment.get("status") != "returned" or payment["program_code"] not in ENTITLED \
                    or payment["payment_id"] in reissued:
                continue
            member = c.members.get(payment["id_number"])
            again = payment["paid_on"] + timedelta(days=rng.randrange(10, 21))
            if member is None or member.household.household_id != payment["household_id"] \
                    or not c._alive_registered(member.household, member, again):
                payment.pop("status")  # not returned after all
                continue
            self.pay(payment["program_code"], member, payment["amount"] / 100, payment["period"], again,
                     member.household, payment["paying_unit"])["reissue_of"] = payment["payment_id"]
        for _ in range(max(15, len(c.households) // 25)):
            retired = c.outsider(1935, 1957, account=False)
            c.rows["pensions"].append({
                "id_number": retired["id_number"], "monthly_amount": yuan_text(fen(rng.randrange(2400, 5600, 10))),
                "from_on": date(retired["born"].year + (60 if retired["male"] else 55), retired["born"].month, 1),
                "to_on": None, "source": rng.choice(("机关事业单位养老保险", "企业职工基本养老保险"))})
        for member in list(c.members.values()):
            if member.born.year > YEAR - 60 or member.id_number in self.pensions_set or rng.random() >= 0.35:
                continue
            start = max(date(2012, 7, 1), date(member.born.year + 60, member.born.month, 1))
            if member.died_on is None or member.died_on > start:  # (ends at death)
                c.rows["pensions"].append({
                    "id_number": member.id_number, "monthly_amount": yuan_text(fen(88 + rng.choice((0, 10, 20, 32, 50)))),
                    "from_on": start, "to_on": member.died_on, "source": "城乡居民基本养老保险"})
        for member in list(c.members.values()):
            if member.school is None:
                continue
            town, village = member.household.village.town, member.household.village
            c.rows["school_enrolments"].append({"id_number": member.id_number, "school_year": YEAR,
                                                "stage": member.school, "boarding": bool(member.boarding),
                                                "school": school_of(member.school, town.name, village.name)})
            earlier = stage_at(YEAR - 1 - member.born.year)
            if earlier == "senior" and member.school == "vocational":
                earlier = "vocational"
            if earlier is not None and (earlier != "college" or member.school == "college"):
                boarding = member.boarding if earlier == member.school else \
                    rng.random() < {"preschool": 0.0, "primary": 0.3, "junior": 0.6}.get(earlier, 1.0)
                c.rows["school_enrolments"].append({"id_number": member.id_number, "school_year": YEAR - 1,
                                                    "stage": earlier, "boarding": bool(boarding),
                                                    "school": school_of(earlier, town.name, village.name)})
        for member in list(c.members.values()):
            if member.disability is None or member.id_number in self.certificates_set:
                continue
            issued = date(2008, 1, 1) + timedelta(days=rng.randrange(9 * 365))
            kind = rng.choice(DISABILITY_KINDS)
            if rng.random() < 0.1 and issued.year >= 2011:  # re-assessed: the old certificate revoked
                c.rows["disability_certificates"].append({
                    "id_number": member.id_number, "level": min(4, member.disability + 1), "category": kind,
                    "issued_on": issued - timedelta(days=rng.randrange(700, 1100)), "revoked_on": issued})
            c.rows["disability_certificates"].append({"id_number": member.id_number, "level": member.disability,
                                                      "category": kind, "issued_on": issued, "revoked_on": None})
        for _ in range(max(5, len(c.households) // 100)):
            person = c.outsider(1945, 1995, account=False)
            issued = date(2006, 1, 1) + timedelta(days=rng.randrange(11 * 365))
            c.rows["disability_certificates"].append({
                "id_number": person["id_number"], "level": rng.choice((1, 2, 3, 4)),
                "category": rng.choice(DISABILITY_KINDS), "issued_on": issued,
                "revoked_on": issued + timedelta(days=rng.randrange(400, 2000)) if rng.random() < 0.2 else None})


# Programs whose standard the registers entitle people to (ME-01 judges them).
ENTITLED = ("DIS_LIVING", "DIS_CARE", "EXTREME_SUPPORT", "EDU_PRESCHOOL", "EDU_BOARD_PRIMARY", "EDU_BOARD_JUNIOR")
DISABILITY_KINDS = ("肢体", "肢体", "视力", "听力", "言语", "智力", "精神", "多重")


def stage_at(age: int) -> str | None:
    """The school stage of a pupil of ``age`` in a school year (as the persons register reckons it)."""
    if 3 <= age <= 5:
        return "preschool"
    if 6 <= age <= 11:
        return "primary"
    if 12 <= age <= 14:
        return "junior"
    if 15 <= age <= 17:
        return "senior"
    if 18 <= age <= 21:
        return "college"
    return None


def school_of(stage: str, town: str, village: str) -> str:
    return {"preschool": f"{village}幼儿园", "primary": f"{town}中心小学", "junior": f"{town}中学",
            "senior": "汨罗市第一中学", "vocational": "汨罗市职业中专学校", "college": "湖南省内高校"}[stage]

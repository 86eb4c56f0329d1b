"""A synthetic county for tests, the demo and the benchmarks.

The background is clean by construction: every invariant a red flag tests is kept while
drawing it (one card per household, payments only while a household is registered and
its members alive, every project and payment batch disclosed for 14 days before money
moves, tranches below 70 % until acceptance, small payments to one payee more than 30
days apart, every allocation spent 86-97 % within 180 days, insiders kept off every
money path). Then :mod:`audit.synth.plants` plants the cases of every red flag, and
near-miss decoys, and lists them in ``truth.json``.
"""

from __future__ import annotations

import csv
import json
import math
import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import count
from pathlib import Path
from typing import Any

from audit.importer.spec import TABLES
from audit.synth import names
from audit.synth.ids import IdFactory

AS_OF = date(2017, 12, 31)
YEAR = 2017
COUNTY = "汨罗市"
COUNTY_FINANCE = "汨罗市财政局"
POVERTY_OFFICE = "汨罗市扶贫开发办公室"
AGRICULTURE_BUREAU = "汨罗市农业农村局"
TOWN_NAMES = ("归义镇", "新市镇", "古培镇", "罗江镇", "白水镇", "屈子祠镇", "长乐镇", "大荆镇",
              "桃林寺镇", "三江镇", "智峰乡", "神鼎山镇", "弼时镇", "川山坪镇", "汨罗镇")
VILLAGE_CHARS = "新书桃花石桥清水白沙青山红旗黄柏长岭凤凰梅溪双龙金星团结光明玉池杨柳荷塘东风友谊建设和平"
APPROVAL_THRESHOLD_FEN = 50_000_00

PRESETS = {"miluo-2017": {"households": 9000, "towns": 15, "villages": 154, "poor_villages": 24}}

# Program standards from domain.md (yuan): code, name, standard, cap, period, basis,
# min disability, school stage, boarding, attributes, exclusive group, allocation purpose.
PROGRAMS = (
    ("DIS_LIVING", "困难残疾人生活补贴", 600, None, "year", "person", 4, None, None, None, "LIVING_SUPPORT", "social_security"),
    ("DIS_CARE", "重度残疾人护理补贴", 1200, None, "year", "person", 2, None, None, None, None, "social_security"),
    ("EXTREME_SUPPORT", "特困人员供养金", 3600, None, "year", "person", None, None, None, "extreme_poor", "LIVING_SUPPORT", "social_security"),
    ("MIN_LIVING", "农村低保金", None, 800, "month", "household", None, None, None, "low_income", None, "social_security"),
    ("EDU_PRESCHOOL", "学前教育资助", 1000, None, "year", "person", None, "preschool", None, None, "EDU_LIVING", "education"),
    ("EDU_BOARD_PRIMARY", "小学寄宿生生活补助", 1000, None, "year", "person", None, "primary", True, None, "EDU_LIVING", "education"),
    ("EDU_BOARD_JUNIOR", "初中寄宿生生活补助", 1250, None, "year", "person", None, "junior", True, None, "EDU_LIVING", "education"),
    ("HOUSING_RENOVATION", "农村危房改造补助", 10000, None, "once", "household", None, None, None, None, None, "housing"),
    ("LOAN_INTEREST", "扶贫小额信贷贴息", None, 2500, "year", "household", None, None, None, None, None, "finance"),
    ("MEDICAL_AID", "医疗救助", None, 30000, "year", "person", None, None, None, None, None, "medical"),
    ("INDUSTRY_AWARD", "产业发展奖补", None, 3000, "year", "household", None, None, None, "general|low_income", None, "industry"),
)
PROGRAM = {p[0]: p for p in PROGRAMS}
# Interchange v1.1: the other names a county's files use for a program, and the programs
# for those below an income line.
PROGRAM_ALIASES = {"MIN_LIVING": "低保金|农村最低生活保障金", "EXTREME_SUPPORT": "特困供养金|五保供养金",
                   "DIS_CARE": "重度残疾护理补贴", "HOUSING_RENOVATION": "危房改造补助"}
MEANS_TESTED = frozenset({"MIN_LIVING", "EXTREME_SUPPORT"})

# Project kinds: category, unit, name pattern, median yuan per unit, log-uniform quantity range.
PROJECT_KINDS = (
    ("infrastructure", "km", "{v}组级道路硬化工程", 250_000, (0.6, 6.0)),
    ("infrastructure", "m", "{v}灌溉渠道修复工程", 380, (300, 4000)),
    ("industry", "kW", "{v}光伏扶贫电站", 7_200, (30, 300)),
    ("industry", "mu", "{v}黄桃种植基地", 3_000, (20, 400)),
    ("industry", "head", "{v}肉牛养殖项目", 8_000, (5, 80)),
)
UNIT_COST_SIGMA = 0.15  # log-normal spread of unit costs among peers


def fen(yuan: float | int) -> int:
    return int(round(yuan * 100))


def yuan_text(value: int | None) -> str:
    if value is None:
        return ""
    return f"{value // 100}.{value % 100:02d}"


def day(rng: random.Random, start: date, end: date) -> date:
    return start + timedelta(days=rng.randrange((end - start).days + 1))


@dataclass
class Member:
    id_number: str
    name: str
    born: date
    male: bool
    relation: str
    household: Household
    disability: int | None = None
    school: str | None = None
    boarding: bool | None = None
    died_on: date | None = None


@dataclass
class Household:
    household_id: str
    village: Village
    attribute: str
    registered_on: date
    exited_on: date | None
    card: str
    members: list[Member] = field(default_factory=list)

    @property
    def head(self) -> Member:
        return self.members[0]


@dataclass
class Village:
    code: str
    name: str
    town: Town
    poor: bool
    committee_uscc: str = ""
    cadres: list[dict[str, Any]] = field(default_factory=list)
    households: list[Household] = field(default_factory=list)


@dataclass
class Town:
    code: str
    name: str
    finance_office: str
    government_uscc: str = ""
    finance_officer: dict[str, Any] | None = None
    villages: list[Village] = field(default_factory=list)


class County:
    """Draws the background county; ``rows`` holds every table as lists of dicts."""

    def __init__(self, households: int, seed: int, preset: str | None = None) -> None:
        shape = dict(PRESETS[preset]) if preset else {}
        self.n_households = shape.get("households", households)
        # Up to a county's 15 towns and 154 villages (汨罗市's); past about 100,000 households
        # (the benchmarks' prefecture and province), more villages of the same size, ten to a
        # town, as ten or a hundred counties would have, not ever larger villages.
        self.n_villages = shape.get("villages", max(min(154, self.n_households // 60), self.n_households // 650))
        self.n_towns = shape.get("towns", max(2, min(15, self.n_households // 600), self.n_villages // 10))
        self.n_villages = max(2 * self.n_towns, self.n_villages)
        self.n_poor_villages = shape.get("poor_villages", max(2, self.n_villages * 24 // 154))
        self.rng = random.Random(seed)
        self.seed = seed
        self.ids = IdFactory(self.rng)
        self.rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.towns: list[Town] = []
        self.villages: list[Village] = []
        self.households: list[Household] = []
        self.members: dict[str, Member] = {}
        self.org_accounts: dict[str, str] = {}  # uscc -> its settlement account
        self.unit_uscc: dict[str, str] = {}  # paying unit name -> uscc
        self.person_cards: dict[str, str] = {}  # id_number -> personal account
        self.officials: list[dict[str, Any]] = []
        self.insiders: set[str] = set()  # officials and their kin: kept off background money paths
        self.contractors: list[dict[str, Any]] = []
        self.projects: list[dict[str, Any]] = []
        self.approvers: list[dict[str, Any]] = []
        self.county_finance_officers: list[dict[str, Any]] = []
        self.name_birth: set[tuple[str, str, date]] = set()  # (village, surname, birth date)
        self.undisclosed_batches: set[str] = set()
        self.small_payment_days: dict[str, list[date]] = defaultdict(list)
        self.pay_seq = count(1)
        self.disb_seq = count(1)
        self.transfer_seq = count(1)
        self.invoice_seq = count(10_000_001)
        self.voucher_seq = count(1)
        self.disclosure_seq = count(1)
        self.official_seq = count(1)
        # v1.1 registers: households of a village outside the register of poor ones, property
        # titles, and households whose member moved away in the background (no plant there).
        self.other_household_seq: dict[str, int] = defaultdict(int)
        self.property_seq = count(1)
        self.quiet_households: set[str] = set()
        # Spending to be covered by allocations: (purpose, source, window) -> rows that name it.
        self.buckets: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)

    # ------------------------------------------------------------------ people outside the register

    def outsider(self, born_from: int = 1955, born_to: int = 1990, male: bool | None = None,
                 account: bool = True) -> dict[str, Any]:
        """Someone who is not in a registered household (a cadre, a worker, a kin)."""
        male = self.rng.random() < 0.55 if male is None else male
        born = day(self.rng, date(born_from, 1, 1), date(born_to, 12, 31))
        person = {"id_number": self.ids.resident(born, male, "430681"), "name": names.full_name(self.rng, male),
                  "born": born, "male": male}
        if account:
            card = self.ids.card()
            self.person_cards[person["id_number"]] = card
            self.rows["accounts"].append({"account_number": card, "bank": "中国农业银行汨罗市支行",
                                          "holder_kind": "person", "holder_id": person["id_number"],
                                          "opened_on": date(2012, 1, 1) + timedelta(days=self.rng.randrange(1500))})
        return person

    def organization(self, kind: str, name: str, registered_on: date, rep: dict[str, Any] | None,
                     bank: str = "中国建设银行汨罗市支行") -> str:
        code = self.ids.credit_code(kind)
        self.rows["organizations"].append({
            "uscc": code, "name": name, "kind": kind, "registered_on": registered_on,
            "legal_rep_id_number": rep["id_number"] if rep else None, "legal_rep_name": rep["name"] if rep else None,
            "address": f"湖南省{COUNTY}{name}", "phone": f"0730-52{self.rng.randrange(10000, 99999)}"})
        account = self.ids.corporate_account()
        self.org_accounts[code] = account
        self.rows["accounts"].append({"account_number": account, "bank": bank, "holder_kind": "org",
                                      "holder_id": code, "opened_on": registered_on + timedelta(days=20)})
        return code

    def official(self, role: str, unit: str, village: Village | None = None, kin: int = 1) -> dict[str, Any]:
        person = self.outsider(1960, 1988)
        record = {"official_id": f"GB{next(self.official_seq):05d}", "id_number": person["id_number"],
                  "name": person["name"], "role": role, "unit": unit,
                  "village_code": village.code if village else None,
                  "phone": f"13{self.rng.randrange(100000000, 999999999)}",
                  "from_on": date(2014, 1, 1) + timedelta(days=self.rng.randrange(700)), "to_on": None,
                  "kin": []}
        self.rows["officials"].append(record)
        self.officials.append(record)
        self.insiders.add(person["id_number"])
        if role in {"town_official", "finance_officer", "approver", "assistance_cadre"}:
            self.rows["public_employees"].append({"id_number": person["id_number"], "name": person["name"],
                                                  "employer": unit, "from_on": date(2008, 9, 1), "to_on": None})
        for index in range(kin):
            relative = self.outsider(1960, 1995, male=not person["male"] if index == 0 else None)
            kind = "spouse" if index == 0 else self.rng.choice(("sibling", "child", "in_law"))
            self.rows["kinship"].append({"id_number_a": person["id_number"], "id_number_b": relative["id_number"],
                                         "kind": kind, "source": "领导干部个人有关事项报告"})
            self.insiders.add(relative["id_number"])
            record["kin"].append(relative)
        return record

    # ------------------------------------------------------------------ geography and officials

    def build_geography(self) -> None:
        self.unit_uscc[COUNTY_FINANCE] = self.organization("government_unit", COUNTY_FINANCE, date(1990, 1, 1), None)
        self.unit_uscc[POVERTY_OFFICE] = self.organization("government_unit", POVERTY_OFFICE, date(1995, 1, 1), None)
        self.unit_uscc[AGRICULTURE_BUREAU] = self.organization("government_unit", AGRICULTURE_BUREAU, date(1990, 1, 1), None)
        self.approvers = [self.official("approver", POVERTY_OFFICE) for _ in range(3)]
        self.county_finance_officers = [self.official("finance_officer", COUNTY_FINANCE) for _ in range(2)]
        used_names: set[str] = set()
        per_town = [self.n_villages // self.n_towns + (1 if i < self.n_villages % self.n_towns else 0)
                    for i in range(self.n_towns)]
        poor_slots = set(self.rng.sample(range(self.n_villages), self.n_poor_villages))
        index = 0
        for t in range(self.n_towns):
            name = TOWN_NAMES[t % len(TOWN_NAMES)] + ("" if t < len(TOWN_NAMES) else str(t // len(TOWN_NAMES)))
            town = Town(code=f"430681{100 + t:03d}", name=name, finance_office=f"{name}财政所")
            town.government_uscc = self.organization("government_unit", f"{name}人民政府", date(1995, 1, 1), None)
            self.unit_uscc[town.finance_office] = self.organization("government_unit", town.finance_office,
                                                                    date(1995, 1, 1), None)
            town.finance_officer = self.official("finance_officer", town.finance_office)
            self.official("town_official", f"{name}人民政府")
            self.rows["towns"].append({"town_code": town.code, "town_name": name})
            for v in range(per_town[t]):
                while True:
                    vname = self.rng.choice(VILLAGE_CHARS) + self.rng.choice(VILLAGE_CHARS) + "村"
                    if vname not in used_names:
                        used_names.add(vname)
                        break
                village = Village(code=f"{town.code}{200 + v:03d}", name=vname, town=town, poor=index in poor_slots)
                index += 1
                village.committee_uscc = self.organization("village_committee", f"{name}{vname}村民委员会",
                                                           date(2016, 3, 1), None, bank="湖南农村信用社")
                self.unit_uscc[f"{name}{vname}村民委员会"] = village.committee_uscc
                self.rows["villages"].append({"village_code": village.code, "village_name": vname,
                                              "town_code": town.code, "is_poor_village": village.poor,
                                              "exit_year": 2017 if village.poor and self.rng.random() < 0.6 else None})
                for role in ("village_secretary", "village_director", "village_committee"):
                    village.cadres.append(self.official(role, f"{name}{vname}村民委员会", village))
                town.villages.append(village)
                self.villages.append(village)
            self.towns.append(town)

    # ------------------------------------------------------------------ households and members

    def _member(self, household: Household, relation: str, born: date, male: bool, family: str | None) -> Member:
        village = household.village.code
        name = names.full_name(self.rng, male, family)
        # Two people of one village born the same day with the same surname could read as
        # one person to DC-02; real villages have such pairs, but the background must not.
        while (village, name[0], born) in self.name_birth:
            born += timedelta(days=1)
        self.name_birth.add((village, name[0], born))
        member = Member(self.ids.resident(born, male), name, born, male, relation, household)
        age = YEAR - born.year
        if self.rng.random() < 0.06:
            member.disability = self.rng.choice((1, 2, 3, 4))
        if 3 <= age <= 5:
            member.school = "preschool"
        elif 6 <= age <= 11:
            member.school, member.boarding = "primary", self.rng.random() < 0.3
        elif 12 <= age <= 14:
            member.school, member.boarding = "junior", self.rng.random() < 0.6
        elif 15 <= age <= 17:
            member.school, member.boarding = self.rng.choice(("senior", "vocational")), True
        elif 18 <= age <= 21 and self.rng.random() < 0.3:
            member.school = "college"
        household.members.append(member)
        self.members[member.id_number] = member
        return member

    def build_households(self) -> None:
        weights = [3.0 if v.poor else 1.0 for v in self.villages]
        seq: dict[str, int] = defaultdict(int)
        for village in self.rng.choices(self.villages, weights, k=self.n_households):
            seq[village.code] += 1
            attribute = self.rng.choices(("general", "low_income", "extreme_poor"), (0.64, 0.27, 0.09))[0]
            registered = day(self.rng, date(2014, 4, 1), date(2014, 10, 31)) if self.rng.random() < 0.85 \
                else day(self.rng, date(2015, 3, 1), date(2016, 10, 31))
            roll = self.rng.random()
            exited = (day(self.rng, date(2016, 10, 1), date(2016, 12, 20)) if roll < 0.12 else
                      day(self.rng, date(2017, 10, 1), date(2017, 12, 20)) if roll < 0.32 else None)
            if exited is not None and exited < registered + timedelta(days=180):
                exited = None  # a household exits after at least half a year of help
            household = Household(f"{village.code}{seq[village.code]:04d}", village, attribute, registered,
                                  exited, self.ids.card())
            family = names.surname(self.rng)
            head_male = self.rng.random() < 0.82
            head_born = day(self.rng, date(1937, 1, 1), date(1985, 12, 31))
            self._member(household, "head", head_born, head_male, family)
            if attribute != "extreme_poor":
                if self.rng.random() < 0.75:
                    spouse_born = head_born + timedelta(days=self.rng.randrange(-1500, 1500))
                    self._member(household, "spouse", spouse_born, not head_male, None)
                for _ in range(self.rng.choice((0, 1, 1, 2, 2, 3))):
                    child_born = day(self.rng, max(head_born + timedelta(days=7300), date(1996, 1, 1)), date(2014, 6, 30))
                    if child_born.year > 2014:
                        continue
                    self._member(household, "child", child_born, self.rng.random() < 0.52, family if head_male else None)
                if self.rng.random() < 0.2 and head_born.year > 1960:
                    self._member(household, "parent", day(self.rng, date(1930, 1, 1), date(1950, 12, 31)),
                                 self.rng.random() < 0.4, family if head_male else None)
                if self.rng.random() < 0.15 and head_born.year < 1965:
                    self._member(household, "grandchild", day(self.rng, date(2003, 1, 1), date(2013, 12, 31)),
                                 self.rng.random() < 0.5, family if head_male else None)
            elif self.rng.random() < 0.3:
                self._member(household, "other", day(self.rng, date(1935, 1, 1), date(1960, 12, 31)),
                             self.rng.random() < 0.5, None)
            village.households.append(household)
            self.households.append(household)
            self.rows["accounts"].append({"account_number": household.card, "bank": "湖南农村信用社",
                                          "holder_kind": "person", "holder_id": household.head.id_number,
                                          "opened_on": registered + timedelta(days=30)})
        # Background deaths: members who are neither head nor paid per person, so nothing
        # is paid for them after they die; the household's own payments rightly go on.
        for household in self.rng.sample(self.households, max(1, len(self.households) // 60)):
            for member in household.members[1:]:
                if member.disability is None and member.school is None and member.relation in {"parent", "other", "spouse"}:
                    member.died_on = day(self.rng, date(2016, 1, 1), date(2017, 11, 30))
                    self.rows["deaths"].append({"id_number": member.id_number, "died_on": member.died_on,
                                                "source": "民政殡葬火化登记"})
                    break

    # ------------------------------------------------------------------ money

    def bucket(self, purpose: str, paid_on: date, row: dict[str, Any], source: str | None = None) -> None:
        window = f"{paid_on.year}-{(paid_on.month - 1) // 4}"
        self.buckets[(purpose, source or ("central" if purpose != "village_operation" else "county"), window)].append(row)

    def card_payment(self, program: str, member: Member, amount_fen: int, period: str, paid_on: date,
                     household: Household | None = None, unit: str | None = None, card: str | None = None,
                     allocate: bool = True) -> dict[str, Any]:
        household = household or member.household
        row = {"payment_id": f"P{paid_on.year}-{next(self.pay_seq):07d}", "program_code": program,
               "id_number": member.id_number, "household_id": household.household_id,
               "card_account": card or household.card, "amount": amount_fen, "period": period,
               "paid_on": paid_on, "paying_unit": unit or household.village.town.finance_office,
               "allocation_id": None, "_village": household.village.code}
        self.rows["card_payments"].append(row)
        if allocate:
            self.bucket(PROGRAM[program][11], paid_on, row)
        return row

    def _alive_registered(self, household: Household, member: Member, on: date) -> bool:
        if on < household.registered_on or (household.exited_on and on > household.exited_on):
            return False
        return member.died_on is None or member.died_on > on

    def build_card_payments(self) -> None:
        batch_day: dict[str, int] = {}
        for town in self.towns:
            batch_day[town.code] = self.rng.randrange(15, 26)
        for household in self.households:
            town_day = batch_day[household.village.town.code]
            head = household.head
            size = sum(1 for m in household.members if m.died_on is None or m.died_on.year >= YEAR)
            if household.attribute == "low_income":
                monthly = min(130 * size, 800)
                for month in range(1, 13):
                    paid = date(YEAR, month, town_day)
                    period_start = date(YEAR, month, 1)
                    if self._alive_registered(household, head, paid) and household.registered_on <= period_start:
                        self.card_payment("MIN_LIVING", head, fen(monthly), f"{YEAR}-{month:02d}", paid)
            for member in household.members:
                def pay(program: str, amount: int, month: int, member: Member = member) -> None:
                    paid = date(YEAR, month, town_day)
                    # Alive on the day (a member who dies later in the year was paid).
                    if self._alive_registered(household, member, paid):
                        self.card_payment(program, member, fen(amount), str(YEAR), paid)

                if household.attribute == "extreme_poor":
                    pay("EXTREME_SUPPORT", 3600, 3)
                elif member.disability is not None:
                    pay("DIS_LIVING", 600, 5)
                if member.disability is not None and member.disability <= 2:
                    pay("DIS_CARE", 1200, 5)
                if member.school == "preschool":
                    pay("EDU_PRESCHOOL", 1000, 9)
                elif member.school == "primary" and member.boarding:
                    pay("EDU_BOARD_PRIMARY", 1000, 9)
                elif member.school == "junior" and member.boarding:
                    pay("EDU_BOARD_JUNIOR", 1250, 9)
                if self.rng.random() < 0.03:
                    amount = min(29_000, max(300, round(math.exp(self.rng.gauss(math.log(2700), 0.8)))))
                    pay("MEDICAL_AID", amount, self.rng.randrange(2, 12))
            roll = self.rng.random()
            if roll < 0.05:
                paid = date(YEAR, 7, town_day)
                if self._alive_registered(household, head, paid):
                    self.card_payment("HOUSING_RENOVATION", head, fen(10000), str(YEAR), paid)
            elif roll < 0.09:
                paid = date(YEAR - 1, 7, town_day)
                if self._alive_registered(household, head, paid):
                    self.card_payment("HOUSING_RENOVATION", head, fen(10000), str(YEAR - 1), paid)
            if household.attribute == "general" and self.rng.random() < 0.14:
                paid = date(YEAR, 11, town_day)
                if self._alive_registered(household, head, paid):
                    self.card_payment("LOAN_INTEREST", head, fen(self.rng.randrange(800, 2400)), str(YEAR), paid)
            if household.attribute != "extreme_poor" and self.rng.random() < 0.4:
                paid = date(YEAR, 6, town_day)
                if self._alive_registered(household, head, paid):
                    self.card_payment("INDUSTRY_AWARD", head, fen(self.rng.choice((1000, 1500, 2000, 2500, 3000))),
                                      str(YEAR), paid)

    # ------------------------------------------------------------------ projects and disbursements

    def build_contractors(self, n_projects: int) -> None:
        for index in range(max(10, n_projects // 3)):
            rep = self.outsider(1965, 1985)
            name = f"湖南{self.rng.choice('湘楚岳汨洞罗')}{self.rng.choice('建达兴盛华源')}{index + 1:02d}" \
                   f"{self.rng.choice(('建设工程有限公司', '农业开发有限公司', '新能源科技有限公司', '路桥工程有限公司'))}"
            code = self.organization("company", name, date(2005, 1, 1) + timedelta(days=self.rng.randrange(3650)), rep)
            holder = self.outsider(1960, 1985)
            self.rows["shareholders"].append({"uscc": code, "id_number": rep["id_number"], "share_pct": 60.0})
            self.rows["shareholders"].append({"uscc": code, "id_number": holder["id_number"], "share_pct": 40.0})
            workers = [self.outsider(1965, 1998) for _ in range(self.rng.randrange(3, 7))]
            self.contractors.append({"uscc": code, "name": name, "rep": rep, "account": self.org_accounts[code],
                                     "workers": workers, "projects": []})

    def _small_payment_day(self, payee: str, amount: int, wanted: date) -> date:
        """Keep background payments under the approval threshold to one payee > 30 days apart."""
        if amount >= APPROVAL_THRESHOLD_FEN:
            return wanted
        paid = wanted
        while any(abs((paid - other).days) <= 30 for other in self.small_payment_days[payee]):
            paid += timedelta(days=7)
        self.small_payment_days[payee].append(paid)
        return paid

    def disbursement(self, allocation_purpose: str, project: dict[str, Any] | None, payer: str, payee_kind: str,
                     payee_id: str, account: str, amount_fen: int, paid_on: date, purpose_text: str,
                     approved_by: str | None, allocate: bool = True, source: str | None = None,
                     invoice: str | None = None) -> dict[str, Any]:
        row = {"disbursement_id": f"BF{paid_on.year}-{next(self.disb_seq):06d}", "allocation_id": None,
               "project_id": project["project_id"] if project else None, "payer_unit": payer,
               "payee_kind": payee_kind, "payee_id": payee_id, "payee_account": account, "amount": amount_fen,
               "paid_on": paid_on, "voucher_number": f"记-{paid_on:%Y%m}-{next(self.voucher_seq):05d}",
               "invoice_number": invoice if invoice is not None else
               (f"043001700111{next(self.invoice_seq):08d}" if payee_kind == "org" else None),
               "purpose_text": purpose_text, "approved_by": approved_by}
        self.rows["disbursements"].append(row)
        if allocate:
            self.bucket(allocation_purpose, paid_on, row, source)
        return row

    def disclose(self, kind: str, ref: str, before: date, days: int = 14, channel: str = "both") -> dict[str, Any]:
        end = before - timedelta(days=self.rng.randrange(3, 8))
        row = {"disclosure_id": f"GS{next(self.disclosure_seq):06d}", "subject_kind": kind, "subject_ref": ref,
               "channel": channel, "start_on": end - timedelta(days=days), "end_on": end,
               "url": f"http://www.miluo.gov.cn/gsgg/{ref.replace('/', '-')}.html" if channel != "village_board" else None}
        self.rows["disclosures"].append(row)
        return row

    def new_project(self, village: Village, kind: tuple[Any, ...], approved_on: date, contractor: dict[str, Any],
                    cost_factor: float = 1.0, name: str | None = None, quantity: float | None = None,
                    planned_days: int | None = None) -> dict[str, Any]:
        category, unit, pattern, median, (low, high) = kind
        if quantity is None:
            quantity = round(math.exp(self.rng.uniform(math.log(low), math.log(high))), 1)
        # Clipped at 2 sigma so no background project is an outlier by construction, with
        # margin: a peer group's MAD can underestimate sigma by a third (2 / 0.7 < 3.5).
        z = max(-2.0, min(2.0, self.rng.gauss(0, 1)))
        budget = fen(round(quantity * median * math.exp(z * UNIT_COST_SIGMA) * cost_factor, -2))
        planned_start = approved_on + timedelta(days=30)
        planned_end = planned_start + timedelta(days=planned_days or self.rng.randrange(60, 150))
        implementing = village.town.government_uscc if category == "infrastructure" else village.committee_uscc
        project = {"project_id": f"XM{approved_on.year}-{len(self.projects) + 1:04d}",
                   "name": name or pattern.format(v=village.name), "category": category,
                   "village_code": village.code,
                   "description": f"{village.town.name}{village.name}{pattern.format(v='')}，建设规模{quantity}{unit}",
                   "budget": budget, "quantity": quantity, "unit": unit, "implementing_uscc": implementing,
                   "contractor_uscc": contractor["uscc"], "approved_on": approved_on,
                   "approval_doc": f"汨扶办发〔{approved_on.year}〕{len(self.projects) + 11}号",
                   "approver_official_id": self.rng.choice(self.approvers)["official_id"],
                   "planned_start": planned_start, "planned_end": planned_end, "completed_on": None,
                   "accepted_on": None, "acceptance_result": None,
                   "beneficiary_households": max(3, len(village.households) // 3), "_village": village,
                   "_contractor": contractor}
        self.projects.append(project)
        contractor["projects"].append(project)
        self.rows["projects"].append(project)
        return project

    def pay_project(self, project: dict[str, Any], shares: tuple[float, ...] = (0.30, 0.35, 0.32)) -> list[dict[str, Any]]:
        """Disclose, then pay in tranches: advance, progress, and the rest after acceptance."""
        contractor = project["_contractor"]
        first_day = project["planned_start"] + timedelta(days=self.rng.randrange(0, 10))
        self.disclose("project", project["project_id"], first_day)
        end = project["planned_end"]
        if end + timedelta(days=10) < AS_OF - timedelta(days=60):
            project["completed_on"] = end + timedelta(days=self.rng.randrange(-10, 10))
            project["accepted_on"] = project["completed_on"] + timedelta(days=self.rng.randrange(15, 40))
            project["acceptance_result"] = "pass"
        days = [first_day, first_day + (end - first_day) / 2]
        if project["accepted_on"] and project["accepted_on"] + timedelta(days=20) <= AS_OF:
            days.append(project["accepted_on"] + timedelta(days=self.rng.randrange(5, 20)))
        rows = []
        officer = self.rng.choice(self.county_finance_officers)["official_id"]
        for share, wanted in zip(shares, days):
            amount = int(project["budget"] * share) // 100 * 100
            paid = self._small_payment_day(contractor["uscc"], amount, wanted)
            if paid > AS_OF:
                break
            rows.append(self.disbursement(project["category"], project, COUNTY_FINANCE, "org", contractor["uscc"],
                                          contractor["account"], amount, paid, f"{project['name']}工程款", officer))
        self.wages(contractor, rows)
        return rows

    def wages(self, contractor: dict[str, Any], paid: list[dict[str, Any]]) -> None:
        """Contractors pay their workers: wages are what tells a working firm from a shell."""
        for disbursement in paid[:1]:
            for worker in contractor["workers"]:
                self.transfer(contractor["account"], self.person_cards[worker["id_number"]],
                              fen(self.rng.randrange(3000, 9000)), disbursement["paid_on"] + timedelta(days=10),
                              "工资")

    def transfer(self, source: str, target: str, amount_fen: int, on: date, memo: str) -> dict[str, Any]:
        row = {"transfer_id": f"LS{next(self.transfer_seq):07d}", "from_account": source, "to_account": target,
               "amount": amount_fen, "transferred_on": on, "memo": memo}
        self.rows["transfers"].append(row)
        return row

    def build_projects(self) -> None:
        n_projects = max(12, int(len(self.villages) * 1.4))
        self.build_contractors(n_projects)
        slots: set[tuple[str, str, int]] = set()
        made = 0
        attempts = 0
        while made < n_projects and attempts < n_projects * 20:
            attempts += 1
            village = self.rng.choice(self.villages)
            kind = self.rng.choice(PROJECT_KINDS)
            year = YEAR if self.rng.random() < 0.8 else YEAR - 1
            # One project per village, category and year: no accidental duplicate project.
            if (village.code, kind[0], year) in slots:
                continue
            slots.add((village.code, kind[0], year))
            contractor = self.contractors[made % len(self.contractors)]
            approved = day(self.rng, date(year, 2, 15), date(year, 7, 31))
            project = self.new_project(village, kind, approved, contractor)
            self.pay_project(project)
            made += 1

    def build_village_operation(self) -> None:
        """170,000 yuan a year per poor village, paid quarterly by the town to the committee."""
        for village in self.villages:
            if not village.poor:
                continue
            town = village.town
            for quarter in range(4):
                paid = date(YEAR, 1 + 3 * quarter, 15)
                self.disbursement("village_operation", None, town.finance_office, "org", village.committee_uscc,
                                  self.org_accounts[village.committee_uscc], fen(42_500), paid, "村级组织运转经费",
                                  town.finance_officer["official_id"], source="county", invoice="")

    def background_transfers(self) -> None:
        """Ordinary money among people outside every case, so the graph is not only cases."""
        crowd = [self.outsider(1960, 1995) for _ in range(max(20, len(self.households) // 50))]
        for _ in range(len(crowd) * 3):
            a, b = self.rng.sample(crowd, 2)
            self.transfer(self.person_cards[a["id_number"]], self.person_cards[b["id_number"]],
                          fen(self.rng.randrange(100, 20000)), day(self.rng, date(YEAR, 1, 1), AS_OF), "转账")

    def background_registries(self) -> None:
        for _ in range(max(10, len(self.households) // 20)):
            person = self.outsider(1950, 1990, account=False)
            self.rows["public_employees"].append({"id_number": person["id_number"], "name": person["name"],
                                                  "employer": self.rng.choice(("汨罗市第一中学", "汨罗市人民医院", "归义镇中心小学")),
                                                  "from_on": date(2000, 9, 1), "to_on": None})
        for official in self.officials[: len(self.officials) // 2]:
            self.rows["vehicles"].append({"id_number": official["id_number"], "plate": self.plate(),
                                          "registered_on": date(2015, 5, 1), "vehicle_type": "小型轿车"})
        for _ in range(max(10, len(self.households) // 30)):
            person = self.outsider(1930, 1950, account=False)
            self.rows["deaths"].append({"id_number": person["id_number"], "died_on": day(self.rng, date(2015, 1, 1), AS_OF),
                                        "source": "民政殡葬火化登记"})

    def other_household(self, village: Village) -> str:
        """The ID of a household of the village that is not in the register of poor
        households (the household register knows every household; the register of poor
        ones, only some): numbered from 5001, clear of the registered ones."""
        self.other_household_seq[village.code] += 1
        return f"{village.code}{5000 + self.other_household_seq[village.code]:04d}"

    def property_id(self, year: int) -> str:
        return f"湘（{year}）{COUNTY}不动产权第{next(self.property_seq):07d}号"

    def background_property_and_hukou(self) -> None:
        """The real-estate and household registers (v1.1) as a county holds them. Most poor
        households' heads own their rural house (宅基地确权, 2015-2017); flats and shops in
        town belong to people outside the poor households (relatives who did well, cadres),
        a few sold since. Heads split from their parents' households, and spouses married
        in, years before the registration (a few split from a registered household just
        before: both parts poor); daughters married out long ago; a few members who draw
        nothing of their own moved away for work, and some came back."""
        for household in self.households:
            village = household.village
            if self.rng.random() < 0.9:
                titled = day(self.rng, date(2015, 6, 1), date(2017, 6, 30))
                self.rows["real_estate"].append({
                    "id_number": household.head.id_number, "property_id": self.property_id(titled.year),
                    "kind": "rural_home",
                    "location": f"{COUNTY}{village.town.name}{village.name}{self.rng.randrange(1, 13)}组",
                    "area_m2": round(self.rng.uniform(60, 220), 1), "registered_on": titled, "deregistered_on": None})
            head = household.head
            roll = self.rng.random()
            if roll < 0.12 and head.born.year <= 1990:
                on = day(self.rng, max(date(1985, 1, 1), date(head.born.year + 20, 1, 1)), date(2012, 12, 31))
                self._hukou(head.id_number, "split", on, self.other_household(village), household.household_id)
            elif roll < 0.14:
                parents = [h for h in village.households if h is not household]
                if parents:
                    on = household.registered_on - timedelta(days=self.rng.randrange(30, 150))
                    self._hukou(head.id_number, "split", on, self.rng.choice(parents).household_id,
                                household.household_id)
            for member in household.members[1:]:
                if member.relation == "spouse" and self.rng.random() < 0.4 and member.born.year <= 1990:
                    on = day(self.rng, max(date(1978, 1, 1), date(member.born.year + 20, 1, 1)), date(2012, 12, 31))
                    other = self.other_household(self.rng.choice(self.villages))
                    self._hukou(member.id_number, "marry_out", on, other, None, f"{COUNTY}")
                    self._hukou(member.id_number, "marry_in", on, None, household.household_id, f"{COUNTY}")
            if self.rng.random() < 0.05:
                daughter = self.outsider(1975, 1993, male=False, account=False)
                on = day(self.rng, date(daughter["born"].year + 20, 1, 1), date(2013, 12, 31))
                self._hukou(daughter["id_number"], "marry_out", on, household.household_id, None,
                            self.rng.choice(("湖南省平江县", "湖南省湘阴县", "湖北省通城县", f"{COUNTY}")))
        # Moves for work. Only members who are not the head and draw nothing of their own
        # (the household's benefits go on to its head); the plants leave these households be.
        paid = {p["id_number"] for p in self.rows["card_payments"]}
        for household in self.rng.sample(self.households, max(4, len(self.households) // 100)):
            away = [m for m in household.members[1:] if m.id_number not in paid and m.died_on is None]
            if not away:
                continue
            member = self.rng.choice(away)
            left = day(self.rng, date(2013, 3, 1), date(2017, 9, 30))
            self._hukou(member.id_number, "move_out", left, household.household_id, None,
                        self.rng.choice(("广东省东莞市", "广东省深圳市", "浙江省义乌市", "长沙市雨花区")))
            self.quiet_households.add(household.household_id)
        for household in self.rng.sample(self.households, max(4, len(self.households) // 100)):
            member = self.rng.choice(household.members)
            if member.born.year > 1995 or member.died_on is not None:
                continue
            left = day(self.rng, date(2009, 3, 1), date(2013, 12, 31))
            self._hukou(member.id_number, "move_out", left, household.household_id, None, "广东省东莞市")
            self._hukou(member.id_number, "move_in", left + timedelta(days=self.rng.randrange(200, 700)), None,
                        household.household_id, "广东省东莞市")
        # Flats and shops in town: people outside the poor households, and some cadres.
        estates = ("滨江花园", "屈原大道小区", "汨罗明珠城", "龙舟小区", "金色屋苑")
        owners = [self.outsider(1960, 1988, account=False) for _ in range(max(20, len(self.households) // 40))]
        owners += [o for o in self.officials if self.rng.random() < 0.3]
        for owner in owners:
            shop = self.rng.random() < 0.2
            bought = day(self.rng, date(2006, 1, 1), date(2017, 11, 30))
            self.rows["real_estate"].append({
                "id_number": owner["id_number"], "property_id": self.property_id(max(bought.year, 2015)),
                "kind": "shop" if shop else "urban_home",
                "location": (f"{COUNTY}归义镇屈原大道{self.rng.randrange(1, 300)}号门面" if shop else
                             f"{COUNTY}{self.rng.choice(estates)}{self.rng.randrange(1, 30)}栋{self.rng.randrange(101, 1802)}室"),
                "area_m2": round(self.rng.uniform(30, 80) if shop else self.rng.uniform(70, 160), 1),
                "registered_on": bought,
                "deregistered_on": day(self.rng, bought + timedelta(days=200), AS_OF)
                if self.rng.random() < 0.1 and bought < date(2017, 1, 1) else None})

    def _hukou(self, id_number: str, event: str, on: date, from_household: str | None, to_household: str | None,
               place: str | None = None) -> None:
        self.rows["household_events"].append({"id_number": id_number, "event": event, "event_on": on,
                                              "from_household": from_household, "to_household": to_household,
                                              "place": place})

    def background_card_transfers(self) -> None:
        """Households pay from their cards too: a debt to a shopkeeper, a neighbour's loan.
        Each payee is paid by two cards at most, so nobody collects cards' money."""
        payees = [self.outsider(1955, 1985) for _ in range(max(10, len(self.households) // 60))]
        senders = self.rng.sample(self.households, max(10, len(self.households) // 50))
        by_card: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for payment in self.rows["card_payments"]:
            by_card[payment["card_account"]].append(payment)
        for index, household in enumerate(senders):
            paid = by_card.get(household.card)
            if not paid or index // 2 >= len(payees):
                continue
            payment = self.rng.choice(paid)
            self.transfer(household.card, self.person_cards[payees[index // 2]["id_number"]],
                          fen(self.rng.randrange(2, 16) * 100),
                          min(AS_OF, payment["paid_on"] + timedelta(days=self.rng.randrange(1, 20))),
                          self.rng.choice(("还款", "货款", "转账")))

    def plate(self) -> str:
        return "湘F" + "".join(self.rng.choice("0123456789ABCDEFGHJKLMNPQRSTUVWXYZ") for _ in range(5))

    # ------------------------------------------------------------------ earlier years (density)

    def build_past_years(self, years: int, planted: frozenset[str] = frozenset()) -> None:
        """低保 of the ``years`` years before YEAR, month by month, to every low-income
        household registered then: a county's store after several years of payments, as
        dense as real ones (a 低保 household alone gets 12 payments a year). Drawn after the
        plants and from a random generator of its own, so the county of YEAR and its truth
        are the same with or without them.

        Only 低保, and not to a household a plant or a decoy names (``planted``: the keys of
        their subjects and records), so that the earlier years add no case: the plants and
        decoys are drawn against YEAR (a decoy's job that ended before it was held then, and
        低保 paid on it would be a case), and the subsidies a register entitles people to
        (disability, 特困, schooling) would each need that register's earlier years, or
        DC-18 and ME-01 would find them paid without a certificate or owed."""
        rng = random.Random(f"{self.seed}/past-years")
        for year in range(YEAR - years, YEAR):
            town_day = {town.code: rng.randrange(15, 26) for town in self.towns}
            for household in self.households:
                if getattr(household, "ghost", False) or household.attribute != "low_income" or \
                        household.household_id in planted or any(m.id_number in planted for m in household.members):
                    continue
                day_of = town_day[household.village.town.code]
                head = household.head
                size = sum(1 for m in household.members if m.died_on is None or m.died_on.year > year)
                for month in range(1, 13):
                    paid = date(year, month, day_of)
                    if self._alive_registered(household, head, paid) and household.registered_on <= date(year, month, 1):
                        self.card_payment("MIN_LIVING", head, fen(min(130 * size, 800)), f"{year}-{month:02d}", paid)

    # ------------------------------------------------------------------ closing the books

    def build_disclosures_for_batches(self) -> None:
        first_paid: dict[str, date] = {}
        for payment in self.rows["card_payments"]:
            ref = f"{payment['program_code']}/{payment['period']}/{payment['_village']}"
            if ref not in first_paid or payment["paid_on"] < first_paid[ref]:
                first_paid[ref] = payment["paid_on"]
        for ref, paid in first_paid.items():
            if ref not in self.undisclosed_batches:
                self.disclose("payment_batch", ref, paid, channel="village_board")

    def build_allocations(self, special: list[dict[str, Any]]) -> None:
        """One allocation per purpose, source and four-month window, issued before its first
        payment and spent 86-97 % within 180 days (plus any the plants made themselves)."""
        for number, ((purpose, source, _window), rows) in enumerate(sorted(self.buckets.items()), start=1):
            issued = min(r["paid_on"] for r in rows) - timedelta(days=self.rng.randrange(5, 20))
            # Sized on the money that moved: a failed or returned card payment spent nothing
            # (a failed one's reissue is a row of its own; a few returned medical-aid payments
            # could leave a small allocation idle by 20%). A returned disbursement is paid
            # again from the same allocation: its copy draws on it.
            spent = sum(r["amount"] for r in rows if r.get("status") in (None, "paid") or "disbursement_id" in r)
            allocation_id = f"ZJ{issued.year}-{number:04d}"
            self.rows["allocations"].append({
                "allocation_id": allocation_id, "doc_number": f"汨财农指〔{issued.year}〕{number}号",
                "source_level": source, "purpose": purpose, "amount": int(spent / self.rng.uniform(0.86, 0.97)) // 100 * 100,
                "issued_on": issued, "recipient_unit": COUNTY_FINANCE})
            for row in rows:
                row["allocation_id"] = allocation_id
        self.rows["allocations"].extend(special)

    def build(self) -> None:
        self.build_geography()
        self.build_households()
        self.build_card_payments()
        self.build_projects()
        self.build_village_operation()
        self.background_transfers()
        self.background_registries()
        self.background_property_and_hukou()
        self.background_card_transfers()

    # ------------------------------------------------------------------ output

    def person_rows(self) -> None:
        for household in self.households:
            head = household.head
            ghost = getattr(household, "ghost", False)
            self.rows["households"].append({
                "household_id": household.household_id, "village_code": household.village.code,
                "head_id_number": head.id_number, "head_name": head.name, "attribute": household.attribute,
                "registered_on": household.registered_on, "exited_on": household.exited_on,
                "card_account": household.card, "phone": f"13{self.rng.randrange(100000000, 999999999)}",
                "address": f"湖南省{COUNTY}{household.village.town.name}{household.village.name}"})
            for member in [] if ghost else household.members:
                self.rows["persons"].append({
                    "id_number": member.id_number, "name": member.name, "household_id": household.household_id,
                    "relation": member.relation, "disability_level": member.disability,
                    "school_stage": member.school, "boarding": member.boarding})


def _cell(value: Any, column: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, date):
        return value.isoformat()
    if column in {"amount", "budget", "standard_amount", "cap_amount"} and isinstance(value, int):
        return yuan_text(value)
    return str(value)


def write_tables(rows: dict[str, list[dict[str, Any]]], out: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    total = 0
    for spec in TABLES:
        table_rows = rows.get(spec.name)
        if not table_rows:
            continue
        columns = [c.name for c in spec.columns]
        with (out / f"{spec.name}.csv").open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(columns)
            for row in table_rows:
                writer.writerow([_cell(row.get(c), c) for c in columns])
        total += len(table_rows)
    return total


def generate(out: Path, *, households: int = 2000, seed: int = 2017, preset: str | None = None,
             past_years: int = 0) -> dict[str, Any]:
    from audit.synth.bad import write_bad_dataset
    from audit.synth.plants import Planter

    county = County(households, seed, preset)
    county.build()
    planter = Planter(county)
    planter.plant_all()
    county.build_past_years(past_years, frozenset(
        named["key"] for item in planter.cases + planter.decoys for named in item["subjects"] + item["records"]))
    county.build_disclosures_for_batches()
    county.build_allocations(planter.special_allocations)
    for row in county.rows["disbursements"]:
        if "_copy_of" in row:  # a repayment or a correction draws on the allocation its original did
            row["allocation_id"] = row["_copy_of"]["allocation_id"]
    county.person_rows()
    county.rows["programs"] = [
        {"program_code": p[0], "name": p[1], "standard_amount": fen(p[2]) if p[2] else None,
         "cap_amount": fen(p[3]) if p[3] else None, "period": p[4], "basis": p[5], "min_disability_level": p[6],
         "school_stage": p[7], "boarding_required": p[8], "household_attributes": p[9], "exclusive_group": p[10],
         "aliases": PROGRAM_ALIASES.get(p[0]), "means_tested": p[0] in MEANS_TESTED}
        for p in PROGRAMS]
    total = write_tables(county.rows, out)
    truth = {"seed": seed, "households": len(county.households), "as_of": AS_OF.isoformat(),
             "approval_threshold": yuan_text(APPROVAL_THRESHOLD_FEN),
             "cases": planter.cases, "decoys": planter.decoys}
    (out / "truth.json").write_text(json.dumps(truth, ensure_ascii=False, indent=1), encoding="utf-8")
    bad_dir = out.parent / f"{out.name}-bad"
    write_bad_dataset(county, bad_dir)
    return {"rows": total, "tables": [t for t in county.rows if county.rows[t]], "planted": len(planter.cases),
            "decoys": len(planter.decoys), "bad_dir": str(bad_dir)}

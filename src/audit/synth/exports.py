"""A generated county as the files counties really hold (interchange v1.1, "Import
profiles"): the one-card system's 发放明细 and the national poverty-alleviation system's
member list, in their own headers, codes and terms, written from the county's interchange
tables. The shipped profiles (importer/profiles) read them back.

- ``一卡通发放明细.csv``, in GB18030 as Excel on a Chinese Windows writes it: 发放流水号,
  身份证号, 姓名, 银行卡号, 补贴项目 by its Chinese name or alias, 发放金额, 发放期号
  ``YYYYMM`` (or ``YYYY``), 实发时间 with the time of day, 发放状态 成功/失败/已退回/发放中,
  失败原因, 补发原流水号, 业务局; and 序号, 乡镇, 村, which no profile maps.
- ``扶贫系统家庭成员.xlsx``: one row per person: 乡(镇) and 行政村 by name, 户编号, 姓名,
  证件号码, 与户主关系 (户主, 配偶, 之子, 之女, 之父, 之母, 之孙子, 之孙女, 其他), 贫困户属性,
  识别时间, 脱贫年度, 在校生状况, 残疾等级 (一级 … 四级), 联系电话.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

YIKATONG = "一卡通发放明细.csv"
FPXT = "扶贫系统家庭成员.xlsx"

ATTRIBUTE = {"general": "一般贫困户", "low_income": "低保贫困户", "extreme_poor": "特困供养贫困户"}
STATUS = {"paid": "成功", "failed": "失败", "returned": "已退回", "pending": "发放中"}
SCHOOL = {"preschool": "学前教育", "primary": "小学", "junior": "初中", "senior": "高中", "vocational": "中职",
          "college": "大专及以上"}
LEVEL = {"1": "一级", "2": "二级", "3": "三级", "4": "四级"}


def _rows(county: Path, table: str) -> list[dict[str, str]]:
    path = county / f"{table}.csv"
    if not path.exists():
        return []
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def _male(id_number: str) -> bool:
    return int(id_number[16]) % 2 == 1


def relation_term(relation: str, id_number: str) -> str:
    """与户主关系 as the poverty system writes it: 之子 or 之女 by the sex the ID carries."""
    male = _male(id_number)
    return {"head": "户主", "spouse": "配偶", "child": "之子" if male else "之女",
            "parent": "之父" if male else "之母", "grandchild": "之孙子" if male else "之孙女",
            "other": "其他"}.get(relation, "其他")


def yikatong_rows(county: Path) -> tuple[list[str], list[list[str]]]:
    programs = {p["program_code"]: p for p in _rows(county, "programs")}
    names = {p["id_number"]: p["name"] for p in _rows(county, "persons")}
    names.update({h["head_id_number"]: h["head_name"] for h in _rows(county, "households")})
    homes = {h["household_id"]: h for h in _rows(county, "households")}
    villages = {v["village_code"]: v for v in _rows(county, "villages")}
    towns = {t["town_code"]: t["town_name"] for t in _rows(county, "towns")}
    header = ["序号", "发放流水号", "乡镇", "村", "姓名", "身份证号", "银行卡号", "补贴项目", "发放金额", "发放期号",
              "实发时间", "发放状态", "失败原因", "补发原流水号", "业务局"]
    out = []
    for number, payment in enumerate(_rows(county, "card_payments"), start=1):
        program = programs[payment["program_code"]]
        aliases = [a for a in (program.get("aliases") or "").split("|") if a]
        # The county's file names the program as its people do: an alias where it has one.
        named = aliases[number % len(aliases)] if aliases and number % 2 else program["name"]
        village = villages.get(homes.get(payment["household_id"], {}).get("village_code", ""), {})
        out.append([str(number), payment["payment_id"], towns.get(village.get("town_code", ""), ""),
                    village.get("village_name", ""), names.get(payment["id_number"], ""), payment["id_number"],
                    payment["card_account"], named, payment["amount"], payment["period"].replace("-", ""),
                    f"{payment['paid_on']} {9 + number % 8:02d}:{number % 60:02d}:{(number * 7) % 60:02d}",
                    STATUS[payment.get("status") or "paid"], payment.get("failure_reason") or "",
                    payment.get("reissue_of") or "", payment["paying_unit"]])
    return header, out


def fpxt_rows(county: Path) -> tuple[list[str], list[list[Any]]]:
    homes = {h["household_id"]: h for h in _rows(county, "households")}
    villages = {v["village_code"]: v for v in _rows(county, "villages")}
    towns = {t["town_code"]: t["town_name"] for t in _rows(county, "towns")}
    header = ["序号", "乡(镇)", "行政村", "户编号", "姓名", "证件号码", "与户主关系", "贫困户属性", "识别时间", "脱贫年度",
              "在校生状况", "残疾等级", "联系电话"]
    out: list[list[Any]] = []
    for person in _rows(county, "persons"):
        home = homes.get(person["household_id"])
        if home is None or (person["relation"] == "head" and person["id_number"] != home["head_id_number"]):
            continue  # (the system lists each member under the household it heads or belongs to)
        village = villages[home["village_code"]]
        out.append([len(out) + 1, towns[village["town_code"]], village["village_name"], home["household_id"],
                    person["name"], person["id_number"], relation_term(person["relation"], person["id_number"]),
                    ATTRIBUTE[home["attribute"]], home["registered_on"],
                    int(home["exited_on"][:4]) if home["exited_on"] else "",
                    SCHOOL.get(person["school_stage"], "非在校生"), LEVEL.get(person["disability_level"], ""),
                    home["phone"] if person["relation"] == "head" else ""])
    return header, out


def write_exports(county: Path, out: Path) -> list[Path]:
    """Write both exports of the county in ``county`` (its interchange CSVs) into ``out``."""
    from openpyxl import Workbook

    out.mkdir(parents=True, exist_ok=True)
    header, rows = yikatong_rows(county)
    with (out / YIKATONG).open("w", encoding="gb18030", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    header, members = fpxt_rows(county)
    book = Workbook(write_only=True)
    sheet = book.create_sheet("贫困人口信息")
    sheet.append(header)
    for row in members:
        sheet.append(row)  # IDs and 户编号 as text: a number would lose digits
    book.save(out / FPXT)
    return [out / YIKATONG, out / FPXT]

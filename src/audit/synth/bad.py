"""A dataset of bad rows, with the report the importer must give for it.

It refers to the county generated beside it (villages, programs), so it is imported after
that county. Every bad row carries exactly one planted error, listed in
``expected_errors.json`` as table, row, column and the message id of its reason (what the
report must say, in any language); the good rows around them must be stored by a partial
import, and no good row depends on a bad one.
"""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any


from audit.importer.spec import BY_NAME

if TYPE_CHECKING:
    from audit.synth.county import County


def write_bad_dataset(county: County, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    ids = county.ids
    village = county.villages[0]
    program_year = "INDUSTRY_AWARD"
    tables: dict[str, list[dict[str, Any]]] = {}
    expected: list[dict[str, Any]] = []
    good: dict[str, int] = {}

    def add(table: str, row: dict[str, Any], column: str | None = None, message: str | None = None) -> None:
        rows = tables.setdefault(table, [])
        rows.append(row)
        if column is None:
            good[table] = good.get(table, 0) + 1
        else:
            expected.append({"table": table, "row": len(rows) + 1, "column": column, "message": message})

    def household(number: int, head: str, **changes: Any) -> dict[str, Any]:
        row = {"household_id": f"{village.code}8{number:03d}", "village_code": village.code, "head_id_number": head,
               "head_name": "测试户主", "attribute": "低保贫困户", "registered_on": "2017-03-01", "exited_on": "",
               "card_account": ids.card(), "phone": "", "address": ""}
        row.update(changes)
        return row

    # A legacy 15-digit ID converts to 18; a lowercase x is upper-cased: both are good rows.
    legacy = "430681500101" + "123"
    while True:
        lower = ids.resident(date(1966, 6, 6), True, "430681")
        if lower.endswith("X"):
            break
    good_heads = [ids.resident(date(1970, 1, 1), True, "430681"), legacy, lower.lower()]
    for number, head in enumerate(good_heads, start=1):
        add("households", household(number, head, registered_on=["2017-03-01", "2017/3/1", "2017年3月1日"][number - 1]))
    wrong_check = ids.resident(date(1971, 2, 2), False, "430681")
    wrong_check = wrong_check[:-1] + ("0" if wrong_check[-1] != "0" else "1")
    add("households", household(10, wrong_check), "head_id_number", "error.import.id_number_check")
    add("households", household(11, ids.resident(date(1972, 3, 3), True), attribute="贫困"), "attribute", "error.import.not_in_enum")
    add("households", household(12, ids.resident(date(1973, 4, 4), True), registered_on="2017-02-30"),
        "registered_on", "error.import.date_not_real")
    add("households", household(13, ids.resident(date(1974, 5, 5), True), registered_on="17/3/5"),
        "registered_on", "error.import.not_a_date")
    add("households", household(14, ids.resident(date(1975, 6, 6), True), village_code="430681999999"),
        "village_code", "error.import.reference_unknown")
    add("households", household(15, ids.resident(date(1976, 7, 7), True), exited_on="2016-01-01"),
        "exited_on", "error.import.exit_before_registration")
    add("households", household(16, ids.resident(date(1977, 8, 8), True), card_account="62284800A1"),
        "card_account", "error.import.account_digits")

    def person(household_id: str, **changes: Any) -> dict[str, Any]:
        row = {"id_number": ids.resident(date(2006, 1, 1), True), "name": "测试成员", "household_id": household_id,
               "relation": "子女", "disability_level": "", "school_stage": "小学", "boarding": "是"}
        row.update(changes)
        return row

    first_good = f"{village.code}8001"
    add("persons", person(first_good))
    add("persons", person(first_good, relation="spouse", school_stage="", boarding="", disability_level="二级"))
    add("persons", person(f"{village.code}8777"), "household_id", "error.import.reference_unknown")
    add("persons", person(first_good, relation="朋友"), "relation", "error.import.not_in_enum")
    add("persons", person(first_good, disability_level="5"), "disability_level", "error.import.disability_level")
    add("persons", person(first_good, boarding="maybe"), "boarding", "error.import.not_a_boolean")
    add("persons", person(first_good, name=""), "name", "error.import.value_missing")

    payer = village.town.finance_office

    def payment(number: int, **changes: Any) -> dict[str, Any]:
        row = {"payment_id": f"PBAD-{number:04d}", "program_code": program_year, "id_number": good_heads[0],
               "household_id": first_good, "card_account": tables["households"][0]["card_account"],
               "amount": "1500.00", "period": "2017", "paid_on": "2017-06-20", "paying_unit": payer,
               "allocation_id": ""}
        row.update(changes)
        return row

    add("card_payments", payment(1))
    add("card_payments", payment(2, amount="¥1,250.50", program_code="EDU_BOARD_PRIMARY", period="2017"))
    add("card_payments", payment(3, program_code="MIN_LIVING", period="2017-4", amount="390"))
    add("card_payments", payment(10, amount="12.345"), "amount", "error.import.amount_decimals")
    add("card_payments", payment(11, amount="abc"), "amount", "error.import.amount_form")
    add("card_payments", payment(12, amount="-5"), "amount", "error.import.amount_negative")
    add("card_payments", payment(13, amount="3万"), "amount", "error.import.amount_in_wan")
    add("card_payments", payment(14, period="2017-13", program_code="MIN_LIVING"), "period", "error.import.period_month")
    add("card_payments", payment(15, period="2017", program_code="MIN_LIVING"), "period", "error.import.period_for_program")
    add("card_payments", payment(16, program_code="NOPE"), "program_code", "error.import.reference_unknown")
    add("card_payments", payment(17, card_account="62284800A"), "card_account", "error.import.account_digits")
    add("card_payments", payment(18, amount="100"), "payment_id", "error.import.duplicate_key")
    add("card_payments", payment(18, amount="200"), "payment_id", "error.import.duplicate_key")

    company = ids.credit_code("company")
    broken = company[:-1] + ("0" if company[-1] != "0" else "1")
    add("organizations", {"uscc": ids.credit_code("company"), "name": "汨罗市测试有限公司", "kind": "企业",
                          "registered_on": "2015-01-01", "legal_rep_id_number": "", "legal_rep_name": "",
                          "address": "", "phone": ""})
    add("organizations", {"uscc": broken, "name": "汨罗市坏码有限公司", "kind": "company", "registered_on": "2015-01-01",
                          "legal_rep_id_number": "", "legal_rep_name": "", "address": "", "phone": ""},
        "uscc", "error.import.uscc_check")

    add("accounts", {"account_number": ids.corporate_account(), "bank": "", "holder_kind": "org",
                     "holder_id": tables["organizations"][0]["uscc"], "opened_on": ""})
    add("accounts", {"account_number": ids.corporate_account(), "bank": "", "holder_kind": "org",
                     "holder_id": good_heads[0], "opened_on": ""}, "holder_id", "error.import.org_needs_uscc")
    luhn_bad = ids.card()
    luhn_bad = luhn_bad[:-1] + str((int(luhn_bad[-1]) + 1) % 10)
    add("accounts", {"account_number": luhn_bad, "bank": "邮储银行", "holder_kind": "person",
                     "holder_id": good_heads[0], "opened_on": "2017-03-02"})

    add("kinship", {"id_number_a": good_heads[0], "id_number_b": good_heads[0], "kind": "sibling", "source": ""},
        "id_number_b", "error.import.own_kin")

    with_unknown = {"towns": [{"town_code": "430681900", "town_name": "测试镇", "备注": "多余的列"}]}
    for table, rows in {**tables, **with_unknown}.items():
        columns = [c.name for c in BY_NAME[table].columns] + (["备注"] if table == "towns" else [])
        with (out / f"{table}.csv").open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, columns)
            writer.writeheader()
            writer.writerows(rows)
    good["towns"] = 1
    (out / "expected_errors.json").write_text(json.dumps(
        {"errors": expected, "good_rows": good,
         "warnings": [{"table": "towns", "column": "备注", "message": "warning.import.unknown_column"},
                      {"table": "accounts", "column": "account_number", "message": "warning.import.card_luhn"}]},
        ensure_ascii=False, indent=1), encoding="utf-8")

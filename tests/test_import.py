"""The importer end to end, on the shipped synthetic county and its bad-rows dataset."""

from __future__ import annotations

import csv
import json
import os
import re
import signal
import subprocess
import sys
import zipfile
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text
from stdnum.cn import ric

from audit.importer.service import import_path
from audit.models import Household, ImportBatch, Person, QuarantinedRow, RowHistory
from audit.models import CardPayment, Disbursement
from tests.conftest import BAD, COUNTY, data_counts, row_counts


def csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def write_csv(path: Path, header: list[str], rows: list[list[str]], encoding: str = "utf-8") -> None:
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


@pytest.fixture
def imported(engine: Engine) -> Engine:
    report = import_path(engine, COUNTY)
    assert report.outcome == "committed", report.errors[:5]
    return engine


class TestCounty:
    def test_every_row_of_every_table_is_stored(self, imported: Engine) -> None:
        counts = data_counts(imported)
        for file in COUNTY.glob("*.csv"):
            assert counts[file.stem] == len(csv_rows(file)), file.stem

    def test_the_report_counts_reads_and_inserts(self, engine: Engine) -> None:
        report = import_path(engine, COUNTY)
        for file in COUNTY.glob("*.csv"):
            counts = report.counts[file.stem]
            expected = len(csv_rows(file))
            assert (counts.read, counts.inserted, counts.updated, counts.unchanged, counts.rejected) == \
                (expected, expected, 0, 0, 0)
        assert report.errors == [] and report.warnings == []

    def test_a_second_import_changes_nothing(self, imported: Engine) -> None:
        before = row_counts(imported)
        report = import_path(imported, COUNTY)
        assert report.outcome == "committed"
        assert all(c.unchanged == c.read and c.inserted == c.updated == 0 for c in report.counts.values())
        after = row_counts(imported)
        assert after["import_batches"] == before["import_batches"] + 1
        assert after["audit_log"] == before["audit_log"] + 1  # the import is on the record
        bookkeeping = {"import_batches", "audit_log"}
        assert {k: v for k, v in after.items() if k not in bookkeeping} == \
            {k: v for k, v in before.items() if k not in bookkeeping}

    def test_money_is_stored_exactly_in_fen(self, imported: Engine) -> None:
        first = csv_rows(COUNTY / "card_payments.csv")[0]
        with imported.connect() as conn:
            stored = conn.execute(select(CardPayment.amount_fen).where(
                CardPayment.payment_id == first["payment_id"])).scalar_one()
        yuan, fen = first["amount"].split(".")
        assert stored == int(yuan) * 100 + int(fen)

    def test_the_planners_statistics_are_there_after_an_import(self, imported: Engine) -> None:
        """Right after a bulk load a server has no statistics (autovacuum lags it), and a
        detector's plan chosen without them can take hours: the import brings them up to date."""
        with imported.connect() as conn:
            if conn.dialect.name == "postgresql":
                tuples = dict(conn.execute(text(
                    "SELECT relname, reltuples FROM pg_class WHERE relname IN ('card_payments', 'persons')")).all())
                assert tuples["card_payments"] > 8000 and tuples["persons"] > 6000, tuples
                columns = conn.execute(text("SELECT count(*) FROM pg_stats WHERE tablename = 'card_payments'")).scalar()
                assert columns >= 10
            else:
                analysed = {t for (t,) in conn.execute(text("SELECT DISTINCT tbl FROM sqlite_stat1"))}
                assert {"card_payments", "persons", "households", "disbursements"} <= analysed

    def test_a_handful_of_rows_does_not_pay_for_new_statistics(self, imported: Engine, tmp_path: Path) -> None:
        """A single record (an API's POST /records, a small roster) is not worth an ANALYZE of
        the table it lands in; a tenth of the table, or a table that was empty, is."""
        if imported.dialect.name != "sqlite":
            pytest.skip("sqlite_stat1 shows it directly; PostgreSQL takes the same decision")
        with imported.begin() as conn:
            conn.execute(text("DELETE FROM sqlite_stat1 WHERE tbl IN ('card_payments', 'deaths')"))
        first = csv_rows(COUNTY / "persons.csv")[0]
        write_csv(tmp_path / "card_payments.csv",
                  ["payment_id", "program_code", "id_number", "household_id", "card_account", "amount", "period",
                   "paid_on", "paying_unit"],
                  [["PNEW-1", "MEDICAL_AID", first["id_number"], first["household_id"], "6228480402564890018",
                    "800", "2017", "2017-12-01", "归义镇财政所"]])
        assert import_path(imported, tmp_path).stored
        with imported.connect() as conn:
            analysed = {t for (t,) in conn.execute(text("SELECT DISTINCT tbl FROM sqlite_stat1"))}
        assert "card_payments" not in analysed

    def test_the_batch_records_source_hashes_and_counts(self, imported: Engine) -> None:
        with imported.connect() as conn:
            batch = conn.execute(select(ImportBatch)).one()._mapping
        assert batch["outcome"] == "committed"
        assert set(batch["source_hashes"]) == {f.name for f in COUNTY.glob("*.csv")}
        assert batch["counts"]["card_payments"]["inserted"] == len(csv_rows(COUNTY / "card_payments.csv"))


class TestUpdates:
    def test_a_changed_row_is_an_update_and_its_old_values_stay_readable(self, engine: Engine, county_copy: Path) -> None:
        import_path(engine, county_copy)
        path = county_copy / "households.csv"
        rows = csv_rows(path)
        old_card, rows[0]["card_account"] = rows[0]["card_account"], "6228480402564890018"
        rows[0]["phone"] = "13900000000"
        write_csv(path, list(rows[0]), [list(r.values()) for r in rows])
        report = import_path(engine, county_copy)
        assert report.counts["households"].updated == 1
        assert report.counts["households"].unchanged == len(rows) - 1
        with engine.connect() as conn:
            stored = conn.execute(select(Household.card_account).where(
                Household.household_id == rows[0]["household_id"])).scalar_one()
            history = conn.execute(select(RowHistory)).one()._mapping
        assert stored == "6228480402564890018"
        assert history["table_name"] == "households" and history["row_key"] == rows[0]["household_id"]
        assert history["old_values"]["card_account"] == old_card
        assert history["batch_id"] == report.batch_id


class TestBadRows:
    expected = json.loads((BAD / "expected_errors.json").read_text(encoding="utf-8"))

    def test_the_dataset_is_rejected_whole_with_every_planted_error(self, imported: Engine) -> None:
        before = data_counts(imported)
        report = import_path(imported, BAD)
        assert report.outcome == "rejected"
        found = {(e.table, e.row, e.column): e.message for e in report.errors}
        planted = {(e["table"], e["row"], e["column"]): e["message"] for e in self.expected["errors"]}
        assert found == planted
        assert data_counts(imported) == before
        with imported.connect() as conn:
            outcomes = conn.execute(select(ImportBatch.outcome, ImportBatch.error_count)).all()
        assert ("rejected", len(planted)) in outcomes

    def test_every_error_names_its_value(self, imported: Engine) -> None:
        report = import_path(imported, BAD)
        card = next(e for e in report.errors if e.table == "card_payments" and e.column == "amount"
                    and e.message == "error.import.amount_decimals")
        assert card.value == "12.345" and card.row == 5

    def test_the_report_reads_in_chinese_with_every_fact_of_each_error(self, imported: Engine) -> None:
        report = import_path(imported, BAD)
        chinese = report.as_dict("zh")["errors"]
        planted = {(e["table"], e["row"], e["column"]) for e in self.expected["errors"]}
        assert {(e["table"], e["row"], e["column"]) for e in chinese} == planted
        for error in chinese:  # every reason is a Chinese sentence, none the id or a field left open
            assert re.search(r"[\u4e00-\u9fff]", error["reason"]) and "{" not in error["reason"], error
            assert not error["reason"].startswith(("error.", "warning.")), error
        by_place = {(e["table"], e["row"], e["column"]): e for e in chinese}
        head = by_place[("households", 5, "head_id_number")]
        expected_check = ric.calc_check_digit(head["value"])
        assert head["reason"] == f"身份证号校验位为 {head['value'][-1]}，应为 {expected_check}"
        assert head["fields"] == {"found": head["value"][-1], "expected": expected_check}
        assert by_place[("households", 9, "village_code")]["reason"] == \
            "引用的行政村“430681999999”在本次导入的数据和系统已有数据中均不存在"
        assert by_place[("households", 10, "exited_on")]["reason"] == "脱贫日期 2016-01-01 早于识别日期 2017-03-01"
        assert by_place[("persons", 8, "name")]["reason"] == "必填项为空"
        duplicates = [e for e in chinese if e["message"] == "error.import.duplicate_key"]
        assert [e["fields"]["rows"] for e in duplicates] == [[13, 14], [13, 14]]
        assert duplicates[0]["reason"] == "编号（主键）在第 13、14 行重复出现，且各行内容不同"
        period = next(e for e in chinese if e["message"] == "error.import.period_for_program")
        assert period["reason"] == "补贴项目 MIN_LIVING 的发放周期为“月”，所属期应写作 YYYY-MM"
        holder = by_place[("accounts", 3, "holder_id")]
        assert holder["reason"].startswith("holder_kind 为“单位”，此处应为统一社会信用代码：统一社会信用代码")
        assert report.as_dict("en")["errors"][0]["reason"] == report.errors[0].reason  # English, as before

    def test_warnings_do_not_block(self, imported: Engine) -> None:
        report = import_path(imported, BAD)
        messages = {(w.table, w.column): w.message for w in report.warnings}
        for expected in self.expected["warnings"]:
            assert messages[(expected["table"], expected["column"])] == expected["message"]
        assert report.as_dict("zh")["warnings"][0]["reason"] == "未知的列，已忽略"

    def test_partial_stores_the_good_rows_and_quarantines_exactly_the_bad(self, imported: Engine) -> None:
        before = data_counts(imported)
        report = import_path(imported, BAD, partial=True)
        assert report.outcome == "committed_partial"
        after = data_counts(imported)
        for table, good in self.expected["good_rows"].items():
            assert after[table] - before[table] == good, table
            assert report.counts[table].inserted == good
        with imported.connect() as conn:
            quarantined = {(r.table_name, r.row_number) for r in conn.execute(select(QuarantinedRow))}
        assert quarantined == {(e["table"], e["row"]) for e in self.expected["errors"]}

    def test_quarantined_rows_keep_their_cells_and_reasons(self, imported: Engine) -> None:
        import_path(imported, BAD, partial=True)
        with imported.connect() as conn:
            row = conn.execute(select(QuarantinedRow).where(QuarantinedRow.table_name == "persons",
                                                            QuarantinedRow.row_number == 5)).one()._mapping
        assert row["raw"]["relation"] == "朋友"
        error = row["errors"][0]
        assert error["column"] == "relation" and error["message"] == "error.import.not_in_enum"
        assert error["fields"]["codes"][0] == "head" and error["reason"].startswith("must be one of head, ")

    def test_a_legacy_id_and_a_lowercase_x_are_stored_normalised(self, imported: Engine) -> None:
        import_path(imported, BAD, partial=True)
        heads = [r["head_id_number"] for r in csv_rows(BAD / "households.csv")[:3]]
        with imported.connect() as conn:
            stored = set(conn.execute(select(Household.head_id_number)).scalars())
        assert len(heads[1]) == 15
        assert any(s.startswith(heads[1][:6] + "19" + heads[1][6:12]) for s in stored)
        assert heads[2].upper() in stored and heads[2] != heads[2].upper()


class TestFormats:
    def _chinese_households(self, county: Path) -> tuple[list[str], list[list[str]]]:
        from audit.importer.spec import BY_NAME

        spec = BY_NAME["households"]
        terms = {"general": "一般贫困户", "low_income": "低保贫困户", "extreme_poor": "特困供养贫困户"}
        header = [spec.by_name[c].chinese[0] for c in csv_rows(county / "households.csv")[0]]
        rows = []
        for row in csv_rows(county / "households.csv"):
            row["attribute"] = terms[row["attribute"]]
            row["registered_on"] = "{}年{}月{}日".format(*map(int, row["registered_on"].split("-")))
            rows.append(list(row.values()))
        return header, rows

    def test_a_gb18030_table_with_chinese_headers_and_terms(self, engine: Engine, county_copy: Path) -> None:
        header, rows = self._chinese_households(county_copy)
        target = county_copy / "households.csv"
        write_csv(target, header, rows, encoding="gb18030")
        with pytest.raises(UnicodeDecodeError):
            target.read_text(encoding="utf-8")
        report = import_path(engine, county_copy)
        assert report.outcome == "committed", report.errors[:3]
        assert report.counts["households"].inserted == len(rows)
        first = csv_rows(COUNTY / "households.csv")[0]
        with engine.connect() as conn:
            stored = conn.execute(select(Household).where(Household.household_id == first["household_id"])).one()
        assert stored.head_name == first["head_name"]
        assert stored.attribute == first["attribute"]
        assert stored.registered_on.isoformat() == first["registered_on"]

    def test_a_utf8_bom_table(self, engine: Engine, county_copy: Path) -> None:
        header, rows = self._chinese_households(county_copy)
        write_csv(county_copy / "households.csv", header, rows, encoding="utf-8-sig")
        assert (county_copy / "households.csv").read_bytes().startswith(b"\xef\xbb\xbf")
        report = import_path(engine, county_copy)
        assert report.outcome == "committed" and report.counts["households"].inserted == len(rows)

    def test_a_chinese_file_name(self, engine: Engine, county_copy: Path) -> None:
        (county_copy / "households.csv").rename(county_copy / "贫困户.csv")
        assert import_path(engine, county_copy).counts["households"].inserted == 2001

    def test_a_zip_of_the_folder(self, engine: Engine, tmp_path: Path) -> None:
        archive = tmp_path / "county.zip"
        with zipfile.ZipFile(archive, "w") as handle:
            for file in COUNTY.glob("*.csv"):
                handle.write(file, f"county/{file.name}")
        report = import_path(engine, archive)
        assert report.outcome == "committed"
        assert data_counts(engine)["card_payments"] == len(csv_rows(COUNTY / "card_payments.csv"))

    def test_an_xlsx_workbook_with_date_and_number_cells(self, engine: Engine, tmp_path: Path) -> None:
        from openpyxl import Workbook

        workbook = Workbook()
        workbook.remove(workbook.active)
        for table in ("towns", "villages", "households"):
            sheet = workbook.create_sheet(table)
            rows = csv_rows(COUNTY / f"{table}.csv")
            sheet.append(list(rows[0]))
            for row in rows:
                cells: list[object] = list(row.values())
                if table == "households":
                    cells[5] = datetime.fromisoformat(row["registered_on"])  # a real date cell
                if table == "villages" and row["exit_year"]:
                    cells[4] = int(row["exit_year"])  # a number cell
                sheet.append(cells)
        path = tmp_path / "county.xlsx"
        workbook.save(path)
        report = import_path(engine, path)
        assert report.outcome == "committed", report.errors[:3]
        assert report.counts["households"].inserted == len(csv_rows(COUNTY / "households.csv"))
        first = csv_rows(COUNTY / "households.csv")[0]
        with engine.connect() as conn:
            stored = conn.execute(select(Household.registered_on).where(
                Household.household_id == first["household_id"])).scalar_one()
        assert stored.isoformat() == first["registered_on"]

    def test_an_id_typed_as_a_number_in_excel_is_an_error_not_a_rounded_id(self, engine: Engine, tmp_path: Path) -> None:
        from openpyxl import Workbook

        workbook = Workbook()
        sheet = workbook.active
        sheet.title = "deaths"
        sheet.append(["身份证号", "死亡日期"])
        sheet.append([430681195203041237, datetime(2017, 1, 2)])
        path = tmp_path / "deaths.xlsx"
        workbook.save(path)
        report = import_path(engine, path)
        assert report.outcome == "rejected"
        assert report.errors[0].message == "error.import.id_number_is_a_number"
        assert "stored as a number" in report.errors[0].reason
        assert (report.errors[0].table, report.errors[0].row, report.errors[0].column) == ("deaths", 2, "id_number")


class TestRules:
    def test_a_reference_may_point_into_the_store(self, imported: Engine, tmp_path: Path) -> None:
        first = csv_rows(COUNTY / "persons.csv")[0]
        write_csv(tmp_path / "card_payments.csv",
                  ["payment_id", "program_code", "id_number", "household_id", "card_account", "amount", "period",
                   "paid_on", "paying_unit"],
                  [["PNEW-1", "MEDICAL_AID", first["id_number"], first["household_id"], "6228480402564890018",
                    "800", "2017", "2017-12-01", "归义镇财政所"]])
        report = import_path(imported, tmp_path)
        assert report.outcome == "committed" and report.counts["card_payments"].inserted == 1

    def test_status_failure_and_reissue_in_chinese_terms_and_their_references(self, imported: Engine,
                                                                               tmp_path: Path) -> None:
        """v1.1: 发放状态 in the one-card systems' words, empty meaning paid; a reissue names a
        payment of this file or the store, never an unknown one nor itself."""
        first = csv_rows(COUNTY / "persons.csv")[0]
        stored = csv_rows(COUNTY / "card_payments.csv")[0]["payment_id"]
        header = ["发放流水号", "补贴项目代码", "身份证号", "户编号", "银行卡号", "发放金额", "发放期号", "发放日期",
                  "发放单位", "发放状态", "失败原因", "补发原流水号"]
        base = ["MEDICAL_AID", first["id_number"], first["household_id"], "6228480402564890018", "800", "2017",
                "2017-12-01", "归义镇财政所"]
        write_csv(tmp_path / "card_payments.csv", header, [
            ["PS-1", *base, "失败", "账户已销户", ""], ["PS-2", *base, "成功", "", "PS-1"],
            ["PS-3", *base, "", "", stored], ["PS-4", *base, "发放中", "", ""], ["PS-5", *base, "已退回", "", ""]])
        report = import_path(imported, tmp_path)
        assert report.outcome == "committed", [e.reason for e in report.errors]
        with imported.connect() as conn:
            rows = {r.payment_id: r for r in conn.execute(select(CardPayment).where(CardPayment.payment_id.like("PS-%")))}
        assert {k: r.status for k, r in rows.items()} == {"PS-1": "failed", "PS-2": "paid", "PS-3": "paid",
                                                          "PS-4": "pending", "PS-5": "returned"}
        assert rows["PS-1"].failure_reason == "账户已销户" and rows["PS-2"].reissue_of == "PS-1"
        assert rows["PS-3"].reissue_of == stored

        write_csv(tmp_path / "card_payments.csv", header, [
            ["PS-6", *base, "失效", "", ""], ["PS-7", *base, "", "", "NOWHERE"], ["PS-8", *base, "", "", "PS-8"]])
        report = import_path(imported, tmp_path)
        assert report.outcome == "rejected"
        assert [(e.row, e.column, e.message) for e in report.errors] == [
            (2, "status", "error.import.not_in_enum"), (3, "reissue_of", "error.import.reference_unknown"),
            (4, "reissue_of", "error.import.names_itself")]

    def test_a_disbursement_returned_or_corrected(self, imported: Engine, tmp_path: Path) -> None:
        original = csv_rows(COUNTY / "disbursements.csv")[0]
        fields = ["disbursement_id", "allocation_id", "project_id", "payer_unit", "payee_kind", "payee_id",
                  "payee_account", "amount", "paid_on"]
        write_csv(tmp_path / "disbursements.csv", [*fields, "支付状态", "更正"], [
            ["DS-1", *[original[f] for f in fields[1:]], "退回", ""],
            ["DS-2", *[original[f] for f in fields[1:]], "", original["disbursement_id"]],
            ["DS-3", *[original[f] for f in fields[1:]], "", "NOWHERE"]])
        report = import_path(imported, tmp_path)
        assert [(e.row, e.column, e.message) for e in report.errors] == [
            (4, "correction_of", "error.import.reference_unknown")]
        write_csv(tmp_path / "disbursements.csv", [*fields, "支付状态", "更正"], [
            ["DS-1", *[original[f] for f in fields[1:]], "退回", ""],
            ["DS-2", *[original[f] for f in fields[1:]], "", original["disbursement_id"]]])
        assert import_path(imported, tmp_path).outcome == "committed"
        with imported.connect() as conn:
            rows = {r.disbursement_id: r for r in conn.execute(
                select(Disbursement).where(Disbursement.disbursement_id.like("DS-%")))}
        assert (rows["DS-1"].status, rows["DS-2"].status, rows["DS-2"].correction_of) == (
            "returned", "paid", original["disbursement_id"])

    def test_the_v1_1_registries_in_their_chinese_headers_and_terms(self, engine: Engine, tmp_path: Path) -> None:
        """不动产, 户籍变动, 服刑羁押, 养老金, 学籍, 残疾证: keyed as interchange v1.1 says, naming
        people the store has never seen, the same file twice changing nothing."""
        someone = "430681195203041237"  # in no household of the store
        pupil = "430681200809120013"
        write_csv(tmp_path / "不动产登记.csv", ["权利人身份证号", "不动产权证号", "房屋类型", "坐落", "面积", "登记日期", "注销日期"],
                  [[someone, "湘(2016)汨罗市不动产权第0001234号", "城镇住宅", "汨罗市归义镇", "96.5", "2016-05-03", ""],
                   [someone, "湘(2015)汨罗市不动产权第0000077号", "商铺", "", "", "2015年3月2日", "2017/1/9"]])
        write_csv(tmp_path / "户籍变动.csv", ["身份证号", "变动类型", "变动日期", "原户编号", "现户编号", "迁往或迁自地区"],
                  [[someone, "分户", "2015-09-01", "4306811022060001", "4306811022069999", ""],
                   [someone, "婚出", "2016-10-01", "", "", "岳阳县"]])
        write_csv(tmp_path / "服刑羁押.csv", ["身份证号", "收监日期", "释放日期", "来源"],
                  [[someone, "2016-02-01", "2018-01-31", "汨罗市看守所"]])
        write_csv(tmp_path / "养老金.csv", ["身份证号", "月领取金额", "起始日期", "终止日期", "来源"],
                  [[someone, "3,120.50", "2012-07-01", "", "机关事业单位养老保险"]])
        write_csv(tmp_path / "学籍.csv", ["学生身份证号", "学年", "学段", "是否寄宿", "学校"],
                  [[pupil, "2017", "初中", "是", "汨罗市第二中学"], [pupil, "2016", "小学", "否", ""]])
        write_csv(tmp_path / "残疾证.csv", ["身份证号", "残疾等级", "残疾类别", "发证日期", "注销日期"],
                  [[someone, "二级", "肢体", "2014-04-04", ""]])
        first = import_path(engine, tmp_path)
        assert first.outcome == "committed", [e.line("en") for e in first.errors]
        assert {t: c.inserted for t, c in first.counts.items()} == {
            "real_estate": 2, "household_events": 2, "detentions": 1, "pensions": 1, "school_enrolments": 2,
            "disability_certificates": 1}
        again = import_path(engine, tmp_path)
        assert all(c.unchanged == c.read and not c.inserted for c in again.counts.values())
        with engine.connect() as conn:
            kinds = sorted(conn.execute(text("SELECT kind FROM real_estate")).scalars())
            pension = conn.execute(text("SELECT monthly_amount_fen FROM pensions")).scalar_one()
            stages = dict(conn.execute(text("SELECT school_year, stage FROM school_enrolments")).all())
            level = conn.execute(text("SELECT level FROM disability_certificates")).scalar_one()
        assert kinds == ["shop", "urban_home"] and pension == 312_050 and stages == {2016: "primary", 2017: "junior"}
        assert level == 2
        write_csv(tmp_path / "服刑羁押.csv", ["身份证号", "收监日期", "释放日期"], [[someone, "2016-02-01", "2015-01-31"]])
        refused = import_path(engine, tmp_path)
        assert [(e.table, e.column, e.message) for e in refused.errors] == [
            ("detentions", "to_on", "error.import.released_before_detained")]

    def test_a_missing_required_column(self, engine: Engine, tmp_path: Path) -> None:
        write_csv(tmp_path / "deaths.csv", ["id_number", "source"], [["430681195203041237", "x"]])
        report = import_path(engine, tmp_path)
        assert report.outcome == "rejected"
        assert [(e.table, e.row, e.column, e.message) for e in report.errors] == \
            [("deaths", 1, "died_on", "error.import.column_missing")]
        assert report.errors[0].reason == "required column is missing"

    def test_an_exact_duplicate_row_is_dropped_with_a_warning(self, engine: Engine, tmp_path: Path) -> None:
        row = ["430681195203041237", "2017-01-02", "民政"]
        write_csv(tmp_path / "deaths.csv", ["id_number", "died_on", "source"], [row, row])
        report = import_path(engine, tmp_path)
        assert report.outcome == "committed"
        assert report.counts["deaths"].inserted == 1 and report.counts["deaths"].unchanged == 1
        assert (report.warnings[0].message, report.warnings[0].fields) == ("warning.import.duplicate_row",
                                                                           {"first_row": 2})
        assert report.warnings[0].text("zh") == "与第 2 行完全相同，重复行已忽略"

    def test_a_dataset_that_is_not_a_dataset(self, engine: Engine, tmp_path: Path) -> None:
        from audit.importer.read import DatasetError

        (tmp_path / "notes.txt").write_text("hello", encoding="utf-8")
        with pytest.raises(DatasetError, match="folder, a .zip or an .xlsx") as caught:  # str(): English
            import_path(engine, tmp_path / "notes.txt")
        assert (caught.value.message_id, caught.value.fields) == ("error.dataset.not_a_dataset", {"file": "notes.txt"})
        assert caught.value.text("zh") == "notes.txt：数据应为文件夹、.zip 压缩包或 .xlsx 工作簿"


class TestAtomicity:
    def test_a_failure_midway_leaves_the_store_as_it_was(self, imported: Engine, county_copy: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
        from audit.importer import service

        rows = csv_rows(county_copy / "persons.csv")
        rows[0]["name"] = "改过的名字"
        write_csv(county_copy / "persons.csv", list(rows[0]), [list(r.values()) for r in rows])
        before = row_counts(imported)
        original = service._Import.merge

        def failing(self: service._Import, spec) -> None:  # noqa: ANN001
            if spec.name == "card_payments":
                raise RuntimeError("disk full")
            original(self, spec)

        monkeypatch.setattr(service._Import, "merge", failing)
        with pytest.raises(RuntimeError, match="disk full"):
            import_path(imported, county_copy)
        assert row_counts(imported) == before
        with imported.connect() as conn:
            name = conn.execute(select(Person.name).where(Person.id_number == rows[0]["id_number"])).scalar_one()
        assert name != "改过的名字"

    def test_a_kill_midway_leaves_the_store_as_it_was(self, imported: Engine, county_copy: Path,
                                                      database_url: str) -> None:
        rows = csv_rows(county_copy / "households.csv")
        rows[0]["phone"] = "13911112222"
        write_csv(county_copy / "households.csv", list(rows[0]), [list(r.values()) for r in rows])
        before = row_counts(imported)
        imported.dispose()
        # The child merges households (an update), then is killed outright while merging
        # card payments: no handler, no rollback, only the database's own recovery.
        script = (
            "import os, signal, sys\n"
            "from pathlib import Path\n"
            "from audit.db import make_engine\n"
            "from audit.importer import service\n"
            "original = service._Import.merge\n"
            "def merge(self, spec):\n"
            "    if spec.name == 'card_payments':\n"
            "        os.kill(os.getpid(), signal.SIGKILL)\n"
            "    original(self, spec)\n"
            "service._Import.merge = merge\n"
            "service.import_path(make_engine(sys.argv[1]), Path(sys.argv[2]))\n"
        )
        child = subprocess.run([sys.executable, "-c", script, database_url, str(county_copy)],
                               capture_output=True, timeout=300, env={**os.environ})
        assert child.returncode == -signal.SIGKILL, child.stderr.decode()[-2000:]
        assert row_counts(imported) == before
        with imported.connect() as conn:
            phone = conn.execute(select(Household.phone).where(
                Household.household_id == rows[0]["household_id"])).scalar_one()
        assert phone != "13911112222"
        report = import_path(imported, county_copy)  # the store is usable and the import can be redone
        assert report.counts["households"].updated == 1

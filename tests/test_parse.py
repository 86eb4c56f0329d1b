"""Each cell rule of interchange-v1, on the values county exports really contain."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from stdnum import luhn
from stdnum.cn import ric

from audit.importer import parse
from audit.importer.spec import ATTRIBUTE, RELATION

VALID_ID = "430681195203041237"  # check character computed below, asserted here
assert ric.calc_check_digit(VALID_ID) == VALID_ID[-1]


def make_id(body17: str) -> str:
    return body17 + ric.calc_check_digit(body17 + "0")


class TestIdNumber:
    def test_a_valid_id_is_kept(self) -> None:
        assert parse.id_number(VALID_ID) == VALID_ID

    def test_spaces_are_removed(self) -> None:
        assert parse.id_number(" 430681 19520304 1237 ") == VALID_ID

    def test_lowercase_x_is_upper_cased(self) -> None:
        with_x = next(make_id(f"43068119700101{seq:03d}") for seq in range(1000)
                      if make_id(f"43068119700101{seq:03d}").endswith("X"))
        assert parse.id_number(with_x.lower()) == with_x

    def test_a_wrong_check_character_is_an_error_naming_the_expected_one(self) -> None:
        wrong = VALID_ID[:-1] + "5"
        with pytest.raises(parse.CellError, match="check character is 5, expected 7"):
            parse.id_number(wrong)

    def test_an_impossible_birth_date_is_an_error(self) -> None:
        with pytest.raises(parse.CellError, match="not a real date"):
            parse.id_number(make_id("43068119520230123"))

    def test_a_future_birth_date_is_an_error(self) -> None:
        with pytest.raises(parse.CellError, match="out of range"):
            parse.id_number(make_id("43068121990101123"))

    def test_the_legacy_15_digit_form_becomes_18(self) -> None:
        assert parse.id_number("430681520304123") == make_id("43068119520304123")

    def test_wrong_lengths_are_errors(self) -> None:
        with pytest.raises(parse.CellError, match="18 characters"):
            parse.id_number("4306811952030412")

    def test_letters_inside_are_errors(self) -> None:
        with pytest.raises(parse.CellError, match="17 digits"):
            parse.id_number("43068119520304A237")

    def test_an_unknown_region_only_warns(self) -> None:
        unknown = make_id("99999919520304123")
        with pytest.raises(parse.CellWarning) as warning:
            parse.id_number(unknown)
        assert warning.value.value == unknown
        assert "region code 999999" in warning.value.reason

    def test_a_region_created_after_the_birth_year_is_fine(self) -> None:
        # 430681 (Miluo) dates from 1989; people born before carry it rightly.
        assert parse.id_number(make_id("43068119300101123")).startswith("430681")

    def test_a_workbook_number_is_refused_not_rounded(self) -> None:
        with pytest.raises(parse.CellError, match="stored as a number"):
            parse.id_number(4.30681195203041e17)

    def test_empty_is_none(self) -> None:
        assert parse.id_number("  ") is None


class TestCreditCode:
    def test_a_valid_code(self) -> None:
        assert parse.uscc_code("91110000600037341l") == "91110000600037341L"

    def test_a_wrong_check_character(self) -> None:
        with pytest.raises(parse.CellError, match="check character"):
            parse.uscc_code("91110000600037341M")

    def test_a_short_code(self) -> None:
        with pytest.raises(parse.CellError, match="18 characters"):
            parse.uscc_code("9111000060003734")


class TestAccountNumber:
    def test_spaces_are_stripped(self) -> None:
        card = "6228480402564890018"
        assert luhn.is_valid(card)
        assert parse.account_number("6228 4804 0256 4890 018") == card

    def test_a_failed_luhn_check_on_a_card_only_warns(self) -> None:
        with pytest.raises(parse.CellWarning, match="Luhn"):
            parse.account_number("6228480402564890019")

    def test_a_passbook_account_outside_16_to_19_digits_has_no_luhn_check(self) -> None:
        assert parse.account_number("43001234567890123456") == "43001234567890123456"

    def test_letters_are_an_error(self) -> None:
        with pytest.raises(parse.CellError, match="only digits"):
            parse.account_number("62284800A1")

    def test_a_workbook_float_is_refused(self) -> None:
        with pytest.raises(parse.CellError, match="stored as a number"):
            parse.account_number(6.228480402564890e18)

    def test_a_workbook_integer_keeps_its_digits(self) -> None:
        assert parse.account_number(6228480402564890018) == "6228480402564890018"


class TestDates:
    @pytest.mark.parametrize("text", ["2017-03-05", "2017/3/5", "2017年3月5日", "2017-3-5", "2017-03-05 00:00:00"])
    def test_accepted_forms(self, text: str) -> None:
        assert parse.a_date(text) == date(2017, 3, 5)

    def test_a_workbook_date_cell(self) -> None:
        assert parse.a_date(datetime(2017, 3, 5, 0, 0)) == date(2017, 3, 5)

    def test_an_impossible_date(self) -> None:
        with pytest.raises(parse.CellError, match="not a real date"):
            parse.a_date("2017-02-29")

    @pytest.mark.parametrize("text", ["05/03/2017", "17/3/5", "March 5", "20170305"])
    def test_other_forms_are_errors(self, text: str) -> None:
        with pytest.raises(parse.CellError, match="not a date"):
            parse.a_date(text)


class TestMoney:
    @pytest.mark.parametrize(("text", "fen"), [
        ("1250.5", 125050), ("1,250.50", 125050), ("¥1250.50", 125050), ("￥1,250.50", 125050),
        ("600", 60000), ("0.01", 1), ("1250.50元", 125050), (600, 60000),
    ])
    def test_accepted_forms(self, text: str | int, fen: int) -> None:
        assert parse.money_fen(text) == fen

    def test_a_workbook_float_is_read_through_what_excel_shows(self) -> None:
        assert parse.money_fen(1250.3) == 125030
        assert parse.money_fen(19.99) == 1999

    def test_three_decimals_is_an_error(self) -> None:
        with pytest.raises(parse.CellError, match="more than 2 decimals"):
            parse.money_fen("12.345")

    def test_wan_yuan_is_refused(self) -> None:
        with pytest.raises(parse.CellError, match="万元"):
            parse.money_fen("3万")

    def test_negative_is_an_error(self) -> None:
        with pytest.raises(parse.CellError, match="negative"):
            parse.money_fen("-5")

    def test_words_are_an_error(self) -> None:
        with pytest.raises(parse.CellError, match="not an amount"):
            parse.money_fen("six hundred")

    def test_the_result_is_an_exact_integer(self) -> None:
        value = parse.money_fen("14573000.07")
        assert isinstance(value, int) and value == 1457300007


class TestBooleansEnumsAndPeriods:
    @pytest.mark.parametrize(("text", "value"), [
        ("1", True), ("0", False), ("true", True), ("FALSE", False), ("是", True), ("否", False),
        ("Y", True), ("n", False),
    ])
    def test_booleans(self, text: str, value: bool) -> None:
        assert parse.boolean(text) is value

    def test_a_bad_boolean(self) -> None:
        with pytest.raises(parse.CellError, match="yes/no"):
            parse.boolean("maybe")

    def test_enumerations_take_the_code_or_the_chinese_term(self) -> None:
        assert ATTRIBUTE("low_income") == "low_income"
        assert ATTRIBUTE("低保贫困户") == "low_income"
        assert RELATION("户主") == "head"
        with pytest.raises(parse.CellError, match="must be one of"):
            RELATION("朋友")

    @pytest.mark.parametrize(("text", "value"), [
        ("2017", "2017"), ("2017-03", "2017-03"), ("2017-3", "2017-03"), ("2017年3月", "2017-03"),
        ("2017/03", "2017-03"), (2017, "2017"),
    ])
    def test_periods(self, text: str | int, value: str) -> None:
        assert parse.period(text) == value

    def test_a_thirteenth_month(self) -> None:
        with pytest.raises(parse.CellError, match="month must be"):
            parse.period("2017-13")

    def test_disability_levels(self) -> None:
        assert parse.disability_level("二级") == 2
        assert parse.disability_level("1") == 1
        with pytest.raises(parse.CellError, match="1-4"):
            parse.disability_level("5")

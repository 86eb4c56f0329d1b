"""Each cell rule of interchange-v1, on the values county exports really contain."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

import pytest
from stdnum import luhn
from stdnum.cn import ric

from audit.importer import parse
from audit.importer.spec import ATTRIBUTE, RELATION

VALID_ID = "430681195203041237"  # check character computed below, asserted here
assert ric.calc_check_digit(VALID_ID) == VALID_ID[-1]


def make_id(body17: str) -> str:
    return body17 + ric.calc_check_digit(body17 + "0")


@contextmanager
def refused(message_id: str, **fields: Any) -> Iterator[None]:
    """The block raises a CellError saying ``message_id``, with (at least) these fields."""
    with pytest.raises(parse.CellError) as caught:
        yield
    assert caught.value.message_id == message_id, str(caught.value)
    assert {name: caught.value.fields.get(name) for name in fields} == fields


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
        with refused("error.import.id_number_check", found="5", expected="7"):
            parse.id_number(wrong)

    def test_an_impossible_birth_date_is_an_error(self) -> None:
        with refused("error.import.id_number_birth_date", birth_date="19520230"):
            parse.id_number(make_id("43068119520230123"))

    def test_a_future_birth_date_is_an_error(self) -> None:
        with refused("error.import.id_number_birth_range", born="2199-01-01"):
            parse.id_number(make_id("43068121990101123"))

    def test_the_legacy_15_digit_form_becomes_18(self) -> None:
        assert parse.id_number("430681520304123") == make_id("43068119520304123")

    def test_wrong_lengths_are_errors(self) -> None:
        with refused("error.import.id_number_length", length=16):
            parse.id_number("4306811952030412")

    def test_letters_inside_are_errors(self) -> None:
        with refused("error.import.id_number_form"):
            parse.id_number("43068119520304A237")

    def test_an_unknown_region_only_warns(self) -> None:
        unknown = make_id("99999919520304123")
        with pytest.raises(parse.CellWarning) as warning:
            parse.id_number(unknown)
        assert warning.value.value == unknown
        assert (warning.value.message_id, warning.value.fields) == ("warning.import.region_unknown", {"region": "999999"})
        assert warning.value.text("zh") == "地区代码 999999 不是已知的县级行政区划代码"

    def test_a_region_created_after_the_birth_year_is_fine(self) -> None:
        # 430681 (Miluo) dates from 1989; people born before carry it rightly.
        assert parse.id_number(make_id("43068119300101123")).startswith("430681")

    def test_a_workbook_number_is_refused_not_rounded(self) -> None:
        with refused("error.import.id_number_is_a_number"):
            parse.id_number(4.30681195203041e17)

    def test_empty_is_none(self) -> None:
        assert parse.id_number("  ") is None


class TestCreditCode:
    def test_a_valid_code(self) -> None:
        assert parse.uscc_code("91110000600037341l") == "91110000600037341L"

    def test_a_wrong_check_character(self) -> None:
        with refused("error.import.uscc_check", found="M", expected="L"):
            parse.uscc_code("91110000600037341M")

    def test_a_letter_among_the_first_eight(self) -> None:
        with refused("error.import.uscc_form"):
            parse.uscc_code("9111000A600037341L")

    def test_a_short_code(self) -> None:
        with refused("error.import.uscc_length", length=16):
            parse.uscc_code("9111000060003734")


class TestAccountNumber:
    def test_spaces_are_stripped(self) -> None:
        card = "6228480402564890018"
        assert luhn.is_valid(card)
        assert parse.account_number("6228 4804 0256 4890 018") == card

    def test_a_failed_luhn_check_on_a_card_only_warns(self) -> None:
        with pytest.raises(parse.CellWarning) as warning:
            parse.account_number("6228480402564890019")
        assert warning.value.message_id == "warning.import.card_luhn" and "Luhn" in warning.value.reason

    def test_a_passbook_account_outside_16_to_19_digits_has_no_luhn_check(self) -> None:
        assert parse.account_number("43001234567890123456") == "43001234567890123456"

    def test_letters_are_an_error(self) -> None:
        with refused("error.import.account_digits"):
            parse.account_number("62284800A1")

    def test_a_workbook_float_is_refused(self) -> None:
        with refused("error.import.account_is_a_number"):
            parse.account_number(6.228480402564890e18)

    def test_a_wrong_length_names_it_and_the_bounds(self) -> None:
        with refused("error.import.account_length", length=5, least=6, most=30):
            parse.account_number("12345")

    def test_a_workbook_integer_keeps_its_digits(self) -> None:
        assert parse.account_number(6228480402564890018) == "6228480402564890018"


class TestDates:
    @pytest.mark.parametrize("text", ["2017-03-05", "2017/3/5", "2017年3月5日", "2017-3-5", "2017-03-05 00:00:00"])
    def test_accepted_forms(self, text: str) -> None:
        assert parse.a_date(text) == date(2017, 3, 5)

    def test_a_workbook_date_cell(self) -> None:
        assert parse.a_date(datetime(2017, 3, 5, 0, 0)) == date(2017, 3, 5)

    def test_an_impossible_date(self) -> None:
        with refused("error.import.date_not_real", date="2017-02-29"):
            parse.a_date("2017-02-29")

    @pytest.mark.parametrize("text", ["05/03/2017", "17/3/5", "March 5", "20170305"])
    def test_other_forms_are_errors(self, text: str) -> None:
        with refused("error.import.not_a_date"):
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
        with refused("error.import.amount_decimals"):
            parse.money_fen("12.345")

    def test_wan_yuan_is_refused(self) -> None:
        with refused("error.import.amount_in_wan"):
            parse.money_fen("3万")

    def test_negative_is_an_error(self) -> None:
        with refused("error.import.amount_negative"):
            parse.money_fen("-5")

    def test_words_are_an_error(self) -> None:
        with refused("error.import.amount_form"):
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
        with refused("error.import.not_a_boolean"):
            parse.boolean("maybe")

    def test_enumerations_take_the_code_or_the_chinese_term(self) -> None:
        assert ATTRIBUTE("low_income") == "low_income"
        assert ATTRIBUTE("低保贫困户") == "low_income"
        assert RELATION("户主") == "head"
        with pytest.raises(parse.CellError) as caught:
            RELATION("朋友")
        assert caught.value.message_id == "error.import.not_in_enum"
        assert caught.value.fields["codes"] == list(RELATION.codes)
        # A Chinese reader is offered the Chinese terms first, the codes after them.
        assert caught.value.text("zh").startswith("应填写以下之一：户主、配偶、子女、父母、孙子女、其他（或代码 head、")

    @pytest.mark.parametrize(("text", "value"), [
        ("2017", "2017"), ("2017-03", "2017-03"), ("2017-3", "2017-03"), ("2017年3月", "2017-03"),
        ("2017/03", "2017-03"), (2017, "2017"),
    ])
    def test_periods(self, text: str | int, value: str) -> None:
        assert parse.period(text) == value

    def test_a_thirteenth_month(self) -> None:
        with refused("error.import.period_month"):
            parse.period("2017-13")

    def test_disability_levels(self) -> None:
        assert parse.disability_level("二级") == 2
        assert parse.disability_level("1") == 1
        with refused("error.import.disability_level"):
            parse.disability_level("5")


class TestAsciiDigitsOnly:
    """Python's \\d, str.isdigit(), int(), float() and Decimal() all read other scripts'
    digits (Arabic-Indic ١٢٣, fullwidth １２３, superscripts); no county system writes them."""

    @pytest.mark.parametrize(("parser", "text"), [
        (parse.id_number, "٤٣٠٦٨١١٩٥٢٠٣٠٤١٢٣٧"),
        (parse.id_number, "４３０６８１５２０３０４１２３"),  # the legacy 15-digit form
        (parse.account_number, "６２２８４８０４０２５６４８９００１８"),
        (parse.money_fen, "١٢٣"),
        (parse.money_fen, "１２３.５０"),
        (parse.integer, "١٢٣"),
        (parse.integer, "²"),
        (parse.year, "٢٠١٧"),
        (parse.period, "٢٠١٧-03"),
        (parse.period, "2017-٠٣"),
        (parse.a_date, "٢٠١٧-03-05"),
        (parse.a_date, "2017/３/5"),
        (parse.disability_level, "٢"),
        (parse.number, "١٢٣"),
        (parse.number, "1_000"),
    ])
    def test_other_digits_are_errors(self, parser, text: str) -> None:  # noqa: ANN001
        with pytest.raises(parse.CellError):
            parser(text)

    def test_ascii_digits_still_read(self) -> None:
        assert parse.integer("123") == 123 and parse.money_fen("123") == 12300 and parse.number("1.5e3") == 1500.0


class TestBounds:
    def test_the_largest_amount_is_a_trillion_yuan(self) -> None:
        assert parse.money_fen("1000000000000") == 10**14
        assert parse.money_fen("1,000,000,000,000.00") == 10**14

    @pytest.mark.parametrize("raw", ["1000000000000.01", "99999999999999999999.99", "92233720368547758.08",
                                     10**20, 1e15])
    def test_more_is_an_error(self, raw: str | int | float) -> None:
        with pytest.raises(parse.CellError) as caught:
            parse.money_fen(raw)
        assert caught.value.message_id in {"error.import.amount_too_large", "error.import.amount_form"}
        if caught.value.message_id == "error.import.amount_too_large":
            assert caught.value.fields == {"most": 10**12} and "1,000,000,000,000 yuan" in str(caught.value)

    def test_a_third_decimal_is_found_past_decimal_precision(self) -> None:
        # Decimal arithmetic rounds to 28 digits: times 100 this would look whole.
        with refused("error.import.amount_decimals"):
            parse.money_fen("1." + "0" * 40 + "1")

    @pytest.mark.parametrize("text", ["1899-12-31", "0001-01-01", "9999-12-31", "2101-01-01", "2101年1月1日"])
    def test_implausible_dates(self, text: str) -> None:
        with refused("error.import.date_implausible", first=1900, last=2100):
            parse.a_date(text)

    def test_plausible_dates_at_the_edges(self) -> None:
        assert parse.a_date("1900-01-01") == date(1900, 1, 1)
        assert parse.a_date("2100-12-31") == date(2100, 12, 31)
        with refused("error.import.date_implausible", date="1899-12-30"):
            parse.a_date(datetime(1899, 12, 30))  # an Excel date cell holding 0

    @pytest.mark.parametrize("raw", ["inf", "-inf", "nan", "infinity", "1e400", "1e13", float("inf"), float("nan"),
                                     10**30, 1e300])
    def test_numbers_are_finite_and_plausible(self, raw: str | float | int) -> None:
        with pytest.raises(parse.CellError):
            parse.number(raw)

    @pytest.mark.parametrize("raw", ["2147483648", "-2147483648", "1" * 5000, 1e300])
    def test_whole_numbers_fit_the_database(self, raw: str | float) -> None:
        with refused("error.import.integer_too_large", most=2**31 - 1):
            parse.integer(raw)

    def test_the_largest_whole_number(self) -> None:
        assert parse.integer("2147483647") == 2**31 - 1
        assert parse.integer("-0000000000001") == -1


class TestText:
    @pytest.mark.parametrize(("text", "message_id", "fields", "english"), [
        ("民\x00政", "error.import.text_nul", {}, "NUL character"),
        ("\ud800", "error.import.text_surrogate", {"code": "\\ud800"}, "unpaired surrogate (\\ud800)"),
        ("中\udfff文", "error.import.text_surrogate", {"code": "\\udfff"}, "unpaired surrogate (\\udfff)"),
        ("x" * 32_768, "error.import.text_too_long", {"limit": 32_767, "length": 32_768},
         "longer than 32,767 characters (32,768)"),
    ])
    def test_what_no_record_can_hold_is_an_error_in_every_text_cell(self, text: str, message_id: str,
                                                                     fields: dict[str, Any], english: str) -> None:
        for parser in (parse.key_text, parse.id_number, parse.money_fen, parse.a_date, RELATION):
            with pytest.raises(parse.CellError) as caught:
                parser(text)
            assert (caught.value.message_id, caught.value.fields) == (message_id, fields)
            assert english in str(caught.value)  # str() is the English text, for logs

    def test_a_cell_at_the_limit_is_kept(self) -> None:
        assert parse.key_text("x" * 32_767) == "x" * 32_767

    def test_a_report_shows_such_text_escaped_and_short(self) -> None:
        assert parse.shown(" 民\x00政\ud800 ") == "民\\x00政\\ud800"
        assert parse.shown("x" * 5000) == "x" * 200 + "… (5,000 characters)"
        assert parse.shown(None) is None and parse.shown(12) == "12"

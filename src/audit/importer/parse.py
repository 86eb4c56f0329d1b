"""Parsing of single cell values as interchange-v1 defines them.

Each parser takes what a cell holds (a string from CSV; from an ``.xlsx`` cell also an int,
a float or a datetime) and returns the stored value or raises :class:`CellError` with the
reason a user reads. Warnings (the value is kept) are raised as :class:`CellWarning`
carrying the value. Identifiers are never read as numbers.

Digits are ASCII digits only, everywhere: Python's ``\\d``, ``str.isdigit()``, ``int()``,
``float()`` and ``Decimal()`` all accept other scripts' digits (``١٢٣`` is 123 to them),
and no county system writes those, so a cell holding them is an error, not a number.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from stdnum import luhn, numdb
from stdnum.cn import ric, uscc
from stdnum.exceptions import ValidationError

from audit.config import get_settings

Raw = str | int | float | datetime | date | None

_DIGITS = re.compile(r"[0-9]+")
# Any surrogate code point in a str is unpaired: a valid pair is decoded into one character.
_SURROGATE = re.compile("[\ud800-\udfff]")
# Dates and years outside these are typing errors (0001-01-01, 9999-12-31), not records.
FIRST_YEAR, LAST_YEAR = 1900, 2100
# The most any amount may be: a county's whole budget is far below a trillion yuan, and the
# bound keeps every amount in fen well inside a 64-bit integer (10^14 < 2^63).
MAX_YUAN = 10**12
# Physical quantities (km, kW, households, shares) beyond this are typing errors.
MAX_NUMBER = 1e12
# PostgreSQL's integer: the whole numbers stored (beneficiary households, years) fit it.
MAX_INTEGER = 2**31 - 1
# How much of a refused cell a report quotes back.
SHOWN_CHARS = 200


class CellError(ValueError):
    """The cell cannot be stored; the message is the reason shown to the user."""


class CellWarning(Exception):  # noqa: N818 - it is a warning, carried as an exception
    """The cell is stored as ``value`` but the user should look at it."""

    def __init__(self, value: object, reason: str) -> None:
        super().__init__(reason)
        self.value = value
        self.reason = reason


def _plain_text(raw: Raw) -> str | None:
    """A cell as trimmed text; empty is None. Checks nothing."""
    if raw is None:
        return None
    if isinstance(raw, str):
        text = raw.strip().replace("\u3000", " ").strip()
        return text or None
    if isinstance(raw, bool):
        return "1" if raw else "0"
    if isinstance(raw, int):
        return str(raw)
    if isinstance(raw, float):
        if raw.is_integer():
            return str(int(raw))
        return repr(raw)
    if isinstance(raw, datetime):
        return raw.date().isoformat()
    return str(raw)


def as_text(raw: Raw) -> str | None:
    """A cell as trimmed text; empty is None. Every parser reads text through here, so no
    stored text holds what PostgreSQL cannot store (NUL) or what is not a character at all
    (an unpaired surrogate, which only a JSON escape such as ``\\ud800`` can produce), and no
    cell is longer than the limit."""
    text = _plain_text(raw)
    if text is None or not isinstance(raw, str):
        return text
    limit = get_settings().max_cell_chars
    if len(text) > limit:
        raise CellError(f"text is longer than {limit:,} characters ({len(text):,})")
    if "\x00" in text:
        raise CellError("text contains a NUL character (\\x00), which no record may hold")
    if not text.isascii() and (found := _SURROGATE.search(text)):
        raise CellError(f"text contains an unpaired surrogate (\\u{ord(found.group()):04x}), which is not a character")
    return text


def _escape(found: re.Match[str]) -> str:
    return f"\\u{ord(found.group()):04x}"


def shown(raw: Raw) -> str | None:
    """A cell as a report quotes it: like :func:`as_text` but never refusing. NUL and
    unpaired surrogates are shown as escapes (so the report can be stored and sent as JSON)
    and a long cell is cut to its first characters."""
    text = _plain_text(raw)
    if text is None or not isinstance(raw, str):
        return text
    length = len(text)
    if length > SHOWN_CHARS:
        text = text[:SHOWN_CHARS]
    text = _SURROGATE.sub(_escape, text.replace("\x00", "\\x00"))
    return f"{text}… ({length:,} characters)" if length > SHOWN_CHARS else text


def _identifier_text(raw: Raw, what: str) -> str | None:
    """An identifier cell as text, refusing numbers whose digits Excel may have rounded."""
    if isinstance(raw, float):
        raise CellError(
            f"{what} is stored as a number in the workbook and may have lost digits "
            "(format the column as text and export again)"
        )
    return as_text(raw)


# ---------------------------------------------------------------- identifiers

_ID_CHARS = re.compile(r"[0-9]{17}[0-9X]")


@lru_cache(maxsize=8192)
def _known_region(code: str) -> bool:
    """Whether the code names a county in any year. The register's validity years are not
    checked: an ID carries the code of the place of registration when it was issued, so
    a person born in 1952 can rightly carry a code created in 1989."""
    info = {k: v for _part, props in numdb.get("cn/loc").info(code) for k, v in props.items()}
    return "county" in info


def id_number(raw: Raw) -> str | None:
    """An 18-character resident ID (GB 11643); the 15-digit legacy form is converted."""
    text = _identifier_text(raw, "ID number")
    if text is None:
        return None
    number = text.replace(" ", "").upper()
    if len(number) == 15:
        if not _DIGITS.fullmatch(number):
            raise CellError("15-digit ID number must be all digits")
        # Legacy IDs carry a 2-digit year of the 1900s and no check character.
        body = number[:6] + "19" + number[6:]
        number = body + ric.calc_check_digit(body + "0")
    if len(number) != 18:
        raise CellError(f"ID number must have 18 characters (or the legacy 15), not {len(number)}")
    if not _ID_CHARS.fullmatch(number):
        raise CellError("ID number must be 17 digits and a check character 0-9 or X")
    expected = ric.calc_check_digit(number)
    if number[-1] != expected:
        raise CellError(f"ID number check character is {number[-1]}, expected {expected}")
    try:
        born = ric.get_birth_date(number)
    except ValidationError:
        raise CellError(f"ID number birth date {number[6:14]} is not a real date") from None
    if born > date.today() or born.year < 1890:
        raise CellError(f"ID number birth date {born.isoformat()} is out of range")
    if not _known_region(number[:6]):
        raise CellWarning(number, f"region code {number[:6]} is not a known county code")
    return number


def uscc_code(raw: Raw) -> str | None:
    """An 18-character unified social credit code (GB 32100) with its check character."""
    text = _identifier_text(raw, "credit code")
    if text is None:
        return None
    code = text.replace(" ", "").upper()
    try:
        return uscc.validate(code)
    except ValidationError as exc:
        reason = {
            "InvalidLength": f"credit code must have 18 characters, not {len(code)}",
            "InvalidChecksum": "credit code check character is wrong",
        }.get(type(exc).__name__, f"not a valid unified social credit code ({exc.message})")
        raise CellError(reason) from None


def account_number(raw: Raw) -> str | None:
    """A bank card or account number: digits only after removing spaces."""
    if isinstance(raw, float):
        raise CellError(
            "account number is stored as a number in the workbook and may have lost digits "
            "(format the column as text and export again)"
        )
    text = as_text(raw)
    if text is None:
        return None
    number = text.replace(" ", "").replace("-", "")
    if not _DIGITS.fullmatch(number):
        raise CellError("account number must contain only digits")
    if not 6 <= len(number) <= 30:
        raise CellError(f"account number has {len(number)} digits; expected 6 to 30")
    if 16 <= len(number) <= 19 and luhn.checksum(number) != 0:
        # Passbook accounts carry no Luhn digit, so this is a warning only.
        raise CellWarning(number, "card number fails the Luhn check")
    return number


def person_or_org_id(kind: str | None, raw: Raw) -> str | None:
    """An ``id_number`` when ``kind`` is person, a ``uscc`` when it is org."""
    return uscc_code(raw) if kind == "org" else id_number(raw)


def key_text(raw: Raw) -> str | None:
    """A key or free text; a number from a workbook is read back as its digits."""
    return as_text(raw)


# ---------------------------------------------------------------- dates, money, numbers

_DATE_FORMS = (
    re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})"),
    re.compile(r"([0-9]{4})/([0-9]{1,2})/([0-9]{1,2})"),
    re.compile(r"([0-9]{4})年([0-9]{1,2})月([0-9]{1,2})日"),
)


def _plausible(value: date) -> date:
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise CellError(f"{value.isoformat()} is not a plausible date (years {FIRST_YEAR}-{LAST_YEAR})")
    return value


def a_date(raw: Raw) -> date | None:
    """``YYYY-MM-DD``, ``YYYY/M/D``, ``YYYY年M月D日`` or a workbook date cell, in 1900-2100."""
    if isinstance(raw, datetime):
        return _plausible(raw.date())
    if isinstance(raw, date):
        return _plausible(raw)
    text = as_text(raw)
    if text is None:
        return None
    # A datetime rendered as text ("2017-03-01 00:00:00") still names a date.
    if " " in text and text.endswith("00:00:00"):
        text = text.split(" ", 1)[0]
    for form in _DATE_FORMS:
        match = form.fullmatch(text)
        if match:
            year, month, day = (int(part) for part in match.groups())
            try:
                found = date(year, month, day)
            except ValueError:
                raise CellError(f"{text} is not a real date") from None
            return _plausible(found)
    raise CellError("not a date; use YYYY-MM-DD, YYYY/M/D or YYYY年M月D日")


_MONEY_STRIP = str.maketrans("", "", ",，¥￥ 元")
_AMOUNT = re.compile(r"-?[0-9]+(\.[0-9]+)?")
_CENT = Decimal("0.01")


def money_fen(raw: Raw) -> int | None:
    """Yuan with at most 2 decimals, stored as integer fen. Never a float in between."""
    if raw is None:
        return None
    if isinstance(raw, bool):
        raise CellError("not an amount")
    if isinstance(raw, int):
        yuan = Decimal(raw)
    else:
        # A workbook float is read through its shortest repr, which is what Excel shows.
        text = repr(raw) if isinstance(raw, float) else as_text(raw)
        if text is None:
            return None
        if "万" in text:
            raise CellError("amounts are in yuan; 万元 is not accepted")
        cleaned = text.translate(_MONEY_STRIP)
        if not _AMOUNT.fullmatch(cleaned):
            raise CellError("not an amount in yuan (e.g. 1250.50)")
        try:
            yuan = Decimal(cleaned)
        except InvalidOperation:
            raise CellError("not an amount in yuan") from None
    if yuan < 0:
        raise CellError("amount is negative")
    if yuan > MAX_YUAN:
        raise CellError(f"amount is more than {MAX_YUAN:,} yuan")
    # Compared, not multiplied: Decimal arithmetic rounds to 28 digits, so 1.000…0001 times
    # 100 would look whole. Under the bound the quantized value has at most 15 digits: exact.
    cents = yuan.quantize(_CENT)
    if cents != yuan:
        raise CellError("amount has more than 2 decimals")
    return int(cents * 100)


_INTEGER = re.compile(r"-?[0-9]+")
_NUMBER = re.compile(r"-?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?")


def integer(raw: Raw) -> int | None:
    """A whole number that fits the database's integer."""
    if isinstance(raw, float) and raw.is_integer():
        value = int(raw)
    else:
        text = as_text(raw)
        if text is None:
            return None
        if not _INTEGER.fullmatch(text):
            raise CellError("not a whole number")
        # By length before int(), which refuses strings of over 4,300 digits with a ValueError.
        if len(text.lstrip("-").lstrip("0")) > len(str(MAX_INTEGER)):
            raise CellError("whole number is too large")
        value = int(text)
    if abs(value) > MAX_INTEGER:
        raise CellError("whole number is too large")
    return value


def number(raw: Raw) -> float | None:
    """A physical quantity (km, kW, households): not money, so a float is fine, but a
    finite one of a plausible size."""
    if isinstance(raw, int | float):
        if isinstance(raw, int) and abs(raw) > MAX_NUMBER:  # float() of a huge int overflows
            raise CellError(f"number is larger than {MAX_NUMBER:,.0f}")
        value = float(raw)
    else:
        text = as_text(raw)
        if text is None:
            return None
        cleaned = text.replace(",", "").replace("%", "")
        if not _NUMBER.fullmatch(cleaned):
            raise CellError("not a number")
        value = float(cleaned)
    if math.isnan(value):
        raise CellError("not a number")
    if value < 0:
        raise CellError("must not be negative")
    if value > MAX_NUMBER:
        raise CellError(f"number is larger than {MAX_NUMBER:,.0f}")
    return value


def year(raw: Raw) -> int | None:
    value = integer(raw)
    if value is not None and not 1949 <= value <= 2100:
        raise CellError("not a plausible year")
    return value


_TRUE = {"1", "true", "t", "是", "y", "yes"}
_FALSE = {"0", "false", "f", "否", "n", "no"}


def boolean(raw: Raw) -> bool | None:
    if isinstance(raw, bool):
        return raw
    text = as_text(raw)
    if text is None:
        return None
    folded = text.lower()
    if folded in _TRUE:
        return True
    if folded in _FALSE:
        return False
    raise CellError("not a yes/no value; use 1/0, true/false, 是/否 or Y/N")


def disability_level(raw: Raw) -> int | None:
    text = as_text(raw)
    if text is None:
        return None
    text = text.removesuffix("级")
    text = {"一": "1", "二": "2", "三": "3", "四": "4"}.get(text, text)
    if text not in {"1", "2", "3", "4"}:
        raise CellError("disability level must be 1-4 (1 most severe)")
    return int(text)


_PERIOD_FORMS = (
    (re.compile(r"([0-9]{4})"), False),
    (re.compile(r"([0-9]{4})[-/.]([0-9]{1,2})"), True),
    (re.compile(r"([0-9]{4})年([0-9]{1,2})月?"), True),
    (re.compile(r"([0-9]{4})年?"), False),
)


def period(raw: Raw) -> str | None:
    """``2017`` for a yearly or one-off program, ``2017-03`` for a monthly one."""
    text = _identifier_text(raw, "period") if not isinstance(raw, int) else str(raw)
    if text is None:
        return None
    for form, has_month in _PERIOD_FORMS:
        match = form.fullmatch(text)
        if match:
            year_part = int(match.group(1))
            if not 1949 <= year_part <= 2100:
                break
            if not has_month:
                return f"{year_part:04d}"
            month = int(match.group(2))
            if not 1 <= month <= 12:
                raise CellError("month must be 01-12")
            return f"{year_part:04d}-{month:02d}"
    raise CellError("period must be YYYY or YYYY-MM")


def percentage(raw: Raw) -> float | None:
    value = number(raw)
    if value is not None and value > 100:
        raise CellError("a share cannot exceed 100%")
    return value


class Enum:
    """An enumeration: the English code or a Chinese term for it."""

    def __init__(self, terms: dict[str, tuple[str, ...]]) -> None:
        self.codes = tuple(terms)
        self._lookup: dict[str, str] = {}
        for code, chinese in terms.items():
            self._lookup[code.lower()] = code
            for term in chinese:
                self._lookup[term] = code

    def __call__(self, raw: Raw) -> str | None:
        text = as_text(raw)
        if text is None:
            return None
        code = self._lookup.get(text) or self._lookup.get(text.lower())
        if code is None:
            raise CellError(f"must be one of {', '.join(self.codes)}")
        return code

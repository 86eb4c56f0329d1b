"""Parsing of single cell values as interchange-v1 defines them.

Each parser takes what a cell holds (a string from CSV; from an ``.xlsx`` cell also an int,
a float or a datetime) and returns the stored value or raises :class:`CellError` naming the
reason's message (``error.import.*``) and its fields, rendered in the reader's language
where the report is shown. Warnings (the value is kept) are raised as :class:`CellWarning`
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
from typing import Any

from stdnum import luhn, numdb
from stdnum.cn import ric, uscc
from stdnum.exceptions import ValidationError

from audit.config import get_settings
from audit.errors import MessageError

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
# The fewest and most digits of a bank card or account number.
ACCOUNT_DIGITS = (6, 30)
# Years a year column (exit year) may hold.
FIRST_RECORD_YEAR = 1949


class CellError(MessageError, ValueError):
    """The cell cannot be stored: ``message_id`` and ``fields`` are the reason shown to the
    user (``str()`` is its English text)."""


class CellWarning(MessageError):  # noqa: N818 - it is a warning, carried as an exception
    """The cell is stored as ``value`` but the user should look at it, for the reason
    ``message_id`` with ``fields``."""

    def __init__(self, value: object, message_id: str, /, **fields: Any) -> None:
        super().__init__(message_id, **fields)
        self.value = value

    @property
    def reason(self) -> str:
        """The English text (what the warning said before it had a message id)."""
        return self.text("en")


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
        raise CellError("error.import.text_too_long", limit=limit, length=len(text))
    if "\x00" in text:
        raise CellError("error.import.text_nul")
    if not text.isascii() and (found := _SURROGATE.search(text)):
        raise CellError("error.import.text_surrogate", code=f"\\u{ord(found.group()):04x}")
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


def _identifier_text(raw: Raw, as_number: str) -> str | None:
    """An identifier cell as text, refusing numbers whose digits Excel may have rounded
    (``as_number`` is the message saying so for this kind of identifier)."""
    if isinstance(raw, float):
        raise CellError(as_number)
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
    text = _identifier_text(raw, "error.import.id_number_is_a_number")
    if text is None:
        return None
    number = text.replace(" ", "").upper()
    if len(number) == 15:
        if not _DIGITS.fullmatch(number):
            raise CellError("error.import.id_number_legacy_digits")
        # Legacy IDs carry a 2-digit year of the 1900s and no check character.
        body = number[:6] + "19" + number[6:]
        number = body + ric.calc_check_digit(body + "0")
    if len(number) != 18:
        raise CellError("error.import.id_number_length", length=len(number))
    if not _ID_CHARS.fullmatch(number):
        raise CellError("error.import.id_number_form")
    expected = ric.calc_check_digit(number)
    if number[-1] != expected:
        raise CellError("error.import.id_number_check", found=number[-1], expected=expected)
    # The birth date is a field a masked reader's report hides (masking's BIRTH_FIELDS).
    try:
        born = ric.get_birth_date(number)
    except ValidationError:
        raise CellError("error.import.id_number_birth_date", birth_date=number[6:14]) from None
    if born > date.today() or born.year < 1890:
        raise CellError("error.import.id_number_birth_range", born=born.isoformat())
    if not _known_region(number[:6]):
        raise CellWarning(number, "warning.import.region_unknown", region=number[:6])
    return number


def uscc_code(raw: Raw) -> str | None:
    """An 18-character unified social credit code (GB 32100) with its check character."""
    text = _identifier_text(raw, "error.import.uscc_is_a_number")
    if text is None:
        return None
    code = text.replace(" ", "").upper()
    try:
        return uscc.validate(code)
    except ValidationError as exc:
        kind = type(exc).__name__
    if kind == "InvalidLength":
        raise CellError("error.import.uscc_length", length=len(code))
    if kind == "InvalidChecksum":  # the format is right, so the check character can be computed
        raise CellError("error.import.uscc_check", found=code[-1], expected=uscc.calc_check_digit(code))
    if kind == "InvalidFormat":
        raise CellError("error.import.uscc_form")
    raise CellError("error.import.uscc_invalid")


def account_number(raw: Raw) -> str | None:
    """A bank card or account number: digits only after removing spaces."""
    text = _identifier_text(raw, "error.import.account_is_a_number")
    if text is None:
        return None
    number = text.replace(" ", "").replace("-", "")
    if not _DIGITS.fullmatch(number):
        raise CellError("error.import.account_digits")
    if not ACCOUNT_DIGITS[0] <= len(number) <= ACCOUNT_DIGITS[1]:
        raise CellError("error.import.account_length", length=len(number), least=ACCOUNT_DIGITS[0],
                        most=ACCOUNT_DIGITS[1])
    if 16 <= len(number) <= 19 and luhn.checksum(number) != 0:
        # Passbook accounts carry no Luhn digit, so this is a warning only.
        raise CellWarning(number, "warning.import.card_luhn")
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
        raise CellError("error.import.date_implausible", date=value.isoformat(), first=FIRST_YEAR, last=LAST_YEAR)
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
                raise CellError("error.import.date_not_real", date=text) from None
            return _plausible(found)
    raise CellError("error.import.not_a_date")


_MONEY_STRIP = str.maketrans("", "", ",，¥￥ 元")
_AMOUNT = re.compile(r"-?[0-9]+(\.[0-9]+)?")
_CENT = Decimal("0.01")


def money_fen(raw: Raw) -> int | None:
    """Yuan with at most 2 decimals, stored as integer fen. Never a float in between."""
    if raw is None:
        return None
    if isinstance(raw, bool):
        raise CellError("error.import.not_an_amount")
    if isinstance(raw, int):
        yuan = Decimal(raw)
    else:
        # A workbook float is read through its shortest repr, which is what Excel shows.
        text = repr(raw) if isinstance(raw, float) else as_text(raw)
        if text is None:
            return None
        if "万" in text:
            raise CellError("error.import.amount_in_wan")
        cleaned = text.translate(_MONEY_STRIP)
        if not _AMOUNT.fullmatch(cleaned):
            raise CellError("error.import.amount_form")
        try:
            yuan = Decimal(cleaned)
        except InvalidOperation:
            raise CellError("error.import.amount_form") from None
    if yuan < 0:
        raise CellError("error.import.amount_negative")
    if yuan > MAX_YUAN:
        raise CellError("error.import.amount_too_large", most=MAX_YUAN)
    # Compared, not multiplied: Decimal arithmetic rounds to 28 digits, so 1.000…0001 times
    # 100 would look whole. Under the bound the quantized value has at most 15 digits: exact.
    cents = yuan.quantize(_CENT)
    if cents != yuan:
        raise CellError("error.import.amount_decimals")
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
            raise CellError("error.import.not_an_integer")
        # By length before int(), which refuses strings of over 4,300 digits with a ValueError.
        if len(text.lstrip("-").lstrip("0")) > len(str(MAX_INTEGER)):
            raise CellError("error.import.integer_too_large", most=MAX_INTEGER)
        value = int(text)
    if abs(value) > MAX_INTEGER:
        raise CellError("error.import.integer_too_large", most=MAX_INTEGER)
    return value


def number(raw: Raw) -> float | None:
    """A physical quantity (km, kW, households): not money, so a float is fine, but a
    finite one of a plausible size."""
    if isinstance(raw, int | float):
        if isinstance(raw, int) and abs(raw) > MAX_NUMBER:  # float() of a huge int overflows
            raise CellError("error.import.number_too_large", most=int(MAX_NUMBER))
        value = float(raw)
    else:
        text = as_text(raw)
        if text is None:
            return None
        cleaned = text.replace(",", "").replace("%", "")
        if not _NUMBER.fullmatch(cleaned):
            raise CellError("error.import.not_a_number")
        value = float(cleaned)
    if math.isnan(value):
        raise CellError("error.import.not_a_number")
    if value < 0:
        raise CellError("error.import.number_negative")
    if value > MAX_NUMBER:
        raise CellError("error.import.number_too_large", most=int(MAX_NUMBER))
    return value


def year(raw: Raw) -> int | None:
    value = integer(raw)
    if value is not None and not FIRST_RECORD_YEAR <= value <= LAST_YEAR:
        raise CellError("error.import.year_implausible", first=FIRST_RECORD_YEAR, last=LAST_YEAR)
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
    raise CellError("error.import.not_a_boolean")


def disability_level(raw: Raw) -> int | None:
    text = as_text(raw)
    if text is None:
        return None
    text = text.removesuffix("级")
    text = {"一": "1", "二": "2", "三": "3", "四": "4"}.get(text, text)
    if text not in {"1", "2", "3", "4"}:
        raise CellError("error.import.disability_level")
    return int(text)


_PERIOD_FORMS = (
    (re.compile(r"([0-9]{4})"), False),
    (re.compile(r"([0-9]{4})[-/.]([0-9]{1,2})"), True),
    (re.compile(r"([0-9]{4})([0-9]{2})"), True),  # 发放期号 201803, as one-card systems write it
    (re.compile(r"([0-9]{4})年([0-9]{1,2})月?"), True),
    (re.compile(r"([0-9]{4})年?"), False),
)


def period(raw: Raw) -> str | None:
    """``2017`` for a yearly or one-off program, ``2017-03`` for a monthly one."""
    text = _identifier_text(raw, "error.import.period_is_a_number") if not isinstance(raw, int) else str(raw)
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
                raise CellError("error.import.period_month")
            return f"{year_part:04d}-{month:02d}"
    raise CellError("error.import.period_form")


def percentage(raw: Raw) -> float | None:
    value = number(raw)
    if value is not None and value > 100:
        raise CellError("error.import.share_over_100")
    return value


class Enum:
    """An enumeration: the English code or a Chinese term for it."""

    def __init__(self, terms: dict[str, tuple[str, ...]]) -> None:
        self.codes = tuple(terms)
        # What a refusal offers: each code's first Chinese term, once (two codes may share one).
        self.terms = list(dict.fromkeys(chinese[0] for chinese in terms.values() if chinese))
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
            raise CellError("error.import.not_in_enum", codes=list(self.codes), terms=self.terms)
        return code

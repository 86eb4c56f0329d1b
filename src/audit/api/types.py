"""Request types shared by the routers, bounded so that no input reaches the database in
a form it cannot hold: ASCII digits only, money up to 10^12 yuan, dates 1900-2100, row
ids within a 32-bit key."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Path
from pydantic import AfterValidator, Field

FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(2100, 12, 31)


def _plausible(day: date) -> date:
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ValueError("a date between 1900-01-01 and 2100-12-31")
    return day


# Keys of stored rows: bounded, so an absurd number is a 422, not a database overflow.
RowId = Annotated[int, Path(ge=1, le=2_147_483_647)]
Day = Annotated[date, AfterValidator(_plausible)]
# Yuan with at most 2 decimals and at most 10^12 yuan, in ASCII digits (pydantic's \d is
# Unicode-aware: it would take Arabic-Indic digits).
YUAN_PATTERN = r"^[0-9]{1,13}(\.[0-9]{1,2})?$"
Yuan = Annotated[str, Field(pattern=YUAN_PATTERN, max_length=16)]
CODE_PATTERN = r"^[A-Za-z]{2}-?[0-9]{2}$"
Code = Annotated[str, Field(pattern=CODE_PATTERN)]
ShortText = Annotated[str, Field(min_length=1, max_length=200)]
LongText = Annotated[str, Field(min_length=1, max_length=4000)]
Name = Annotated[str, Field(min_length=1, max_length=80)]


def normal_code(code: str) -> str:
    """``dc06`` → ``DC-06``."""
    code = code.upper()
    return code if "-" in code else f"{code[:2]}-{code[2:]}"

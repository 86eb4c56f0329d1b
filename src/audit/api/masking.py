"""Personal numbers masked on the server: a resident ID shows its first 2 and last 3
characters (43*************12X), an account its last 4 digits; never a birth date."""

from __future__ import annotations

import re
from typing import Any

_ID = re.compile(r"(?<![0-9A-Za-z])(\d{2})\d{13}(\d{2}[\dX])(?![0-9A-Za-z])")
_ACCOUNT = re.compile(r"(?<![0-9])\d{8,26}(\d{4})(?![0-9])")


def mask_text(text: str) -> str:
    text = _ID.sub(lambda m: f"{m.group(1)}{'*' * 13}{m.group(2)}", text)
    return _ACCOUNT.sub(lambda m: f"{'*' * (len(m.group(0)) - 4)}{m.group(1)}", text)


def mask(value: Any) -> Any:
    """A JSON-like value with every ID and account number in it masked."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, list):
        return [mask(v) for v in value]
    if isinstance(value, dict):
        return {k: mask(v) for k, v in value.items()}
    return value

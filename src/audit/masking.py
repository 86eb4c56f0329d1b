"""Personal numbers masked on the server, by what a value is, not by what it looks like.

A resident ID shows its first 2 and last 3 characters (``43*************12X``), an
account number its last 4 digits (``***************9920``); a birth date shows nothing.
Which values are personal is known from their field (``id_number``, ``card_account``,
``payee_id`` when the payee is a person ...), so codes that are not personal data —
village codes, household and project IDs, organizations' credit codes, invoice numbers —
are never masked, however many digits they have. Only free text of unknown shape (an
imported cell quoted in an error, a comment) falls back to :func:`mask_text`, which masks
what is certainly a resident ID or a bank card.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from stdnum import luhn
from stdnum.cn import ric

# Fields whose value is a resident ID number.
ID_FIELDS = frozenset({"id_number", "head_id_number", "legal_rep_id_number", "id_number_a", "id_number_b",
                       "member_id_number", "official_id_number", "holder_id_number", "payee_id_number"})
# Fields whose value is a bank card or account number.
ACCOUNT_FIELDS = frozenset({"card_account", "payee_account", "account_number", "account", "from_account",
                            "to_account", "card", "accounts", "cards"})
# Fields that are a birth date: shown to no one who sees the ID masked.
BIRTH_FIELDS = frozenset({"born", "birth_date"})
# Fields holding a resident ID or a credit code, as the named kind field says.
KIND_OF = {"payee_id": "payee_kind", "holder_id": "holder_kind"}
# Record kinds (evidence, subjects) whose key is personal, and how their key splits.
PERSONAL_KEY_PARTS: dict[str, tuple[str, ...]] = {
    "person": ("id_number",), "death": ("id_number",), "account": ("account_number",),
    "public_employee": ("id_number", "", ""), "vehicle": ("id_number", ""), "shareholder": ("", "id_number"),
    "kinship": ("id_number", "id_number", ""), "real_estate": ("id_number", ""),
    "household_event": ("id_number", "", ""), "detention": ("id_number", ""), "pension": ("id_number", ""),
    "school_enrolment": ("id_number", ""), "disability_certificate": ("id_number", ""),
}

STARS = "*"


def mask_id(value: str) -> str:
    value = str(value)
    if len(value) < 6:
        return STARS * len(value)
    return f"{value[:2]}{STARS * (len(value) - 5)}{value[-3:]}"


def mask_account(value: str) -> str:
    value = str(value)
    if len(value) <= 4:
        return STARS * len(value)
    return f"{STARS * (len(value) - 4)}{value[-4:]}"


def mask_birth(_value: Any) -> str:
    return "****-**-**"


def _mask_scalar(name: str, value: Any, kinds: Mapping[str, Any]) -> Any:
    if value is None or value == "":
        return value
    if isinstance(value, list | tuple):
        return [_mask_scalar(name, item, kinds) for item in value]
    if name in ID_FIELDS:
        return mask_id(value)
    if name in ACCOUNT_FIELDS:
        return mask_account(value)
    if name in BIRTH_FIELDS:
        return mask_birth(value)
    kind_field = KIND_OF.get(name)
    if kind_field is not None and kinds.get(kind_field, "person") == "person":
        return mask_id(value)
    return value


def mask_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    """A record's or a message's fields with the personal ones masked (nested dicts too)."""
    out: dict[str, Any] = {}
    for name, value in fields.items():
        if isinstance(value, Mapping):
            out[name] = mask_fields(value)
        elif isinstance(value, list) and any(isinstance(item, Mapping) for item in value):
            out[name] = [mask_fields(item) if isinstance(item, Mapping) else _mask_scalar(name, item, fields)
                         for item in value]
        else:
            out[name] = _mask_scalar(name, value, fields)
    return out


def mask_cell(column: str, value: Any) -> Any:
    """One cell of a table masked as its column says (an imported cell quoted in an error)."""
    return mask_fields({column: value})[column]


def mask_key(kind: str, key: str) -> str:
    """A record's key as a masked reader sees it: the personal parts of a stored record's
    key masked (a person's ID, an account), codes left as they are; a derived step's key
    (a comparison of two IDs, a search) through :func:`mask_text`."""
    parts = PERSONAL_KEY_PARTS.get(kind)
    if parts is None:
        return key if kind in NOT_PERSONAL_KINDS else mask_text(key)
    pieces = key.split("|")
    if len(pieces) != len(parts):
        return mask_text(key)
    return "|".join(_mask_scalar(part, piece, {}) if part else piece for part, piece in zip(parts, pieces,
                                                                                            strict=True))


# Record kinds whose keys are codes, never personal.
NOT_PERSONAL_KINDS = frozenset({"household", "project", "organization", "official", "disbursement", "card_payment",
                                "allocation", "program", "village", "town", "disclosure", "transfer",
                                "payment_batch", "paying_unit", "peer_group", "exclusive_group"})


def mask_ref(ref: Mapping[str, Any]) -> dict[str, Any]:
    """A subject or record reference ({kind, key, label ...}) masked."""
    out = dict(ref)
    if "key" in out and out.get("kind"):
        out["key"] = mask_key(str(out["kind"]), str(out["key"]))
    return out


_ID_CANDIDATE = re.compile(r"(?<![0-9A-Za-z])[0-9]{17}[0-9Xx](?![0-9A-Za-z])")
_CARD_CANDIDATE = re.compile(r"(?<![0-9A-Za-z])[0-9]{16,19}(?![0-9A-Za-z])")


def _is_resident_id(number: str) -> bool:
    number = number.upper()
    if ric.calc_check_digit(number) != number[-1]:
        return False
    try:
        ric.get_birth_date(number)
    except Exception:  # an impossible date: not an ID
        return False
    return True


def mask_text(text: str) -> str:
    """Free text of unknown shape with every valid resident ID and every Luhn-valid card
    number in it masked. Used only where a value's field is unknown."""
    text = _ID_CANDIDATE.sub(lambda m: mask_id(m.group(0)) if _is_resident_id(m.group(0)) else m.group(0), text)
    return _CARD_CANDIDATE.sub(lambda m: mask_account(m.group(0)) if luhn.is_valid(m.group(0)) else m.group(0), text)


def mask(value: Any) -> Any:
    """A JSON-like value of unknown shape with personal numbers masked: dict fields by
    their names, free text by :func:`mask_text`."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, list):
        return [mask(v) for v in value]
    if isinstance(value, dict):
        named = mask_fields({k: v for k, v in value.items() if not isinstance(v, dict | list)})
        return {k: (named[k] if k in named and named[k] != v else mask(v)) for k, v in value.items()}
    return value


class MaskingFilter(logging.Filter):
    """A logging filter that masks resident IDs and card numbers in a record's message (the
    access log writes request URLs, which may carry an inspector's query)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.args = tuple(mask_text(a) if isinstance(a, str) else a for a in
                                (record.args if isinstance(record.args, tuple) else (record.args,)))
        if isinstance(record.msg, str):
            record.msg = mask_text(record.msg)
        return True

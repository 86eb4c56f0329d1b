"""Every text a person reads, from a message catalogue: Simplified Chinese first, English too.

Messages have stable ids (``error.case_not_found``, ``evidence.card_payment``,
``flag.DC-06``); their texts live in gettext catalogues (``locales/<lang>/LC_MESSAGES/
messages.po``, read with Babel) as Python brace templates over named fields. Code never
glues sentences together: it names a message and its fields, and the text is rendered in
the reader's language when it is shown. Codes, kinds, keys and field names never change
with the language.

Field formatting follows the field's format spec in the template:

- ``{category:enum.purpose}`` renders the code through ``enum.purpose.<code>``;
- ``{amount:money}`` renders fen (an int) or a yuan string as ``1,234.50``;
- ``{attributes:enums.attribute}`` renders a list of codes, each through its enum;
- ``{homes:list}`` joins a list with the language's separator;
- ``{extras:clauses}`` renders a list of nested messages, each after a clause separator
  (nothing when the list is empty);
- a nested message (``{"message": id, "args": {...}}``) renders in the same language;
- anything else is ``str(value)``; None shows as a dash.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

LANGUAGES = ("zh", "en")
DEFAULT = "zh"
LOCALES = Path(__file__).with_name("locales")
_LIST_SEPARATOR = {"zh": "、", "en": ", "}
_CLAUSE_SEPARATOR = {"zh": "，", "en": ", "}


@lru_cache(maxsize=None)
def catalogue(lang: str) -> dict[str, str]:
    """The messages of one language: {message id: template}."""
    from babel.messages.pofile import read_po

    with (LOCALES / lang / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        parsed = read_po(handle, locale=lang)
    return {message.id: message.string for message in parsed if message.id and message.string}


def language(value: str | None) -> str:
    """A supported language for a tag such as ``zh-CN``, ``zh-Hans`` or ``en-US``."""
    if value:
        primary = value.strip().lower().replace("_", "-").split("-")[0]
        if primary in LANGUAGES:
            return primary
    return DEFAULT


def negotiate(accept_language: str | None, preferred: str | None = None) -> str:
    """The user's own setting when there is one, else the best match of an
    ``Accept-Language`` header, else Chinese."""
    if preferred in LANGUAGES:
        return preferred
    if not accept_language:
        return DEFAULT
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(accept_language.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        match = re.search(r"q=([0-9.]+)", params)
        if match:
            try:
                quality = float(match.group(1))
            except ValueError:
                quality = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in LANGUAGES and quality > 0:
            ranked.append((-quality, index, primary))
    return min(ranked)[2] if ranked else DEFAULT


def money(value: Any) -> str:
    """Fen (int) or a yuan string as ``1,234.50``: exact, never through a float."""
    if isinstance(value, int) and not isinstance(value, bool):
        amount = Decimal(value) / 100
    else:
        try:
            amount = Decimal(str(value))
        except ArithmeticError:
            return str(value)
    return f"{amount:,.2f}"


class _Field:
    """A field value that formats itself by the template's format spec."""

    __slots__ = ("value", "lang")

    def __init__(self, value: Any, lang: str) -> None:
        self.value = value
        self.lang = lang

    def _nested(self, value: Any) -> str:
        if isinstance(value, Mapping) and "message" in value:
            return t(str(value["message"]), self.lang, **dict(value.get("args") or {}))
        return str(value)

    def __format__(self, spec: str) -> str:
        value = self.value
        if spec == "clauses":
            items = [] if value is None else value if isinstance(value, list | tuple) else [value]
            return "".join(_CLAUSE_SEPARATOR[self.lang] + self._nested(item) for item in items)
        if value is None:
            return "—"
        if isinstance(value, Mapping) and "message" in value:
            return self._nested(value)
        if spec.startswith("enums."):
            items = value if isinstance(value, list | tuple) else [value]
            kind = spec.removeprefix("enums.")
            return _LIST_SEPARATOR[self.lang].join(enum(kind, str(item), self.lang) for item in items)
        if spec.startswith("enum."):
            return t(f"{spec}.{value}", self.lang) if has(f"{spec}.{value}") else str(value)
        if spec == "money":
            return money(value)
        if spec == "list":
            items = value if isinstance(value, list | tuple | set) else [value]
            return _LIST_SEPARATOR[self.lang].join(self._nested(item) for item in items)
        if spec:
            return format(value, spec)
        return str(value)

    def __str__(self) -> str:
        return format(self, "")


class _Fields(dict[str, Any]):
    def __init__(self, fields: Mapping[str, Any], lang: str) -> None:
        super().__init__({name: _Field(value, lang) for name, value in fields.items()})
        self.lang = lang

    def __missing__(self, name: str) -> str:
        return "{" + name + "}"  # a missing field shows as itself, never an exception


def has(message_id: str) -> bool:
    return message_id in catalogue(DEFAULT)


def t(message_id: str, lang: str = DEFAULT, /, **fields: Any) -> str:
    """The text of ``message_id`` in ``lang`` with its fields; English if the language
    lacks it (a test makes sure none does), the id itself if no catalogue has it."""
    lang = lang if lang in LANGUAGES else DEFAULT
    template = catalogue(lang).get(message_id) or catalogue("en").get(message_id)
    if template is None:
        return message_id
    return template.format_map(_Fields(fields, lang))


def enum(kind: str, code: str | None, lang: str = DEFAULT) -> str:
    """The reader's word for an enumeration code (``enum.purpose.infrastructure`` → 基础设施)."""
    if code is None:
        return ""
    message_id = f"enum.{kind}.{code}"
    return t(message_id, lang) if has(message_id) else code


def ids(prefix: str) -> Iterable[str]:
    """Every message id under ``prefix`` (``flag.``, ``family.``)."""
    return sorted(m for m in catalogue(DEFAULT) if m.startswith(prefix))


__all__ = ["DEFAULT", "LANGUAGES", "catalogue", "enum", "has", "language", "money", "negotiate", "t"]

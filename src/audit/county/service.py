"""The county's settings: what a notice prints (the county's name, its issuing units, the
notice period, 监督电话) and each red flag's thresholds in force.

A setting has a default (the service works before anyone sets anything) and a validator;
a change names its reason, goes into the settings' history with the old and the new value,
and onto the audit trail. Services read :func:`current` (every setting, defaults filled
in) and :func:`detector_overrides` (the thresholds a detection run uses); nothing else
reads the table.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Connection, insert, select, update

from audit import trail
from audit.auth.service import Principal
from audit.errors import ServiceError
from audit.models import CountySetting, SettingChange, Town, User

# The national poverty-alleviation hotline every notice prints (not a setting: it is the
# same in every county).
NATIONAL_HOTLINE = "12317"
# A phone number as a notice prints it: digits, and the separators people write.
PHONE = re.compile(r"^[0-9][0-9\- ()（）]{2,28}[0-9]$")
MAX_TEXT = 60
MAX_MONEY = Decimal("1000000000000")  # 10^12 yuan, the store's bound on any amount


class SettingError(ServiceError):
    def __init__(self, status: int, message_id: str, /, **fields: Any) -> None:
        super().__init__(status, message_id, **fields)


@dataclass(frozen=True)
class Setting:
    key: str
    default: Any
    check: Callable[[str, Any], Any]  # (key, value) -> the value to store, or a SettingError


def _text(key: str, value: Any) -> str:
    if not isinstance(value, str) or len(value.strip()) > MAX_TEXT:
        raise SettingError(422, "error.setting_text", key=key, max=MAX_TEXT)
    return value.strip()


def _phone(key: str, value: Any) -> str:
    if not isinstance(value, str):
        raise SettingError(422, "error.setting_phone", key=key, value=str(value))
    value = value.strip()
    if value and not PHONE.match(value):
        raise SettingError(422, "error.setting_phone", key=key, value=value)
    return value


def _notice_days(key: str, value: Any) -> int:
    number = _whole(key, value)
    if not 10 <= number <= 90:  # notices.md: at least 10 days; a quarter is the most any rule asks
        raise SettingError(422, "error.setting_range", key=key, low=10, high=90, value=number)
    return number


def _town_units(key: str, value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        raise SettingError(422, "error.setting_text", key=key, max=MAX_TEXT)
    return {str(town): _text(key, name) for town, name in value.items() if str(name).strip()}


def _whole(key: str, value: Any) -> int:
    if isinstance(value, bool):
        raise SettingError(422, "error.setting_number", key=key, value=str(value))
    try:
        number = int(str(value).strip()) if not isinstance(value, int) else value
    except ValueError:
        raise SettingError(422, "error.setting_number", key=key, value=str(value)) from None
    return number


SETTINGS: dict[str, Setting] = {s.key: s for s in (
    Setting("county_name", "", _text),  # 县（市、区）名, printed in titles and the issuing block
    Setting("issuing_unit", "", _text),  # the county's issuing unit (e.g. 县乡村振兴局)
    Setting("town_issuing_units", {}, _town_units),  # town code -> issuing unit; else "<town>人民政府"
    Setting("hotline", "", _phone),  # the county's 监督电话
    Setting("discipline_phone", "", _phone),  # the discipline inspection office's number, when set
    Setting("notice_days", 10, _notice_days),  # 公示期 in days
)}


def _flag_key(code: str) -> str:
    return f"flag.{code}"


def _detector_defaults() -> dict[str, dict[str, Any]]:
    from audit.detectors.registry import REGISTRY

    return {detector.code: dict(detector.defaults) for detector in REGISTRY}


def _detector_choices() -> dict[str, dict[str, Any]]:
    from audit.detectors.registry import REGISTRY

    return {detector.code: dict(detector.choices) for detector in REGISTRY}


def _terms(key: str, value: Any, choices: Any) -> list[str]:
    """A list setting (DC-11's property kinds): a list, or text separated by ``|``, commas,
    、 or spaces; each item a code of the setting's enumeration or a Chinese term for it."""
    from audit.importer.parse import CellError

    items = value if isinstance(value, list) else re.split(r"[|,，、\s]+", str(value))
    found: set[str] = set()
    for item in items:
        text = str(item).strip()
        if not text:
            continue
        try:
            found.add(choices(text) if choices is not None else text)
        except CellError:
            raise SettingError(422, "error.setting_terms", key=key, value=text,
                               codes=list(choices.codes)) from None
    if not found:
        raise SettingError(422, "error.setting_terms", key=key, value=str(value),
                           codes=list(choices.codes) if choices is not None else [])
    return sorted(found)


def _threshold(code: str, name: str, default: Any, value: Any) -> Any:
    """A threshold of the same kind as its default: a whole number, a share or a ratio, a
    list of codes (kept sorted), or money as yuan text with two decimals (never a float)."""
    key = f"{_flag_key(code)}.{name}"
    if isinstance(default, list):
        return _terms(key, value, _detector_choices().get(code, {}).get(name))
    if isinstance(default, bool) or isinstance(default, int):
        number = _whole(key, value)
        if number < 0:
            raise SettingError(422, "error.setting_range", key=key, low=0, high="∞", value=number)
        return number
    if isinstance(default, float):
        try:
            number = float(str(value).strip())
        except ValueError:
            raise SettingError(422, "error.setting_number", key=key, value=str(value)) from None
        if not 0 <= number <= 1000:
            raise SettingError(422, "error.setting_range", key=key, low=0, high=1000, value=value)
        return number
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise SettingError(422, "error.setting_number", key=key, value=str(value)) from None
    if not amount.is_finite() or not 0 <= amount <= MAX_MONEY:
        raise SettingError(422, "error.setting_range", key=key, low=0, high=str(MAX_MONEY), value=str(value))
    return str(amount.quantize(Decimal("0.01")))


def _flag_check(code: str, defaults: dict[str, Any]) -> Callable[[str, Any], Any]:
    def check(key: str, value: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise SettingError(422, "error.setting_number", key=key, value=str(value))
        unknown = sorted(set(value) - set(defaults))
        if unknown:
            raise SettingError(422, "error.detect_unknown_setting", code=code, settings=", ".join(unknown),
                               known=", ".join(sorted(defaults)))
        # Only what differs from the default is kept: a default that changes later applies.
        checked = {name: _threshold(code, name, defaults[name], v) for name, v in value.items()}
        return {name: v for name, v in checked.items() if v != defaults[name]}
    return check


def definition(key: str) -> Setting:
    if key in SETTINGS:
        return SETTINGS[key]
    code = key.removeprefix("flag.")
    defaults = _detector_defaults()
    if key.startswith("flag.") and code in defaults:
        return Setting(key, {}, _flag_check(code, defaults[code]))
    raise SettingError(404, "error.no_setting", key=key)


def _stored(conn: Connection) -> dict[str, Any]:
    return dict(conn.execute(select(CountySetting.key, CountySetting.value)).all())


def current(conn: Connection) -> dict[str, Any]:
    """Every county setting in force, defaults filled in (red flags' thresholds apart)."""
    stored = _stored(conn)
    return {key: stored.get(key, setting.default) for key, setting in SETTINGS.items()}


def detector_overrides(conn: Connection) -> dict[str, dict[str, Any]]:
    """The thresholds the administrator set, per red-flag code (what differs from the defaults)."""
    return {key.removeprefix("flag."): value for key, value in _stored(conn).items()
            if key.startswith("flag.") and value}


def thresholds(conn: Connection) -> dict[str, dict[str, Any]]:
    """Each red flag's thresholds in force: its defaults with the county's changes."""
    overrides = detector_overrides(conn)
    return {code: {**defaults, **overrides.get(code, {})} for code, defaults in _detector_defaults().items()}


def issuing_unit(conn: Connection, town_code: str | None) -> str:
    """Who issues a notice: the town's own unit when set, else its government; the county's
    unit for a county-wide notice."""
    settings = current(conn)
    if town_code:
        unit = settings["town_issuing_units"].get(town_code)
        if unit:
            return unit
        name = conn.execute(select(Town.town_name).where(Town.town_code == town_code)).scalar()
        if name:
            return f"{name}人民政府"
    return settings["issuing_unit"] or (f"{settings['county_name']}人民政府" if settings["county_name"] else "")


def change(conn: Connection, key: str, value: Any, reason: str, user: Principal) -> Any:
    """Set ``key`` to ``value`` with the reason; the old and new values go into the history
    and onto the audit trail. Returns the value stored (normalised). An unchanged value
    records nothing."""
    if not reason or not reason.strip():
        raise SettingError(422, "error.setting_needs_reason")
    setting = definition(key)
    new = setting.check(key, value)
    row = conn.execute(select(CountySetting).where(CountySetting.key == key).with_for_update()).first()
    old = row.value if row is not None else setting.default
    if new == old:
        return new
    now = datetime.now(UTC)
    if row is None:
        conn.execute(insert(CountySetting).values(key=key, value=new, updated_by=user.id, updated_at=now))
    else:
        conn.execute(update(CountySetting).where(CountySetting.key == key)
                     .values(value=new, updated_by=user.id, updated_at=now))
    conn.execute(insert(SettingChange).values(key=key, old_value=old, new_value=new, reason=reason.strip(),
                                              changed_by=user.id, changed_at=now))
    trail.append(conn, user.name, "setting_changed", f"setting {key}", {"old": old, "new": new,
                                                                          "reason": reason.strip()})
    return new


def history(conn: Connection, key: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
    """The settings' changes, newest first: what, from, to, why, who, when."""
    query = (select(SettingChange.key, SettingChange.old_value, SettingChange.new_value, SettingChange.reason,
                    SettingChange.changed_at, User.name.label("by"))
             .join(User, User.id == SettingChange.changed_by, isouter=True)
             .order_by(SettingChange.id.desc()).limit(limit))
    if key is not None:
        query = query.where(SettingChange.key == key)
    return [{"key": r.key, "old": r.old_value, "new": r.new_value, "reason": r.reason, "by": r.by,
             "at": r.changed_at} for r in conn.execute(query)]

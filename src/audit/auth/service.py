"""Units, users, passwords, logins and bearer tokens.

Passwords are hashed with pwdlib (argon2) and must be at least 12 characters, not the
user's name and not a common password (zxcvbn's list of 30,000, and a list of the ones
Chinese users favour shipped beside this file). Tokens are random, shown once, stored
only as their SHA-256, and expire; a user creates API tokens for themselves only, and an
administrator for machine users only, so no one can hold a token acting as someone else.
Failed logins are recorded in their own transaction and lock a name or an address out
for a while. Deactivating a user revokes every token they hold; reactivating revives none.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from pwdlib import PasswordHash
from sqlalchemy import Connection, func, insert, select, update

from audit import trail
from audit.config import get_settings
from audit.errors import ServiceError
from audit.models import ApiToken, LoginAttempt, Town, Unit, User

ROLES = ("inspector", "finance", "disclosure", "admin", "machine")
HUMAN_ROLES = ("inspector", "finance", "disclosure", "admin")
SCOPES = ("county", "town")
COUNTY_UNIT_ID = 1  # made by migration 0007: every user without another unit belongs to it
_hasher = PasswordHash.recommended()


class UserError(ServiceError):
    """A request about users that cannot be honoured; the message says why."""

    def __init__(self, message_id: str, status: int = 422, /, **fields: Any) -> None:
        super().__init__(status, message_id, **fields)


@dataclass(frozen=True)
class Principal:
    """Who is acting: the user, their unit's scope, and the token they came with."""

    id: int
    name: str
    role: str
    unit_id: int
    unit_name: str
    scope: str  # county | town
    town_code: str | None
    language: str | None
    must_change_password: bool
    token_id: int | None = None
    token_kind: str | None = None
    password_reset_at: datetime | None = None

    @property
    def town(self) -> str | None:
        """The town this user's scope is limited to; None for the county."""
        return self.town_code if self.scope == "town" else None


def operator() -> str:
    """Who runs a command: the operating-system user (commands have no login)."""
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # no user database entry in some containers
        return "unknown"


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# ---------------------------------------------------------------------- passwords

@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    shipped = Path(__file__).with_name("common-passwords-zh.txt").read_text(encoding="utf-8").split()
    return frozenset(p.lower() for p in [*FREQUENCY_LISTS["passwords"], *shipped])


def check_password(name: str, password: str) -> None:
    """Refuse a weak password with the reason (at least 12 characters, not the name, not
    common)."""
    minimum = get_settings().password_min_chars
    if len(password) < minimum:
        raise UserError("error.password_too_short", minimum=minimum)
    if len(password) > 200:
        raise UserError("error.password_too_long")
    # The name itself, or the name repeated or dressed with digits and signs (张三2017!).
    rest = password.lower().replace(name.lower(), "") if name else password.lower()
    if not re.sub(r"[0-9\W_]", "", rest):
        raise UserError("error.password_is_name")
    folded = password.lower()
    if folded in common_passwords() or re.sub(r"[0-9!@#$%^&*._-]+$", "", folded) in common_passwords():
        raise UserError("error.password_common")


def _hash(password: str) -> str:
    return _hasher.hash(password)


# ---------------------------------------------------------------------- units

def unit_by_name(conn: Connection, name: str) -> Any:
    unit = conn.execute(select(Unit).where(Unit.name == name)).first()
    if unit is None:
        raise UserError("error.no_unit", 404, unit=name)
    return unit


def create_unit(conn: Connection, name: str, scope: str, town_code: str | None, actor: str) -> int:
    if scope not in SCOPES:
        raise UserError("error.scope_unknown", scope=scope)
    if not name.strip():
        raise UserError("error.unit_needs_name")
    if scope == "town":
        if not town_code or conn.execute(select(Town.town_code).where(Town.town_code == town_code)).first() is None:
            raise UserError("error.no_town", 404, town=town_code or "")
    else:
        town_code = None
    if conn.execute(select(Unit.id).where(Unit.name == name)).first():
        raise UserError("error.unit_exists", 409, unit=name)
    unit_id = conn.execute(insert(Unit).values(name=name, scope=scope, town_code=town_code)
                           .returning(Unit.id)).scalar_one()
    trail.append(conn, actor, "unit_created", f"unit {name}", {"scope": scope, "town_code": town_code})
    return unit_id


def list_units(conn: Connection) -> list[Any]:
    return list(conn.execute(select(Unit).order_by(Unit.id)))


# ---------------------------------------------------------------------- users

def create_user(conn: Connection, name: str, role: str, password: str, *, unit: str | None = None,
                by: Any | None = None, language: str | None = None) -> int:
    """A new user. Made by an administrator (``by``), the account must change the
    password at its first login, and gives no four-eyes approval for a while."""
    if role not in ROLES:
        raise UserError("error.role_unknown", role=role)
    if not name.strip() or len(name) > 80 or not re.fullmatch(r"[\w.@-]+", name):
        raise UserError("error.user_name_invalid")
    if conn.execute(select(User.id).where(User.name == name)).first():
        raise UserError("error.user_exists", 409, user=name)
    check_password(name, password)
    unit_row = unit_by_name(conn, unit) if unit else conn.execute(select(Unit).where(Unit.id == COUNTY_UNIT_ID)).one()
    if role in {"admin", "machine"} and unit_row.scope != "county":
        raise UserError("error.role_needs_county", role=role)
    by_admin = by is not None and role != "machine"
    return conn.execute(insert(User).values(
        name=name, role=role, password_hash=_hash(password), active=True, created_at=_now(), unit_id=unit_row.id,
        language=language, must_change_password=by_admin,
        password_reset_at=_now() if by_admin else None, password_reset_by=by.id if by_admin else None,
    ).returning(User.id)).scalar_one()


def create_user_by_admin(conn: Connection, name: str, role: str, unit: str | None, admin: Principal) -> str:
    """A user made by an administrator (the API's and the screens' one path): a temporary
    password, returned to be shown once, which the user replaces at the first login."""
    temporary = secrets.token_urlsafe(12)
    create_user(conn, name, role, temporary, unit=unit, by=admin)
    trail.append(conn, admin.name, "user_created", f"user {name}", {"role": role, "unit": unit})
    return temporary


def _user(conn: Connection, name: str) -> Any:
    user = conn.execute(select(User).where(User.name == name)).first()
    if user is None:
        raise UserError("error.no_user", 404, user=name)
    return user


def list_users(conn: Connection) -> list[Any]:
    return list(conn.execute(select(User.id, User.name, User.role, User.active, User.language,
                                    User.must_change_password, User.created_at, Unit.name.label("unit"),
                                    Unit.scope, Unit.town_code)
                             .join(Unit, Unit.id == User.unit_id).order_by(User.name)))


def revoke_all_tokens(conn: Connection, user_id: int) -> int:
    return conn.execute(update(ApiToken).where(ApiToken.user_id == user_id, ApiToken.revoked.is_(False))
                        .values(revoked=True, revoked_at=_now())).rowcount


def revoke_user_tokens(conn: Connection, name: str, actor: str) -> int:
    """Revoke every token and session a user holds (the account stays active); how many."""
    user = _user(conn, name)
    revoked = revoke_all_tokens(conn, user.id)
    trail.append(conn, actor, "tokens_revoked", f"user {name}", {"tokens_revoked": revoked})
    return revoked


def set_active(conn: Connection, name: str, active: bool, actor: str) -> None:
    """Deactivate (every token and session revoked) or reactivate (none revived)."""
    user = _user(conn, name)
    conn.execute(update(User).where(User.id == user.id).values(active=active))
    revoked = revoke_all_tokens(conn, user.id) if not active else 0
    trail.append(conn, actor, "user_deactivated" if not active else "user_activated", f"user {name}",
                 {"tokens_revoked": revoked})


def reset_password(conn: Connection, name: str, by: Any | None, actor: str) -> str:
    """A new temporary password, shown once to whoever reset it; every token of the user
    is revoked and the user must choose their own at the next login. By an administrator
    (``by``), the account then gives no four-eyes approval for a while."""
    user = _user(conn, name)
    temporary = secrets.token_urlsafe(12)
    conn.execute(update(User).where(User.id == user.id).values(
        password_hash=_hash(temporary), must_change_password=True,
        password_reset_at=_now() if by is not None else None, password_reset_by=by.id if by is not None else None))
    revoked = revoke_all_tokens(conn, user.id)
    trail.append(conn, actor, "password_reset", f"user {name}", {"tokens_revoked": revoked})
    return temporary


def change_password(conn: Connection, principal: Principal, current: str, new: str) -> None:
    row = conn.execute(select(User).where(User.id == principal.id)).one()
    if not _hasher.verify(current, row.password_hash):
        raise UserError("error.password_wrong", 403)
    if current == new:
        raise UserError("error.password_unchanged")
    check_password(principal.name, new)
    conn.execute(update(User).where(User.id == principal.id).values(password_hash=_hash(new),
                                                                     must_change_password=False))
    # Every other session of this user ends: whoever knew the old password is out.
    conn.execute(update(ApiToken).where(ApiToken.user_id == principal.id, ApiToken.revoked.is_(False),
                                        ApiToken.id != (principal.token_id or 0))
                 .values(revoked=True, revoked_at=_now()))
    trail.append(conn, principal.name, "password_changed", f"user {principal.name}")


def set_language(conn: Connection, principal: Principal, language: str | None) -> None:
    from audit.i18n import LANGUAGES

    if language is not None and language not in LANGUAGES:
        raise UserError("error.language_unknown", language=language)
    conn.execute(update(User).where(User.id == principal.id).values(language=language))


# ---------------------------------------------------------------------- logins

@dataclass(frozen=True)
class Lockout:
    retry_after: int  # seconds


def lockout(conn: Connection, name: str, address: str) -> Lockout | None:
    """Whether this name or this address has failed too often within the window (failures
    after the name's last successful login count)."""
    settings = get_settings()
    window = timedelta(minutes=settings.login_window_minutes)
    since = _now() - window
    last_ok = conn.execute(select(func.max(LoginAttempt.at)).where(LoginAttempt.name == name,
                                                                    LoginAttempt.ok.is_(True))).scalar_one()
    by_name_since = max(since, _aware(last_ok)) if last_ok else since
    checks = ((LoginAttempt.name == name, by_name_since, settings.login_failures_per_name),
              (LoginAttempt.address == address, since, settings.login_failures_per_address))
    for condition, start, limit in checks:
        failures = conn.execute(select(LoginAttempt.at).where(condition, LoginAttempt.ok.is_(False),
                                                              LoginAttempt.at >= start)
                                .order_by(LoginAttempt.at.desc()).limit(limit)).scalars().all()
        if len(failures) >= limit:
            oldest = _aware(failures[-1])
            assert oldest is not None
            return Lockout(max(1, int((oldest + window - _now()).total_seconds()) + 1))
    return None


@dataclass(frozen=True)
class LoginOutcome:
    principal: Principal | None = None
    token: str | None = None
    expires: datetime | None = None
    locked: Lockout | None = None


def attempt_login(conn: Connection, name: str, password: str, address: str, kind: str = "session") -> LoginOutcome:
    """One login attempt, recorded whatever its outcome. The caller commits it before it
    answers (so a failure survives the 401 that follows): a refused attempt returns an
    outcome, it does not raise. A name or address locked out is refused before any
    password is checked; the failure that locks it out goes on the trail."""
    name, address = name[:80], address[:64]
    locked = lockout(conn, name, address)
    if locked is not None:
        return LoginOutcome(locked=locked)
    user = authenticate(conn, name, password)
    conn.execute(insert(LoginAttempt).values(at=_now(), name=name, address=address, ok=user is not None))
    if user is None:
        trail.append(conn, name, "login_failed", f"user {name}", {"address": address})
        if lockout(conn, name, address) is not None:
            trail.append(conn, name, "login_locked", f"user {name}",
                         {"address": address, "minutes": get_settings().login_window_minutes})
        return LoginOutcome()
    token, expires = issue_token(conn, user.id, kind)  # session (the API) or browser (a cookie)
    trail.append(conn, user.name, "login", f"user {user.name}", {"address": address, "kind": kind})
    return LoginOutcome(principal=principal_for_token(conn, token), token=token, expires=expires)


def authenticate(conn: Connection, name: str, password: str) -> Any | None:
    user = conn.execute(select(User).where(User.name == name, User.active.is_(True))).first()
    if user is None:
        _hasher.hash(password)  # the same work whether or not the name exists
        return None
    return user if _hasher.verify(password, user.password_hash) else None


# ---------------------------------------------------------------------- tokens

def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(conn: Connection, user_id: int, kind: str = "session", label: str | None = None,
                created_by: int | None = None) -> tuple[str, datetime]:
    settings = get_settings()
    lifetime = (timedelta(days=settings.api_token_days) if kind == "api" else timedelta(hours=settings.session_hours))
    token = secrets.token_urlsafe(32)
    now = _now()
    conn.execute(insert(ApiToken).values(user_id=user_id, token_hash=_digest(token), kind=kind, label=label,
                                         created_at=now, expires_at=now + lifetime, revoked=False,
                                         created_by=created_by if created_by is not None else user_id))
    return token, now + lifetime


def create_api_token(conn: Connection, principal: Principal, label: str, for_user: str | None = None
                     ) -> tuple[str, datetime, Any]:
    """An API token for the caller themselves; an administrator may also issue one for a
    machine user, and for no one else: no account can act as another person."""
    if for_user is None or for_user == principal.name:
        target = conn.execute(select(User).where(User.id == principal.id)).one()
    else:
        if principal.role != "admin":
            raise UserError("error.token_for_self_only", 403)
        target = conn.execute(select(User).where(User.name == for_user, User.active.is_(True))).first()
        if target is None:
            raise UserError("error.no_user", 404, user=for_user)
        if target.role != "machine":
            raise UserError("error.token_for_machine_only", 403, user=for_user)
    token, expires = issue_token(conn, target.id, "api", label, created_by=principal.id)
    trail.append(conn, principal.name, "api_token_created", f"user {target.name}", {"label": label})
    return token, expires, target


def list_tokens(conn: Connection, user_name: str | None = None) -> list[Any]:
    query = (select(ApiToken.id, ApiToken.kind, ApiToken.label, ApiToken.created_at, ApiToken.expires_at,
                    ApiToken.revoked, User.name.label("user"))
             .join(User, User.id == ApiToken.user_id).order_by(ApiToken.id))
    if user_name:
        query = query.where(User.name == user_name)
    return list(conn.execute(query))


def revoke_token(conn: Connection, token_id: int, principal: Principal | None, actor: str,
                 own_only: bool = False) -> None:
    """Revoke one token: one's own (``own_only``), or any (administrators, the server
    operator: ``principal`` None)."""
    row = conn.execute(select(ApiToken.id, ApiToken.user_id, User.name).join(User, User.id == ApiToken.user_id)
                       .where(ApiToken.id == token_id)).first()
    if row is None or (own_only and principal is not None and row.user_id != principal.id):
        raise UserError("error.no_token", 404, token=token_id)  # another user's: not even its existence
    conn.execute(update(ApiToken).where(ApiToken.id == token_id).values(revoked=True, revoked_at=_now()))
    trail.append(conn, actor, "token_revoked", f"user {row.name}", {"token": token_id})


def logout(conn: Connection, principal: Principal) -> None:
    if principal.token_id is not None:
        conn.execute(update(ApiToken).where(ApiToken.id == principal.token_id)
                     .values(revoked=True, revoked_at=_now()))
    trail.append(conn, principal.name, "logout", f"user {principal.name}")


def principal_for_token(conn: Connection, token: str) -> Principal | None:
    row = conn.execute(select(User.id, User.name, User.role, User.unit_id, User.language,
                              User.must_change_password, User.password_reset_at, Unit.name.label("unit_name"),
                              Unit.scope, Unit.town_code, ApiToken.id.label("token_id"),
                              ApiToken.kind.label("token_kind"), ApiToken.expires_at)
                       .join(ApiToken, ApiToken.user_id == User.id)
                       .join(Unit, Unit.id == User.unit_id)
                       .where(ApiToken.token_hash == _digest(token), ApiToken.revoked.is_(False),
                              User.active.is_(True))).first()
    if row is None:
        return None
    expires = _aware(row.expires_at)
    if expires is None or expires <= _now():
        return None
    return Principal(id=row.id, name=row.name, role=row.role, unit_id=row.unit_id, unit_name=row.unit_name,
                     scope=row.scope, town_code=row.town_code, language=row.language,
                     must_change_password=row.must_change_password, token_id=row.token_id,
                     token_kind=row.token_kind, password_reset_at=_aware(row.password_reset_at))


def user_for_token(conn: Connection, token: str) -> Principal | None:
    """The principal a bearer token stands for (kept under this name for callers)."""
    return principal_for_token(conn, token)


def principal_for_user(conn: Connection, name: str) -> Principal:
    """The principal of a user by name, for commands run by the server operator."""
    row = conn.execute(select(User.id, User.name, User.role, User.unit_id, User.language,
                              User.must_change_password, User.password_reset_at, Unit.name.label("unit_name"),
                              Unit.scope, Unit.town_code)
                       .join(Unit, Unit.id == User.unit_id).where(User.name == name)).first()
    if row is None:
        raise UserError("error.no_user", 404, user=name)
    return Principal(id=row.id, name=row.name, role=row.role, unit_id=row.unit_id, unit_name=row.unit_name,
                     scope=row.scope, town_code=row.town_code, language=row.language,
                     must_change_password=row.must_change_password, password_reset_at=_aware(row.password_reset_at))


def may_approve_for_others(principal: Principal) -> bool:
    """An account whose password an administrator set recently gives no four-eyes approval:
    until the cool-down has passed, it may be in the administrator's hands."""
    if principal.password_reset_at is None:
        return True
    hours = get_settings().four_eyes_after_reset_hours
    return _now() - principal.password_reset_at >= timedelta(hours=hours)


__all__ = ["HUMAN_ROLES", "ROLES", "Principal", "UserError", "authenticate", "create_user", "issue_token",
           "operator", "principal_for_token", "user_for_token"]

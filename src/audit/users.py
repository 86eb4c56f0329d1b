"""Users, passwords and bearer tokens. Passwords are hashed with pwdlib (argon2); tokens
are random, shown once, and stored only as their SHA-256; every token expires."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from pwdlib import PasswordHash
from sqlalchemy import Connection, insert, select

from audit.config import get_settings
from audit.models import ApiToken, User

ROLES = ("inspector", "finance", "disclosure", "admin")
_hasher = PasswordHash.recommended()


class UserError(ValueError):
    """A request about users that cannot be honoured; the message says why."""


def operator() -> str:
    """Who runs a command: the operating-system user (commands have no login)."""
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # no user database entry in some containers
        return "unknown"


def create_user(conn: Connection, name: str, role: str, password: str) -> int:
    if role not in ROLES:
        raise UserError(f"role must be one of {', '.join(ROLES)}")
    if len(password) < 10:
        raise UserError("a password needs at least 10 characters")
    if not name.strip():
        raise UserError("a user needs a name")
    if conn.execute(select(User.id).where(User.name == name)).first():
        raise UserError(f"a user named {name} exists already")
    return conn.execute(insert(User).values(name=name, role=role, password_hash=_hasher.hash(password),
                                            active=True, created_at=datetime.now(UTC)).returning(User.id)).scalar_one()


def authenticate(conn: Connection, name: str, password: str) -> Any | None:
    user = conn.execute(select(User).where(User.name == name, User.active.is_(True))).first()
    if user is None:
        _hasher.hash(password)  # the same work whether or not the name exists
        return None
    return user if _hasher.verify(password, user.password_hash) else None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(conn: Connection, user_id: int, kind: str = "session", label: str | None = None) -> tuple[str, datetime]:
    settings = get_settings()
    lifetime = timedelta(hours=settings.session_hours) if kind == "session" else timedelta(days=settings.api_token_days)
    token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    conn.execute(insert(ApiToken).values(user_id=user_id, token_hash=_digest(token), kind=kind, label=label,
                                         created_at=now, expires_at=now + lifetime, revoked=False))
    return token, now + lifetime


def user_for_token(conn: Connection, token: str) -> Any | None:
    row = conn.execute(select(User.id, User.name, User.role, ApiToken.expires_at)
                       .join(ApiToken, ApiToken.user_id == User.id)
                       .where(ApiToken.token_hash == _digest(token), ApiToken.revoked.is_(False),
                              User.active.is_(True))).first()
    if row is None:
        return None
    expires = row.expires_at if row.expires_at.tzinfo else row.expires_at.replace(tzinfo=UTC)
    return row if expires > datetime.now(UTC) else None

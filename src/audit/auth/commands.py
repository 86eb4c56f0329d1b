"""Commands of the server operator for users, units and tokens (``audit users|units|tokens``).

The same services as the admin routes; the operator acts as the operating-system user,
and every change goes on the audit trail under that name.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from rich.table import Table
from sqlalchemy import Connection

from audit.console import console, fail, h, language, say, text
from audit.errors import ServiceError

users_app = typer.Typer(help=h("cli.help.users"), no_args_is_help=True)
units_app = typer.Typer(help=h("cli.help.units"), no_args_is_help=True)
tokens_app = typer.Typer(help=h("cli.help.tokens"), no_args_is_help=True)


@contextmanager
def unit_of_work() -> Iterator[Connection]:
    """A committed transaction on the current database, its refusals as one line each."""
    from audit.db import get_engine
    from audit.migrate import ensure_current

    engine = get_engine()
    ensure_current(engine)
    try:
        with engine.begin() as conn:
            yield conn
    except ServiceError as exc:
        fail(exc.message_id, **exc.fields)


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    return typer.prompt(text("cli.password_prompt"), hide_input=True, confirmation_prompt=text("cli.password_repeat"))


@users_app.command("create", help=h("cli.help.users.create"))
def users_create(
    name: str,
    role: Annotated[str, typer.Option(help=h("cli.help.opt.user_role"))],
    unit: Annotated[str | None, typer.Option(help=h("cli.help.opt.unit"))] = None,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help=h("cli.help.opt.password_stdin"))] = False,
) -> None:
    """Create a user; the password is prompted for (or read from standard input)."""
    from audit import trail
    from audit.auth.service import create_user, operator

    password = _read_password(password_stdin)
    with unit_of_work() as conn:
        create_user(conn, name, role, password, unit=unit)
        trail.append(conn, operator(), "user_created", f"user {name}", {"role": role, "unit": unit})
    say("cli.user_created", name=name, role=role)


@users_app.command("list", help=h("cli.help.users.list"))
def users_list() -> None:
    """Users, their roles, units and whether they are active."""
    from audit.auth.service import list_users
    from audit.i18n import enum, t

    lang = language()
    with unit_of_work() as conn:
        rows = list_users(conn)
    table = Table()
    for heading in ("name", "role", "unit", "scope", "active"):
        table.add_column(t(f"cli.heading.{heading}", lang))
    for row in rows:
        table.add_row(row.name, enum("user_role", row.role, lang), row.unit,
                      enum("scope", row.scope, lang) + (f" {row.town_code}" if row.town_code else ""),
                      t("cli.yes" if row.active else "cli.no", lang))
    console.print(table)


def _set_active(name: str, active: bool) -> None:
    from audit.auth.service import operator, set_active

    with unit_of_work() as conn:
        set_active(conn, name, active, operator())
    say("cli.user_activated" if active else "cli.user_deactivated", name=name)


@users_app.command("deactivate", help=h("cli.help.users.deactivate"))
def users_deactivate(name: str) -> None:
    """Deactivate a user: every token and session of theirs is revoked."""
    _set_active(name, False)


@users_app.command("activate", help=h("cli.help.users.activate"))
def users_activate(name: str) -> None:
    """Reactivate a user; none of their old tokens comes back."""
    _set_active(name, True)


@users_app.command("reset-password", help=h("cli.help.users.reset_password"))
def users_reset_password(name: str) -> None:
    """Give a user a temporary password (printed once); they choose their own at the next login."""
    from audit.auth.service import operator, reset_password

    with unit_of_work() as conn:
        temporary = reset_password(conn, name, None, operator())
    say("cli.password_reset", name=name, password=temporary)


@units_app.command("create", help=h("cli.help.units.create"))
def units_create(name: str, scope: Annotated[str, typer.Option(help=h("cli.help.opt.scope"))] = "town",
                 town: Annotated[str | None, typer.Option(help=h("cli.help.opt.town"))] = None) -> None:
    """Create a unit: a county-level office, or a town's, whose staff see that town only."""
    from audit.auth.service import create_unit, operator

    with unit_of_work() as conn:
        create_unit(conn, name, scope, town, operator())
    say("cli.unit_created", name=name)


@units_app.command("list", help=h("cli.help.units.list"))
def units_list() -> None:
    """The units and their scopes."""
    from audit.auth.service import list_units
    from audit.i18n import enum, t

    lang = language()
    with unit_of_work() as conn:
        rows = list_units(conn)
    table = Table()
    for heading in ("unit", "scope", "town"):
        table.add_column(t(f"cli.heading.{heading}", lang))
    for row in rows:
        table.add_row(row.name, enum("scope", row.scope, lang), row.town_code or "")
    console.print(table)


@tokens_app.command("list", help=h("cli.help.tokens.list"))
def tokens_list(user: Annotated[str | None, typer.Option(help=h("cli.help.opt.token_user"))] = None) -> None:
    """Tokens and sessions: whose, what kind, until when, whether revoked (never the tokens)."""
    from audit.auth.service import list_tokens
    from audit.i18n import t

    lang = language()
    with unit_of_work() as conn:
        rows = list_tokens(conn, user)
    table = Table()
    for heading in ("id", "user", "kind", "label", "expires", "revoked"):
        table.add_column(t(f"cli.heading.{heading}", lang))
    for row in rows:
        table.add_row(str(row.id), row.user, row.kind, row.label or "", row.expires_at.isoformat()[:16],
                      t("cli.yes" if row.revoked else "cli.no", lang))
    console.print(table)


@tokens_app.command("revoke", help=h("cli.help.tokens.revoke"))
def tokens_revoke(token_id: int) -> None:
    """Revoke a token or session by its id (see ``audit tokens list``)."""
    from audit.auth.service import operator, revoke_token

    with unit_of_work() as conn:
        revoke_token(conn, token_id, None, operator())
    say("cli.token_revoked", token=token_id)


@tokens_app.command("create", help=h("cli.help.tokens.create"))
def tokens_create(user: Annotated[str, typer.Option(help=h("cli.help.opt.machine_user"))],
                  label: Annotated[str, typer.Option(help=h("cli.help.opt.token_label"))]) -> None:
    """Issue an API token for a machine user (printed once). People create their own."""
    from sqlalchemy import select

    from audit import trail
    from audit.auth.service import issue_token, operator
    from audit.models import User

    with unit_of_work() as conn:
        row = conn.execute(select(User.id, User.role).where(User.name == user, User.active.is_(True))).first()
        if row is None:
            raise ServiceError(404, "error.no_user", user=user)
        if row.role != "machine":
            raise ServiceError(403, "error.token_for_machine_only", user=user)
        token, expires = issue_token(conn, row.id, "api", label)
        trail.append(conn, operator(), "api_token_created", f"user {user}", {"label": label})
    say("cli.token_created", user=user, token=token, expires=expires.isoformat()[:10])


def register(app: typer.Typer, add: Callable[..., Any] | None = None) -> None:
    app.add_typer(users_app, name="users")
    app.add_typer(units_app, name="units")
    app.add_typer(tokens_app, name="tokens")

"""What the command line prints: one console for results, one for errors, every text from
the catalogue in the operator's language (``AUDIT_LANGUAGE``, Chinese by default)."""

from __future__ import annotations

import os
from typing import Any, NoReturn

import typer
from rich.console import Console

console = Console()
err = Console(stderr=True)


def language() -> str:
    """The operator's language; read from the environment when the settings themselves are
    refused (a default secret in production), so that refusal is in that language too."""
    from audit.config import get_settings

    try:
        return get_settings().language
    except ValueError:
        return "en" if os.environ.get("AUDIT_LANGUAGE", "").lower().startswith("en") else "zh"


def text(message_id: str, **fields: Any) -> str:
    from audit.i18n import t

    return t(message_id, language(), **fields)


def h(message_id: str) -> str:
    """A command's or an option's help, in the operator's language (read as the commands are
    defined, so ``AUDIT_LANGUAGE=en audit --help`` gives the English)."""
    return text(message_id)


def say(message_id: str, **fields: Any) -> None:
    """Print a result line."""
    console.print(text(message_id, **fields), highlight=False, markup=False)


def note(message_id: str, **fields: Any) -> None:
    """Print a line for the operator (progress, where a file went) on standard error."""
    err.print(text(message_id, **fields), highlight=False, markup=False, soft_wrap=True)


def error_line(message: str) -> None:
    err.print(f"[bold red]{text('cli.error')}[/] ", end="", highlight=False)
    err.print(message, highlight=False, markup=False, soft_wrap=True)


def fail(message_id: str, **fields: Any) -> NoReturn:
    """One error line for the operator, and exit code 1."""
    error_line(text(message_id, **fields))
    raise typer.Exit(code=1)

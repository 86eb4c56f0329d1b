"""Running the Alembic migrations from code (the command line and the tests)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from audit.config import get_settings

def _project_root() -> Path:
    """Where alembic.ini and migrations/ live: beside the source in a checkout (or an
    editable install), else the working directory (the Docker image runs from /app)."""
    for candidate in (Path(__file__).resolve().parents[2], Path.cwd()):
        if (candidate / "alembic.ini").exists():
            return candidate
    raise FileNotFoundError("alembic.ini not found: run audit from the project folder")


_ROOT = _project_root()


class SchemaNotCurrent(Exception):
    pass


def alembic_config(url: str | None = None) -> Config:
    config = Config(str(_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(_ROOT / "migrations"))
    config.set_main_option("sqlalchemy.url", (url or get_settings().migration_url).replace("%", "%%"))
    return config


def upgrade(revision: str = "head", url: str | None = None) -> None:
    command.upgrade(alembic_config(url), revision)


def ensure_current(engine: Engine) -> None:
    """Refuse to work on a database whose schema is not at the latest migration."""
    head = ScriptDirectory.from_config(alembic_config(str(engine.url))).get_current_head()
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    if current != head:
        from audit.console import fail

        if current is None:
            fail("cli.db.no_schema")
        fail("cli.db.behind", current=current, head=head)

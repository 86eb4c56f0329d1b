"""The service's own PostgreSQL role: it may read and write the store, and append to the
audit trail, but never alter, disable, truncate or own the trail.

Migrations run as the schema's owner (``AUDIT_MIGRATION_DATABASE_URL``); the service
connects as this role (``AUDIT_DATABASE_URL``). Owning a table is what lets a role disable
its triggers (``ALTER TABLE … DISABLE TRIGGER``), and superusers can switch them off for a
session (``session_replication_role = replica``): so the service's role owns nothing, is no
superuser, and holds only SELECT and INSERT on ``audit_log``. ``audit db create-roles``
runs :func:`create_service_role`; it can be run again after any migration.
"""

from __future__ import annotations

import re

from sqlalchemy import Connection, text

from audit.errors import MessageError

ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def grant_statements(role: str, database: str) -> list[str]:
    """What the role may do, as SQL (also what the README documents)."""
    if not ROLE_NAME.match(role):
        raise MessageError("cli.roles.bad_name", role=role)
    quoted_db = '"' + database.replace('"', '""') + '"'
    return [
        f"GRANT CONNECT, TEMPORARY ON DATABASE {quoted_db} TO {role}",
        f"GRANT USAGE ON SCHEMA public TO {role}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}",
        # Tables and sequences the owner creates in later migrations get the same grants.
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {role}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {role}",
        # The trail: read and append, nothing else. The schema's version: read only.
        f"REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON audit_log FROM {role}",
        f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON alembic_version FROM {role}",
    ]


def create_service_role(conn: Connection, role: str, password: str | None = None) -> list[str]:
    """Create (or update) the service's role on the owner's connection; returns the SQL run."""
    if not ROLE_NAME.match(role):
        raise MessageError("cli.roles.bad_name", role=role)
    database = conn.execute(text("SELECT current_database()")).scalar_one()
    exists = conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).first() is not None
    run = [] if exists else [f"CREATE ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT"]
    run.append(f"ALTER ROLE {role} NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS")
    for statement in run:
        conn.execute(text(statement))
    if password is not None:
        # A literal, not a bind: ALTER ROLE takes no parameters; quote it as PostgreSQL does.
        conn.execute(text("ALTER ROLE " + role + " PASSWORD '" + password.replace("'", "''") + "'"))
    grants = grant_statements(role, database)
    # A detector's statements run under a bound on their temporary files (temp_file_limit,
    # a superuser's setting): PostgreSQL 15 lets a superuser grant the service role the right
    # to set just that one. Elsewhere the service runs without the bound, and says so.
    if conn.execute(text("SHOW is_superuser")).scalar_one() == "on" \
            and int(conn.execute(text("SHOW server_version_num")).scalar_one()) >= 150000:
        grants.append(f"GRANT SET ON PARAMETER temp_file_limit TO {role}")
    for statement in grants:
        conn.execute(text(statement))
    return run + grants

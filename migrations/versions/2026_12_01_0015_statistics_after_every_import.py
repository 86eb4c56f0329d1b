"""statistics after every import: a function the service role may call to ANALYZE the tables an import changed

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 16:15:00
"""

from collections.abc import Sequence

from alembic import op


revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite: the importer runs ANALYZE itself (one owner, one file)
    # ANALYZE needs the table's owner; the service connects as a role that owns nothing
    # (audit db create-roles). SECURITY DEFINER runs this as the owner. ANALYZE changes no
    # row of any table, so any table of the schema may be named; a name that is not one
    # is passed over.
    op.execute("""
        CREATE FUNCTION audit_analyze(wanted text[]) RETURNS integer
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
        DECLARE
            name text;
            done integer := 0;
        BEGIN
            FOREACH name IN ARRAY wanted LOOP
                IF EXISTS (SELECT 1 FROM pg_tables WHERE schemaname = 'public' AND tablename = name) THEN
                    EXECUTE format('ANALYZE public.%I', name);
                    done := done + 1;
                END IF;
            END LOOP;
            RETURN done;
        END $$""")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION audit_analyze(text[])")

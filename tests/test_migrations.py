"""The schema comes from the migrations, and the migrations match the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import BigInteger, Column, Engine, MetaData, Table, inspect

from audit.models import Base


def _diff(engine: Engine, metadata: MetaData) -> list:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, metadata)


def test_migrations_match_the_models(engine: Engine) -> None:
    assert _diff(engine, Base.metadata) == []


def test_the_drift_check_sees_a_column_missing_from_the_migrations(engine: Engine) -> None:
    drifted = MetaData(naming_convention=Base.metadata.naming_convention)
    for table in Base.metadata.sorted_tables:
        table.to_metadata(drifted)
    Table("card_payments", drifted, Column("fee_fen", BigInteger), extend_existing=True)
    diff = _diff(engine, drifted)
    assert any(entry[0] == "add_column" and entry[3].name == "fee_fen" for entry in diff)


def test_every_interchange_table_exists_with_named_constraints(engine: Engine) -> None:
    inspector = inspect(engine)
    tables = set(inspector.get_table_names())
    assert set(Base.metadata.tables) <= tables
    for name in Base.metadata.tables:
        if engine.dialect.name == "postgresql":
            assert inspector.get_pk_constraint(name)["name"] == f"pk_{name}"
        for fk in inspector.get_foreign_keys(name):
            assert fk["name"].startswith(f"fk_{name}_"), fk
        for index in inspector.get_indexes(name):
            assert index["name"].startswith(("ix_", "uq_")), index  # PostgreSQL lists unique constraints too


def test_money_columns_are_integer_fen(engine: Engine) -> None:
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            if column.name.endswith("_fen"):
                assert isinstance(column.type, BigInteger), (table.name, column.name)
            assert "amount" not in column.name or column.name.endswith("_fen"), (table.name, column.name)

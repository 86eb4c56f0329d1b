"""the v1.1 registries compared with the beneficiary lists

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Six registers of other departments (interchange v1.1), compared with the beneficiary
    # lists by DC-11 … DC-18 and ME-01. They may name people the store has never seen: no
    # foreign keys to persons, an index where a rule looks rows up by something else.
    op.create_table('detentions',
    sa.Column('id_number', sa.String(length=18), nullable=False),
    sa.Column('from_on', sa.Date(), nullable=False),
    sa.Column('to_on', sa.Date(), nullable=True),
    sa.Column('source', sa.String(length=200), nullable=True),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['batch_id'], ['import_batches.id'], name=op.f('fk_detentions_batch_id_import_batches')),
    sa.PrimaryKeyConstraint('id_number', 'from_on', name=op.f('pk_detentions'))
    )
    op.create_table('disability_certificates',
    sa.Column('id_number', sa.String(length=18), nullable=False),
    sa.Column('issued_on', sa.Date(), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('category', sa.String(length=60), nullable=True),
    sa.Column('revoked_on', sa.Date(), nullable=True),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['batch_id'], ['import_batches.id'], name=op.f('fk_disability_certificates_batch_id_import_batches')),
    sa.PrimaryKeyConstraint('id_number', 'issued_on', name=op.f('pk_disability_certificates'))
    )
    op.create_table('household_events',
    sa.Column('id_number', sa.String(length=18), nullable=False),
    sa.Column('event', sa.String(length=24), nullable=False),
    sa.Column('event_on', sa.Date(), nullable=False),
    sa.Column('from_household', sa.String(length=64), nullable=True),
    sa.Column('to_household', sa.String(length=64), nullable=True),
    sa.Column('place', sa.String(length=200), nullable=True),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['batch_id'], ['import_batches.id'], name=op.f('fk_household_events_batch_id_import_batches')),
    sa.PrimaryKeyConstraint('id_number', 'event', 'event_on', name=op.f('pk_household_events'))
    )
    with op.batch_alter_table('household_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_household_events_from_household'), ['from_household'], unique=False)
        batch_op.create_index(batch_op.f('ix_household_events_to_household'), ['to_household'], unique=False)

    op.create_table('pensions',
    sa.Column('id_number', sa.String(length=18), nullable=False),
    sa.Column('from_on', sa.Date(), nullable=False),
    sa.Column('monthly_amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('to_on', sa.Date(), nullable=True),
    sa.Column('source', sa.String(length=200), nullable=True),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['batch_id'], ['import_batches.id'], name=op.f('fk_pensions_batch_id_import_batches')),
    sa.PrimaryKeyConstraint('id_number', 'from_on', name=op.f('pk_pensions'))
    )
    op.create_table('real_estate',
    sa.Column('id_number', sa.String(length=18), nullable=False),
    sa.Column('property_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('location', sa.Text(), nullable=True),
    sa.Column('area_m2', sa.Float(), nullable=True),
    sa.Column('registered_on', sa.Date(), nullable=False),
    sa.Column('deregistered_on', sa.Date(), nullable=True),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['batch_id'], ['import_batches.id'], name=op.f('fk_real_estate_batch_id_import_batches')),
    sa.PrimaryKeyConstraint('id_number', 'property_id', name=op.f('pk_real_estate'))
    )
    op.create_table('school_enrolments',
    sa.Column('id_number', sa.String(length=18), nullable=False),
    sa.Column('school_year', sa.Integer(), nullable=False),
    sa.Column('stage', sa.String(length=24), nullable=False),
    sa.Column('boarding', sa.Boolean(), nullable=True),
    sa.Column('school', sa.String(length=200), nullable=True),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['batch_id'], ['import_batches.id'], name=op.f('fk_school_enrolments_batch_id_import_batches')),
    sa.PrimaryKeyConstraint('id_number', 'school_year', name=op.f('pk_school_enrolments'))
    )


def downgrade() -> None:
    op.drop_table('school_enrolments')
    op.drop_table('real_estate')
    op.drop_table('pensions')
    with op.batch_alter_table('household_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_household_events_to_household'))
        batch_op.drop_index(batch_op.f('ix_household_events_from_household'))

    op.drop_table('household_events')
    op.drop_table('disability_certificates')
    op.drop_table('detentions')

"""the villagers' window: public lookups and complaints

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 03:48:03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0018'
down_revision: str | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # What the public window's limits count: one row per lookup or complaint, the ID number
    # kept only as an HMAC under the service's key, read by address or by that key within
    # the window.
    op.create_table('public_attempts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('address', sa.String(length=64), nullable=False),
    sa.Column('id_key', sa.String(length=64), nullable=False),
    sa.Column('ok', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_public_attempts'))
    )
    with op.batch_alter_table('public_attempts', schema=None) as batch_op:
        batch_op.create_index('ix_public_attempts_address_kind_at', ['address', 'kind', 'at'], unique=False)
        batch_op.create_index(batch_op.f('ix_public_attempts_at'), ['at'], unique=False)
        batch_op.create_index('ix_public_attempts_id_key_kind_at', ['id_key', 'kind', 'at'], unique=False)

    # Residents' complaints: a lead linked to the household (and the payment) it names,
    # answered on record by an inspector.
    op.create_table('complaints',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=24), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('household_id', sa.String(length=64), nullable=False),
    sa.Column('payment_id', sa.String(length=64), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('village_code', sa.String(length=64), nullable=True),
    sa.Column('town_code', sa.String(length=64), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('answer', sa.Text(), nullable=True),
    sa.Column('answered_by', sa.Integer(), nullable=True),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['answered_by'], ['users.id'], name=op.f('fk_complaints_answered_by_users')),
    sa.ForeignKeyConstraint(['household_id'], ['households.household_id'], name=op.f('fk_complaints_household_id_households')),
    sa.ForeignKeyConstraint(['payment_id'], ['card_payments.payment_id'], name=op.f('fk_complaints_payment_id_card_payments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_complaints')),
    sa.UniqueConstraint('reference', name=op.f('uq_complaints_reference'))
    )
    with op.batch_alter_table('complaints', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_complaints_household_id'), ['household_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_complaints_payment_id'), ['payment_id'], unique=False)
        batch_op.create_index('ix_complaints_status_town', ['status', 'town_code'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('complaints', schema=None) as batch_op:
        batch_op.drop_index('ix_complaints_status_town')
        batch_op.drop_index(batch_op.f('ix_complaints_payment_id'))
        batch_op.drop_index(batch_op.f('ix_complaints_household_id'))

    op.drop_table('complaints')
    with op.batch_alter_table('public_attempts', schema=None) as batch_op:
        batch_op.drop_index('ix_public_attempts_id_key_kind_at')
        batch_op.drop_index(batch_op.f('ix_public_attempts_at'))
        batch_op.drop_index('ix_public_attempts_address_kind_at')

    op.drop_table('public_attempts')
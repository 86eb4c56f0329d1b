"""clue hand-out batches and case outcomes

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 07:01:44
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0020'
down_revision: str | None = '0019'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A batch of cases the county hands to one town (集中交办), with its deadline.
    op.create_table('handout_batches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=120), nullable=False),
    sa.Column('town_code', sa.String(length=64), nullable=False),
    sa.Column('deadline', sa.Date(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('returned_by', sa.Integer(), nullable=True),
    sa.Column('returned_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_by', sa.Integer(), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['closed_by'], ['users.id'], name=op.f('fk_handout_batches_closed_by_users')),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_handout_batches_created_by_users')),
    sa.ForeignKeyConstraint(['returned_by'], ['users.id'], name=op.f('fk_handout_batches_returned_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_handout_batches'))
    )
    with op.batch_alter_table('handout_batches', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_handout_batches_town_code'), ['town_code'], unique=False)

    # What a confirmed case led to, one row per outcome (取消资格, 清退, 追回, 立案, 问责, 整改).
    op.create_table('case_outcomes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('people', sa.Integer(), nullable=False),
    sa.Column('accountability_kind', sa.String(length=24), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('recorded_by', sa.Integer(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['batch_id'], ['handout_batches.id'], name=op.f('fk_case_outcomes_batch_id_handout_batches')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_outcomes_case_id_cases')),
    sa.ForeignKeyConstraint(['recorded_by'], ['users.id'], name=op.f('fk_case_outcomes_recorded_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_outcomes'))
    )
    with op.batch_alter_table('case_outcomes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_outcomes_batch_id'), ['batch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_outcomes_case_id'), ['case_id'], unique=False)

    # The cases of a batch; a case is in one live (not closed) batch at a time.
    op.create_table('handout_batch_cases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('live', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['batch_id'], ['handout_batches.id'], name=op.f('fk_handout_batch_cases_batch_id_handout_batches')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_handout_batch_cases_case_id_cases')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_handout_batch_cases'))
    )
    with op.batch_alter_table('handout_batch_cases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_handout_batch_cases_batch_id'), ['batch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_handout_batch_cases_case_id'), ['case_id'], unique=False)
        batch_op.create_index('uq_handout_batch_cases_live', ['case_id'], unique=True, sqlite_where=sa.text('live'), postgresql_where=sa.text('live'))


def downgrade() -> None:
    with op.batch_alter_table('handout_batch_cases', schema=None) as batch_op:
        batch_op.drop_index('uq_handout_batch_cases_live', sqlite_where=sa.text('live'), postgresql_where=sa.text('live'))
        batch_op.drop_index(batch_op.f('ix_handout_batch_cases_case_id'))
        batch_op.drop_index(batch_op.f('ix_handout_batch_cases_batch_id'))

    op.drop_table('handout_batch_cases')
    with op.batch_alter_table('case_outcomes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_outcomes_case_id'))
        batch_op.drop_index(batch_op.f('ix_case_outcomes_batch_id'))

    op.drop_table('case_outcomes')
    with op.batch_alter_table('handout_batches', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_handout_batches_town_code'))

    op.drop_table('handout_batches')
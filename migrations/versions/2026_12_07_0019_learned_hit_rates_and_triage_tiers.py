"""learned hit rates and triage tiers: a case's score basis, tier and its reasons

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 07:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0019'
down_revision: str | None = '0018'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A case's score is now the detectors' moved by its codes' learned hit rates; what it
    # was computed from is kept with it, and so is its triage tier and the reasons for it.
    # Existing cases are tiered by the next detection run or decision (None until then;
    # the case list puts them last).
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('score_basis', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('tier', sa.SmallInteger(), nullable=True))
        batch_op.add_column(sa.Column('tier_basis', sa.JSON(), nullable=True))
        batch_op.create_index('ix_cases_status_tier_score', ['status', 'tier', 'score'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_status_tier_score')
        batch_op.drop_column('tier_basis')
        batch_op.drop_column('tier')
        batch_op.drop_column('score_basis')

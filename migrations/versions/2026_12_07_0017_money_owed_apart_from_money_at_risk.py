"""money owed apart from money at risk: a finding's amount owed (the ME family, 应享未享) and its sum on cases

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 04:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0017'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Findings and cases stored before: none of them owed anything (the server default fills them).
    with op.batch_alter_table('findings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('amount_owed_fen', sa.BigInteger(), server_default='0', nullable=False))
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('amount_owed_fen', sa.BigInteger(), server_default='0', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_column('amount_owed_fen')
    with op.batch_alter_table('findings', schema=None) as batch_op:
        batch_op.drop_column('amount_owed_fen')

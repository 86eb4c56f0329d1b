"""payment status, reissues, returned and corrected disbursements (interchange v1.1)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Rows imported before v1.1 carried no status: every one of them counted as paid, and
    # still does (the server default fills them).
    with op.batch_alter_table('card_payments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status', sa.String(length=24), server_default='paid', nullable=False))
        batch_op.add_column(sa.Column('failure_reason', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('reissue_of', sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_card_payments_reissue_of'), ['reissue_of'], unique=False)
    with op.batch_alter_table('disbursements', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status', sa.String(length=24), server_default='paid', nullable=False))
        batch_op.add_column(sa.Column('correction_of', sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_disbursements_correction_of'), ['correction_of'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('disbursements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_disbursements_correction_of'))
        batch_op.drop_column('correction_of')
        batch_op.drop_column('status')
    with op.batch_alter_table('card_payments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_card_payments_reissue_of'))
        batch_op.drop_column('reissue_of')
        batch_op.drop_column('failure_reason')
        batch_op.drop_column('status')

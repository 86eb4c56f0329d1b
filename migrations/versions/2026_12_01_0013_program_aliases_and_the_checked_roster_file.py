"""program aliases and means testing (interchange v1.1); a checked roster file kept with its check

Revision ID: 0013
Revises: 0009
Create Date: 2026-12-01 11:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0013'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The other names a county's files use for a program (pipe-separated, as the
    # interchange carries them): a roster may name its program by any of them.
    with op.batch_alter_table('programs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('aliases', sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column('means_tested', sa.Boolean(), nullable=True))
    with op.batch_alter_table('prerelease_checks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source_file', sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column('source_name', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('source_sheet', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('line_count', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('held_count', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('prerelease_checks', schema=None) as batch_op:
        batch_op.drop_column('held_count')
        batch_op.drop_column('line_count')
        batch_op.drop_column('source_sheet')
        batch_op.drop_column('source_name')
        batch_op.drop_column('source_file')
    with op.batch_alter_table('programs', schema=None) as batch_op:
        batch_op.drop_column('means_tested')
        batch_op.drop_column('aliases')

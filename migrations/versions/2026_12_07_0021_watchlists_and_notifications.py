"""watchlists and notifications

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 07:01:19
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0021'
down_revision: str | None = '0020'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # What each inspector watches: one row per user and subject (kind and key as findings
    # name them).
    op.create_table('watches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('subject_kind', sa.String(length=24), nullable=False),
    sa.Column('subject_key', sa.String(length=64), nullable=False),
    sa.Column('label', sa.String(length=200), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_watches_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_watches'))
    )
    with op.batch_alter_table('watches', schema=None) as batch_op:
        batch_op.create_index('ix_watches_user_subject', ['user_id', 'subject_kind', 'subject_key'], unique=True)

    # What they are told: a new finding of a run, or a record an import wrote, about a
    # watched subject; unread until marked read (the bell counts by user and read_at).
    op.create_table('notifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('watch_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('finding_id', sa.Integer(), nullable=True),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('code', sa.String(length=8), nullable=True),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.Column('table_name', sa.String(length=40), nullable=True),
    sa.Column('record_key', sa.String(length=200), nullable=True),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['batch_id'], ['import_batches.id'], name=op.f('fk_notifications_batch_id_import_batches')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_notifications_case_id_cases')),
    sa.ForeignKeyConstraint(['finding_id'], ['findings.id'], name=op.f('fk_notifications_finding_id_findings')),
    sa.ForeignKeyConstraint(['run_id'], ['detection_runs.id'], name=op.f('fk_notifications_run_id_detection_runs')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notifications_user_id_users')),
    sa.ForeignKeyConstraint(['watch_id'], ['watches.id'], name=op.f('fk_notifications_watch_id_watches'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications'))
    )
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_index('ix_notifications_user_finding', ['user_id', 'finding_id'], unique=True)
        batch_op.create_index('ix_notifications_user_read', ['user_id', 'read_at'], unique=False)
        batch_op.create_index('ix_notifications_user_record', ['user_id', 'table_name', 'record_key', 'batch_id'], unique=True)
        batch_op.create_index(batch_op.f('ix_notifications_watch_id'), ['watch_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notifications_watch_id'))
        batch_op.drop_index('ix_notifications_user_record')
        batch_op.drop_index('ix_notifications_user_read')
        batch_op.drop_index('ix_notifications_user_finding')

    op.drop_table('notifications')
    with op.batch_alter_table('watches', schema=None) as batch_op:
        batch_op.drop_index('ix_watches_user_subject')

    op.drop_table('watches')

"""recordings composed while recording

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06 00:29:42

A recording per session, its reported windows (segments) and their composed parts, what sits
beside it (raw tracks zip, chat transcript, whiteboard PNG), and the mentor's share flag.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('recording_segments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('recording_id', sa.Integer(), nullable=False),
    sa.Column('run', sa.String(length=40), nullable=False),
    sa.Column('index', sa.Integer(), nullable=False),
    sa.Column('start_seconds', sa.Float(), nullable=False),
    sa.Column('end_seconds', sa.Float(), nullable=False),
    sa.Column('final', sa.Boolean(), nullable=False),
    sa.Column('files', sa.JSON(), nullable=False),
    sa.Column('presence', sa.JSON(), nullable=False),
    sa.Column('part_path', sa.String(length=255), nullable=True),
    sa.Column('composed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['recording_id'], ['recordings.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('recording_id', 'run', 'index', name='uq_recording_segment')
    )
    with op.batch_alter_table('recording_segments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recording_segments_recording_id'), ['recording_id'], unique=False)

    with op.batch_alter_table('mentor_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('share_recording', sa.Boolean(), nullable=False, server_default=sa.false()))

    with op.batch_alter_table('recordings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('parts_done', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('partial', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('raw_path', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('raw_size_bytes', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('transcript_path', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('whiteboard_path', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('disk_bytes', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('ready_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_recordings_status'), ['status'], unique=False)
        batch_op.create_unique_constraint('uq_recording_session', ['session_id'])


def downgrade() -> None:
    with op.batch_alter_table('recordings', schema=None) as batch_op:
        batch_op.drop_constraint('uq_recording_session', type_='unique')
        batch_op.drop_index(batch_op.f('ix_recordings_status'))
        for column in ('deleted_at', 'ready_at', 'disk_bytes', 'whiteboard_path', 'transcript_path',
                       'raw_size_bytes', 'raw_path', 'partial', 'parts_done'):
            batch_op.drop_column(column)

    with op.batch_alter_table('mentor_sessions', schema=None) as batch_op:
        batch_op.drop_column('share_recording')

    with op.batch_alter_table('recording_segments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recording_segments_recording_id'))

    op.drop_table('recording_segments')

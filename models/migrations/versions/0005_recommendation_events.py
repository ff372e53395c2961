"""recommendation events

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 01:10:00

Impressions of the Recommended tab and learners' interactions with them (issue 15).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('rec_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('learner_id', sa.Integer(), nullable=False),
    sa.Column('mentor_id', sa.Integer(), nullable=True),
    sa.Column('session_id', sa.Integer(), nullable=True),
    sa.Column('surface', sa.String(length=40), nullable=False),
    sa.Column('tab', sa.String(length=20), nullable=False),
    sa.Column('position', sa.Integer(), nullable=True),
    sa.Column('model_version', sa.String(length=40), nullable=False),
    sa.Column('rating', sa.Integer(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['learner_id'], ['users.id'], ),
    sa.ForeignKeyConstraint(['mentor_id'], ['users.id'], ),
    sa.ForeignKeyConstraint(['session_id'], ['mentor_sessions.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('rec_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rec_events_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_rec_events_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_rec_events_learner_id'), ['learner_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('rec_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rec_events_learner_id'))
        batch_op.drop_index(batch_op.f('ix_rec_events_kind'))
        batch_op.drop_index(batch_op.f('ix_rec_events_at'))
    op.drop_table('rec_events')

"""session search

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 01:50:00

The full-text index over sessions (models/search_index.py): an FTS5 table kept by triggers on
SQLite, filled from the sessions already there; GIN expression indexes on PostgreSQL. Also the
mentor's photo on their profile.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from models.search_index import create_statements, drop_statements

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('mentor_profiles', schema=None) as batch_op:
        batch_op.add_column(sa.Column('photo_path', sa.String(length=255), nullable=True))
    for statement in create_statements(op.get_bind().dialect.name):
        op.execute(statement)


def downgrade() -> None:
    for statement in drop_statements(op.get_bind().dialect.name):
        op.execute(statement)
    with op.batch_alter_table('mentor_profiles', schema=None) as batch_op:
        batch_op.drop_column('photo_path')

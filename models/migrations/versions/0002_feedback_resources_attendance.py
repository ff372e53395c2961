"""feedback edits, resource uploads, attendance

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 10:00:00

Feedback can be edited for 7 days (updated_at, filled from created_at for existing rows); resources keep
the uploader and the upload's original name; bookings record when the learner first joined the room.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('feedback', schema=None) as batch_op:
        batch_op.add_column(sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE feedback SET updated_at = created_at")
    with op.batch_alter_table('feedback', schema=None) as batch_op:
        batch_op.alter_column('updated_at', existing_type=sa.DateTime(timezone=True), nullable=False)

    with op.batch_alter_table('resources', schema=None) as batch_op:
        batch_op.add_column(sa.Column('original_name', sa.String(length=255), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('uploaded_by', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_resources_uploaded_by_users', 'users', ['uploaded_by'], ['id'])
    with op.batch_alter_table('resources', schema=None) as batch_op:
        # The default only filled existing rows; the application always names the file.
        batch_op.alter_column('original_name', existing_type=sa.String(length=255), server_default=None)

    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attended_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.drop_column('attended_at')
    with op.batch_alter_table('resources', schema=None) as batch_op:
        batch_op.drop_constraint('fk_resources_uploaded_by_users', type_='foreignkey')
        batch_op.drop_column('uploaded_by')
        batch_op.drop_column('original_name')
    with op.batch_alter_table('feedback', schema=None) as batch_op:
        batch_op.drop_column('updated_at')

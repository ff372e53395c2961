"""partial refunds

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 01:20:00

A learner who cancels late gets part of the price back: the payment stores how much is refunded.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('refund_amount_paise', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_column('refund_amount_paise')

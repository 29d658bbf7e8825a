"""sub-centres: users.scope (street or community code; NULL = whole district)

Revision ID: 0003_scope
Revises: 0002_briefing
Create Date: 2026-11-30 04:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0003_scope'
down_revision = '0002_briefing'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('scope', sa.String(length=12), nullable=True,
                                      comment='sub-centre: a street (9 digits) or community (12) code; '
                                              'NULL = the whole district (migration 0003_scope)'))


def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('scope')

"""sessions and tokens: users.session_version; api_tokens.label, expires_at, revoked_at

Revision ID: 0004_sessions
Revises: 0004_evidence
Create Date: 2026-11-30 06:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0004_sessions'
down_revision = '0004_evidence'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_version', sa.Integer(), nullable=False, server_default=sa.text('0'),
                                      comment='bumped by log-out, password change and deactivation: every older '
                                              'session ends (migration 0004_sessions)'))
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('label', sa.String(length=64), nullable=True,
                                      comment="what the token is for (a wall's place, a client's name)"))
        batch_op.add_column(sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True,
                                      comment='no use after this instant; NULL = no expiry (migration 0004_sessions)'))
        batch_op.add_column(sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True,
                                      comment='revoked: refused from the next request on'))


def downgrade() -> None:
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_column('revoked_at')
        batch_op.drop_column('expires_at')
        batch_op.drop_column('label')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('session_version')

"""evidence and return visits (issue 11): the latest visit of each case on ``cases``

Photos need no table: an ``attached`` event carries their hashes and metadata, and a case's
photos are listed from its events (so ``citygrid rebuild`` reproduces them exactly); their
bytes live in the evidence store (``DATA_DIR/evidence`` or an object store).

Revision ID: 0004_evidence
Revises: 0003_scope
Create Date: 2026-11-30 06:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0004_evidence'
down_revision = '0003_scope'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('visit_result', sa.String(length=16), nullable=True,
                                      comment='latest return visit (回访): satisfied, basically, unsatisfied '
                                              '(migration 0004_evidence)'))
        batch_op.add_column(sa.Column('visited_at', sa.DateTime(timezone=True), nullable=True,
                                      comment='time of the latest return visit (migration 0004_evidence)'))
        batch_op.add_column(sa.Column('visit_count', sa.Integer(), nullable=False, server_default='0',
                                      comment='return visits recorded (migration 0004_evidence)'))
        batch_op.create_index('ix_cases_visited_at', ['visited_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_visited_at')
        batch_op.drop_column('visit_count')
        batch_op.drop_column('visited_at')
        batch_op.drop_column('visit_result')

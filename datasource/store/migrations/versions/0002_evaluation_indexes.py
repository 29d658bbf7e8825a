"""indexes of the department evaluation

The period reports find "the cases first dispatched in a window" from the window's
``dispatched`` events: (type, at, case_id) makes that a range scan that never reads the
table (an index-only scan on PostgreSQL).

Revision ID: 0002_evaluation
Revises: 0001
Create Date: 2026-11-26 10:00:00
"""
from alembic import op


revision = "0002_evaluation"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("case_events", schema=None) as batch_op:
        batch_op.create_index("ix_case_events_type_at", ["type", "at", "case_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("case_events", schema=None) as batch_op:
        batch_op.drop_index("ix_case_events_type_at")

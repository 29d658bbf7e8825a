"""cases.first_dispatched_at: the period a case is evaluated in

The department evaluation (``/departments``, ``GET /api/v1/departments``) counts a case in the
period in which it was *first* dispatched.  ``cases.dispatched_at`` moves with every
re-dispatch and rework, and finding the first dispatch from ``case_events`` costs a join of
every dispatch of the window with ``cases`` (≈ 0.4 s for a 30-day window of 2 million cases
on PostgreSQL).  The projection now keeps the first dispatch's time on the case; this
migration adds the column, fills it for the cases already there from their events, and
indexes it, so a period's cases are one index range; a small partial index holds the
returned or reworked ones (returns are attributed through their events).

Revision ID: 0002_evaluation
Revises: 0001
Create Date: 2026-11-26 10:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = "0002_evaluation"
down_revision = "0002_exact"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("first_dispatched_at", sa.DateTime(timezone=True), nullable=True,
                                      comment="first dispatch: the period the case is evaluated in (migration 0002)"))
    op.execute("UPDATE cases SET first_dispatched_at = (SELECT min(e.at) FROM case_events e "
               "WHERE e.case_id = cases.case_id AND e.type = 'dispatched') "
               "WHERE dispatched_at IS NOT NULL")
    touched = sa.text("return_count > 0 OR rework_count > 0")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.create_index("ix_cases_first_dispatched_at", ["first_dispatched_at"], unique=False)
        batch_op.create_index("ix_cases_first_dispatched_touched", ["first_dispatched_at"], unique=False,
                              postgresql_where=touched, sqlite_where=touched)


def downgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index("ix_cases_first_dispatched_touched")
        batch_op.drop_index("ix_cases_first_dispatched_at")
        batch_op.drop_column("first_dispatched_at")

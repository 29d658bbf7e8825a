"""issue 15: /departments from a daily roll-up (a city's 30-day window in days × departments rows)

- ``report_departments_daily``: the department evaluation's figures per local day of first
  dispatch and department — the counts that add up over days, the returns a department made,
  and the handled cases' working seconds as a sorted array (exact medians and p90)
  (datasource/services/department_rollup.py).  Left empty here: it needs the working
  calendar of the scenario, which a migration does not have; the first ``/departments`` (or
  API call, or ``DepartmentDays.refresh``) after the upgrade counts every day once.
- ``ix_cases_waiting``: the cases waiting for their department by first dispatch, with their
  department and handling deadline — backlog and "overdue now" read from the index alone.

Revision ID: 0004_department_rollup
Revises: 0004_partitions
Create Date: 2026-11-30 13:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0004_department_rollup'
down_revision = '0004_partitions'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('report_departments_daily',
    sa.Column('day', sa.Integer(), nullable=False,
              comment='local day number (days since 1970-01-01) of the first dispatch'),
    sa.Column('department', sa.String(length=32), nullable=False,
              comment='the department the cases are dispatched to now (returns: the one that returned)'),
    sa.Column('due', sa.Integer(), nullable=False, comment='cases first dispatched that day, dispatched to it now'),
    sa.Column('handled', sa.Integer(), nullable=False),
    sa.Column('handled_on_time', sa.Integer(), nullable=False),
    sa.Column('closed', sa.Integer(), nullable=False),
    sa.Column('reworks', sa.Integer(), nullable=False),
    sa.Column('extensions', sa.Integer(), nullable=False),
    sa.Column('returns', sa.Integer(), nullable=False, comment="returns (退回) it made of that day's cases"),
    sa.Column('handling', sa.LargeBinary(), nullable=False,
              comment="handled cases' working seconds from first dispatch to handling: sorted int32, little-endian"),
    sa.PrimaryKeyConstraint('day', 'department'),
    comment='daily roll-up of the department evaluation (migration 0004_department_rollup)'
    )
    op.create_index('ix_cases_waiting', 'cases', ['first_dispatched_at', 'department_code', 'handle_deadline_at'],
                    unique=False, postgresql_where=sa.text("stage = 'dispatched'"),
                    sqlite_where=sa.text("stage = 'dispatched'"))


def downgrade() -> None:
    op.drop_index('ix_cases_waiting', table_name='cases')
    op.drop_table('report_departments_daily')
    op.execute("DELETE FROM report_state WHERE key IN ('departments_upto', 'departments_config')")

"""indexes for the regional and staff reports (/regions, /inspectors)

Revision ID: 0002_report_indexes
Revises: 0001
Create Date: 2026-11-30 03:30:00

- ``ix_cases_reported_at``: the reports take the cases *reported* in a period;
- ``ix_cases_grid_reported``: one grid's cases in a period (the drill-down's last step);
- ``ix_case_events_type_at``: the acts (filed, dispatched, verified …) done in a period;
- ``ix_case_events_case_id_id``: the event before a given one of the same case (when its
  stage clock started).
"""
from alembic import op


revision = "0002_report_indexes"
down_revision = "0001"
branch_labels = None
depends_on = None

INDEXES = (
    ("ix_cases_reported_at", "cases", ["reported_at"]),
    ("ix_cases_grid_reported", "cases", ["grid_code", "reported_at"]),
    ("ix_case_events_type_at", "case_events", ["type", "at"]),
    ("ix_case_events_case_id_id", "case_events", ["case_id", "id"]),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns, unique=False, if_not_exists=True)


def downgrade() -> None:
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table, if_exists=True)

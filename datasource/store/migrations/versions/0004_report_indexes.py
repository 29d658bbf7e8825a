"""indexes and the recorded acts for the regional and staff reports (/regions, /inspectors)

Revision ID: 0002_report_indexes
Revises: 0001
Create Date: 2026-11-30 03:30:00

- ``ix_cases_reported_at``: the reports take the cases *reported* in a period;
- ``ix_cases_grid_reported``: one grid's cases in a period (the drill-down's last step);
- ``ix_case_events_type_at``: the acts (filed, dispatched, verified …) done in a period;
- ``ix_case_events_case_id_id``: the event before a given one of the same case (when its
  stage clock started);
- ``report_acts`` (+ ``report_state``): each act's verdict (on time or late), recorded once
  by the reports (``datasource/services/report_acts.py``), indexed by (type, at).
"""
import sqlalchemy as sa
from alembic import op


revision = "0002_report_indexes"
down_revision = "0002_evaluation"
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
    op.create_table(
        "report_acts",
        sa.Column("event_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=False,
                  nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("start_day", sa.Integer(), nullable=True),
        sa.Column("shift", sa.String(length=8), nullable=True),
        sa.Column("on_time", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("event_id"),
    )
    op.create_index("ix_report_acts_type_at", "report_acts", ["type", "at"], unique=False)
    op.create_table(
        "report_state",
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=True),
        sa.Column("value", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("key"),
    )


def downgrade() -> None:
    op.drop_table("report_state")
    op.drop_index("ix_report_acts_type_at", table_name="report_acts")
    op.drop_table("report_acts")
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table, if_exists=True)

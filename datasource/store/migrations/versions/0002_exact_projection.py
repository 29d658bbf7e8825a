"""exact projection: one dead letter per stream entry, the projection's stream position

Revision ID: 0002_exact
Revises: 0001
Create Date: 2026-11-30

* ``dead_letters.stream_id`` becomes unique (a bad entry delivered twice is recorded
  once); duplicates recorded by earlier versions are removed, keeping the first.
* ``projection_state`` holds the id of the last stream entry the database has processed:
  the worker applies entries strictly in stream order and skips what it has already
  processed.  It is initialised from the events and dead letters already recorded.
* Stream ids are widened to 64 characters (an explicit id can have 41); SQLite does not
  enforce the length, so only PostgreSQL is altered.
"""
from alembic import op
import sqlalchemy as sa


revision = "0002_exact"
down_revision = "0001"
branch_labels = None
depends_on = None


def _key(stream_id):
    ms, _, seq = stream_id.partition("-")
    return int(ms), int(seq or 0)


def upgrade() -> None:
    bind = op.get_bind()
    op.execute("DELETE FROM dead_letters WHERE stream_id IS NOT NULL AND id NOT IN "
               "(SELECT MIN(id) FROM dead_letters WHERE stream_id IS NOT NULL GROUP BY stream_id)")
    op.create_index("uq_dead_letters_stream_id", "dead_letters", ["stream_id"], unique=True)
    if bind.dialect.name == "postgresql":
        for table in ("case_events", "dead_letters"):
            op.alter_column(table, "stream_id", type_=sa.String(64), existing_type=sa.String(32),
                            existing_nullable=True)
    state = op.create_table(
        "projection_state",
        sa.Column("name", sa.String(length=32), nullable=False,
                  comment="'stream': the one stream this database projects"),
        sa.Column("last_stream_id", sa.String(length=64), nullable=True,
                  comment="the last entry processed; the projection follows stream order"),
        sa.PrimaryKeyConstraint("name"),
    )
    # Earlier versions applied entries in stream order too, so the newest row of each
    # table holds the last entry processed.
    last = []
    for table in ("case_events", "dead_letters"):
        found = bind.execute(sa.text(f"SELECT stream_id FROM {table} WHERE stream_id IS NOT NULL "
                                     f"ORDER BY id DESC LIMIT 1")).scalar()
        if found:
            last.append(found)
    op.bulk_insert(state, [{"name": "stream", "last_stream_id": max(last, key=_key) if last else None}])


def downgrade() -> None:
    op.drop_table("projection_state")
    op.drop_index("uq_dead_letters_stream_id", table_name="dead_letters")

"""issue 9's finishing work: the sub-centres' briefing archive and the inspectors' roll-up

- ``briefings.scope``: one archived briefing per day, language *and area* ('' = the whole
  district, else a street or community code); the unique key grows accordingly.
- ``report_acts_daily``: the recorded acts counted per local day, type, actor, clock-start
  day and shift — what ``/inspectors`` aggregates (datasource/services/report_rollup.py).
  Left empty here: the first report after the upgrade counts it from ``report_acts`` once.
- ``ix_cases_reported_people``: the cases of a window with the columns /inspectors groups
  them by (grid, reporter, source, filed, rejected) — read from the index alone.

Revision ID: 0004_inspector_rollup
Revises: 0004_components
Create Date: 2026-11-30 06:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0004_inspector_rollup'
down_revision = '0004_components'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('report_acts_daily',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('day', sa.Integer(), nullable=False, comment='local day number (days since 1970-01-01) of the act'),
    sa.Column('type', sa.String(length=16), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('start_day', sa.Integer(), nullable=True,
              comment='local day number its stage clock started (report_acts.start_day)'),
    sa.Column('shift', sa.String(length=8), nullable=True,
              comment='the shift on duty when its clock started (report_acts.shift)'),
    sa.Column('acts', sa.Integer(), nullable=False, comment='acts of that day, type, actor, clock-start day and shift'),
    sa.Column('on_time', sa.Integer(), nullable=False, comment="of them, within the stage's time limit"),
    sa.PrimaryKeyConstraint('id'),
    comment='daily roll-up of report_acts (migration 0004_inspector_rollup)'
    )
    op.create_index('ix_report_acts_daily_day', 'report_acts_daily', ['day', 'type'], unique=False)
    op.create_index('ix_cases_reported_people', 'cases',
                    ['reported_at', 'grid_code', 'source', 'reporter', 'filed_at', 'rejected_at'], unique=False)
    with op.batch_alter_table('briefings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('scope', sa.String(length=12), nullable=False, server_default='',
                                      comment="the area: '' = the whole district, else a street or community code"))
        batch_op.drop_constraint('uq_briefings_day_lang', type_='unique')
        batch_op.create_unique_constraint('uq_briefings_day_lang_scope', ['day', 'lang', 'scope'])


def downgrade() -> None:
    op.drop_index('ix_cases_reported_people', table_name='cases')
    op.drop_index('ix_report_acts_daily_day', table_name='report_acts_daily')
    op.drop_table('report_acts_daily')
    op.execute("DELETE FROM report_state WHERE key = 'acts_daily_upto'")
    op.execute("DELETE FROM briefings WHERE scope <> ''")   # the district's archive survives a downgrade
    with op.batch_alter_table('briefings', schema=None) as batch_op:
        batch_op.drop_constraint('uq_briefings_day_lang_scope', type_='unique')
        batch_op.create_unique_constraint('uq_briefings_day_lang', ['day', 'lang'])
        batch_op.drop_column('scope')

"""issue 9's finishing work: the sub-centres' briefing archive and the inspectors' roll-up

- ``briefings.scope``: one archived briefing per day, language *and area* ('' = the whole
  district, else a street or community code); the unique key grows accordingly.

Revision ID: 0004_inspector_rollup
Revises: 0003_scope
Create Date: 2026-11-30 06:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0004_inspector_rollup'
down_revision = '0003_scope'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('briefings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('scope', sa.String(length=12), nullable=False, server_default='',
                                      comment="the area: '' = the whole district, else a street or community code"))
        batch_op.drop_constraint('uq_briefings_day_lang', type_='unique')
        batch_op.create_unique_constraint('uq_briefings_day_lang_scope', ['day', 'lang', 'scope'])


def downgrade() -> None:
    op.execute("DELETE FROM briefings WHERE scope <> ''")   # the district's archive survives a downgrade
    with op.batch_alter_table('briefings', schema=None) as batch_op:
        batch_op.drop_constraint('uq_briefings_day_lang_scope', type_='unique')
        batch_op.create_unique_constraint('uq_briefings_day_lang', ['day', 'lang'])
        batch_op.drop_column('scope')

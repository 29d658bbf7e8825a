"""daily briefing: archive table, event-time and report-time indexes

Revision ID: 0002_briefing
Revises: 0001
Create Date: 2026-11-30 10:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0002_briefing'
down_revision = '0002_report_indexes'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('briefings',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('day', sa.Date(), nullable=False, comment='local (Asia/Shanghai) date the briefing is about'),
    sa.Column('lang', sa.String(length=2), nullable=False, comment='zh or en'),
    sa.Column('path', sa.Text(), nullable=False, comment='PDF file, relative to the data folder'),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('generated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('as_of', sa.DateTime(timezone=True), nullable=False,
              comment="the data's time: figures 'by now' mean by this instant"),
    sa.Column('figures', sa.Text(), nullable=False, comment="the briefing's data as JSON (headlines, sections)"),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('day', 'lang', name='uq_briefings_day_lang')
    )
    # (case_events (type, at) is indexed by 0002_report_indexes already)
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index('ix_cases_reported', ['reported_at', 'street_code', 'grid_code', 'category_code',
                                                    'source', 'urgency', 'case_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_reported')
    op.drop_table('briefings')

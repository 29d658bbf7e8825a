"""city components: the components table, cases.component_code + index

Revision ID: 0004_components
Revises: 0004_sessions
Create Date: 2026-11-30 06:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0004_components'
down_revision = '0004_sessions'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'components',
        sa.Column('code', sa.String(length=16), nullable=False,
                  comment='16 digits: district 110101 + major + minor class + serial'),
        sa.Column('kind', sa.String(length=8), nullable=False,
                  comment="minor class as the scenario's category code (C0118 路灯)"),
        sa.Column('name', sa.String(length=128), nullable=True),
        sa.Column('lon', sa.Float(), nullable=False, comment='GCJ-02'),
        sa.Column('lat', sa.Float(), nullable=False, comment='GCJ-02'),
        sa.Column('grid_code', sa.String(length=15), nullable=False, comment='the unit grid the position lies in'),
        sa.Column('community_code', sa.String(length=12), nullable=False),
        sa.Column('street_code', sa.String(length=9), nullable=False),
        sa.Column('owner_department', sa.String(length=32), nullable=True, comment='主管 owner'),
        sa.Column('title_department', sa.String(length=32), nullable=True, comment='权属 title holder'),
        sa.Column('maintainer_department', sa.String(length=32), nullable=True,
                  comment='养护 maintainer: a component case goes there first'),
        sa.Column('status', sa.String(length=16), nullable=False, comment='in_service, damaged or removed'),
        sa.Column('installed_on', sa.Date(), nullable=True),
        sa.Column('origin', sa.String(length=16), nullable=True,
                  comment='facility / green_space (real position), generated, or import'),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('code'),
    )
    op.create_index('ix_components_kind_lon_lat', 'components', ['kind', 'lon', 'lat'])
    op.create_index('ix_components_lon_lat', 'components', ['lon', 'lat'])
    op.create_index('ix_components_street_kind', 'components', ['street_code', 'kind'])
    op.create_index('ix_components_grid', 'components', ['grid_code'])
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('component_code', sa.String(length=16), nullable=True,
                                      comment='the city component (部件) the case names, if any '
                                              '(migration 0004_components)'))
        batch_op.create_index('ix_cases_component_code', ['component_code'])


def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_component_code')
        batch_op.drop_column('component_code')
    for name in ('ix_components_grid', 'ix_components_street_kind', 'ix_components_lon_lat',
                 'ix_components_kind_lon_lat'):
        op.drop_index(name, table_name='components')
    op.drop_table('components')

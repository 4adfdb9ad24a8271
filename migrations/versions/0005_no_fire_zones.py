"""No-fire zones: areas no firing line may come within the buffer of, with the bounds their buffer reaches

Revision ID: 0005_no_fire_zones
Revises: 0004_account_control
Create Date: 2026-12-02 08:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005_no_fire_zones'
down_revision = "0004_account_control"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('no_fire_zones',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('geometry', sa.Text(), nullable=False),
    sa.Column('buffer_m', sa.Float(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('source', sa.String(length=40), nullable=True),
    sa.Column('reach_west', sa.Float(), nullable=False),
    sa.Column('reach_south', sa.Float(), nullable=False),
    sa.Column('reach_east', sa.Float(), nullable=False),
    sa.Column('reach_north', sa.Float(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('buffer_m >= 0', name='ck_no_fire_zones_buffer'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('no_fire_zones', schema=None) as batch_op:
        batch_op.create_index('ix_no_fire_zones_reach', ['active', 'reach_south', 'reach_north', 'reach_west',
                                                         'reach_east'], unique=False)


def downgrade():
    with op.batch_alter_table('no_fire_zones', schema=None) as batch_op:
        batch_op.drop_index('ix_no_fire_zones_reach')
    op.drop_table('no_fire_zones')

"""Public announcements of ground operations and the points each names; a point's township (the notice names it)

Revision ID: 0007_announcements
Revises: 0006_orders
Create Date: 2026-12-02 15:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007_announcements'
down_revision = "0006_orders"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('announcements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('period_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('period_end', sa.DateTime(timezone=True), nullable=False),
    sa.Column('purpose', sa.Text(), nullable=False),
    sa.Column('issuer', sa.String(length=200), nullable=False),
    sa.Column('contact_unit', sa.String(length=200), nullable=False),
    sa.Column('contact_person', sa.String(length=80), nullable=False),
    sa.Column('contact_phone', sa.String(length=40), nullable=False),
    sa.Column('safety_radius_km', sa.Float(), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('supersedes_id', sa.Integer(), nullable=True),
    sa.Column('created_by', sa.String(length=120), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('published_by', sa.String(length=120), nullable=True),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('superseded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('published_points', sa.Text(), nullable=True),
    sa.Column('text_zh', sa.Text(), nullable=True),
    sa.Column('text_en', sa.Text(), nullable=True),
    sa.CheckConstraint('period_end > period_start', name='ck_announcements_period'),
    sa.CheckConstraint('safety_radius_km > 0', name='ck_announcements_radius'),
    sa.CheckConstraint("status IN ('draft', 'published', 'superseded')", name='ck_announcements_status'),
    sa.ForeignKeyConstraint(['supersedes_id'], ['announcements.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('announcements', schema=None) as batch_op:
        batch_op.create_index('ix_announcements_cover', ['status', 'period_start', 'period_end'], unique=False)
    op.create_table('announcement_points',
    sa.Column('announcement_id', sa.Integer(), nullable=False),
    sa.Column('point_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['announcement_id'], ['announcements.id'], ),
    sa.ForeignKeyConstraint(['point_id'], ['points.id'], ),
    sa.PrimaryKeyConstraint('announcement_id', 'point_id')
    )
    with op.batch_alter_table('announcement_points', schema=None) as batch_op:
        batch_op.create_index('ix_announcement_points_point', ['point_id', 'announcement_id'], unique=False)
    with op.batch_alter_table('points', schema=None) as batch_op:
        batch_op.add_column(sa.Column('township', sa.String(length=80), nullable=True))


def downgrade():
    with op.batch_alter_table('points', schema=None) as batch_op:
        batch_op.drop_column('township')
    with op.batch_alter_table('announcement_points', schema=None) as batch_op:
        batch_op.drop_index('ix_announcement_points_point')
    op.drop_table('announcement_points')
    with op.batch_alter_table('announcements', schema=None) as batch_op:
        batch_op.drop_index('ix_announcements_cover')
    op.drop_table('announcements')

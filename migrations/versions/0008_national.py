"""The national view: a point's province and city, and commanders' acknowledgements of alerts

Revision ID: 0008_national
Revises: 0007_announcements
Create Date: 2026-12-02 19:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008_national'
down_revision = "0007_announcements"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('points', schema=None) as batch_op:
        batch_op.add_column(sa.Column('province', sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column('city', sa.String(length=80), nullable=True))
    op.create_table('alert_acks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('alert_id', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('point_code', sa.String(length=20), nullable=True),
    sa.Column('severity', sa.String(length=10), nullable=False),
    sa.Column('measure', sa.Float(), nullable=True),
    sa.Column('alert_since', sa.DateTime(timezone=True), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('acknowledged_by', sa.String(length=120), nullable=False),
    sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('alert_acks', schema=None) as batch_op:
        batch_op.create_index('ix_alert_acks_alert', ['alert_id', 'acknowledged_at'], unique=False)


def downgrade():
    with op.batch_alter_table('alert_acks', schema=None) as batch_op:
        batch_op.drop_index('ix_alert_acks_alert')
    op.drop_table('alert_acks')
    with op.batch_alter_table('points', schema=None) as batch_op:
        batch_op.drop_column('city')
        batch_op.drop_column('province')

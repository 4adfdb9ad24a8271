"""Account control: page sessions held server-side, login attempt counters shared by all workers

Revision ID: 0004_account_control
Revises: 0003_audit_checkpoints
Create Date: 2026-12-01 21:45:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004_account_control'
down_revision = "0003_audit_checkpoints"
branch_labels = None
depends_on = None


def upgrade():
    # A page session is a token of kind 'session' (its random id in the cookie, its SHA-256 here), so
    # disabling an account or signing out ends it like a bearer token; existing rows are bearer tokens.
    with op.batch_alter_table('tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=10), nullable=False, server_default='bearer'))
        batch_op.create_check_constraint('ck_tokens_kind', "kind IN ('bearer', 'session')")

    # Failed logins within the lockout window, counted by every worker and server on this database.
    op.create_table('login_failures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=80), nullable=False),
    sa.Column('remote_addr', sa.String(length=64), nullable=False),
    sa.Column('known', sa.Boolean(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('login_failures', schema=None) as batch_op:
        batch_op.create_index('ix_login_failures_account_addr', ['username', 'remote_addr', 'at'], unique=False)
        batch_op.create_index('ix_login_failures_account', ['username', 'at'], unique=False)
        batch_op.create_index('ix_login_failures_addr', ['remote_addr', 'known', 'at'], unique=False)
        batch_op.create_index(batch_op.f('ix_login_failures_at'), ['at'], unique=False)

    # The `limits` library's fixed-window counters when they are kept in this database (the default).
    op.create_table('rate_limit_counters',
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('expires_at', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    with op.batch_alter_table('rate_limit_counters', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rate_limit_counters_expires_at'), ['expires_at'], unique=False)


def downgrade():
    with op.batch_alter_table('rate_limit_counters', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rate_limit_counters_expires_at'))
    op.drop_table('rate_limit_counters')
    with op.batch_alter_table('login_failures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_login_failures_at'))
        batch_op.drop_index('ix_login_failures_addr')
        batch_op.drop_index('ix_login_failures_account')
        batch_op.drop_index('ix_login_failures_account_addr')
    op.drop_table('login_failures')
    with op.batch_alter_table('tokens', schema=None) as batch_op:
        batch_op.drop_constraint('ck_tokens_kind', type_='check')
        batch_op.drop_column('kind')

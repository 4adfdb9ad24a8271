"""Account control: page sessions held server-side, login attempt counters shared by all workers

Revision ID: 0004_account_control
Revises: 0003_audit_checkpoints
Create Date: 2026-12-01 21:45:00

"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


# revision identifiers, used by Alembic.
revision = '0004_account_control'
down_revision = "0003_audit_checkpoints"
branch_labels = None
depends_on = None


def upgrade():
    pass  # filled in by the account-control work


def downgrade():
    pass

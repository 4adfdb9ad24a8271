"""Audit checkpoints: signed (Ed25519) length and head hash of the audit chain, append-only

Revision ID: 0003_audit_checkpoints
Revises: 0002_operations
Create Date: 2026-12-01 21:45:00

"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


# revision identifiers, used by Alembic.
revision = '0003_audit_checkpoints'
down_revision = "0002_operations"
branch_labels = None
depends_on = None


def upgrade():
    pass  # filled in by the audit-checkpoint work


def downgrade():
    pass

"""setup lease and attempt count, for crash recovery of incident setup

Revision ID: 0002_setup_recovery
Revises: 0001
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_setup_recovery"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(
            sa.Column("setup_attempts", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("setup_lease_until", sa.DateTime(timezone=True)))


def downgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.drop_column("setup_lease_until")
        batch.drop_column("setup_attempts")

"""incident setup runs as a durable step: its lease and attempt count on the incident go

The `setup` step (scheduled_steps) holds the claim, counts the attempts and is taken over when
its worker dies, so `incidents.setup_attempts` and `incidents.setup_lease_until` are unused. An
incident whose setup an older version left half done gets its step from the scheduler
(`setup.resume_interrupted`).

Revision ID: 0012_setup_steps
Revises: 0011_words
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_setup_steps"
down_revision: str | None = "0011_words"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.drop_column("setup_lease_until")
        batch.drop_column("setup_attempts")


def downgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(
            sa.Column("setup_attempts", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("setup_lease_until", sa.DateTime(timezone=True)))

"""alert links: how each alert came to its incident (storm limit), its firing episode's entry

Revision ID: 0008_alerts
Revises: 0007_replays
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_alerts"
down_revision: str | None = "0007_replays"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("alert_links", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("role", sa.String(length=16), server_default="joined", nullable=False)
        )
        batch_op.add_column(sa.Column("entry_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("deliveries", sa.Integer(), server_default="1", nullable=False)
        )
        batch_op.create_index(
            "ix_alert_links_role", ["source", "role", "first_seen_at"], unique=False
        )
    # The first alert of each incident is the one that declared it.
    op.execute(
        "UPDATE alert_links SET role = 'declared' WHERE id IN "
        "(SELECT MIN(id) FROM alert_links GROUP BY incident_id)"
    )


def downgrade() -> None:
    with op.batch_alter_table("alert_links", schema=None) as batch_op:
        batch_op.drop_index("ix_alert_links_role")
        batch_op.drop_column("deliveries")
        batch_op.drop_column("entry_id")
        batch_op.drop_column("role")

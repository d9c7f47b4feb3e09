"""incident type and runbook checklist on incidents; alert links

Revision ID: 0006_ops
Revises: 0005_escalation
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_ops"
down_revision: str | None = "0005_escalation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("incident_type", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("runbook_ts", sa.String(length=32), nullable=True))
    op.create_table(
        "alert_links",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("fingerprint", sa.String(length=255), nullable=False),
        sa.Column("group_key", sa.String(length=64), nullable=True),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("received", sa.Integer(), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source", "fingerprint", "incident_id", name="uq_alert_links_alert"),
    )
    with op.batch_alter_table("alert_links", schema=None) as batch_op:
        batch_op.create_index("ix_alert_links_fingerprint", ["source", "fingerprint"], unique=False)
        batch_op.create_index("ix_alert_links_group", ["source", "group_key"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("alert_links", schema=None) as batch_op:
        batch_op.drop_index("ix_alert_links_group")
        batch_op.drop_index("ix_alert_links_fingerprint")
    op.drop_table("alert_links")
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_column("runbook_ts")
        batch_op.drop_column("incident_type")

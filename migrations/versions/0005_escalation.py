"""escalation: scheduled steps, the messages they sent, acknowledgement and breach columns

Revision ID: 0005_escalation
Revises: 0004_timeline
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_escalation"
down_revision: str | None = "0004_timeline"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIVE_KEY = "status <> 'cancelled' AND dedupe_key IS NOT NULL"


def upgrade() -> None:
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("acknowledged_by", sa.String(length=32), nullable=True))
        batch_op.add_column(
            sa.Column("response_breached_at", sa.DateTime(timezone=True), nullable=True)
        )

    op.create_table(
        "scheduled_steps",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("dedupe_key", sa.String(length=64), nullable=True),
        sa.Column("level", sa.String(length=8), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("scheduled_steps", schema=None) as batch_op:
        # The scheduler's only hot query: pending steps whose time has come.
        batch_op.create_index(
            "ix_steps_status_next_attempt", ["status", "next_attempt_at"], unique=False
        )
        batch_op.create_index("ix_steps_incident_kind", ["incident_id", "kind"], unique=False)
        batch_op.create_index(
            "uq_steps_incident_key_live",
            ["incident_id", "dedupe_key"],
            unique=True,
            postgresql_where=sa.text(LIVE_KEY),
            sqlite_where=sa.text(LIVE_KEY),
        )

    op.create_table(
        "step_messages",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("step_id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("recipient", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=True),
        sa.Column("ts", sa.String(length=32), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("error", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["step_id"], ["scheduled_steps.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("step_id", "recipient", name="uq_step_messages_step_recipient"),
    )
    with op.batch_alter_table("step_messages", schema=None) as batch_op:
        batch_op.create_index("ix_step_messages_incident", ["incident_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("step_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_step_messages_incident")
    op.drop_table("step_messages")

    with op.batch_alter_table("scheduled_steps", schema=None) as batch_op:
        batch_op.drop_index("uq_steps_incident_key_live")
        batch_op.drop_index("ix_steps_incident_kind")
        batch_op.drop_index("ix_steps_status_next_attempt")
    op.drop_table("scheduled_steps")

    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_column("response_breached_at")
        batch_op.drop_column("acknowledged_by")

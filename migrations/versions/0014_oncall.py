"""on-call: schedule overrides, people's contact methods, hand-offs announced

Revision ID: 0014_oncall
Revises: 0013_tickets
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_oncall"
down_revision: str | None = "0013_tickets"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A page's StepMessage may hold a Twilio SID (34 characters) instead of a Slack ts.
    with op.batch_alter_table("step_messages", schema=None) as batch_op:
        batch_op.alter_column("ts", existing_type=sa.String(length=32), type_=sa.String(length=64))
    op.create_table(
        "oncall_overrides",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("schedule", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("removed_by", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_oncall_overrides_schedule", "oncall_overrides", ["schedule", "ends_at"], unique=False
    )
    op.create_table(
        "contact_methods",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("address", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "kind", "address", name="uq_contact_methods"),
    )
    op.create_index(
        "ix_contact_methods_address", "contact_methods", ["kind", "address"], unique=False
    )
    op.create_table(
        "oncall_handoffs",
        sa.Column("schedule", sa.String(length=64), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("announced_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("schedule", "starts_at"),
    )


def downgrade() -> None:
    op.drop_table("oncall_handoffs")
    op.drop_index("ix_contact_methods_address", table_name="contact_methods")
    op.drop_table("contact_methods")
    op.drop_index("ix_oncall_overrides_schedule", table_name="oncall_overrides")
    op.drop_table("oncall_overrides")
    with op.batch_alter_table("step_messages", schema=None) as batch_op:
        batch_op.alter_column("ts", existing_type=sa.String(length=64), type_=sa.String(length=32))

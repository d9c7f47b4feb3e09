"""running and closing incidents: incident log fields, review, action items

Revision ID: 0003_run
Revises: 0002_setup_recovery
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_run"
down_revision: str | None = "0002_setup_recovery"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TEXT_FIELDS = ("resolution", "root_cause", "affected_services", "affected_users", "revenue_impact")


def upgrade() -> None:
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("resolved_by", sa.String(length=32), nullable=True))
        for name in _TEXT_FIELDS:
            batch_op.add_column(sa.Column(name, sa.Text(), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("data_loss", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("review_held_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("review_held_by", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("postmortem_file_id", sa.String(length=32), nullable=True))

    op.create_table(
        "action_items",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("owner_id", sa.String(length=32), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("done", sa.Boolean(), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done_by", sa.String(length=32), nullable=True),
        sa.Column("created_by", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("action_items", schema=None) as batch_op:
        batch_op.create_index("ix_action_items_incident", ["incident_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("action_items", schema=None) as batch_op:
        batch_op.drop_index("ix_action_items_incident")
    op.drop_table("action_items")

    with op.batch_alter_table("incidents", schema=None) as batch_op:
        for name in (
            "postmortem_file_id",
            "review_held_by",
            "review_held_at",
            "data_loss",
            *reversed(_TEXT_FIELDS),
            "resolved_by",
        ):
            batch_op.drop_column(name)

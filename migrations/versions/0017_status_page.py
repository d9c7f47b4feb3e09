"""status page: what responders publish (and its Statuspage copy); the plan's quarterly reviews

Revision ID: 0017_status_page
Revises: 0016_deployments
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017_status_page"
down_revision: str | None = "0016_deployments"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "status_posts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("services", sa.JSON(), nullable=False),
        sa.Column("impact", sa.String(length=32), nullable=False),
        sa.Column("phase", sa.String(length=16), nullable=False),
        sa.Column("drafted_by", sa.String(length=32), nullable=False),
        sa.Column("drafted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_by", sa.String(length=32), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("statuspage_incident_id", sa.String(length=64), nullable=True),
        sa.Column("statuspage_synced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("statuspage_error", sa.Text(), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_status_posts_incident", "status_posts", ["incident_id"], unique=False)
    op.create_index("ix_status_posts_published_at", "status_posts", ["published_at"], unique=False)
    op.create_table(
        "plan_reviews",
        sa.Column("quarter", sa.String(length=8), nullable=False),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("channel_id", sa.String(length=32), nullable=True),
        sa.Column("file_id", sa.String(length=32), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("quarter"),
    )


def downgrade() -> None:
    op.drop_table("plan_reviews")
    op.drop_index("ix_status_posts_published_at", table_name="status_posts")
    op.drop_index("ix_status_posts_incident", table_name="status_posts")
    op.drop_table("status_posts")

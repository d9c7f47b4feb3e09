"""people's names, the post-mortem's permalink and the channel an incident was declared from,
so documents name people and link the upload, and the reporter is pointed to the channel

Revision ID: 0011_words
Revises: 0010_channel_messages
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_words"
down_revision: str | None = "0010_channel_messages"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "people",
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id"),
    )
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("postmortem_url", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("declared_from", sa.String(length=32), nullable=True))
        batch_op.add_column(
            sa.Column("declared_from_told_at", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_column("declared_from_told_at")
        batch_op.drop_column("declared_from")
        batch_op.drop_column("postmortem_url")
    op.drop_table("people")

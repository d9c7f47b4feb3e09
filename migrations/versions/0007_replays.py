"""signatures of the signed Slack requests already applied, to refuse exact replays

Revision ID: 0007_replays
Revises: 0006_ops
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_replays"
down_revision: str | None = "0006_ops"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "slack_request_signatures",
        sa.Column("signature", sa.String(length=128), nullable=False),
        sa.Column("request_ts", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("signature"),
    )
    with op.batch_alter_table("slack_request_signatures", schema=None) as batch_op:
        batch_op.create_index(
            "ix_slack_request_signatures_request_ts", ["request_ts"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("slack_request_signatures", schema=None) as batch_op:
        batch_op.drop_index("ix_slack_request_signatures_request_ts")
    op.drop_table("slack_request_signatures")

"""The deployments table (issue 17): what was deployed, told by Vercel's and GitHub's
webhooks; and the incident channels' "Deployed in the last 2 hours" post, once each."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.store.base import Base

__all__ = ["Base", "Deployment", "DeploymentPost"]


class Deployment(Base):
    """One deployment, whichever of its events arrived (created, succeeded, failed...): the
    sender's id is unique per source, so a redelivery or the next state updates the same row.
    `created_at` is when the sender says the deployment started; responders ask "what changed
    before it broke", and that is the time that answers it."""

    __tablename__ = "deployments"
    __table_args__ = (
        UniqueConstraint("source", "external_id", name="uq_deployments_source_external"),
        Index("ix_deployments_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(16), nullable=False)  # vercel | github
    external_id: Mapped[str] = mapped_column(String(128), nullable=False)
    project: Mapped[str] = mapped_column(String(255), nullable=False)
    environment: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    ref: Mapped[str] = mapped_column(String(255), nullable=False, default="")
    sha: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    url: Mapped[str | None] = mapped_column(String(1000))
    state: Mapped[str] = mapped_column(String(32), nullable=False)
    created_at: Mapped[datetime] = mapped_column(nullable=False)
    updated_at: Mapped[datetime] = mapped_column(nullable=False)


class DeploymentPost(Base):
    """The "Deployed in the last 2 hours" message of an incident channel, saved the moment
    Slack answers, so a retried setup does not post it twice."""

    __tablename__ = "deployment_posts"

    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True
    )
    channel_id: Mapped[str] = mapped_column(String(32), nullable=False)
    ts: Mapped[str] = mapped_column(String(32), nullable=False)

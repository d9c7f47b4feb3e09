"""The status page's tables (issue 18): what responders publish, and the plan's quarterly
review reminders, each claimed once.

A status post is written as a draft when `/incident statuspage` shows its preview, and becomes
`published` only when someone presses Publish: the public page shows published posts only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.store.base import Base

__all__ = ["PlanReviewSent", "StatusPost"]


class StatusPost(Base):
    """One status page update: its words, the services it concerns and their state, and the
    incident phase it announces (Statuspage's investigating, identified, monitoring, resolved).
    `statuspage_*` track the optional copy on Atlassian Statuspage."""

    __tablename__ = "status_posts"
    __table_args__ = (
        Index("ix_status_posts_incident", "incident_id"),
        Index("ix_status_posts_published_at", "published_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(16), nullable=False, default="draft")
    message: Mapped[str] = mapped_column(Text, nullable=False)
    services: Mapped[list[str]] = mapped_column(JSON, default=list, nullable=False)
    impact: Mapped[str] = mapped_column(String(32), nullable=False)  # SERVICE_STATES
    phase: Mapped[str] = mapped_column(String(16), nullable=False)
    drafted_by: Mapped[str] = mapped_column(String(32), nullable=False)
    drafted_at: Mapped[datetime] = mapped_column(nullable=False)
    published_by: Mapped[str | None] = mapped_column(String(32))
    published_at: Mapped[datetime | None] = mapped_column()
    statuspage_incident_id: Mapped[str | None] = mapped_column(String(64))
    statuspage_synced_at: Mapped[datetime | None] = mapped_column()
    statuspage_error: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, nullable=False)


class PlanReviewSent(Base):
    """A quarter's plan-review reminder, claimed by one worker before it is sent (so replicas
    send it once) and marked sent when Slack has it."""

    __tablename__ = "plan_reviews"

    quarter: Mapped[str] = mapped_column(String(8), primary_key=True)  # reviewed: "2026Q4"
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[datetime | None] = mapped_column()
    sent_at: Mapped[datetime | None] = mapped_column()
    channel_id: Mapped[str | None] = mapped_column(String(32))
    file_id: Mapped[str | None] = mapped_column(String(32))
    error: Mapped[str | None] = mapped_column(Text)

"""The tables: incidents, their timeline, and what idempotency needs."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from app.store.types import UTCDateTime


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[str]: JSON}


class Status:
    INVESTIGATING = "investigating"
    MITIGATING = "mitigating"
    RESOLVED = "resolved"


class DayCounter(Base):
    """The last incident sequence number used on a day; incremented atomically (upsert)."""

    __tablename__ = "incident_day_counters"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    last_seq: Mapped[int] = mapped_column(Integer, nullable=False)


class Incident(Base):
    __tablename__ = "incidents"
    __table_args__ = (UniqueConstraint("day", "seq", name="uq_incidents_day_seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, nullable=False)
    day: Mapped[date] = mapped_column(Date, nullable=False)
    seq: Mapped[int] = mapped_column(Integer, nullable=False)
    # The modal submission that created the incident: a second delivery finds the first.
    request_key: Mapped[str | None] = mapped_column(String(128), unique=True)

    title: Mapped[str] = mapped_column(String(255), nullable=False)
    description: Mapped[str] = mapped_column(Text, default="", nullable=False)
    severity: Mapped[str] = mapped_column(String(8), nullable=False)
    status: Mapped[str] = mapped_column(String(16), default=Status.INVESTIGATING, nullable=False)
    private: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    impacts: Mapped[list[str]] = mapped_column(JSON, default=list, nullable=False)
    reporter_id: Mapped[str] = mapped_column(String(32), nullable=False)
    lead_id: Mapped[str | None] = mapped_column(String(32))
    # The policy in force at declaration: later edits of the file do not change this incident.
    policy_snapshot: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)

    started_at: Mapped[datetime] = mapped_column(nullable=False)
    acknowledged_at: Mapped[datetime | None] = mapped_column()
    resolved_at: Mapped[datetime | None] = mapped_column()

    # Slack objects created for the incident, saved as each is made so a retry skips them.
    channel_id: Mapped[str | None] = mapped_column(String(32), unique=True)
    channel_name: Mapped[str | None] = mapped_column(String(80))
    topic_set: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    members_invited: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    summary_ts: Mapped[str | None] = mapped_column(String(32))
    summary_pinned: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    announcement_channel: Mapped[str | None] = mapped_column(String(32))
    announcement_ts: Mapped[str | None] = mapped_column(String(32))
    setup_complete: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    setup_error: Mapped[str | None] = mapped_column(Text)
    # The runbook (incident type) chosen at declaration, and its checklist message once posted.
    incident_type: Mapped[str | None] = mapped_column(String(40))
    runbook_ts: Mapped[str | None] = mapped_column(String(32))

    created_at: Mapped[datetime] = mapped_column(nullable=False)
    updated_at: Mapped[datetime] = mapped_column(nullable=False)

    timeline: Mapped[list[TimelineEntry]] = relationship(
        back_populates="incident", order_by="TimelineEntry.occurred_at", lazy="raise"
    )

    @property
    def is_open(self) -> bool:
        return self.status != Status.RESOLVED


class TimelineEntry(Base):
    __tablename__ = "timeline_entries"
    __table_args__ = (
        # One entry per captured Slack message, however often it is flagged.
        UniqueConstraint("incident_id", "source_ts", name="uq_timeline_incident_source_ts"),
        Index("ix_timeline_incident_time", "incident_id", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), nullable=False
    )
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    occurred_at: Mapped[datetime] = mapped_column(nullable=False)
    actor_id: Mapped[str | None] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text, default="", nullable=False)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, nullable=False)
    source_ts: Mapped[str | None] = mapped_column(String(32))
    deleted: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    created_at: Mapped[datetime] = mapped_column(nullable=False)

    incident: Mapped[Incident] = relationship(back_populates="timeline", lazy="raise")


class ProcessedEvent(Base):
    """Slack event ids already handled, so redeliveries and retries change nothing."""

    __tablename__ = "processed_events"

    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(nullable=False)


class AlertStatus:
    FIRING = "firing"
    RESOLVED = "resolved"


class AlertLink(Base):
    """A monitoring alert (source + fingerprint) attached to the incident it opened or joined.

    An incident may carry several alerts; the same fingerprint firing again while its incident is
    open finds the incident here instead of declaring a second one.
    """

    __tablename__ = "alert_links"
    __table_args__ = (
        UniqueConstraint("source", "fingerprint", "incident_id", name="uq_alert_links_alert"),
        Index("ix_alert_links_fingerprint", "source", "fingerprint"),
        Index("ix_alert_links_group", "source", "group_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(32), nullable=False)
    fingerprint: Mapped[str] = mapped_column(String(255), nullable=False)
    # Alerts the sender grouped together (Alertmanager's groupKey, hashed) join one incident.
    group_key: Mapped[str | None] = mapped_column(String(64))
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), nullable=False
    )
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    received: Mapped[int] = mapped_column(Integer, default=1, nullable=False)
    first_seen_at: Mapped[datetime] = mapped_column(nullable=False)
    last_seen_at: Mapped[datetime] = mapped_column(nullable=False)

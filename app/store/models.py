"""The tables: incidents, their timeline, scheduled steps, and what idempotency needs."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.domain.lifecycle import Status
from app.store import deployment_model, probe_model  # noqa: F401 - their tables on Base
from app.store.base import Base
from app.store.oncall_model import ContactMethod, Handoff, OnCallOverride
from app.store.probe_model import DailyReportRecord, ProbeResult, ProbeState
from app.store.status_model import PlanReviewSent, StatusPost
from app.store.ticket_model import TicketRecord

__all__ = [  # and the tables below
    "Base",
    "ContactMethod",
    "DailyReportRecord",
    "Handoff",
    "OnCallOverride",
    "PlanReviewSent",
    "ProbeResult",
    "ProbeState",
    "StatusPost",
    "TicketRecord",
]


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
    acknowledged_by: Mapped[str | None] = mapped_column(String(32))
    # When the severity's response target ran out unacknowledged (the breach, recorded once).
    response_breached_at: Mapped[datetime | None] = mapped_column()
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
    # What a person was told about an unfinished setup ("refused: ..." or "delayed: ..."); the
    # setup itself is a durable step (services.setup), which holds its claim and attempts.
    setup_error: Mapped[str | None] = mapped_column(Text)

    # The incident log's fields, filled in by the resolve form (empty until then).
    resolved_by: Mapped[str | None] = mapped_column(String(32))
    resolution: Mapped[str] = mapped_column(Text, default="", nullable=False)
    root_cause: Mapped[str] = mapped_column(Text, default="", nullable=False)
    affected_services: Mapped[str] = mapped_column(Text, default="", nullable=False)
    affected_users: Mapped[str] = mapped_column(Text, default="", nullable=False)
    revenue_impact: Mapped[str] = mapped_column(Text, default="", nullable=False)
    data_loss: Mapped[bool | None] = mapped_column(Boolean)
    # The post-incident review the plan asks for within `review_within` of resolution.
    review_held_at: Mapped[datetime | None] = mapped_column()
    review_held_by: Mapped[str | None] = mapped_column(String(32))
    postmortem_file_id: Mapped[str | None] = mapped_column(String(32))
    # Where people open the uploaded post-mortem (files.info's permalink): the incident log
    # links it.
    postmortem_url: Mapped[str | None] = mapped_column(String(500))
    # The channel the reporter declared from, and when they were pointed from there to the
    # incident channel (once: `app.services.declared_from`).
    declared_from: Mapped[str | None] = mapped_column(String(32))
    declared_from_told_at: Mapped[datetime | None] = mapped_column()

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
    # When the captured Slack message was last edited or deleted (its old texts are in data).
    edited_at: Mapped[datetime | None] = mapped_column()
    deleted_at: Mapped[datetime | None] = mapped_column()

    incident: Mapped[Incident] = relationship(back_populates="timeline", lazy="raise")


class ActionItem(Base):
    """A follow-up from the incident: shown in the summary and the post-mortem until done."""

    __tablename__ = "action_items"
    __table_args__ = (Index("ix_action_items_incident", "incident_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), nullable=False
    )
    text: Mapped[str] = mapped_column(Text, nullable=False)
    owner_id: Mapped[str | None] = mapped_column(String(32))
    # A calendar day in the team's TIMEZONE, as people give it ("due 2026-12-05").
    due_on: Mapped[date | None] = mapped_column(Date)
    done: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    done_at: Mapped[datetime | None] = mapped_column()
    done_by: Mapped[str | None] = mapped_column(String(32))
    created_by: Mapped[str] = mapped_column(String(32), nullable=False)
    created_at: Mapped[datetime] = mapped_column(nullable=False)


class ProcessedEvent(Base):
    """Slack event ids already handled, so redeliveries and retries change nothing."""

    __tablename__ = "processed_events"
    # Old ids are pruned by age; Slack stops retrying an event within the hour.
    __table_args__ = (Index("ix_processed_events_received_at", "received_at"),)

    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(nullable=False)


class StepStatus:
    PENDING = "pending"
    SENT = "sent"
    CANCELLED = "cancelled"
    FAILED = "failed"


class ScheduledStep(Base):
    """A unit of planned work (a page, a reminder...) with its due time: the scheduler's queue.

    `next_attempt_at` is when the step may next be claimed: its due time at first, then the end
    of the claiming worker's lease, then a backoff after a failure. `due_at` never moves once
    the step is claimed, so lateness is measured against the plan. `dedupe_key`, when set, is unique
    among an incident's live (not cancelled) steps: a page of one level exists once.
    """

    __tablename__ = "scheduled_steps"
    __table_args__ = (
        Index("ix_steps_status_next_attempt", "status", "next_attempt_at"),
        Index("ix_steps_incident_kind", "incident_id", "kind"),
        Index(
            "uq_steps_incident_key_live",
            "incident_id",
            "dedupe_key",
            unique=True,
            postgresql_where=sql_text("status <> 'cancelled' AND dedupe_key IS NOT NULL"),
            sqlite_where=sql_text("status <> 'cancelled' AND dedupe_key IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), nullable=False
    )
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    dedupe_key: Mapped[str | None] = mapped_column(String(64))
    level: Mapped[str | None] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16), default=StepStatus.PENDING, nullable=False)
    due_at: Mapped[datetime] = mapped_column(nullable=False)
    next_attempt_at: Mapped[datetime] = mapped_column(nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[datetime | None] = mapped_column()
    sent_at: Mapped[datetime | None] = mapped_column()
    late: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    last_error: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, nullable=False)
    created_at: Mapped[datetime] = mapped_column(nullable=False)
    updated_at: Mapped[datetime] = mapped_column(nullable=False)


class StepMessage(Base):
    """A Slack message a step sent, saved the moment Slack answered so a retry never resends it.

    `recipient` is "channel" for the incident channel or a user id for a DM; a recipient that
    failed for good (e.g. a deactivated user) keeps its `error` and no `ts`.
    """

    __tablename__ = "step_messages"
    __table_args__ = (
        UniqueConstraint("step_id", "recipient", name="uq_step_messages_step_recipient"),
        Index("ix_step_messages_incident", "incident_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    step_id: Mapped[int] = mapped_column(
        ForeignKey("scheduled_steps.id", ondelete="CASCADE"), nullable=False
    )
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), nullable=False
    )
    recipient: Mapped[str] = mapped_column(String(32), nullable=False)
    channel: Mapped[str | None] = mapped_column(String(32))
    # A Slack ts, or another channel's id of what it sent (a Twilio SID is 34 characters).
    ts: Mapped[str | None] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text, default="", nullable=False)
    error: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(nullable=False)


class AlertStatus:
    FIRING = "firing"
    RESOLVED = "resolved"


class AlertRole:
    """How an alert came to its incident."""

    DECLARED = "declared"  # it opened the incident (these count towards ALERT_STORM_LIMIT)
    JOINED = "joined"  # it joined an open incident of its group
    STORM = "storm"  # past the storm limit, it was attached to its source's alert-storm incident


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
        Index("ix_alert_links_role", "source", "role", "first_seen_at"),
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
    role: Mapped[str] = mapped_column(
        String(16), default=AlertRole.JOINED, server_default=AlertRole.JOINED, nullable=False
    )
    # The timeline entry of the current firing episode and how many deliveries it has had: a
    # still-firing redelivery updates that entry ("still firing, N deliveries") instead of
    # adding one; firing again after a resolve starts a new entry.
    entry_id: Mapped[int | None] = mapped_column(Integer)
    deliveries: Mapped[int] = mapped_column(Integer, default=1, server_default="1", nullable=False)


class RequestSignature(Base):
    """The signature of every signed Slack command and interaction applied: a second request
    carrying the same one (the same timestamp and body, re-posted by whoever copied it) is
    refused. (Events are deduplicated by event id instead: ProcessedEvent.)

    Slack signs each delivery afresh, retries included, so only a replay repeats a signature.
    Rows are deleted once their timestamp is past the window in which Slack's signature check
    accepts them; a replay of an older request fails that check anyway.
    """

    __tablename__ = "slack_request_signatures"
    __table_args__ = (Index("ix_slack_request_signatures_request_ts", "request_ts"),)

    signature: Mapped[str] = mapped_column(String(128), primary_key=True)
    # X-Slack-Request-Timestamp, in seconds since the epoch.
    request_ts: Mapped[int] = mapped_column(BigInteger, nullable=False)


class Worker(Base):
    """A running process that claims setups and steps, and its last sign of life.

    A claim names its worker; when that worker's heartbeat is older than a few beats it is
    known dead, and what it held is taken over at once instead of after the claim's lease.
    """

    __tablename__ = "workers"
    __table_args__ = (Index("ix_workers_heartbeat_at", "heartbeat_at"),)

    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(nullable=False)
    heartbeat_at: Mapped[datetime] = mapped_column(nullable=False)
    # Set when the process stops cleanly: what it held may be taken at once.
    stopped_at: Mapped[datetime | None] = mapped_column()


class ChannelMessage(Base):
    """A message posted in an incident channel, as the bot heard it (`message` events), so a
    timeline capture reads it here instead of calling `conversations.history`.

    Edits replace the content (`edit_ts` says which edit it shows, so an older edit delivered
    late changes nothing); a deletion empties the row and marks it, so a late reaction captures
    nothing. Rows are pruned (`app.services.channel_messages`); a message without a row is
    fetched from Slack as before.
    """

    __tablename__ = "channel_messages"
    __table_args__ = (Index("ix_channel_messages_incident", "incident_id"),)

    channel: Mapped[str] = mapped_column(String(32), primary_key=True)
    ts: Mapped[str] = mapped_column(String(32), primary_key=True)
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), nullable=False
    )
    user_id: Mapped[str | None] = mapped_column(String(32))
    bot_id: Mapped[str | None] = mapped_column(String(32))
    username: Mapped[str | None] = mapped_column(String(255))
    text: Mapped[str] = mapped_column(Text, default="", nullable=False)
    files: Mapped[list[str]] = mapped_column(JSON, default=list, nullable=False)
    thread_ts: Mapped[str | None] = mapped_column(String(32))
    edit_ts: Mapped[str | None] = mapped_column(String(32))
    deleted: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)


class Person(Base):
    """A Slack user's name as users.info gave it, so documents and exports name people without
    asking Slack again (`app.services.people`), and the export needs only the database."""

    __tablename__ = "people"

    user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    fetched_at: Mapped[datetime] = mapped_column(nullable=False)

"""The tickets table: an incident's and its action items' tickets in the team's tracker."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.store.base import Base


class TicketRecord(Base):
    """A tracker ticket (Jira, GitHub, Linear) for an incident or one of its action items.

    The row is written in the transaction that asks for the ticket (a declaration, `/incident
    ticket`, an action item), before the tracker is called; the `ticket` step then makes the
    tracker match it, saving each part (`key`, then the priority, the state, the post-mortem
    link) the moment the tracker answers, so a retry redoes none of them. `marker` names the
    ticket in the tracker too: after an ambiguous failure it is looked up before another is made.
    """

    __tablename__ = "tickets"
    __table_args__ = (Index("ix_tickets_incident", "incident_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), nullable=False
    )
    action_item_id: Mapped[int | None] = mapped_column(
        ForeignKey("action_items.id", ondelete="CASCADE"), unique=True
    )
    marker: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    provider: Mapped[str] = mapped_column(String(16), nullable=False)
    project: Mapped[str] = mapped_column(String(255), nullable=False)
    # Filled in when the tracker made it.
    key: Mapped[str | None] = mapped_column(String(255))
    url: Mapped[str | None] = mapped_column(String(500))
    remote_id: Mapped[str | None] = mapped_column(String(255))
    opened_at: Mapped[datetime | None] = mapped_column()
    # What the tracker has, as far as the bot made it so (or heard by webhook or polling).
    closed: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    priority: Mapped[str | None] = mapped_column(String(64))
    postmortem_url: Mapped[str | None] = mapped_column(String(500))
    # The Slack channel's link, added as a comment when the ticket was opened before the channel.
    channel_linked: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    # The Slack side: the channel bookmark, and the timeline entry saying it was opened.
    bookmarked: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    announced: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    # One step at a time talks to the tracker about this ticket (two replicas, two changes):
    # it holds the ticket until `busy_until`. A holder that died is known by its lapsed hold or
    # its dead worker, and the next one looks in the tracker before it creates anything.
    busy_until: Mapped[datetime | None] = mapped_column()
    busy_by: Mapped[str | None] = mapped_column(String(80))  # the worker holding it
    busy_since: Mapped[datetime | None] = mapped_column()
    uncertain: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    # The failure a person was last told of (told once per distinct failure).
    error: Mapped[str | None] = mapped_column(Text)
    requested_by: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(nullable=False)
    updated_at: Mapped[datetime] = mapped_column(nullable=False)

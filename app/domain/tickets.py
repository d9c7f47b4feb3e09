"""Tickets as plain values: what the bot asks a tracker for, what it gets back, and the
`tickets:` section of the policy (which severities open one, where, with which priority).

The plan's "Create incident ticket" (P1) and "Create ticket" (P2, P3) are this section. A
tracker (Jira, GitHub, Linear: `app.trackers`) turns a `TicketDraft` into a `Ticket`; the text
is given as `TicketText` (plain paragraphs and links), never as markup, so each tracker renders
it in its own format with the user's words escaped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from app.domain.policy.tickets import (
    DEFAULT_PRIORITIES,
    LINEAR_PRIORITIES,
    PROVIDERS,
    ActionItemTickets,
    SeverityTickets,
    TicketPolicy,
    TicketSpec,
    default_priority,
)

__all__ = [
    "DEFAULT_PRIORITIES",
    "LINEAR_PRIORITIES",
    "PROVIDERS",
    "ActionItemTickets",
    "SeverityTickets",
    "Ticket",
    "TicketDraft",
    "TicketPolicy",
    "TicketSpec",
    "TicketText",
    "action_item_marker",
    "default_priority",
    "incident_marker",
]


@dataclass(frozen=True)
class TicketText:
    """A ticket's description or a comment: plain paragraphs, then labelled links.

    Paragraphs are people's and alerts' words as they wrote them; a tracker escapes them for
    its own markup (Jira's document format, GitHub's and Linear's Markdown).
    """

    paragraphs: tuple[str, ...] = ()
    links: tuple[tuple[str, str], ...] = ()  # (label, url)

    def plain(self) -> str:
        """The text as one plain string (logs, tests, a tracker without markup)."""
        lines = [p for p in self.paragraphs if p]
        lines += [f"{label}: {url}" for label, url in self.links]
        return "\n\n".join(lines)


@dataclass(frozen=True)
class TicketDraft:
    """A ticket to open. `marker` identifies it for good: a retry after an ambiguous failure
    looks it up by marker (exact match) before creating another."""

    marker: str  # "INC-20261201-001", or "INC-20261201-001-A7" for an action item
    title: str
    body: TicketText
    project: str  # Jira project key, GitHub "owner/repo", Linear team key
    created_after: datetime  # no ticket of this marker can be older: narrows the look-up
    issue_type: str | None = None  # Jira only
    labels: tuple[str, ...] = ()
    priority: str | None = None  # the tracker's own name (DEFAULT_PRIORITIES)
    team: str | None = None  # Jira: a component; GitHub and Linear: a label
    assignee_email: str | None = None
    due: date | None = None


@dataclass(frozen=True)
class Ticket:
    """A ticket as the tracker has it."""

    key: str  # what people call it: "OPS-123", "acme/api#45", "ENG-12"
    url: str  # where people open it
    remote_id: str  # what the API addresses it by (Jira key, GitHub number, Linear id)
    closed: bool = False
    extra: dict[str, str] = field(default_factory=dict, compare=False)


def incident_marker(public_id: str) -> str:
    return public_id


def action_item_marker(public_id: str, number: int) -> str:
    """The `number`th action item of the incident (as the summary and documents number it)."""
    return f"{public_id}-A{number}"

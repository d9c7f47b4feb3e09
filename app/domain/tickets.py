"""Tickets as plain values: what the bot asks a tracker for, what it gets back, and the
`tickets:` section of the policy (which severities open one, where, with which priority).

The plan's "Create incident ticket" (P1) and "Create ticket" (P2, P3) are this section. A
tracker (Jira, GitHub, Linear: `app.trackers`) turns a `TicketDraft` into a `Ticket`; the text
is given as `TicketText` (plain paragraphs and links), never as markup, so each tracker renders
it in its own format with the user's words escaped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

from pydantic import field_validator

from app.domain.policy.fields import Model, Strings

__all__ = [
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

Provider = Literal["jira", "github", "linear"]
PROVIDERS: tuple[str, ...] = ("jira", "github", "linear")

# Each tracker's own priority for P0..P3 when the policy names none. GitHub has no priority
# field: it is a label. Linear's are its names for priority 1..4.
DEFAULT_PRIORITIES: dict[str, tuple[str, ...]] = {
    "jira": ("Highest", "High", "Medium", "Low"),
    "github": ("priority: critical", "priority: high", "priority: medium", "priority: low"),
    "linear": ("urgent", "high", "medium", "low"),
}
LINEAR_PRIORITIES = {"none": 0, "urgent": 1, "high": 2, "medium": 3, "low": 4}


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


def action_item_marker(public_id: str, item_id: int) -> str:
    return f"{public_id}-A{item_id}"


def default_priority(provider: str, severity_rank: int) -> str | None:
    names = DEFAULT_PRIORITIES.get(provider, ())
    if not names:
        return None
    return names[min(severity_rank, len(names) - 1)]


# --- the policy's `tickets:` section -------------------------------------------------------


class SeverityTickets(Model):
    """What one severity's incidents get; a key left out takes the section's own."""

    open: bool = False
    project: str | None = None
    issue_type: str | None = None
    labels: Strings | None = None
    priority: str | None = None
    team: str | None = None


class ActionItemTickets(Model):
    """Action items as tickets: opened when an item is added, closed when it is done, and
    a closed ticket marks its item done."""

    open: bool = False
    project: str | None = None
    issue_type: str | None = None
    labels: Strings = ("action-item",)


@dataclass(frozen=True)
class TicketSpec:
    """Everything needed to open one incident's ticket, resolved for its severity."""

    provider: str
    project: str
    issue_type: str | None
    labels: tuple[str, ...]
    priority: str | None
    team: str | None


class TicketPolicy(Model):
    """``tickets:`` in the policy. With no `provider`, no ticket is opened: the plan's
    "Create ticket" stays a reminder on the summary (and `incident-bot check` says so)."""

    provider: Provider | None = None
    project: str | None = None  # Jira project key, GitHub owner/repo, Linear team key
    issue_type: str | None = "Task"  # Jira only
    labels: Strings = ("incident",)
    team: str | None = None
    # A private incident's ticket says only its id and severity unless this is true.
    private_details: bool = False
    severities: dict[str, SeverityTickets] = {
        "P1": SeverityTickets(open=True),
        "P2": SeverityTickets(open=True),
        "P3": SeverityTickets(open=True),
    }
    action_items: ActionItemTickets = ActionItemTickets()

    @field_validator("project")
    @classmethod
    def _check_project(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("project must not be empty (or leave it out)")
        return value

    @property
    def enabled(self) -> bool:
        return self.provider is not None and self.project is not None

    def opens_for(self, severity: str) -> bool:
        """Whether an incident of `severity` opens a ticket on its own."""
        entry = self.severities.get(severity)
        return self.enabled and entry is not None and entry.open

    def spec(self, severity: str, rank: int) -> TicketSpec:
        """Where and how `severity`'s ticket is opened (on demand too, whatever `open` says)."""
        assert self.provider is not None and self.project is not None
        entry = self.severities.get(severity) or SeverityTickets()
        return TicketSpec(
            provider=self.provider,
            project=entry.project or self.project,
            issue_type=entry.issue_type or self.issue_type,
            labels=tuple(entry.labels if entry.labels is not None else self.labels),
            priority=entry.priority or default_priority(self.provider, rank),
            team=entry.team or self.team,
        )

    def item_spec(self) -> TicketSpec:
        assert self.provider is not None and self.project is not None
        items = self.action_items
        return TicketSpec(
            provider=self.provider,
            project=items.project or self.project,
            issue_type=items.issue_type or self.issue_type,
            labels=tuple(items.labels),
            priority=None,
            team=self.team,
        )


def check_severity_keys(policy: TicketPolicy, known: Mapping[str, object]) -> str | None:
    """The first severity in `tickets.severities` the policy does not have, if any."""
    return next((key for key in policy.severities if key not in known), None)

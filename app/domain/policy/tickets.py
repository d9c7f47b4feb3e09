"""The policy's `tickets:` section: which severities open a ticket, where, with which priority.

The plan's "Create incident ticket" (P1) and "Create ticket" (P2, P3). The values a tracker
exchanges (drafts, tickets) are in `app.domain.tickets`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from pydantic import field_validator

from app.domain.policy.fields import Model, Strings

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


def default_priority(provider: str, severity_rank: int) -> str | None:
    names = DEFAULT_PRIORITIES.get(provider, ())
    if not names:
        return None
    return names[min(severity_rank, len(names) - 1)]


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

    def priority_names(self) -> tuple[str, ...]:
        """Every priority this section names, the tracker's defaults included."""
        named = [entry.priority for entry in self.severities.values() if entry.priority]
        return tuple(dict.fromkeys([*named, *DEFAULT_PRIORITIES.get(self.provider or "", ())]))

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

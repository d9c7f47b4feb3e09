"""What people are told about tickets: in Slack messages and timeline entries."""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.domain.text import link, mrkdwn

if TYPE_CHECKING:
    from app.store.models import Incident, TicketRecord

TITLES = {"jira": "Jira", "github": "GitHub", "linear": "Linear"}


def tracker_title(provider: str) -> str:
    return TITLES.get(provider, provider)


def ticket_link(ticket: TicketRecord) -> str:
    """`<url|OPS-123>` in mrkdwn, or the key alone (escaped) when the URL is not a plain one."""
    return link(ticket.url, ticket.key or "ticket")


def what(ticket: TicketRecord) -> str:
    return "an action item's ticket" if ticket.action_item_id else "the incident's ticket"


def opened_entry_for(ticket: TicketRecord, key: str, url: str) -> str:
    return f"Ticket {key} opened in {tracker_title(ticket.provider)}: {url}"


def closed_entry(ticket: TicketRecord) -> str:
    return f"Ticket {ticket.key} closed in {tracker_title(ticket.provider)}"


def reopened_entry(ticket: TicketRecord) -> str:
    return f"Ticket {ticket.key} reopened in {tracker_title(ticket.provider)}"


def refused_text(incident: Incident, ticket: TicketRecord, error: str) -> str:
    return (
        f":warning: {tracker_title(ticket.provider)} refused {what(ticket)} for "
        f"{incident.public_id}: {mrkdwn(error)}. Fix the setting or the policy's `tickets:`, "
        "then `/incident ticket` asks again."
    )


def delayed_text(incident: Incident, provider: str, error: str) -> str:
    return (
        f":hourglass: {tracker_title(provider)} is not answering about the tickets of "
        f"{incident.public_id} ({mrkdwn(error)}). The bot keeps trying; nothing is lost."
    )


def not_configured_text(provider: str) -> str:
    return (
        f"{tracker_title(provider)} has no credentials here, so no ticket was opened: set them "
        '(README, "Tickets") and restart, then `/incident ticket`.'
    )


def no_tracker_text() -> str:
    return (
        "No tracker is set up for tickets: name one in the policy's `tickets:` section "
        "(`provider: jira`, `github` or `linear`, and `project:`), with its credentials "
        '(README, "Tickets"). Nothing was changed.'
    )


def existing_text(public_id: str, ticket: TicketRecord) -> str:
    if ticket.key:
        return f"{public_id}'s ticket: {ticket_link(ticket)} ({tracker_title(ticket.provider)})."
    return f"{public_id}'s ticket is being opened in {tracker_title(ticket.provider)}."


def asked_text(public_id: str, provider: str) -> str:
    return (
        f"Opening {public_id}'s ticket in {tracker_title(provider)}: its link goes on the "
        "pinned summary and the channel's bookmarks as soon as it answers."
    )


def no_project_text(provider: str) -> str:
    return (
        f"The policy names {tracker_title(provider)} for tickets but not where: set "
        "`tickets.project` (a Jira project key, a GitHub owner/repo or a Linear team key). "
        "Nothing was changed."
    )

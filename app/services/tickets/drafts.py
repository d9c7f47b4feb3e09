"""What a ticket says: its title and description, and the comments that keep it in step.

Built from the stored incident, as plain text (`TicketText`): each tracker escapes it for its
own markup. A private incident's ticket names only its id and severity unless the policy's
`tickets.private_details` allows more: the tracker may be read by people outside the channel.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from app.domain.formatting import duration_text, format_time
from app.domain.lifecycle import label as status_label
from app.domain.policy import Policy
from app.domain.policy.tickets import TicketSpec
from app.domain.tickets import Ticket, TicketDraft, TicketText
from app.store.models import ActionItem, Incident, TicketRecord

TITLE_MAX = 250  # every tracker takes at least this many characters


def shows_details(incident: Incident, policy: Policy) -> bool:
    return not incident.private or policy.tickets.private_details


def _clip(text: str, limit: int = TITLE_MAX) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def incident_draft(
    incident: Incident,
    policy: Policy,
    spec: TicketSpec,
    record: TicketRecord,
    tz: ZoneInfo,
    channel_url: str | None,
) -> TicketDraft:
    sev = policy.severity(incident.severity)
    details = shows_details(incident, policy)
    title = incident.title if details else "private incident"
    paragraphs = [
        f"{incident.public_id}: {sev.title}, declared {format_time(incident.started_at, tz)}.",
        f"Status: {status_label(incident.status)}.",
    ]
    if details and incident.description:
        paragraphs.append(incident.description)
    if not details:
        paragraphs.append("A private incident: its details stay in its Slack channel.")
    paragraphs.append(f"Required actions for {incident.severity}: " + "; ".join(sev.actions))
    links = (("Slack channel", channel_url),) if channel_url else ()
    return TicketDraft(
        marker=record.marker,
        title=_clip(f"{incident.public_id} {incident.severity}: {title}"),
        body=TicketText(paragraphs=tuple(paragraphs), links=links),
        project=spec.project,
        created_after=record.created_at,
        issue_type=spec.issue_type,
        labels=spec.labels,
        priority=spec.priority,
        team=spec.team,
    )


def item_draft(
    incident: Incident,
    item: ActionItem,
    policy: Policy,
    spec: TicketSpec,
    record: TicketRecord,
    owner_email: str | None,
    links: tuple[tuple[str, str], ...],
) -> TicketDraft:
    details = shows_details(incident, policy)
    title = item.text if details else f"action item {item.id}"
    paragraphs = [f"An action item from {incident.public_id} ({incident.severity})."]
    if details:
        paragraphs += [item.text, f"Incident: {incident.title}"]
    if item.due_on:
        paragraphs.append(f"Due {item.due_on.isoformat()}.")
    return TicketDraft(
        marker=record.marker,
        title=_clip(f"{incident.public_id}: {title}"),
        body=TicketText(paragraphs=tuple(paragraphs), links=links),
        project=spec.project,
        created_after=record.created_at,
        issue_type=spec.issue_type,
        labels=spec.labels,
        team=spec.team,
        assignee_email=owner_email,
        due=item.due_on,
    )


def resolved_comment(incident: Incident, policy: Policy, postmortem_url: str | None) -> TicketText:
    details = shows_details(incident, policy)
    paragraphs = [f"Resolved in Slack after {duration_text(incident)}."]
    if details:
        for label, value in (
            ("Resolution", incident.resolution),
            ("Root cause", incident.root_cause),
            ("Affected services", incident.affected_services),
        ):
            if value:
                paragraphs.append(f"{label}: {value}")
    links = (("Post-mortem draft", postmortem_url),) if postmortem_url else ()
    return TicketText(paragraphs=tuple(paragraphs), links=links)


def reopened_comment(now: datetime, tz: ZoneInfo) -> TicketText:
    return TicketText(paragraphs=(f"Reopened in Slack at {format_time(now, tz)}.",))


def postmortem_comment(url: str) -> TicketText:
    return TicketText(
        paragraphs=("The post-mortem draft is ready.",), links=(("Post-mortem", url),)
    )


def channel_comment(url: str) -> TicketText:
    return TicketText(
        paragraphs=("The incident's Slack channel is open.",), links=(("Slack channel", url),)
    )


def item_done_comment(done_by: str | None) -> TicketText:
    return TicketText(paragraphs=("Marked done in Slack.",))


def as_ticket(record: TicketRecord) -> Ticket:
    """The tracker's ticket a stored row names (it has been opened: key and id are set)."""
    assert record.key is not None and record.remote_id is not None
    return Ticket(key=record.key, url=record.url or "", remote_id=record.remote_id)

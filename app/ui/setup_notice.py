"""Telling a person about an incident's Slack setup: a part that needs them, a part Slack keeps
refusing for now (the bot retries by itself), and the note on a page copied into a channel
that did not exist when the page went out."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from app.domain.formatting import short_time
from app.ui.common import escape

if TYPE_CHECKING:
    from app.store.models import Incident


def _steps(failures: Mapping[str, str]) -> str:
    return ", ".join(
        f"{step.replace('_', ' ')} ({escape(error)})" for step, error in failures.items()
    )


def _where(incident: Incident) -> str:
    return f" in <#{incident.channel_id}>" if incident.channel_id else ""


def setup_failed_text(incident: Incident, failures: Mapping[str, str]) -> str:
    """Slack refused part of the setup for good (a permission, a name): a person must act."""
    return (
        f":warning: {incident.public_id} is saved{_where(incident)}, but Slack refused part of "
        f"its setup: {_steps(failures)}. Once that is fixed, run "
        f"`/incident retry-setup {incident.public_id}` to finish it; steps already done are "
        "not repeated."
    )


def setup_delayed_text(incident: Incident, failures: Mapping[str, str]) -> str:
    """Slack keeps failing (5xx, rate limits, timeouts): nothing to do, the bot keeps trying."""
    return (
        f":hourglass: {incident.public_id} is saved{_where(incident)}, but Slack keeps failing "
        f"part of its setup: {_steps(failures)}. The bot keeps retrying by itself (pages go out "
        f"by DM meanwhile); `/incident retry-setup {incident.public_id}` tries again now."
    )


def copied_page_text(text: str, sent_at: datetime | None, tz: ZoneInfo) -> str:
    """A page sent by DM before the channel existed, as posted in the channel afterwards."""
    when = f" at {short_time(sent_at, tz)}" if sent_at is not None else ""
    return f"{text}\n_Sent{when} by DM, before this channel existed._"


def setup_not_done_text(incident: Incident) -> str:
    """The answer to `/incident retry-setup` when the setup is still not complete."""
    error = incident.setup_error or ""
    if error.startswith("refused: "):
        return (
            f":warning: Slack still refuses part of the setup of {incident.public_id}: "
            f"{escape(error.removeprefix('refused: '))}. Fix that, then retry again."
        )
    return (
        f":hourglass: Slack is still failing part of the setup of {incident.public_id}"
        + (f" ({escape(error.removeprefix('delayed: '))})" if error else "")
        + "; the bot keeps retrying by itself."
    )


def postmortem_failed_text(incident: Incident, error: str) -> str:
    """Slack refused the post-mortem draft's upload after a resolve."""
    return (
        f":warning: {incident.public_id} is resolved, but Slack refused its post-mortem draft "
        f"({escape(error)}). `/incident postmortem` in its channel uploads it again."
    )

"""The post-incident review: the plan asks for it within `review_within` (48 h) of resolution.
The lead is reminded until someone marks it held."""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError

from app.context import BotContext
from app.domain import reminders
from app.domain.timeline import Kind
from app.services.errors import UserError
from app.services.incidents import Outcome, changing, policy_of
from app.services.summary import refresh_summary
from app.store.models import Incident
from app.ui import messages

log = logging.getLogger(__name__)


async def mark_held(bot: BotContext, incident_id: int, actor_id: str) -> Outcome:
    async with changing(bot, incident_id) as change:
        incident = change.incident
        if incident.is_open:
            raise UserError(
                f"{incident.public_id} is not resolved; the review comes after resolution. "
                "Nothing was changed."
            )
        if incident.review_held_at is not None:
            return Outcome(
                incident, False, f"The review of {incident.public_id} is already marked held."
            )
        incident.review_held_at = change.now
        incident.review_held_by = actor_id
        change.record(
            Kind.REVIEW_HELD,
            actor_id=actor_id,
            text="Post-incident review held",
        )
    return Outcome(incident, True, f"The review of {incident.public_id} is marked held.")


async def held_published(bot: BotContext, incident: Incident) -> None:
    await refresh_summary(bot, incident)


async def send_review_reminder(bot: BotContext, incident_id: int) -> bool:
    """Called by the escalation engine when the review reminder row falls due.

    Posts the reminder (mentioning the lead, with a "Mark review held" button) in the incident
    channel. Returns whether another reminder is needed: False once the review is held, when
    the incident is no longer resolved (reopened) or gone, or when it never has a channel.
    """
    async with bot.sessions() as session:
        incident = await session.get(Incident, incident_id)
    if incident is None or incident.is_open or incident.resolved_at is None:
        return False
    if incident.review_held_at is not None:
        return False
    policy = policy_of(bot, incident)
    if incident.channel_id is None:
        # A channel may still come (a setup being retried); a ticket-only severity never has
        # one: nowhere to remind, nothing to plan again.
        return policy.severity(incident.severity).channel
    now = bot.clock.now()
    due = reminders.review_due_at(incident.resolved_at, policy.review_within)
    message = messages.review_reminder(incident, now=now, due=due, tz=bot.settings.tz)
    try:
        await bot.slack.chat_postMessage(
            channel=incident.channel_id, text=message.text, blocks=message.blocks
        )
    except SlackApiError as exc:
        log.error(
            "review reminder of %s not sent: %s", incident.public_id, exc.response.get("error")
        )
    return True

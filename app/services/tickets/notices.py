"""Telling people about a ticket that could not be opened or kept in step: in the incident's
channel when it has one, else as setup problems are told (the reporter, or the broadcast
channel)."""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError

from app.context import BotContext
from app.services.setup import tell_person
from app.services.slack_errors import slack_error
from app.store.models import Incident

log = logging.getLogger(__name__)


async def tell(ctx: BotContext, incident: Incident, text: str) -> None:
    if incident.channel_id:
        try:
            await ctx.slack.chat_postMessage(channel=incident.channel_id, text=text)
            return
        except SlackApiError as exc:
            log.warning("ticket notice for %s not posted: %s", incident.public_id, slack_error(exc))
    await tell_person(ctx, incident, text)

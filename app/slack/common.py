"""What the listeners that run an incident share: finding the incident they are about, opening
a modal, and answering one person without telling the whole channel."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.models.views import View

from app.context import BotContext
from app.services import incidents
from app.services.errors import UserError
from app.slack.commands import CommandCall
from app.store.models import Incident

log = logging.getLogger(__name__)

TRIGGER_ERRORS = {"expired_trigger_id", "invalid_trigger_id", "exchanged_trigger_id"}


async def incident_here(call: CommandCall) -> Incident:
    """The incident whose channel the command was typed in, or a clear answer."""
    incident = await incidents.in_channel(call.bot, call.channel_id)
    if incident is None:
        raise UserError(
            f"`/incident {call.name}` works in an incident channel (#incident-…): run it there. "
            "`/incident list` shows the open incidents and their channels."
        )
    return incident


async def open_modal(
    bot: BotContext, trigger_id: str, view: View, complain: Callable[[str], Awaitable[None]]
) -> None:
    """views.open right away (the trigger id dies after 3 s); failures are told, not lost."""
    try:
        await bot.slack.views_open(trigger_id=trigger_id, view=view)
    except SlackApiError as exc:
        error = exc.response.get("error")
        log.warning("views.open failed: %s", error)
        if error in TRIGGER_ERRORS:
            await complain("Slack took too long to open the form; try again. Nothing was changed.")
        else:
            await complain(f"Could not open the form ({error}); nothing was changed.")


async def tell(bot: BotContext, channel_id: str | None, user_id: str, text: str) -> None:
    """An ephemeral answer in the channel, or a DM when that is impossible (not a member)."""
    if channel_id:
        try:
            await bot.slack.chat_postEphemeral(channel=channel_id, user=user_id, text=text)
            return
        except SlackApiError as exc:
            log.info(
                "ephemeral to %s failed (%s); sending a DM", user_id, exc.response.get("error")
            )
    try:
        await bot.slack.chat_postMessage(channel=user_id, text=text)
    except SlackApiError as exc:
        log.error("could not tell %s: %s", user_id, exc.response.get("error"))


def clicked(body: dict[str, Any]) -> tuple[str, str | None, str | None, str]:
    """From a block_actions payload: (value, channel id, message ts, user id)."""
    action = (body.get("actions") or [{}])[0]
    container = body.get("container") or {}
    channel = (body.get("channel") or {}).get("id") or container.get("channel_id")
    return (
        str(action.get("value") or ""),
        channel,
        container.get("message_ts"),
        body["user"]["id"],
    )


def as_id(value: str) -> int | None:
    return int(value) if value.isdigit() else None

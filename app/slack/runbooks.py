"""`/incident runbook [type]` and the checklist ticks."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from app.context import BotContext
from app.domain.runbooks import Runbook
from app.logs import incident_context
from app.services import lookup
from app.services import runbooks as service
from app.services.errors import UserError
from app.slack.buttons import Button, Click
from app.slack.commands import CommandCall
from app.ui.runbooks import runbook_list, runbook_text

if TYPE_CHECKING:
    from app.store.models import Incident

log = logging.getLogger(__name__)


async def runbook_command(call: CommandCall) -> None:
    bot = call.bot
    key = call.first_arg.lower()
    if not key:
        await call.ack(runbook_list(bot.runbooks))
        return
    runbook = bot.runbooks.get(key)
    if runbook is None:
        raise UserError(f"There is no runbook `{key}`.\n{runbook_list(bot.runbooks)}")
    incident = await lookup.find_incident(bot, call.actor, channel_id=call.channel_id)
    if incident is None:
        # Outside an incident there is no timeline to record ticks in: show it to the asker.
        await call.ack(
            runbook_text(runbook) + "\n_Run this in an incident channel to post it as a checklist._"
        )
        return
    await call.ack()
    call.later(_post(call, incident, runbook), doing="posting the checklist")


async def _post(call: CommandCall, incident: Incident, runbook: Runbook) -> None:
    with incident_context(incident.public_id):
        await service.post_checklist(call.bot, incident, runbook, actor_id=call.user_id)


async def _tick(bot: BotContext, click: Click) -> None:
    if not click.channel_id or not click.message_ts:
        log.warning("runbook tick without a channel message (%s)", click.action.get("block_id"))
        return
    if await lookup.find_incident(bot, click.actor, channel_id=click.channel_id) is None:
        return  # a checklist shown outside an incident: no timeline to record the tick in
    await service.record_tick(
        bot,
        channel_id=click.channel_id,
        message_ts=click.message_ts,
        block_id=str(click.action.get("block_id") or ""),
        user_id=click.user_id,
        done=bool(click.action.get("selected_options")),
    )


TICK = Button(_tick, "recording your tick")

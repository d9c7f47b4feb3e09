"""`/incident runbook [type]` and the checklist ticks."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck

from app.context import BotContext
from app.logs import incident_context
from app.services import runbooks as service
from app.services.errors import UserError
from app.slack.commands import COMMANDS, CommandCall
from app.store import incidents as store
from app.ui import blocks

log = logging.getLogger(__name__)


@COMMANDS.command(
    "runbook",
    "runbook [type]",
    "Post a runbook as a checklist in this incident channel; without a type, list them.",
)
async def _runbook(call: CommandCall) -> None:
    bot = call.bot
    key = call.args.split()[0].lower() if call.args else ""
    if not key:
        await call.ack(blocks.runbook_list(bot.runbooks))
        return
    runbook = bot.runbooks.get(key)
    if runbook is None:
        raise UserError(f"There is no runbook `{key}`.\n{blocks.runbook_list(bot.runbooks)}")
    async with bot.sessions() as session:
        incident = await store.by_channel(session, call.channel_id)
    if incident is None:
        # Outside an incident there is no timeline to record ticks in: show it to the asker.
        await call.ack(
            blocks.runbook_text(runbook)
            + "\n_Run this in an incident channel to post it as a checklist._"
        )
        return
    await call.ack()

    async def post() -> None:
        with incident_context(incident.public_id):
            await service.post_checklist(bot, incident, runbook, actor_id=call.user_id)

    bot.tasks.spawn(post(), name=f"runbook {key} {incident.public_id}")


def register(app: AsyncApp, bot: BotContext) -> None:
    @app.action(blocks.RUNBOOK_ACTION)
    async def step_ticked(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        action = body["actions"][0]
        container = body.get("container") or {}
        channel_id = container.get("channel_id") or (body.get("channel") or {}).get("id")
        message_ts = container.get("message_ts") or (body.get("message") or {}).get("ts")
        if not channel_id or not message_ts:
            log.warning("runbook tick without a channel message: %s", container)
            return
        bot.tasks.spawn(
            service.record_tick(
                bot,
                channel_id=channel_id,
                message_ts=message_ts,
                block_id=str(action.get("block_id") or ""),
                user_id=body["user"]["id"],
                done=bool(action.get("selected_options")),
            ),
            name="runbook tick",
        )

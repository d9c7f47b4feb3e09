"""`/incident update` (a status update for the channel and the broadcast channel) and
`/incident list` (the open incidents this person may see)."""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError

from app.services import listing, updates
from app.slack.commands import COMMANDS, CommandCall
from app.slack.common import incident_here
from app.ui import messages

log = logging.getLogger(__name__)


@COMMANDS.command(
    "update",
    "update <text>",
    "Post a status update here (and in the incidents channel for public incidents).",
)
async def _update(call: CommandCall) -> None:
    incident = await incident_here(call)
    incident = await updates.record_update(call.bot, incident.id, call.args, call.user_id)
    await call.ack()

    async def publish() -> None:
        try:
            await updates.publish_update(call.bot, incident, call.args, call.user_id)
        except SlackApiError as exc:
            log.error("update of %s not posted: %s", incident.public_id, exc.response.get("error"))
            await call.respond(
                f":warning: Your update is in the timeline, but Slack refused to post it "
                f"({exc.response.get('error')})."
            )

    call.bot.tasks.spawn(publish(), name=f"update {incident.public_id}")


@COMMANDS.command("list", "list", "List open incidents, most severe first.")
async def _list(call: CommandCall) -> None:
    # Private incidents need a membership check with Slack: answer after the ack.
    await call.ack()

    async def answer() -> None:
        found = await listing.open_incidents_for(call.bot, call.user_id)
        await call.respond(messages.incident_list(found, call.bot.clock.now()))

    call.bot.tasks.spawn(answer(), name="list")

"""After (and while) the fire burns: `/incident action`, `/incident postmortem`, the action
items' Done buttons and the review's "Mark review held" button."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.errors import SlackApiError

from app.context import BotContext
from app.domain.command_text import ArgumentError, parse_action_item
from app.services import action_items, review
from app.services.documents import upload_postmortem
from app.services.errors import UserError
from app.services.summary import refresh_summary
from app.slack.commands import COMMANDS, CommandCall
from app.slack.common import as_id, clicked, incident_here, tell
from app.ui import blocks, messages
from app.ui.blocks import Message

log = logging.getLogger(__name__)


@COMMANDS.command(
    "action",
    "action <text> [@owner] [due YYYY-MM-DD]",
    "Add an action item; it shows on the summary and in the post-mortem.",
)
async def _action(call: CommandCall) -> None:
    incident = await incident_here(call)
    today = call.bot.clock.now().astimezone(call.bot.settings.tz).date()
    try:
        draft = parse_action_item(call.args, today)
    except ArgumentError as exc:
        raise UserError(str(exc)) from None
    incident, item, number = await action_items.add(call.bot, incident.id, draft, call.user_id)
    await call.ack(f"Action item {number} added: {blocks.item_line(item)}")
    call.bot.tasks.spawn(
        action_items.added_published(call.bot, incident, item, call.user_id),
        name=f"action item {item.id}",
    )


@COMMANDS.command(
    "postmortem", "postmortem", "Render the post-mortem draft from the timeline and upload it."
)
async def _postmortem(call: CommandCall) -> None:
    incident = await incident_here(call)
    await call.ack()

    async def upload() -> None:
        try:
            await upload_postmortem(
                call.bot, incident, comment=messages.postmortem_comment(incident, call.user_id)
            )
        except SlackApiError as exc:
            error = exc.response.get("error")
            log.error("post-mortem of %s not uploaded: %s", incident.public_id, error)
            await call.respond(f":warning: Slack refused the upload ({error}); try again.")

    call.bot.tasks.spawn(upload(), name=f"postmortem {incident.public_id}")


def register(app: AsyncApp, bot: BotContext) -> None:
    @app.action(blocks.ACTION_ITEM_DONE_ACTION)
    async def done_clicked(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        bot.tasks.spawn(_done(*clicked(body)), name="action item done")

    async def _done(value: str, channel: str | None, ts: str | None, user: str) -> None:
        item_id = as_id(value)
        if item_id is None:
            return
        try:
            incident, item, changed = await action_items.mark_done(bot, item_id, user)
        except UserError as exc:
            await tell(bot, channel, user, str(exc))
            return
        if changed:
            await refresh_summary(bot, incident)
        if ts and ts != incident.summary_ts and channel:
            # A reminder or an assignment DM: it now says the item is done.
            await _replace(channel, ts, messages.action_item_done(item, item.done_by or user))

    @app.action(blocks.REVIEW_HELD_ACTION)
    async def review_held_clicked(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        bot.tasks.spawn(_held(*clicked(body)), name="review held")

    async def _held(value: str, channel: str | None, ts: str | None, user: str) -> None:
        incident_id = as_id(value)
        if incident_id is None:
            return
        try:
            outcome = await review.mark_held(bot, incident_id, user)
        except UserError as exc:
            await tell(bot, channel, user, str(exc))
            return
        incident = outcome.incident
        if outcome.changed:
            await review.held_published(bot, incident)
        if ts and ts != incident.summary_ts and channel:
            await _replace(
                channel, ts, messages.review_held(incident, incident.review_held_by or user)
            )

    async def _replace(channel: str, ts: str, message: Message) -> None:
        try:
            await bot.slack.chat_update(
                channel=channel, ts=ts, text=message.text, blocks=message.blocks
            )
        except SlackApiError as exc:
            log.warning("could not update message %s: %s", ts, exc.response.get("error"))

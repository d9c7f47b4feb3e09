"""After (and while) the fire burns: `/incident action`, `/incident postmortem`, the action
items' Done buttons and the review's "Mark review held" button."""

from __future__ import annotations

import logging
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from slack_sdk.errors import SlackApiError

from app.context import BotContext
from app.domain.command_text import ArgumentError, parse_action_item
from app.domain.formatting import item_line
from app.services import action_items, lookup, review
from app.services.documents import upload_postmortem
from app.services.errors import UserError
from app.services.summary import refresh_summary
from app.slack import errors
from app.slack.buttons import Button, Click
from app.slack.commands import CommandCall
from app.ui import messages
from app.ui.common import Message

if TYPE_CHECKING:
    from app.store.models import ActionItem, Incident

log = logging.getLogger(__name__)

SHOWING = "showing it in Slack"


async def action_command(call: CommandCall) -> None:
    incident = await lookup.incident_here(call.bot, call.name, call.actor)
    today = call.bot.clock.now().astimezone(call.bot.settings.tz).date()
    try:
        draft = parse_action_item(call.args, today)
    except ArgumentError as exc:
        raise UserError(str(exc)) from None
    incident, item, number = await action_items.add(call.bot, incident.id, draft, call.user_id)
    await call.ack(f"Action item {number} added: {item_line(item)}")
    call.later(
        _publish_item(call, incident, item), doing="showing the action item", outcome=errors.SAVED
    )


async def _publish_item(call: CommandCall, incident: Incident, item: ActionItem) -> None:
    problem = await action_items.added_published(call.bot, incident, item, call.user_id)
    if problem:
        await call.respond(problem)


async def postmortem_command(call: CommandCall) -> None:
    incident = await lookup.incident_here(call.bot, call.name, call.actor)
    await call.ack()
    comment = messages.postmortem_comment(incident, call.user_id)
    call.later(
        upload_postmortem(call.bot, incident, comment=comment),
        doing="uploading the post-mortem",
    )


async def _done(bot: BotContext, click: Click) -> None:
    if click.number is None:
        return
    await lookup.incident_of_action_item(bot, click.actor, click.number)
    incident, item, changed = await action_items.mark_done(bot, click.number, click.user_id)
    done = messages.action_item_done(item, item.done_by or click.user_id)
    published = refresh_summary(bot, incident) if changed else None
    await _show(bot, click, incident, done, published)


async def _held(bot: BotContext, click: Click) -> None:
    if click.number is None:
        return
    await lookup.incident_numbered(bot, click.actor, click.number)
    outcome = await review.mark_held(bot, click.number, click.user_id)
    incident = outcome.incident
    held = messages.review_held(incident, incident.review_held_by or click.user_id)
    published = review.held_published(bot, incident) if outcome.changed else None
    await _show(bot, click, incident, held, published)


async def _show(
    bot: BotContext,
    click: Click,
    incident: Incident,
    message: Message,
    published: Coroutine[Any, Any, None] | None,
) -> None:
    """After the commit: what shows the change (the summary), then, for a button pressed on a
    reminder or a DM rather than on the summary, that message says what was done. A failure
    is told as such: the change itself is saved."""

    async def redraw() -> None:
        if published is not None:
            await published
        if click.channel_id and click.message_ts and click.message_ts != incident.summary_ts:
            await _replace(bot, click.channel_id, click.message_ts, message)

    await errors.guarded(bot, click.person, redraw(), doing=SHOWING, outcome=errors.SAVED)


async def _replace(bot: BotContext, channel: str, ts: str, message: Message) -> None:
    try:
        await bot.slack.chat_update(
            channel=channel, ts=ts, text=message.text, blocks=message.blocks
        )
    except SlackApiError as exc:
        log.warning("could not update message %s: %s", ts, exc.response.get("error"))


DONE = Button(_done, "marking the action item done")
REVIEW_HELD = Button(_held, "marking the review held")

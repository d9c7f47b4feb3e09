"""`/incident statuspage [choices] message`: a draft and its ephemeral preview, then Publish
(with Slack's confirmation) or Cancel, answered by replacing the preview through the click's
response_url."""

from __future__ import annotations

import logging

import aiohttp

from app.context import BotContext
from app.domain.command_text import plain_text
from app.services import lookup, status_page
from app.services.status_page import Settled
from app.slack import errors
from app.slack.buttons import Button, Click
from app.slack.commands import CommandCall
from app.ui import statuspage as ui
from app.ui.common import Message, to_dicts

log = logging.getLogger(__name__)


async def statuspage_command(call: CommandCall) -> None:
    bot = call.bot
    if not bot.settings.status_page:
        await call.ack(status_page.OFF)
        return
    incident = await lookup.incident_here(bot, call.name, call.actor)
    draft = await status_page.draft(bot, incident, plain_text(call.args), call.user_id)
    message = ui.preview(
        draft.post, draft.services, proposed=draft.proposed, page_url=status_page.page_url(bot)
    )
    await call.ack(message.text, layout=message.blocks)


async def _publish(bot: BotContext, click: Click) -> None:
    if click.number is None:
        return
    await status_page.incident_of_post(bot, click.actor, click.number)
    settled = await status_page.publish(bot, click.number, click.user_id)
    await _replace(bot, click, _answer(bot, settled))
    if settled.outcome == "published" and settled.incident and settled.post:
        await status_page.announce(bot, settled.incident, settled.post)


async def _cancel(bot: BotContext, click: Click) -> None:
    if click.number is None:
        return
    await status_page.incident_of_post(bot, click.actor, click.number)
    settled = await status_page.cancel(bot, click.number, click.user_id)
    await _replace(bot, click, _answer(bot, settled))


def _answer(bot: BotContext, settled: Settled) -> Message:
    post, tz, url = settled.post, bot.settings.tz, status_page.page_url(bot)
    if post is None or settled.outcome == "gone":
        return ui.gone()
    if settled.outcome in ("published", "already"):
        return ui.published(post, tz=tz, page_url=url, now=settled.outcome == "published")
    if settled.outcome == "stale":
        return ui.stale(settled.reason, settled.newer, tz)
    return ui.cancelled(post)


async def _replace(bot: BotContext, click: Click, message: Message) -> None:
    """The preview replaced by `message`; where the response_url no longer takes it, the
    person is told in the channel (or by DM) instead."""
    if click.respond is not None and click.respond.response_url:
        try:
            answer = await click.respond(
                text=message.text,
                blocks=to_dicts(message.blocks),
                response_type="ephemeral",
                replace_original=True,
            )
            if answer.status_code == 200:
                return
            log.info("response_url refused the status page answer (%s)", answer.status_code)
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            log.info("response_url failed (%s)", type(exc).__name__)
    await errors.tell(bot, errors.Person(click.user_id, click.channel_id), message.text)


PUBLISH = Button(_publish, "publishing to the status page", by_response_url=True)
CANCEL = Button(_cancel, "cancelling the status page update", by_response_url=True)

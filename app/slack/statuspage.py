"""`/incident statuspage "message"`: a preview, then Publish or Cancel (frame; issue 18)."""

from __future__ import annotations

from app.context import BotContext
from app.slack.buttons import Button, Click
from app.slack.commands import CommandCall


async def statuspage_command(call: CommandCall) -> None:
    await call.ack("The status page is not built yet.")


async def _publish(bot: BotContext, click: Click) -> None:
    return None


async def _cancel(bot: BotContext, click: Click) -> None:
    return None


PUBLISH = Button(_publish, "publishing to the status page", by_response_url=True)
CANCEL = Button(_cancel, "cancelling the status page update", by_response_url=True)

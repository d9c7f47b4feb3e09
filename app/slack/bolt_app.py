"""The Bolt app: request verification, listeners, and nothing that touches the network at
import time."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond

from app.services.context import BotContext
from app.slack import (
    commands,
    declare,
    escalation,
    followup,
    lifecycle,
    people,
    runbooks,
    severity,
    timeline,
    updates,
)

# Every module adds its `/incident` subcommands when imported; these also have listeners
# (buttons, modals) to register on the app.
WITH_LISTENERS = (declare, escalation, lifecycle, severity, followup, timeline, runbooks)
SUBCOMMANDS_ONLY = (people, updates)


def build_bolt_app(bot: BotContext) -> AsyncApp:
    app = AsyncApp(
        client=bot.slack,
        signing_secret=bot.settings.slack_signing_secret,
        logger=logging.getLogger("app.slack.bolt"),
        # Listeners ack first and do slow work afterwards.
        process_before_response=False,
    )

    @app.command("/incident")
    async def incident_command(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await commands.dispatch(bot, body, ack, respond)

    for module in WITH_LISTENERS:
        module.register(app, bot)
    return app

"""The Bolt app: request verification, listeners, and nothing that touches the network at
import time."""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond

from app.context import BotContext
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

log = logging.getLogger(__name__)

# Matches every id (Bolt searches the pattern in the string): for the listeners of last resort.
ANY_ID = re.compile("")


def build_bolt_app(bot: BotContext) -> AsyncApp:
    app = AsyncApp(
        client=bot.slack,
        signing_secret=bot.settings.slack_signing_secret,
        logger=logging.getLogger("app.slack.bolt"),
        # Listeners ack first and do slow work afterwards.
        process_before_response=False,
        # No assistant features (say_stream, set_status ...): without this, Bolt also reads
        # assistant-thread fields of every event and fails on odd ones.
        attaching_conversation_kwargs_enabled=False,
    )

    @app.command("/incident")
    async def incident_command(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await commands.dispatch(bot, body, ack, respond)

    for module in WITH_LISTENERS:
        module.register(app, bot)
    register_last_resorts(app)
    return app


def register_last_resorts(app: AsyncApp) -> None:
    """Listeners for what Slack may send that no listener above handles. Bolt answers 404 to a
    request no listener matches; Slack shows the person an error, retries events, and counts
    non-200 answers towards disabling the app's event subscriptions. Registered last, because
    Bolt runs the first listener that matches."""

    @app.view_closed(ANY_ID)
    async def modal_closed(ack: AsyncAck) -> None:
        # A modal cancelled or closed with its X (Slack sends it for views opened with
        # notify_on_close): nothing was saved, so there is nothing to undo.
        await ack()

    @app.action({"action_id": ANY_ID})
    async def unknown_action(ack: AsyncAck, body: dict[str, Any]) -> None:
        # A click on an element no listener handles, e.g. a button of a message posted by an
        # older version of the bot: acknowledged, so the person sees no error, and logged.
        await ack()
        action = body["actions"][0]
        log.info(
            "no listener for action %r (block %r); ignored",
            action["action_id"][:64],
            str(action.get("block_id"))[:64],
        )

    @app.event(ANY_ID)
    async def other_event(body: dict[str, Any]) -> None:
        # An event the manifest does not subscribe to (a subscription added by hand in Slack's
        # app settings): Bolt has already acknowledged it.
        log.debug("ignored event %r", body["event"]["type"][:64])

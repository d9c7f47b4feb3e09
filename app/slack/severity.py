"""`/incident severity`, the summary's Change severity button and its modal."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from sqlalchemy.exc import SQLAlchemyError

from app.context import BotContext
from app.domain.command_text import ArgumentError, parse_severity
from app.services import incidents
from app.services import severity as service
from app.services.errors import UserError
from app.slack.commands import COMMANDS, CommandCall
from app.slack.common import as_id, clicked, incident_here, open_modal, tell
from app.ui import blocks, modals

log = logging.getLogger(__name__)

SAVE_TIMEOUT = 2.0


@COMMANDS.command(
    "severity", "severity P0..P3 [reason]", "Change the severity; the escalation follows it."
)
async def _severity(call: CommandCall) -> None:
    incident = await incident_here(call)
    policy = incidents.policy_of(call.bot, incident)
    try:
        new, reason = parse_severity(call.args, policy.severity_keys)
    except ArgumentError as exc:
        raise UserError(str(exc)) from None
    outcome, old = await service.change_severity(call.bot, incident.id, new, call.user_id, reason)
    await call.ack(outcome.message)
    if outcome.changed:
        call.bot.tasks.spawn(
            service.severity_published(call.bot, outcome.incident, old, new),
            name=f"severity {incident.public_id}",
        )


def register(app: AsyncApp, bot: BotContext) -> None:
    @app.action(blocks.CHANGE_SEVERITY_ACTION)
    async def change_severity_clicked(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        value, channel, _, user = clicked(body)
        trigger_id = str(body.get("trigger_id") or "")
        bot.tasks.spawn(_open(trigger_id, value, channel, user), name="views.open sev")

    async def _open(trigger_id: str, value: str, channel: str | None, user: str) -> None:
        incident_id = as_id(value)
        if incident_id is None:
            return

        async def complain(text: str) -> None:
            await tell(bot, channel, user, text)

        try:
            incident = await incidents.load(bot, incident_id)
        except UserError as exc:
            await complain(str(exc))
            return
        view = modals.severity_modal(incident, incidents.policy_of(bot, incident))
        await open_modal(bot, trigger_id, view, complain)

    @app.view(modals.SEVERITY_CALLBACK)
    async def severity_submitted(ack: AsyncAck, body: dict[str, Any]) -> None:
        view = body["view"]
        user = body["user"]["id"]
        incident_id = modals.incident_id_of(view)
        new = modals.selected_value(view, "severity")
        if incident_id is None or new is None:
            await ack(response_action="errors", errors={"severity": "Pick a severity."})
            return
        reason = " ".join(modals.text_value(view, "reason").split())
        try:
            async with asyncio.timeout(SAVE_TIMEOUT):
                outcome, old = await service.change_severity(bot, incident_id, new, user, reason)
        except UserError as exc:
            await ack(response_action="errors", errors={"severity": str(exc)})
            return
        except (SQLAlchemyError, OSError, TimeoutError):
            log.exception("could not save a severity change")
            await ack(
                response_action="errors",
                errors={"severity": "Could not be saved (database unavailable); try again."},
            )
            return
        await ack()
        if outcome.changed:
            bot.tasks.spawn(
                service.severity_published(bot, outcome.incident, old, new), name="severity"
            )

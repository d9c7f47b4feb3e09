"""`/incident severity`, the form the summary's Change severity button opens
(app/slack/forms.py), and its submission."""

from __future__ import annotations

from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.models.views import View

from app.context import BotContext
from app.domain.command_text import ArgumentError, parse_severity
from app.services import incidents, lookup
from app.services import severity as service
from app.services.authorization import Actor
from app.services.errors import UserError
from app.services.incidents import Outcome
from app.slack import errors
from app.slack.commands import CommandCall
from app.slack.forms import choice_of
from app.ui import modals

SHOWING = "showing the new severity in Slack"


async def severity_command(call: CommandCall) -> None:
    incident = await lookup.incident_here(call.bot, call.name, call.actor)
    policy = incidents.policy_of(call.bot, incident)
    try:
        new, reason = parse_severity(call.args, policy.severity_keys)
    except ArgumentError as exc:
        raise UserError(str(exc)) from None
    outcome, old = await service.change_severity(call.bot, incident.id, new, call.user_id, reason)
    await call.ack(outcome.message)
    if outcome.changed:
        call.later(
            service.severity_published(call.bot, outcome.incident, old, new),
            doing=SHOWING,
            outcome=errors.SAVED,
        )


async def severity_form(bot: BotContext, actor: Actor, incident_id: int) -> View:
    incident = await lookup.incident_numbered(bot, actor, incident_id)
    return modals.severity_modal(incident, incidents.policy_of(bot, incident))


async def _change_severity(
    bot: BotContext, actor: Actor, incident_id: int, new: str, reason: str
) -> tuple[Outcome, str]:
    await lookup.incident_numbered(bot, actor, incident_id)
    return await service.change_severity(bot, incident_id, new, actor.user_id, reason)


async def severity_submitted(bot: BotContext, ack: AsyncAck, body: dict[str, Any]) -> None:
    chosen = await choice_of(ack, body, "severity", "Pick a severity.")
    if chosen is None:
        return
    form, incident_id, new = chosen
    reason = " ".join(modals.text_value(form.view, "reason").split())
    changed = await errors.for_form(
        ack,
        "severity",
        _change_severity(bot, form.actor, incident_id, new, reason),
    )
    if changed is None:
        return
    await ack()
    outcome, old = changed
    if outcome.changed:
        errors.after_ack(
            bot,
            errors.Person(form.user_id, outcome.incident.channel_id),
            service.severity_published(bot, outcome.incident, old, new),
            doing=SHOWING,
            outcome=errors.SAVED,
            name="severity",
        )

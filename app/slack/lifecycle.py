"""Moving an incident along its procedure: `/incident status`, `resolve` and `reopen`, the
status and resolve forms the summary's buttons open (app/slack/forms.py), and their
submissions."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.models.views import View

from app.context import BotContext
from app.domain import lifecycle
from app.domain.command_text import plain_text
from app.services import lifecycle as service
from app.services import lookup
from app.services.authorization import Actor
from app.services.errors import UserError
from app.services.incidents import Outcome
from app.slack import errors
from app.slack.commands import CommandCall
from app.slack.forms import OPENING, choice_of, open_form, submission_of
from app.ui import modals

if TYPE_CHECKING:
    from app.store.models import Incident

log = logging.getLogger(__name__)

_DATA_LOSS = {"yes": True, "no": False}
SHOWING = "showing the change in Slack"


# ------------------------------------------------------------------------------ commands


async def status_command(call: CommandCall) -> None:
    incident = await lookup.incident_here(call.bot, call.name, call.actor)
    target = lifecycle.parse_status(call.args)
    if target is None:
        raise UserError(
            f"Use `/incident status investigating|mitigating|resolved` (it is "
            f"{lifecycle.label(incident.status)} now)."
        )
    if target == lifecycle.RESOLVED:
        await _resolve_form(call, incident)
        return
    outcome = await service.change_status(call.bot, incident.id, target, call.user_id)
    await call.ack(outcome.message)
    if outcome.changed:
        call.later(
            service.status_published(call.bot, outcome.incident),
            doing=SHOWING,
            outcome=errors.SAVED,
        )


async def resolve_command(call: CommandCall) -> None:
    await _resolve_form(call, await lookup.incident_here(call.bot, call.name, call.actor))


async def _resolve_form(call: CommandCall, incident: Incident) -> None:
    service.check_can_resolve(incident)
    await call.ack()
    call.later(open_form(call.bot, call.trigger_id, modals.resolve_modal(incident)), doing=OPENING)


async def reopen_command(call: CommandCall) -> None:
    incident = await lookup.incident_here(call.bot, call.name, call.actor)
    outcome = await service.reopen(call.bot, incident.id, call.user_id, plain_text(call.args))
    await call.ack(outcome.message)
    call.later(
        service.reopened_published(call.bot, outcome.incident), doing=SHOWING, outcome=errors.SAVED
    )


# --------------------------------------------------------------------------------- forms


async def status_form(bot: BotContext, actor: Actor, incident_id: int) -> View:
    return modals.status_modal(await lookup.incident_to_change_status(bot, actor, incident_id))


async def resolve_form(bot: BotContext, actor: Actor, incident_id: int) -> View:
    return modals.resolve_modal(await lookup.incident_to_resolve(bot, actor, incident_id))


async def _change_status(bot: BotContext, actor: Actor, incident_id: int, target: str) -> Outcome:
    await lookup.incident_numbered(bot, actor, incident_id)
    return await service.change_status(bot, incident_id, target, actor.user_id)


async def _resolve(
    bot: BotContext, actor: Actor, incident_id: int, resolution: service.Resolution
) -> Outcome:
    await lookup.incident_numbered(bot, actor, incident_id)
    return await service.resolve(bot, incident_id, resolution, actor.user_id)


async def status_submitted(bot: BotContext, ack: AsyncAck, body: dict[str, Any]) -> None:
    chosen = await choice_of(ack, body, "status", "Pick a status.")
    if chosen is None:
        return
    form, incident_id, target = chosen
    if target == lifecycle.RESOLVED:
        # Resolving needs the incident log's fields: the same modal becomes that form.
        view = await errors.for_form(ack, "status", resolve_form(bot, form.actor, incident_id))
        if view is not None:
            await ack(response_action="update", view=view)
        return
    outcome = await errors.for_form(
        ack, "status", _change_status(bot, form.actor, incident_id, target)
    )
    if outcome is None:
        return
    await ack()
    if outcome.changed:
        errors.after_ack(
            bot,
            errors.Person(form.user_id, outcome.incident.channel_id),
            service.status_published(bot, outcome.incident),
            doing=SHOWING,
            outcome=errors.SAVED,
            name="status",
        )


def _resolution(view: dict[str, Any]) -> service.Resolution:
    return service.Resolution(
        resolution=modals.text_value(view, "resolution"),
        data_loss=_DATA_LOSS.get(modals.selected_value(view, "data_loss") or ""),
        root_cause=modals.text_value(view, "root_cause"),
        affected_services=modals.text_value(view, "affected_services"),
        affected_users=modals.text_value(view, "affected_users"),
        revenue_impact=modals.text_value(view, "revenue_impact"),
    )


async def resolve_submitted(bot: BotContext, ack: AsyncAck, body: dict[str, Any]) -> None:
    form = submission_of(body)
    if form.incident_id is None:
        await ack(response_action="errors", errors={"resolution": "This form is broken."})
        return
    resolution = _resolution(form.view)
    outcome = await errors.for_form(
        ack, "resolution", _resolve(bot, form.actor, form.incident_id, resolution)
    )
    if outcome is None:
        return
    await ack()
    incident = outcome.incident
    person = errors.Person(form.user_id, incident.channel_id)
    if not outcome.changed:
        errors.after_ack(
            bot,
            person,
            errors.tell(bot, person, outcome.message),
            doing="answering",
            name="already resolved",
        )
        return
    log.info("resolved %s", incident.public_id, extra={"incident": incident.public_id})
    errors.after_ack(
        bot,
        person,
        service.resolved_published(bot, incident),
        doing=SHOWING,
        outcome=errors.SAVED,
        name=f"resolved {incident.public_id}",
    )

"""Listeners that move an incident along its procedure: `/incident status`, `resolve`,
`reopen`, the summary's Change status and Resolve buttons, and their modals."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from sqlalchemy.exc import SQLAlchemyError

from app.context import BotContext
from app.domain import lifecycle
from app.services import incidents
from app.services import lifecycle as service
from app.services.errors import InvalidInput, UserError
from app.slack.commands import COMMANDS, CommandCall
from app.slack.common import as_id, clicked, incident_here, open_modal, tell
from app.store.models import Incident
from app.ui import blocks, modals

log = logging.getLogger(__name__)

SAVE_TIMEOUT = 2.0
_DATA_LOSS = {"yes": True, "no": False}


@COMMANDS.command(
    "status",
    "status investigating|mitigating|resolved",
    "Move the incident along Investigating → Mitigating → Resolved.",
)
async def _status(call: CommandCall) -> None:
    incident = await incident_here(call)
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
        call.bot.tasks.spawn(
            service.status_published(call.bot, outcome.incident),
            name=f"status {incident.public_id}",
        )


@COMMANDS.command("resolve", "resolve", "Resolve the incident (opens the incident log form).")
async def _resolve(call: CommandCall) -> None:
    await _resolve_form(call, await incident_here(call))


async def _resolve_form(call: CommandCall, incident: Incident) -> None:
    service.check_can_resolve(incident)
    await call.ack()
    call.bot.tasks.spawn(
        open_modal(call.bot, call.trigger_id, modals.resolve_modal(incident), call.respond),
        name=f"views.open resolve {incident.public_id}",
    )


@COMMANDS.command(
    "reopen", "reopen [reason]", "Reopen a resolved incident (back to Investigating)."
)
async def _reopen(call: CommandCall) -> None:
    incident = await incident_here(call)
    outcome = await service.reopen(call.bot, incident.id, call.user_id, call.args)
    await call.ack(outcome.message)
    call.bot.tasks.spawn(
        service.reopened_published(call.bot, outcome.incident), name=f"reopen {incident.public_id}"
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


def register(app: AsyncApp, bot: BotContext) -> None:
    @app.action(blocks.CHANGE_STATUS_ACTION)
    async def change_status_clicked(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        value, channel, _, user = clicked(body)
        bot.tasks.spawn(
            _open_for(str(body.get("trigger_id") or ""), value, channel, user, status=True),
            name="views.open status",
        )

    @app.action(blocks.RESOLVE_ACTION)
    async def resolve_clicked(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        value, channel, _, user = clicked(body)
        bot.tasks.spawn(
            _open_for(str(body.get("trigger_id") or ""), value, channel, user, status=False),
            name="views.open resolve",
        )

    async def _open_for(
        trigger_id: str, value: str, channel: str | None, user: str, *, status: bool
    ) -> None:
        async def complain(text: str) -> None:
            await tell(bot, channel, user, text)

        incident_id = as_id(value)
        if incident_id is None:
            return
        try:
            incident = await incidents.load(bot, incident_id)
            if status and not incident.is_open:
                raise UserError(f"{incident.public_id} is resolved; `/incident reopen` reopens it.")
            if not status:
                service.check_can_resolve(incident)
        except UserError as exc:
            await complain(str(exc))
            return
        view = modals.status_modal(incident) if status else modals.resolve_modal(incident)
        await open_modal(bot, trigger_id, view, complain)

    @app.view(modals.STATUS_CALLBACK)
    async def status_submitted(ack: AsyncAck, body: dict[str, Any]) -> None:
        view = body["view"]
        user = body["user"]["id"]
        incident_id = modals.incident_id_of(view)
        target = modals.selected_value(view, "status")
        if incident_id is None or target is None:
            await ack(response_action="errors", errors={"status": "Pick a status."})
            return
        try:
            incident = await incidents.load(bot, incident_id)
            if target == lifecycle.RESOLVED:
                service.check_can_resolve(incident)
                # Resolving needs the incident log's fields: the same modal becomes that form.
                await ack(response_action="update", view=modals.resolve_modal(incident))
                return
            async with asyncio.timeout(SAVE_TIMEOUT):
                outcome = await service.change_status(bot, incident_id, target, user)
        except UserError as exc:
            await ack(response_action="errors", errors={"status": str(exc)})
            return
        except (SQLAlchemyError, OSError, TimeoutError):
            log.exception("could not save a status change")
            await ack(response_action="errors", errors={"status": _NOT_SAVED})
            return
        await ack()
        if outcome.changed:
            bot.tasks.spawn(service.status_published(bot, outcome.incident), name="status")

    @app.view(modals.RESOLVE_CALLBACK)
    async def resolve_submitted(ack: AsyncAck, body: dict[str, Any]) -> None:
        view = body["view"]
        user = body["user"]["id"]
        incident_id = modals.incident_id_of(view)
        if incident_id is None:
            await ack(response_action="errors", errors={"resolution": "This form is broken."})
            return
        try:
            async with asyncio.timeout(SAVE_TIMEOUT):
                outcome = await service.resolve(bot, incident_id, _resolution(view), user)
        except InvalidInput as exc:
            await ack(response_action="errors", errors={exc.field: exc.message})
            return
        except UserError as exc:
            await ack(response_action="errors", errors={"resolution": str(exc)})
            return
        except (SQLAlchemyError, OSError, TimeoutError):
            log.exception("could not save a resolution")
            await ack(response_action="errors", errors={"resolution": _NOT_SAVED})
            return
        await ack()
        incident = outcome.incident
        if outcome.changed:
            log.info("resolved %s", incident.public_id, extra={"incident": incident.public_id})
            bot.tasks.spawn(
                service.resolved_published(bot, incident), name=f"resolved {incident.public_id}"
            )
        else:
            bot.tasks.spawn(
                tell(bot, incident.channel_id, user, outcome.message), name="already resolved"
            )


_NOT_SAVED = "Could not be saved (database unavailable). Nothing was changed; try again."

"""Declaring: `/incident declare` (opens the modal), the live severity suggestion, the
submission, and `/incident retry-setup`."""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.errors import SlackApiError

from app.context import BotContext
from app.domain.command_text import plain_text
from app.domain.severity import suggest_severity
from app.services import declared_from, lookup, setup
from app.services.declare import DeclareRequest, declare
from app.slack import errors
from app.slack.commands import CommandCall
from app.slack.forms import OPENING, open_form
from app.ui.declare import IMPACT_BLOCK_PREFIX, declare_modal
from app.ui.modals import selected_value, values
from app.ui.setup_notice import setup_not_done_text

if TYPE_CHECKING:
    from app.store.models import Incident

log = logging.getLogger(__name__)


# ------------------------------------------------------------------------------ commands


async def declare_command(call: CommandCall) -> None:
    # Ack first, then open the modal straight away: the trigger id dies after 3 seconds.
    await call.ack()
    view = declare_modal(
        call.bot.policy,
        title=plain_text(call.args),  # a form field shows text as typed, not Slack markup
        origin_channel=call.channel_id or None,
        incident_types=call.bot.runbooks.choices(),
    )
    call.later(open_form(call.bot, call.trigger_id, view), doing=OPENING)


async def retry_setup_command(call: CommandCall) -> None:
    incident = await lookup.incident_to_set_up(call.bot, call.actor, call.first_arg)
    if incident.setup_complete:
        await call.ack(f"{incident.public_id} is already fully set up in <#{incident.channel_id}>.")
        return
    await call.ack(f"Retrying the Slack setup of {incident.public_id}…")
    call.later(
        _retry_setup(call, incident), doing=f"setting up {incident.public_id}", outcome=_RETRIED
    )


async def _retry_setup(call: CommandCall, incident: Incident) -> None:
    result = await setup.retry_setup(call.bot, incident.id)
    if result.busy:
        await call.respond(
            f"{incident.public_id} is being set up right now; check again in a minute."
        )
    elif result.ok:
        await call.respond(
            f":white_check_mark: {incident.public_id} is set up in <#{result.incident.channel_id}>."
        )
    else:
        await call.respond(setup_not_done_text(result.incident))


_RETRIED = f"{errors.RETRIED}, and `/incident retry-setup` retries it now"


# ---------------------------------------------------------------------------- the modal


def _ticked_impacts(state: dict[str, Any]) -> list[str]:
    ticked: list[str] = []
    for block_id, answer in state.items():
        if block_id.startswith(IMPACT_BLOCK_PREFIX):
            ticked += [o["value"] for o in answer.get("selected_options") or []]
    return ticked


def _metadata(view: dict[str, Any]) -> dict[str, Any]:
    """The declare modal's private_metadata (JSON the bot wrote); {} if it is not that."""
    try:
        metadata = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        return {}
    return metadata if isinstance(metadata, dict) else {}


def parse_submission(view: dict[str, Any], user_id: str) -> DeclareRequest:
    state = values(view)
    visibility = selected_value(view, "visibility")
    return DeclareRequest(
        title=state.get("title", {}).get("value") or "",
        description=state.get("description", {}).get("value") or "",
        impacts=_ticked_impacts(state),
        severity=selected_value(view, "severity"),
        private=None if visibility is None else visibility == "private",
        incident_type=selected_value(view, "incident_type"),
        reporter_id=user_id,
        request_key=view.get("id"),
    )


async def impacts_changed(bot: BotContext, ack: AsyncAck, body: dict[str, Any]) -> None:
    await ack()
    view = body.get("view")
    if view is None:  # the same ids in a message, not in the declare modal: nothing to show
        return
    # Nobody asked for the suggestion: a failure to show it is only logged.
    errors.after_ack(
        bot, None, _show_suggestion(bot, view), doing="suggesting a severity", name="suggestion"
    )


async def _show_suggestion(bot: BotContext, view: dict[str, Any]) -> None:
    state = values(view)
    updated = declare_modal(
        bot.policy,
        title=state.get("title", {}).get("value") or "",
        origin_channel=_metadata(view).get("channel"),
        suggested=suggest_severity(_ticked_impacts(state), bot.policy),
        incident_types=bot.runbooks.choices(),
    )
    try:
        await bot.slack.views_update(view_id=view["id"], hash=view.get("hash"), view=updated)
    except SlackApiError as exc:
        # hash_conflict: the person ticked again meanwhile; that newer action updates it.
        log.info("severity suggestion not shown: %s", exc.response.get("error"))


async def declare_submitted(bot: BotContext, ack: AsyncAck, body: dict[str, Any]) -> None:
    view, user_id = body["view"], body["user"]["id"]
    incident = await errors.for_form(ack, "title", declare(bot, parse_submission(view, user_id)))
    if incident is None:
        return
    await ack()
    log.info("declared %s", incident.public_id, extra={"incident": incident.public_id})
    origin = _metadata(view).get("channel")
    errors.after_ack(
        bot,
        errors.Person(user_id, origin),
        _set_up(bot, incident.id, origin if isinstance(origin, str) else None),
        doing=f"setting up {incident.public_id}",
        outcome=_RETRIED,
        name=f"setup {incident.public_id}",
    )


async def _set_up(bot: BotContext, incident_id: int, origin: str | None) -> None:
    """Remember where the incident was declared, then set it up (which points the reporter
    from there to its channel)."""
    if origin:
        try:
            await declared_from.remember(bot, incident_id, origin)
        except Exception:  # noqa: BLE001 - the setup must run all the same
            log.exception("could not save where incident %s was declared", incident_id)
    await setup.set_up(bot, incident_id)  # which also points the reporter to the channel

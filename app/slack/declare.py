"""Listeners for declaring: the subcommand that opens the modal, live severity suggestion,
the submission, and retry-setup."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import SQLAlchemyError

from app.context import BotContext
from app.domain.command_text import plain_text
from app.domain.naming import parse_incident_id
from app.domain.severity import suggest_severity
from app.services import setup
from app.services.declare import DeclareRequest, declare
from app.services.errors import InvalidInput, UserError
from app.slack.commands import COMMANDS, CommandCall
from app.store import incidents as store
from app.ui import blocks

log = logging.getLogger(__name__)

SAVE_TIMEOUT = 2.0


@COMMANDS.command("declare", "declare [title]", "Declare an incident (opens a form).")
async def _declare(call: CommandCall) -> None:
    # Ack first, then open the modal straight away: the trigger id dies after 3 seconds.
    await call.ack()
    call.bot.tasks.spawn(_open_declare_modal(call), name="views.open declare")


async def _open_declare_modal(call: CommandCall) -> None:
    view = blocks.declare_modal(
        call.bot.policy,
        title=plain_text(call.args),  # a form field shows text as typed, not Slack markup
        origin_channel=call.channel_id or None,
        incident_types=call.bot.runbooks.choices(),
    )
    try:
        await call.bot.slack.views_open(trigger_id=call.trigger_id, view=view)
    except SlackApiError as exc:
        error = exc.response.get("error")
        log.warning("views.open failed: %s", error)
        if error in {"expired_trigger_id", "invalid_trigger_id", "exchanged_trigger_id"}:
            await call.respond(
                "Slack took too long to open the form. Run `/incident declare` "
                "again; nothing was created."
            )
        else:
            await call.respond(f"Could not open the declare form ({error}); nothing was created.")


@COMMANDS.command(
    "retry-setup", "retry-setup [INC-id]", "Finish an incident's Slack setup after a failure."
)
async def _retry_setup(call: CommandCall) -> None:
    bot = call.bot
    async with bot.sessions() as session:
        if call.args:
            if parse_incident_id(call.args.split()[0]) is None:
                raise UserError(f"`{call.args}` is not an incident id like INC-20261128-001.")
            incident = await store.by_public_id(session, call.args.split()[0])
        else:
            incident = await store.by_channel(session, call.channel_id) or (
                await store.latest_incomplete_for(session, call.user_id)
            )
    if incident is None:
        raise UserError("No such incident. Give its id: `/incident retry-setup INC-…`.")
    if incident.setup_complete:
        await call.ack(f"{incident.public_id} is already fully set up in <#{incident.channel_id}>.")
        return
    await call.ack(f"Retrying the Slack setup of {incident.public_id}…")

    async def run() -> None:
        result = await setup.set_up(bot, incident.id)
        if result.busy:
            await call.respond(
                f"{incident.public_id} is being set up right now; check again in a minute."
            )
        elif result.ok:
            await call.respond(
                f":white_check_mark: {incident.public_id} is set up in "
                f"<#{result.incident.channel_id}>."
            )

    bot.tasks.spawn(run(), name=f"retry-setup {incident.public_id}")


def _values(view: dict[str, Any]) -> dict[str, Any]:
    """state.values flattened to block_id -> the `value` action's state."""
    state = view.get("state", {}).get("values", {})
    return {block_id: actions.get("value", {}) for block_id, actions in state.items()}


def _ticked_impacts(values: dict[str, Any]) -> list[str]:
    ticked: list[str] = []
    for block_id, state in values.items():
        if block_id.startswith(blocks.IMPACT_BLOCK_PREFIX):
            ticked += [o["value"] for o in state.get("selected_options") or []]
    return ticked


def _selected(values: dict[str, Any], block_id: str) -> str | None:
    option = values.get(block_id, {}).get("selected_option")
    return option.get("value") if option else None


def _metadata(view: dict[str, Any]) -> dict[str, Any]:
    """The declare modal's private_metadata (JSON the bot wrote); {} if it is not that."""
    try:
        metadata = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        return {}
    return metadata if isinstance(metadata, dict) else {}


def parse_submission(view: dict[str, Any], user_id: str) -> DeclareRequest:
    values = _values(view)
    visibility = _selected(values, "visibility")
    return DeclareRequest(
        title=values.get("title", {}).get("value") or "",
        description=values.get("description", {}).get("value") or "",
        impacts=_ticked_impacts(values),
        severity=_selected(values, "severity"),
        private=None if visibility is None else visibility == "private",
        incident_type=_selected(values, "incident_type"),
        reporter_id=user_id,
        request_key=view.get("id"),
    )


def register(app: AsyncApp, bot: BotContext) -> None:
    @app.action({"block_id": re.compile(f"^{blocks.IMPACT_BLOCK_PREFIX}"), "action_id": "value"})
    async def impacts_changed(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        view = body.get("view")
        if view is None:  # the same ids in a message, not in the declare modal: nothing to show
            return
        bot.tasks.spawn(show_suggestion(view), name="views.update suggestion")

    async def show_suggestion(view: dict[str, Any]) -> None:
        values = _values(view)
        metadata = _metadata(view)
        updated = blocks.declare_modal(
            bot.policy,
            title=values.get("title", {}).get("value") or "",
            origin_channel=metadata.get("channel"),
            suggested=suggest_severity(_ticked_impacts(values), bot.policy),
            incident_types=bot.runbooks.choices(),
        )
        try:
            await bot.slack.views_update(view_id=view["id"], hash=view.get("hash"), view=updated)
        except SlackApiError as exc:
            # hash_conflict: the person ticked again meanwhile; that newer action updates it.
            log.info("severity suggestion not shown: %s", exc.response.get("error"))

    @app.view(blocks.DECLARE_CALLBACK)
    async def declare_submitted(ack: AsyncAck, body: dict[str, Any]) -> None:
        request = parse_submission(body["view"], body["user"]["id"])
        try:
            # Slack closes the modal with an error after 3 s: never let a sick database hang it.
            async with asyncio.timeout(SAVE_TIMEOUT):
                incident = await declare(bot, request)
        except InvalidInput as exc:
            await ack(response_action="errors", errors={exc.field: exc.message})
            return
        except (SQLAlchemyError, OSError, TimeoutError):
            log.exception("could not save a declared incident")
            await ack(
                response_action="errors",
                errors={
                    "title": "The incident could not be saved (database unavailable). Nothing was "
                    "created; submit again in a moment."
                },
            )
            return
        await ack()
        log.info("declared %s", incident.public_id, extra={"incident": incident.public_id})
        bot.tasks.spawn(setup.set_up(bot, incident.id), name=f"setup {incident.public_id}")

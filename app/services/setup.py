"""Setting up an incident's Slack side: channel, topic, members, pinned summary, announcement.

Each step saves what it created as soon as Slack answers, and is skipped when that is already
saved, so the whole thing can be re-run (`/incident retry-setup`) after any failure without
doing a step twice. Independent steps run concurrently to keep the critical path short.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from slack_sdk.errors import SlackApiError

from app.domain.naming import channel_name
from app.logs import incident_context
from app.services import runbooks, timeline
from app.services.context import BotContext
from app.slack import blocks
from app.store import incidents as store
from app.store.models import Incident

log = logging.getLogger(__name__)

MAX_NAME_ATTEMPTS = 50
INVITE_BATCH = 100


@dataclass
class SetupResult:
    incident: Incident
    failures: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.failures


class StepFailed(Exception):
    def __init__(self, step: str, error: str) -> None:
        super().__init__(f"{step}: {error}")
        self.step = step
        self.error = error


def _slack_error(exc: SlackApiError) -> str:
    return str(exc.response.get("error") or exc.response.status_code)


async def set_up(ctx: BotContext, incident_id: int) -> SetupResult:
    """Run every setup step not done yet; report which failed instead of raising."""
    incident = await _load(ctx, incident_id)
    with incident_context(incident.public_id):
        return await _set_up(ctx, incident)


async def _set_up(ctx: BotContext, incident: Incident) -> SetupResult:
    result = SetupResult(incident)
    if incident.setup_complete:
        return result

    async def attempt(step: str, run: Callable[[Incident], Awaitable[None]]) -> None:
        try:
            await run(incident)
        except StepFailed as exc:
            result.failures[exc.step] = exc.error
        except SlackApiError as exc:
            result.failures[step] = _slack_error(exc)
        except Exception as exc:  # noqa: BLE001 - a setup step must never lose the incident
            log.exception("setup step %s of %s crashed", step, incident.public_id)
            result.failures[step] = type(exc).__name__

    await attempt("create_channel", lambda i: _create_channel(ctx, i))
    if incident.channel_id:
        await asyncio.gather(
            attempt("set_topic", lambda i: _set_topic(ctx, i)),
            attempt("invite", lambda i: _invite(ctx, i)),
            attempt("post_summary", lambda i: _post_summary(ctx, i)),
            attempt("announce", lambda i: _announce(ctx, i)),
        )
    if incident.summary_ts:
        await attempt("pin_summary", lambda i: _pin_summary(ctx, i))
    if incident.channel_id:
        # After the summary, so the checklist reads below it in the channel.
        await attempt("post_runbook", lambda i: _post_runbook(ctx, i))

    now = ctx.clock.now()
    async with ctx.sessions.begin() as session:
        if result.ok:
            await store.save_fields(
                session, incident.id, now, setup_complete=True, setup_error=None
            )
            incident.setup_complete = True
        else:
            summary = ", ".join(f"{step} ({error})" for step, error in result.failures.items())
            log.error("setup of %s incomplete: %s", incident.public_id, summary)
            await store.save_fields(session, incident.id, now, setup_error=summary)
            timeline.record(
                session,
                incident,
                timeline.Kind.SETUP_FAILED,
                now=now,
                text=f"Slack setup incomplete: {summary}",
                data={"failures": result.failures},
            )
    if not result.ok:
        await _tell_reporter(ctx, incident, result)
    return result


async def _load(ctx: BotContext, incident_id: int) -> Incident:
    async with ctx.sessions() as session:
        incident = await session.get(Incident, incident_id)
    if incident is None:
        raise LookupError(f"no incident with id {incident_id}")
    return incident


async def _save(ctx: BotContext, incident: Incident, **fields: object) -> None:
    async with ctx.sessions.begin() as session:
        await store.save_fields(session, incident.id, ctx.clock.now(), **fields)
    for key, value in fields.items():
        setattr(incident, key, value)


async def _create_channel(ctx: BotContext, incident: Incident) -> None:
    if incident.channel_id:
        return
    for attempt in range(1, MAX_NAME_ATTEMPTS + 1):
        name = channel_name(incident.day, incident.title, attempt)
        try:
            response = await ctx.slack.conversations_create(name=name, is_private=incident.private)
        except SlackApiError as exc:
            if exc.response.get("error") == "name_taken":
                continue
            raise StepFailed("create_channel", _slack_error(exc)) from exc
        await _save(ctx, incident, channel_id=response["channel"]["id"], channel_name=name)
        return
    raise StepFailed("create_channel", "name_taken")


async def _set_topic(ctx: BotContext, incident: Incident) -> None:
    if incident.topic_set:
        return
    await ctx.slack.conversations_setTopic(
        channel=incident.channel_id, topic=blocks.channel_topic(incident, ctx.policy)
    )
    await _save(ctx, incident, topic_set=True)


async def _invite(ctx: BotContext, incident: Incident) -> None:
    if incident.members_invited:
        return
    bot_user_id = await ctx.bot_user_id()
    people = [incident.reporter_id, *ctx.policy.responders]
    users = [u for u in dict.fromkeys(people) if u and u != bot_user_id]
    for start in range(0, len(users), INVITE_BATCH):
        batch = users[start : start + INVITE_BATCH]
        try:
            await ctx.slack.conversations_invite(channel=incident.channel_id, users=",".join(batch))
        except SlackApiError as exc:
            if exc.response.get("error") != "already_in_channel":
                raise
    await _save(ctx, incident, members_invited=True)


async def _post_summary(ctx: BotContext, incident: Incident) -> None:
    if incident.summary_ts:
        return
    message = blocks.summary_message(incident, ctx.policy, ctx.settings.tz)
    response = await ctx.slack.chat_postMessage(
        channel=incident.channel_id, text=message.text, blocks=message.blocks
    )
    await _save(ctx, incident, summary_ts=response["ts"])


async def _pin_summary(ctx: BotContext, incident: Incident) -> None:
    if incident.summary_pinned:
        return
    try:
        await ctx.slack.pins_add(channel=incident.channel_id, timestamp=incident.summary_ts)
    except SlackApiError as exc:
        if exc.response.get("error") != "already_pinned":
            raise
    await _save(ctx, incident, summary_pinned=True)


async def _post_runbook(ctx: BotContext, incident: Incident) -> None:
    if not incident.incident_type or incident.runbook_ts:
        return
    runbook = ctx.runbooks.get(incident.incident_type)
    if runbook is None:
        log.warning("no runbook %r for %s", incident.incident_type, incident.public_id)
        return
    await runbooks.post_checklist(ctx, incident, runbook)


async def _announce(ctx: BotContext, incident: Incident) -> None:
    channel = ctx.settings.incidents_channel
    if not channel or incident.announcement_ts:
        return
    message = blocks.announcement(incident, ctx.policy)
    try:
        response = await ctx.slack.chat_postMessage(
            channel=channel, text=message.text, blocks=message.blocks
        )
    except SlackApiError as exc:
        if exc.response.get("error") != "not_in_channel":
            raise
        # A public broadcast channel the bot was never added to: join it and try once more.
        await ctx.slack.conversations_join(channel=channel)
        response = await ctx.slack.chat_postMessage(
            channel=channel, text=message.text, blocks=message.blocks
        )
    await _save(
        ctx, incident, announcement_channel=response["channel"], announcement_ts=response["ts"]
    )


async def _tell_reporter(ctx: BotContext, incident: Incident, result: SetupResult) -> None:
    """A DM, because the reporter may not be in any channel the bot can reach."""
    text = blocks.setup_failed_text(incident, result.failures)
    try:
        await ctx.slack.chat_postMessage(channel=incident.reporter_id, text=text)
    except SlackApiError as exc:
        log.error(
            "could not tell %s that setup of %s failed: %s",
            incident.reporter_id,
            incident.public_id,
            _slack_error(exc),
        )

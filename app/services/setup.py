"""Setting up an incident's Slack side: channel, topic, members, pinned summary, announcement,
and the start of its escalation (L1's page).

Each step saves what it created as soon as Slack answers, and is skipped when that is already
saved, so the whole thing can be re-run (`/incident retry-setup`) after any failure without
doing a step twice. Independent steps run concurrently to keep the critical path short.

A run holds a lease on the incident, so two replicas never set it up at once. A process killed
between a Slack call and saving its result leaves something in Slack the store does not know;
the next run (attempt > 1) first looks for it (the channel by name, the summary and the
announcement by their message metadata) instead of creating it twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from slack_sdk.errors import SlackApiError

from app.context import BotContext
from app.domain.naming import channel_name
from app.domain.timeline import Kind
from app.logs import incident_context
from app.services import escalation, runbooks, timeline
from app.services.slack_errors import slack_error
from app.services.slack_messages import find_tagged, metadata
from app.store import incidents as store
from app.store.models import Incident
from app.ui.summary import announcement, channel_topic, setup_failed_text, summary_message

log = logging.getLogger(__name__)

MAX_NAME_ATTEMPTS = 50
INVITE_BATCH = 100
SUMMARY_EVENT = "incident_summary"
ANNOUNCEMENT_EVENT = "incident_announcement"


@dataclass
class SetupResult:
    incident: Incident
    failures: dict[str, str] = field(default_factory=dict)
    # Another run holds the lease: nothing was done here.
    busy: bool = False

    @property
    def ok(self) -> bool:
        return not self.failures


class StepFailed(Exception):
    def __init__(self, step: str, error: str) -> None:
        super().__init__(f"{step}: {error}")
        self.step = step
        self.error = error


def _lease(ctx: BotContext) -> timedelta:
    return timedelta(seconds=ctx.settings.lease_seconds)


async def set_up(ctx: BotContext, incident_id: int) -> SetupResult:
    """Run every setup step not done yet; report which failed instead of raising."""
    async with ctx.sessions.begin() as session:
        claimed = await store.claim_setup(session, incident_id, ctx.clock.now(), _lease(ctx))
    incident = await _load(ctx, incident_id)
    if not claimed:
        return SetupResult(incident, busy=not incident.setup_complete)
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
            result.failures[step] = slack_error(exc)
        except Exception as exc:  # noqa: BLE001 - a setup step must never lose the incident
            log.exception("setup step %s of %s crashed", step, incident.public_id)
            result.failures[step] = type(exc).__name__

    await attempt("create_channel", lambda i: _create_channel(ctx, i))
    channel = incident.channel_id
    if channel:
        await asyncio.gather(
            attempt("set_topic", lambda i: _set_topic(ctx, i, channel)),
            attempt("invite", lambda i: _invite(ctx, i, channel)),
            attempt("post_summary", lambda i: _post_summary(ctx, i, channel)),
            attempt("announce", lambda i: _announce(ctx, i)),
        )
    last_round = []
    if channel and incident.summary_ts:
        last_round.append(attempt("pin_summary", lambda i: _pin_summary(ctx, i, channel)))
        # Below the summary in the channel, since the summary was posted in the round before.
        last_round.append(attempt("post_runbook", lambda i: _post_runbook(ctx, i)))
    # Page L1 once the channel (and normally the summary) exists. Without a channel L1 is
    # still paged by DM: a failed channel must not delay the page. Scheduling is keyed, so a
    # retried setup never pages twice.
    last_round.append(attempt("start_escalation", lambda i: escalation.start_escalation(ctx, i)))
    await asyncio.gather(*last_round)

    now = ctx.clock.now()
    async with ctx.sessions.begin() as session:
        if result.ok:
            await store.save_fields(
                session,
                incident.id,
                now,
                setup_complete=True,
                setup_error=None,
                setup_lease_until=None,
            )
            incident.setup_complete = True
        else:
            summary = ", ".join(f"{step} ({error})" for step, error in result.failures.items())
            log.error("setup of %s incomplete: %s", incident.public_id, summary)
            await store.save_fields(
                session, incident.id, now, setup_error=summary, setup_lease_until=None
            )
            timeline.record(
                session,
                incident,
                Kind.SETUP_FAILED,
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
    if incident.setup_attempts > 1 and incident.channel_name:
        found = await _find_own_channel(ctx, incident.channel_name)
        if found:
            await _save(ctx, incident, channel_id=found)
            return
    for attempt in range(1, MAX_NAME_ATTEMPTS + 1):
        name = channel_name(incident.day, incident.title, attempt)
        # The intended name is saved first: if the process dies during the call, the next run
        # knows which channel to look for.
        await _save(ctx, incident, channel_name=name)
        try:
            response = await ctx.slack.conversations_create(name=name, is_private=incident.private)
        except SlackApiError as exc:
            if exc.response.get("error") == "name_taken":
                continue
            raise StepFailed("create_channel", slack_error(exc)) from exc
        await _save(ctx, incident, channel_id=response["channel"]["id"], channel_name=name)
        ctx.incident_channels.add(incident.channel_id, incident.id)  # type: ignore[arg-type]
        return
    raise StepFailed("create_channel", "name_taken")


async def _find_own_channel(ctx: BotContext, name: str) -> str | None:
    """The id of a channel named `name` that this bot created, if any (crash recovery only)."""
    me = await ctx.bot_user_id()
    cursor = None
    while True:
        page = await ctx.slack.conversations_list(
            types="public_channel,private_channel",
            exclude_archived=True,
            limit=1000,
            cursor=cursor,
        )
        for channel in page["channels"]:
            if channel.get("name") == name and channel.get("creator") in (me, None):
                return str(channel["id"])
        cursor = (page.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            return None


def _tag(event_type: str, incident: Incident) -> dict[str, Any]:
    """The metadata of the summary and the announcement, to find them again after a crash."""
    return metadata(event_type, {"incident": incident.public_id})


async def _set_topic(ctx: BotContext, incident: Incident, channel: str) -> None:
    if incident.topic_set:
        return
    await ctx.slack.conversations_setTopic(
        channel=channel, topic=channel_topic(incident, ctx.policy)
    )
    await _save(ctx, incident, topic_set=True)


async def _invite(ctx: BotContext, incident: Incident, channel: str) -> None:
    if incident.members_invited:
        return
    bot_user_id = await ctx.bot_user_id()
    people = [incident.reporter_id, *ctx.policy.responders]
    users = [u for u in dict.fromkeys(people) if u and u != bot_user_id]
    for start in range(0, len(users), INVITE_BATCH):
        batch = users[start : start + INVITE_BATCH]
        try:
            await ctx.slack.conversations_invite(channel=channel, users=",".join(batch))
        except SlackApiError as exc:
            if exc.response.get("error") != "already_in_channel":
                raise
        finally:
            ctx.directory.forget(channel)  # who may act on it changed
    await _save(ctx, incident, members_invited=True)


async def _post_summary(ctx: BotContext, incident: Incident, channel: str) -> None:
    if incident.summary_ts:
        return
    tag = _tag(SUMMARY_EVENT, incident)
    if incident.setup_attempts > 1 and (found := await find_tagged(ctx.slack, channel, tag)):
        await _save(ctx, incident, summary_ts=found["ts"])
        return
    message = summary_message(incident, ctx.policy, ctx.settings.tz)
    response = await ctx.slack.chat_postMessage(
        channel=channel, text=message.text, blocks=message.blocks, metadata=tag
    )
    await _save(ctx, incident, summary_ts=response["ts"])


async def _pin_summary(ctx: BotContext, incident: Incident, channel: str) -> None:
    if incident.summary_pinned:
        return
    try:
        await ctx.slack.pins_add(channel=channel, timestamp=incident.summary_ts)
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
    if incident.setup_attempts > 1:
        try:
            found = await find_tagged(ctx.slack, channel, _tag(ANNOUNCEMENT_EVENT, incident))
        except SlackApiError:
            found = None  # not a member yet: nothing of ours can be there
        if found:
            await _save(ctx, incident, announcement_channel=channel, announcement_ts=found["ts"])
            return
    message = announcement(incident, ctx.policy)
    post: dict[str, Any] = {
        "text": message.text,
        "blocks": message.blocks,
        "metadata": _tag(ANNOUNCEMENT_EVENT, incident),
    }
    try:
        response = await ctx.slack.chat_postMessage(channel=channel, **post)
    except SlackApiError as exc:
        if exc.response.get("error") != "not_in_channel":
            raise
        # A public broadcast channel the bot was never added to: join it and try once more.
        await ctx.slack.conversations_join(channel=channel)
        response = await ctx.slack.chat_postMessage(channel=channel, **post)
    await _save(
        ctx, incident, announcement_channel=response["channel"], announcement_ts=response["ts"]
    )


async def resume_interrupted(ctx: BotContext) -> int:
    """Finish the setups a stopped or killed process left half done; return how many ran."""
    async with ctx.sessions() as session:
        # An incident this old with no live lease is not about to be set up by its declarer.
        ids = await store.interrupted_setups(session, ctx.clock.now(), _lease(ctx))
    for incident_id in ids:
        result = await set_up(ctx, incident_id)
        if not result.busy:
            log.info(
                "resumed the setup of %s",
                result.incident.public_id,
                extra={"incident": result.incident.public_id},
            )
    return len(ids)


async def _tell_reporter(ctx: BotContext, incident: Incident, result: SetupResult) -> None:
    """A DM, because the reporter may not be in any channel the bot can reach."""
    text = setup_failed_text(incident, result.failures)
    try:
        await ctx.slack.chat_postMessage(channel=incident.reporter_id, text=text)
    except SlackApiError as exc:
        log.error(
            "could not tell %s that setup of %s failed: %s",
            incident.reporter_id,
            incident.public_id,
            slack_error(exc),
        )

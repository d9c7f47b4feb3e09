"""The parts of an incident's Slack setup, each idempotent: channel, topic, members, summary,
pin, runbook, recent deployments, announcement.

Each part saves what it made the moment Slack answers and is skipped when that is saved, so
setup can run again after any failure without doing a part twice. A part whose call may have
been done although its answer was lost (a crash, a 5xx, a timeout, a dropped connection) looks
in Slack first: the channel by its saved intended name and the bot as creator, a message by its
metadata. Slack's refusals are raised as they come; `app.services.setup.run` sorts them.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import ClientError
from slack_sdk.errors import SlackApiError

from app.context import BotContext
from app.domain.naming import channel_name
from app.services import deployments, runbooks
from app.services.slack_errors import is_transient, slack_error
from app.services.slack_messages import find_tagged, metadata
from app.store import deployments as deployment_store
from app.store import incidents as store
from app.store import tickets
from app.store.models import Incident
from app.ui.deployments import recent_deployments
from app.ui.runbooks import runbook_checklist
from app.ui.summary import announcement, channel_topic, summary_message

log = logging.getLogger(__name__)

MAX_NAME_ATTEMPTS = 50
INVITE_BATCH = 100
SUMMARY_EVENT = "incident_summary"
ANNOUNCEMENT_EVENT = "incident_announcement"
RUNBOOK_EVENT = "incident_runbook"
DEPLOYMENTS_EVENT = "incident_deployments"
# After an ambiguous failure, conversations.create is tried again this many times in the same
# attempt (looking for the channel before each); then the step's backoff takes over.
CREATE_TRIES = 2
# The client's words for a call that got no answer at all.
LOST_ANSWERS = frozenset({"connection_error", "request_timeout"})


class Refused(Exception):
    """Slack refused a part for good (a permission, no free name): a person must act."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


def maybe_done(exc: BaseException) -> bool:
    """Whether a failed call may have done its work anyway: Slack's 5xx, a timeout, a dropped
    connection say nothing about that. A 429 or an error answer says it was not done."""
    if isinstance(exc, SlackApiError):
        status = getattr(exc.response, "status_code", 0)
        status = status if isinstance(status, int) else 0
        return status >= 500 or _error_code(exc) in LOST_ANSWERS
    return isinstance(exc, ClientError | OSError | TimeoutError)


def _error_code(exc: SlackApiError) -> str | None:
    data = getattr(exc.response, "data", None)
    return data.get("error") if isinstance(data, dict) else None


async def save(ctx: BotContext, incident: Incident, **fields: object) -> None:
    async with ctx.sessions.begin() as session:
        await store.save_fields(session, incident.id, ctx.clock.now(), **fields)
    for key, value in fields.items():
        setattr(incident, key, value)


# ------------------------------------------------------------------------------ the channel


async def create_channel(ctx: BotContext, incident: Incident) -> None:
    if incident.channel_id:
        return
    if incident.channel_name and await _adopt(ctx, incident, incident.channel_name):
        # An earlier call made it and its answer was lost (or its process died).
        return
    for attempt in range(1, MAX_NAME_ATTEMPTS + 1):
        name = channel_name(incident.day, incident.title, attempt)
        if await _create(ctx, incident, name):
            return
    raise Refused("name_taken")


async def _create(ctx: BotContext, incident: Incident, name: str) -> bool:
    """Make the channel `name`; False if the name is taken by someone else's channel."""
    # The intended name is saved first: if the answer is lost, the retry knows what to look for.
    await save(ctx, incident, channel_name=name)
    for attempt in range(1, CREATE_TRIES + 1):
        try:
            response = await ctx.slack.conversations_create(name=name, is_private=incident.private)
        except Exception as exc:
            if isinstance(exc, SlackApiError) and _error_code(exc) == "name_taken":
                # After a lost answer, maybe by our own channel; else by someone else's.
                return attempt > 1 and await _adopt(ctx, incident, name)
            if not maybe_done(exc):
                if isinstance(exc, SlackApiError) and not is_transient(exc):
                    raise Refused(slack_error(exc)) from exc
                raise
            # Maybe made: look before making another.
            if await _adopt(ctx, incident, name):
                return True
            if attempt == CREATE_TRIES:
                raise
            log.warning("conversations.create of %s failed (%s); trying again", name, exc)
            continue
        await _saved_channel(ctx, incident, str(response["channel"]["id"]), name)
        return True
    return False


async def _adopt(ctx: BotContext, incident: Incident, name: str) -> bool:
    """Take the bot's own channel named `name` if Slack has it and no other incident does;
    whether it did."""
    found = await find_own_channel(ctx, name)
    if found is None:
        return False
    async with ctx.sessions() as session:
        owner = await store.id_for_channel(session, found)
    if owner not in (None, incident.id):
        return False  # another incident of the same title and day
    log.info("found channel %s of %s, made by an earlier call", name, incident.public_id)
    await _saved_channel(ctx, incident, found, name)
    return True


async def _saved_channel(ctx: BotContext, incident: Incident, channel_id: str, name: str) -> None:
    await save(ctx, incident, channel_id=channel_id, channel_name=name)
    ctx.incident_channels.add(channel_id, incident.id)


async def find_own_channel(ctx: BotContext, name: str) -> str | None:
    """The id of a channel named `name` that this bot created, if any."""
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


# ------------------------------------------------------------------------------ in the channel


def tag(event_type: str, incident: Incident) -> dict[str, Any]:
    """The metadata of the summary and the announcement, to find them again."""
    return metadata(event_type, {"incident": incident.public_id})


async def post_tagged(
    ctx: BotContext, channel: str, message_tag: dict[str, Any], *, look: bool, **post: Any
) -> dict[str, Any]:
    """Post a tagged message once: look for it first when an earlier try may have posted it
    (`look`), and again when this post's answer is lost. Returns Slack's channel and ts."""
    if look and (found := await _find(ctx, channel, message_tag)):
        return {"channel": channel, "ts": found["ts"]}
    try:
        response = await ctx.slack.chat_postMessage(channel=channel, metadata=message_tag, **post)
    except Exception as exc:
        if maybe_done(exc) and (found := await _find(ctx, channel, message_tag)):
            return {"channel": channel, "ts": found["ts"]}
        raise
    return {"channel": response["channel"], "ts": response["ts"]}


async def _find(
    ctx: BotContext, channel: str, message_tag: dict[str, Any]
) -> dict[str, Any] | None:
    try:
        return await find_tagged(ctx.slack, channel, message_tag)
    except SlackApiError as exc:
        if _error_code(exc) in {"not_in_channel", "channel_not_found"}:
            return None  # not a member (yet): nothing of ours can be there
        raise


async def set_topic(ctx: BotContext, incident: Incident, channel: str) -> None:
    if incident.topic_set:
        return
    await ctx.slack.conversations_setTopic(
        channel=channel, topic=channel_topic(incident, ctx.policy)
    )
    await save(ctx, incident, topic_set=True)


async def invite(ctx: BotContext, incident: Incident, channel: str) -> None:
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
            if _error_code(exc) != "already_in_channel":
                raise
        finally:
            ctx.directory.forget(channel)  # who may act on it changed
    await save(ctx, incident, members_invited=True)


async def post_summary(ctx: BotContext, incident: Incident, channel: str, *, look: bool) -> None:
    if incident.summary_ts:
        return
    async with ctx.sessions() as session:
        ticket_rows = await tickets.for_incident(session, incident.id)
    message = summary_message(incident, ctx.policy, ctx.settings.tz, (), ticket_rows)
    posted = await post_tagged(
        ctx,
        channel,
        tag(SUMMARY_EVENT, incident),
        look=look,
        text=message.text,
        blocks=message.blocks,
    )
    await save(ctx, incident, summary_ts=posted["ts"])


async def pin_summary(ctx: BotContext, incident: Incident, channel: str) -> None:
    if incident.summary_pinned or not incident.summary_ts:
        return
    try:
        await ctx.slack.pins_add(channel=channel, timestamp=incident.summary_ts)
    except SlackApiError as exc:
        if _error_code(exc) != "already_pinned":
            raise
    await save(ctx, incident, summary_pinned=True)


async def post_runbook(ctx: BotContext, incident: Incident, *, look: bool = False) -> None:
    """The checklist of the incident's type, tagged like the summary: a lost answer (or, with
    `look`, an earlier try) finds the posted one instead of posting a second."""
    channel = incident.channel_id
    if not incident.incident_type or incident.runbook_ts or not channel:
        return
    runbook = ctx.runbooks.get(incident.incident_type)
    if runbook is None:
        log.warning("no runbook %r for %s", incident.incident_type, incident.public_id)
        return
    async with ctx.sessions() as session:
        recent = await deployments.before_incident(session, incident)
    message = runbook_checklist(runbook, None, recent, ctx.settings.tz)
    runbook_tag = metadata(RUNBOOK_EVENT, {"incident": incident.public_id, "runbook": runbook.key})
    posted = await post_tagged(
        ctx, channel, runbook_tag, look=look, text=message.text, blocks=message.blocks
    )
    await runbooks.record_posted(ctx, incident, runbook, str(posted["ts"]))


async def post_deployments(ctx: BotContext, incident: Incident, *, look: bool = False) -> None:
    """ "Deployed in the last 2 hours", when something was: tagged like the runbook, so a lost
    answer (or, with `look`, an earlier try) finds the posted one; saved when Slack answers."""
    channel = incident.channel_id
    if not channel:
        return
    async with ctx.sessions() as session:
        if await deployment_store.post_for(session, incident.id) is not None:
            return
        recent = await deployments.before_incident(session, incident)
    if not recent:
        return
    message = recent_deployments(recent, ctx.settings.tz)
    posted = await post_tagged(
        ctx,
        channel,
        tag(DEPLOYMENTS_EVENT, incident),
        look=look,
        text=message.text,
        blocks=message.blocks,
    )
    async with ctx.sessions.begin() as session:
        await deployment_store.save_post(session, incident.id, channel, str(posted["ts"]))


async def announce(ctx: BotContext, incident: Incident, *, look: bool) -> None:
    channel = ctx.settings.incidents_channel
    if not channel or incident.announcement_ts:
        return
    message = announcement(incident, ctx.policy)
    post: dict[str, Any] = {"text": message.text, "blocks": message.blocks}
    announcement_tag = tag(ANNOUNCEMENT_EVENT, incident)
    try:
        posted = await post_tagged(ctx, channel, announcement_tag, look=look, **post)
    except SlackApiError as exc:
        if _error_code(exc) != "not_in_channel":
            raise
        # A public broadcast channel the bot was never added to: join it and try once more.
        await ctx.slack.conversations_join(channel=channel)
        posted = await post_tagged(ctx, channel, announcement_tag, look=False, **post)
    await save(ctx, incident, announcement_channel=posted["channel"], announcement_ts=posted["ts"])

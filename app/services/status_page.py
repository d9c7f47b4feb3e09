"""The public status page's posts: `/incident statuspage` writes a draft and shows its preview;
Publish makes it public (once), Cancel drops it. What the page shows is `status_board`'s.

- A draft is written before its preview is shown, so the preview's buttons name a row. Its
  services are those of the policy's `services:` whose `impacts` meet the incident's, its
  state and phase are proposed from the incident (app.domain.status_page), unless the person
  chose them in `[...]`.
- Publishing holds the incident's lock, checks that the draft is still current (the incident
  neither resolved nor reopened since, no other post of it published since the draft was
  made), marks it published with a conditional UPDATE (of any number of clicks, retries or
  people, one publishes), records the timeline entry and, with the Atlassian Statuspage sync
  configured, plans its step: all in one transaction, committed before anything is said.
- A private incident never reaches the page: its drafts are refused, and the page's queries
  leave private incidents out as well.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

from slack_sdk.errors import SlackApiError
from sqlalchemy.ext.asyncio import AsyncSession

from app.context import BotContext
from app.domain.command_text import ArgumentError
from app.domain.policy.reporting import StatusService
from app.domain.status_page import (
    MESSAGE_MAX,
    PHASES,
    parse_choices,
    phase_label,
    propose_impact,
    propose_phase,
    state_label,
)
from app.domain.timeline import Kind
from app.services import status_board, statuspage_sync
from app.services.authorization import Actor, authorize
from app.services.errors import UserError
from app.services.incidents import changing, policy_of
from app.store import status_posts as posts
from app.store.models import Incident, StatusPost
from app.ui import statuspage as ui

log = logging.getLogger(__name__)

OFF = (
    "The status page is off. To turn it on, set `STATUS_PAGE=true` in the bot's environment "
    "(and `PUBLIC_URL`, for links to it) and restart the bot; docs/status-page.md says more."
)
PRIVATE = (
    "{public_id} is private: nothing about a private incident goes on the public status page. "
    "Nothing was written."
)

Outcome = Literal["published", "already", "cancelled", "stale", "gone"]


@dataclass(frozen=True)
class Preview:
    """A draft just written, with the services it names (the policy's entries) and whether
    they were proposed rather than chosen."""

    post: StatusPost
    incident: Incident
    services: list[StatusService]
    proposed: bool


@dataclass(frozen=True)
class Settled:
    """What a Publish or Cancel click did: `published` (this click), `already` (published
    before), `cancelled`, `stale` (out of date: `reason` says why), `gone` (no such draft)."""

    outcome: Outcome
    post: StatusPost | None = None
    incident: Incident | None = None
    reason: str = ""
    # The post published since, when that made this draft stale.
    newer: StatusPost | None = None


def page_url(bot: BotContext) -> str | None:
    public_url = bot.settings.public_url
    return f"{public_url.rstrip('/')}/status" if public_url else None


def affected_services(bot: BotContext, impacts: list[str]) -> list[StatusService]:
    """The policy's services an incident with `impacts` affects."""
    return [s for s in bot.policy.services if set(s.impacts) & set(impacts)]


def services_named(bot: BotContext, keys: list[str]) -> list[StatusService]:
    """The policy's entries for `keys`, in the policy's order."""
    return [s for s in bot.policy.services if s.key in keys]


def usage(bot: BotContext) -> str:
    keys = ", ".join(f"`{s.key}`" for s in bot.policy.services) or "none in the policy yet"
    return (
        "Say what the public should read: `/incident statuspage We are investigating slow "
        "logins.` To choose the services, their state or the phase instead of the proposal, "
        "put them in brackets first: `/incident statuspage [api,payments partial identified] "
        f"The fix is rolling out.` Services: {keys}; states: `operational`, `degraded`, "
        f"`partial`, `major`; phases: {', '.join(f'`{p}`' for p in PHASES)}."
    )


async def draft(bot: BotContext, incident: Incident, text: str, user_id: str) -> Preview:
    """Write the draft `/incident statuspage <text>` asks for (UserError, with nothing
    written, when the page is off, the incident private or the text unusable)."""
    if not bot.settings.status_page:
        raise UserError(OFF)
    if incident.private:
        raise UserError(PRIVATE.format(public_id=incident.public_id))
    keys = [s.key for s in bot.policy.services]
    try:
        choices = parse_choices(text, keys)
    except ArgumentError as exc:
        raise UserError(str(exc)) from None
    if not choices.message:
        raise UserError(usage(bot))
    if len(choices.message) > MESSAGE_MAX:
        raise UserError(
            f"The message is {len(choices.message)} characters; keep it to {MESSAGE_MAX}. "
            "Nothing was written."
        )
    if choices.services is None:
        services = affected_services(bot, list(incident.impacts))
    else:
        services = services_named(bot, list(choices.services))
    rank = policy_of(bot, incident).rank(incident.severity)
    impact = choices.impact or propose_impact(rank, resolved=not incident.is_open)
    phase = choices.phase or propose_phase(incident.status)
    async with bot.sessions.begin() as session:
        post = await posts.add_draft(
            session,
            incident_id=incident.id,
            message=choices.message,
            services=[s.key for s in services],
            impact=impact,
            phase=phase,
            drafted_by=user_id,
            now=bot.clock.now(),
            data={"open": incident.is_open, "status": incident.status},
        )
    return Preview(post, incident, services, proposed=choices.services is None)


async def incident_of_post(bot: BotContext, actor: Actor, post_id: int) -> Incident:
    """The incident of the draft a button names, if `actor` may act on it (the same refusal
    as for any incident otherwise)."""
    async with bot.sessions() as session:
        post = await posts.get(session, post_id)
        incident = (
            await session.get(Incident, post.incident_id) if post and post.incident_id else None
        )
    return await authorize(bot, incident, actor)


async def publish(bot: BotContext, post_id: int, user_id: str) -> Settled:
    """Publish the draft `post_id` if it is still one and still current."""
    if not bot.settings.status_page:
        raise UserError(OFF)
    async with bot.sessions() as session:
        found = await posts.get(session, post_id)
    if found is None or found.incident_id is None:
        return Settled("gone")
    async with changing(bot, found.incident_id) as change:
        session, incident, now = change.session, change.incident, change.now
        post = await posts.get(session, post_id)
        assert post is not None  # deleted only with its incident, which we hold
        if post.state != posts.DRAFT:
            return _settled_before(post, incident)
        newer = await posts.published_since(
            session, incident.id, post.drafted_at, other_than=post.id
        )
        reason = _stale(incident, post, newer)
        if reason:
            await posts.settle(session, post.id, posts.CANCELLED, by=user_id, at=now)
            return Settled("stale", post, incident, reason, newer)
        if not await posts.settle(session, post.id, posts.PUBLISHED, by=user_id, at=now):
            return _settled_before(await _fresh(session, post_id), incident)
        post = await _fresh(session, post_id)
        change.record(
            Kind.UPDATE,
            actor_id=user_id,
            text=f"Status page ({phase_label(post.phase)}, {state_label(post.impact)}): "
            f"{post.message}",
            data={
                "statuspage": post.id,
                "phase": post.phase,
                "impact": post.impact,
                "services": list(post.services),
            },
        )
        if bot.settings.statuspage_sync:
            await statuspage_sync.plan_sync(session, incident, post, now)
    status_board.forget(bot)  # committed: this process's page shows it at once
    return Settled("published", post, incident)


async def cancel(bot: BotContext, post_id: int, user_id: str) -> Settled:
    """Drop the draft `post_id` (a published post stays published)."""
    async with bot.sessions.begin() as session:
        cancelled = await posts.settle(
            session, post_id, posts.CANCELLED, by=user_id, at=bot.clock.now()
        )
        post = await posts.get(session, post_id)
        incident = (
            await session.get(Incident, post.incident_id) if post and post.incident_id else None
        )
    if post is None:
        return Settled("gone")
    if cancelled:
        return Settled("cancelled", post, incident)
    return _settled_before(post, incident)


async def announce(bot: BotContext, incident: Incident, post: StatusPost) -> None:
    """Tell the incident's channel what the public now reads (after the commit)."""
    if not incident.channel_id:
        return
    message = ui.channel_notice(post, services_named(bot, list(post.services)), page_url(bot))
    try:
        await bot.slack.chat_postMessage(
            channel=incident.channel_id, text=message.text, blocks=message.blocks
        )
    except SlackApiError as exc:
        log.warning(
            "status post %s of %s not announced: %s",
            post.id,
            incident.public_id,
            exc.response.get("error"),
        )


async def _incident_of(session: AsyncSession, post: StatusPost | None) -> Incident | None:
    if post is None or post.incident_id is None:
        return None
    return await session.get(Incident, post.incident_id)


def _settled_before(post: StatusPost, incident: Incident | None) -> Settled:
    return Settled("already" if post.state == posts.PUBLISHED else "cancelled", post, incident)


async def _fresh(session: AsyncSession, post_id: int) -> StatusPost:
    post = await posts.get(session, post_id)
    assert post is not None
    return post


def _stale(incident: Incident, post: StatusPost, newer: StatusPost | None) -> str:
    if incident.private:
        return PRIVATE.format(public_id=incident.public_id)
    was_open = bool(post.data.get("open", True))
    if was_open and not incident.is_open:
        return f"{incident.public_id} was resolved after this preview was made"
    if not was_open and incident.is_open:
        return f"{incident.public_id} was reopened after this preview was made"
    if newer is not None:
        return "another update of this incident was published after this preview was made"
    return ""

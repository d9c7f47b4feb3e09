"""The copy of published status posts on Atlassian Statuspage, as the durable `statuspage` step
(optional: on when STATUSPAGE_API_KEY and STATUSPAGE_PAGE_ID are set).

The status page service calls `plan_sync` in the transaction that publishes a post, so the step
exists exactly when the publication does. One step per post, each applying its own post
(`statuspage_mirror`), in the order they were published: a step whose incident has an earlier
`statuspage` step still pending waits for it, so two posts published in one second reach
Statuspage in order, each saved (`statuspage_incident_id`, `statuspage_synced_at`) before the
next starts. A re-run (a crash, a lost answer) finds the post already saved, or looks at
Statuspage before doing anything again.

Statuspage failing for now (429 with its Retry-After, 5xx, a timeout) defers the step, 5 s
doubling to 5 minutes, for as long as it takes: an outage delays the copy, it does not lose it;
a person is told once after a few tries. A refusal (401, 403, 404, 422) is kept in the post's
`statuspage_error`, on the incident's timeline, and told once in the incident channel (once per
incident and error: the next post refused the same way is recorded, not announced again).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from slack_sdk.errors import SlackApiError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.channels.statuspage import StatuspageClient, StatuspageError
from app.domain.text import mrkdwn
from app.domain.timeline import Kind
from app.services import engine, timeline
from app.services.engine import StepRun
from app.services.setup import tell_person
from app.services.slack_errors import slack_error
from app.services.statuspage_mirror import STATE, apply, state_of
from app.store import steps as step_store
from app.store.models import Incident, StatusPost, StepStatus

log = logging.getLogger(__name__)

STATUSPAGE = "statuspage"
ORDER_WAIT = timedelta(seconds=1)  # while an earlier post of the incident is being copied
BACKOFF_BASE, BACKOFF_MAX = timedelta(seconds=5), timedelta(minutes=5)
NOTICE_AFTER_TRIES = 4
NOT_AN_INCIDENT = "not copied to Statuspage: only an incident's posts are"


async def plan_sync(
    session: AsyncSession, incident: Incident | None, post: StatusPost, now: datetime
) -> int | None:
    """Plan the `statuspage` step for a post just published, in the publishing transaction;
    the step's id (None if this post's step exists already). A post of no incident is not
    copied (steps belong to incidents), and says so in its `statuspage_error`."""
    if incident is None:
        post.statuspage_error = NOT_AN_INCIDENT
        return None
    await session.flush()  # the post's id
    return await engine.schedule(
        session,
        incident,
        STATUSPAGE,
        now,
        {"post": post.id},
        now=now,
        key=f"{STATUSPAGE}:{post.id}",
    )


async def sync_statuspage(run: StepRun) -> None:
    """The `statuspage` step's handler (registered by `app.wiring`)."""
    settings = run.ctx.settings
    if not (settings.statuspage_api_key and settings.statuspage_page_id):
        run.cancel("Statuspage is not configured (STATUSPAGE_API_KEY, STATUSPAGE_PAGE_ID)")
        return
    post, earlier, waiting = await _load(run)
    if post is None or post.published_at is None:
        run.cancel("the status post is not published")
        return
    if post.statuspage_synced_at is not None or post.statuspage_error is not None:
        return  # a re-run after the post was saved: nothing left to do
    if waiting is not None:
        run.defer(max(waiting, run.now + ORDER_WAIT), "an earlier status post is copied first")
        return
    client = StatuspageClient(
        settings.statuspage_api_url, settings.statuspage_api_key, settings.statuspage_page_id
    )
    async with client:
        try:
            remote = await apply(run, client, post, earlier)
        except StatuspageError as exc:
            if exc.transient:
                await _later(run, exc)
            else:
                await _refused(run, post, earlier, exc)
            return
    latest = remote.latest
    state = {**state_of(post), "update": latest.id if latest else None, "link": remote.shortlink}
    state.pop("pending", None)
    async with run.ctx.sessions.begin() as session:
        row = await session.get(StatusPost, post.id)
        if row is not None:
            row.data = {**(row.data or {}), STATE: state}
            row.statuspage_incident_id = remote.id
            row.statuspage_synced_at = run.ctx.clock.now()
            row.statuspage_error = None
    run.data.pop("tries", None)
    run.data["statuspage_incident"] = remote.id


async def _load(
    run: StepRun,
) -> tuple[StatusPost | None, list[StatusPost], datetime | None]:
    """The step's post, the incident's posts published before it, and, while an earlier
    `statuspage` step of the incident is pending, when to look again: soon if it is running,
    else when it is due (not every second while it waits out a Statuspage outage)."""
    post_id = run.data.get("post")
    async with run.ctx.sessions() as session:
        post = await session.get(StatusPost, post_id) if isinstance(post_id, int) else None
        if post is None or post.published_at is None:
            return post, [], None
        stmt = (
            select(StatusPost)
            .where(StatusPost.incident_id == run.incident.id, StatusPost.published_at.is_not(None))
            .order_by(StatusPost.published_at, StatusPost.id)
        )
        posts = list((await session.execute(stmt)).scalars())
        pending = await step_store.for_incident(
            session, run.incident.id, [STATUSPAGE], [StepStatus.PENDING]
        )
    mine = (post.published_at, post.id)
    earlier = [p for p in posts if p.published_at is not None and (p.published_at, p.id) < mine]
    before = [step for step in pending if step.id < run.step.id]
    if not before:
        return post, earlier, None
    if any(step.claimed_by is not None for step in before):
        return post, earlier, run.now
    return post, earlier, min(step.next_attempt_at for step in before)


def _backoff(tries: int, exc: StatuspageError) -> timedelta:
    wait = min(BACKOFF_BASE * 2 ** max(tries - 1, 0), BACKOFF_MAX)
    if exc.retry_after is not None:
        wait = max(wait, timedelta(seconds=exc.retry_after))
    return wait


async def _later(run: StepRun, exc: StatuspageError) -> None:
    """Statuspage failed for now: try again after the backoff; tell a person once it has
    failed a few times in a row."""
    tries = int(run.data.get("tries", 0)) + 1
    run.data["tries"] = tries
    log.warning("Statuspage, for %s (try %d): %s", run.incident.public_id, tries, exc.message)
    if tries == NOTICE_AFTER_TRIES and not run.data.get("told_delay"):
        run.data["told_delay"] = True
        await _tell(run, delayed_text(run.incident, exc.message))
    run.defer(run.now + _backoff(tries, exc), exc.message[:200])


async def _refused(
    run: StepRun, post: StatusPost, earlier: Sequence[StatusPost], exc: StatuspageError
) -> None:
    """A refusal for good: told once (first, so a re-run after a crash still tells), then kept
    in the post and the timeline; the step ends."""
    incident, error = run.incident, exc.message[:500]
    log.error("Statuspage refused the status post %s of %s: %s", post.id, incident.public_id, error)
    if not any(p.statuspage_error == error for p in earlier):
        text = refused_text(incident, error)
        if incident.channel_id:
            await run.post("channel", incident.channel_id, text)
        else:
            await tell_person(run.ctx, incident, text)
    async with run.ctx.sessions.begin() as session:
        row = await session.get(StatusPost, post.id)
        if row is not None:
            row.statuspage_error = error
        timeline.record(
            session,
            incident,
            Kind.STEP_FAILED,
            now=run.ctx.clock.now(),
            text=f"Status page update not copied to Statuspage: {error}",
            data={
                "step_id": run.step.id,
                "kind": STATUSPAGE,
                "post": post.id,
                "status": exc.status,
            },
        )
    run.data.update(error=error, status=exc.status)


async def _tell(run: StepRun, text: str) -> None:
    """Say `text` in the incident channel (else to a person), outside the step's own messages:
    the step is deferred after it, which a step that sent messages may not be."""
    incident = run.incident
    if incident.channel_id:
        try:
            await run.ctx.slack.chat_postMessage(channel=incident.channel_id, text=text)
            return
        except SlackApiError as exc:
            log.warning("Statuspage notice for %s: %s", incident.public_id, slack_error(exc))
    await tell_person(run.ctx, incident, text)


def refused_text(incident: Incident, error: str) -> str:
    return (
        f":warning: Statuspage refused the status page update of {incident.public_id}: "
        f"{mrkdwn(error)}. The bot's own status page has it; Statuspage does not. Check "
        "STATUSPAGE_API_KEY, STATUSPAGE_PAGE_ID and the policy's `statuspage_component` ids; "
        "the next update published is copied again."
    )


def delayed_text(incident: Incident, error: str) -> str:
    return (
        f":hourglass: Statuspage is not taking the status page update of {incident.public_id} "
        f"({mrkdwn(error)}). The bot keeps trying; nothing is lost."
    )


__all__ = ["STATUSPAGE", "plan_sync", "sync_statuspage"]

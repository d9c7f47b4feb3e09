"""The `ticket` step: make the tracker match the incident, whatever changed since last time.

One step per change, each converging every ticket of the incident: opened if it has no key
yet, its priority the severity's, closed once the incident is resolved (or the item done) and
reopened with it, the post-mortem and the Slack channel linked once they exist. What the
tracker already has (saved after each answer) is not asked again, so a step with nothing left
to do calls nobody.

One step at a time talks to the tracker about a ticket (`store.hold`). Before creating, the
ticket is marked uncertain and saved: if the answer is lost (a 5xx, a timeout, the process
killed), the next try looks the ticket up by its marker before creating another. A tracker
that fails for now defers the step with a growing wait, for as long as it takes; a person is
told once it has failed a few times, and once if it refuses for good.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from weakref import WeakKeyDictionary

from slack_sdk.errors import SlackApiError

from app.domain.timeline import Kind
from app.runtime.slack_limits import Priority, slack_priority
from app.services import timeline
from app.services.engine import StepRun
from app.services.engine.claim import dead_after
from app.services.slack_errors import is_transient, slack_error
from app.services.summary import refresh_summary
from app.services.tickets import drafts
from app.services.tickets.notices import tell
from app.services.tickets.plan import plan_poll
from app.store import action_items
from app.store import tickets as store
from app.store.models import ActionItem, TicketRecord
from app.trackers import Tracker, TrackerError
from app.ui import tickets as texts

log = logging.getLogger(__name__)

HOLD = timedelta(minutes=2)  # longer than a few tracker calls at their 10 s timeout
BUSY_WAIT = timedelta(seconds=2)
# Before the incident channel exists, its ticket waits this long at a time, at most
# CHANNEL_GRACE after declaration (then it is opened without, and the link comes as a comment).
CHANNEL_WAIT = timedelta(seconds=2)
CHANNEL_GRACE = timedelta(seconds=20)
BACKOFF_BASE, BACKOFF_MAX = timedelta(seconds=5), timedelta(minutes=5)
NOTICE_AFTER_TRIES = 4
# Tracker calls in flight per process, at most (the engine runs 16 steps at once: the rest are
# kept for pages), and how long a ticket step steps aside when they are all taken.
TRACKER_SLOTS = 4
SLOTS_BUSY_WAIT = timedelta(seconds=1)
_SLOTS: WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = WeakKeyDictionary()


@dataclass
class _Pass:
    """What one run of the step found: when to look again, and whether Slack must be told."""

    waits: list[tuple[datetime, str]] = field(default_factory=list)
    changed: bool = False
    failure: TrackerError | None = None
    provider: str = ""


def _tracker_slots() -> asyncio.Semaphore:
    loop = asyncio.get_running_loop()
    slots = _SLOTS.get(loop)
    if slots is None:
        slots = _SLOTS[loop] = asyncio.Semaphore(TRACKER_SLOTS)
    return slots


async def sync_tickets(run: StepRun) -> None:
    """The `ticket` step's handler (registered by `app.wiring`).

    At most TRACKER_SLOTS run at once in a process; the others step aside at once (deferred a
    moment), so a slow or hanging tracker holds a few of the engine's slots, never the pages'.
    """
    slots = _tracker_slots()
    if slots.locked():
        run.defer(run.now + SLOTS_BUSY_WAIT, "the tracker is busy with other tickets")
        return
    async with slots:
        await _sync_all(run)


async def _sync_all(run: StepRun) -> None:
    ctx, incident = run.ctx, run.incident
    async with ctx.sessions() as session:
        records = await store.for_incident(session, incident.id)
        items = {item.id: item for item in await action_items.for_incident(session, incident.id)}
    state = _Pass()
    for index, record in enumerate(records):
        if record.error is not None and record.key is None:
            continue  # refused for good: `/incident ticket` clears it and asks again
        tracker = ctx.trackers.get(record.provider)
        if tracker is None:
            await _refuse(run, record, texts.not_configured_text(record.provider))
            continue
        records[index] = await _sync_held(run, tracker, record, items, state)
    if state.changed:
        await refresh_summary(ctx, incident)
    await _bookmark(run, records, state)
    await _finish(run, state)


async def _sync_held(
    run: StepRun,
    tracker: Tracker,
    record: TicketRecord,
    items: dict[int, ActionItem],
    state: _Pass,
) -> TicketRecord:
    """Sync one ticket while holding it; returns it as it is now."""
    ctx = run.ctx
    async with ctx.sessions.begin() as session:
        worker = run.step.claimed_by or "unknown"
        held = await store.hold(
            session, record.id, run.now, run.now + HOLD, worker, dead_after(ctx.settings)
        )
        fresh = await session.get(TicketRecord, record.id, populate_existing=True)
    if fresh is not None:
        record = fresh  # as the hold left it (uncertain, if a dead holder's hold lapsed)
    if not held or fresh is None:
        state.waits.append((run.now + BUSY_WAIT, "another step is updating this ticket"))
        return record
    try:
        item = items.get(record.action_item_id) if record.action_item_id else None
        await _sync_one(run, tracker, record, item, state)
    except TrackerError as exc:
        if exc.transient:
            state.failure, state.provider = exc, record.provider
            state.waits.append((run.now + _backoff(run, exc), exc.message))
        else:
            await _refuse(run, record, exc.message)
    finally:
        async with ctx.sessions.begin() as session:
            await store.save(
                session, record.id, ctx.clock.now(), busy_until=None, busy_by=None, busy_since=None
            )
    return record


def _backoff(run: StepRun, exc: TrackerError) -> timedelta:
    tries = int(run.data.get("tries", 0))
    wait = min(BACKOFF_BASE * 2**tries, BACKOFF_MAX)
    if exc.retry_after is not None:
        wait = max(wait, timedelta(seconds=exc.retry_after))
    return wait


async def _sync_one(
    run: StepRun,
    tracker: Tracker,
    record: TicketRecord,
    item: ActionItem | None,
    state: _Pass,
) -> None:
    incident = run.incident
    if record.key is None:
        if item is None and await _waits_for_channel(run):
            state.waits.append((run.now + CHANNEL_WAIT, "waiting for the incident channel"))
            return
        await _open(run, tracker, record, item)
        state.changed = True
    assert record.remote_id is not None and record.key is not None
    ticket = drafts.as_ticket(record)
    policy = run.policy
    if item is None:
        spec = policy.tickets.spec(incident.severity, policy.rank(incident.severity))
        if spec.priority and record.priority != spec.priority:
            await tracker.set_priority(ticket, spec.priority)
            await _save(run, record, priority=spec.priority)
    closing = item.done if item is not None else not incident.is_open
    if closing and not record.closed:
        if item is not None:
            comment = drafts.item_done_comment(item.done_by)
        else:
            comment = drafts.resolved_comment(incident, policy, incident.postmortem_url)
        await tracker.close(ticket, comment)
        await _save(
            run,
            record,
            entry=texts.closed_entry(record),
            event="closed",
            closed=True,
            postmortem_url=record.postmortem_url if item else incident.postmortem_url,
        )
        state.changed = True
    elif not closing and record.closed and item is None:
        await tracker.reopen(ticket, drafts.reopened_comment(run.now, run.ctx.settings.tz))
        await _save(run, record, entry=texts.reopened_entry(record), event="reopened", closed=False)
        state.changed = True
    await _link_later(run, tracker, record, item)


async def _link_later(
    run: StepRun, tracker: Tracker, record: TicketRecord, item: ActionItem | None
) -> None:
    """The post-mortem and the Slack channel, as comments, once they exist."""
    incident, ticket = run.incident, drafts.as_ticket(record)
    url = incident.postmortem_url
    if item is None and record.closed and url and record.postmortem_url != url:
        await tracker.comment(ticket, drafts.postmortem_comment(url))
        await _save(run, record, postmortem_url=url)
    if not record.channel_linked and incident.channel_id:
        channel_url = await _channel_url(run)
        if channel_url:
            await tracker.comment(ticket, drafts.channel_comment(channel_url))
        await _save(run, record, channel_linked=True)


async def _open(
    run: StepRun, tracker: Tracker, record: TicketRecord, item: ActionItem | None
) -> None:
    """Find the ticket an earlier try may have made, or make it; save it at once."""
    channel_url = await _channel_url(run)
    policy, incident = run.policy, run.incident
    if item is None:
        spec = policy.tickets.spec(incident.severity, policy.rank(incident.severity))
        draft = drafts.incident_draft(
            incident, policy, spec, record, run.ctx.settings.tz, channel_url
        )
    else:
        links = [("Slack channel", channel_url)] if channel_url else []
        email = await _email_of(run, item.owner_id)
        draft = drafts.item_draft(
            incident, item, policy, policy.tickets.item_spec(), record, email, tuple(links)
        )
    found = await tracker.find(draft) if record.uncertain else None
    if found is None:
        await _save(run, record, uncertain=True)  # a lost answer is looked for next time
        found = await tracker.create(draft)
    await _save(
        run,
        record,
        entry=texts.opened_entry_for(record, found.key, found.url),
        event="opened",
        poll=item is not None,
        key=found.key,
        url=found.url,
        remote_id=found.remote_id,
        opened_at=run.ctx.clock.now(),
        priority=draft.priority,
        closed=found.closed,
        uncertain=False,
        channel_linked=channel_url is not None,
        error=None,
        announced=True,
    )


async def _save(
    run: StepRun,
    record: TicketRecord,
    *,
    entry: str | None = None,
    event: str | None = None,
    poll: bool = False,
    **values: object,
) -> None:
    """Save what the tracker now has (and its timeline entry), before anything else is done."""
    ctx = run.ctx
    now = ctx.clock.now()
    async with ctx.sessions.begin() as session:
        await store.save(session, record.id, now, **values)
        if entry is not None:
            timeline.record(
                session,
                run.incident,
                Kind.TICKET,
                now=now,
                text=entry,
                data={"event": event, "ticket": record.id, "item": record.action_item_id},
            )
        if poll:
            seconds = ctx.settings.ticket_poll_seconds
            await plan_poll(session, run.incident, record.id, now, seconds)
    for name, value in values.items():
        setattr(record, name, value)


async def _waits_for_channel(run: StepRun) -> bool:
    incident = run.incident
    if incident.channel_id or incident.setup_complete:
        return False
    return run.now - incident.started_at < CHANNEL_GRACE


async def _channel_url(run: StepRun) -> str | None:
    channel = run.incident.channel_id
    if not channel:
        return None
    try:
        base = await run.ctx.workspace_url()
    except SlackApiError:
        return None
    return f"{base.rstrip('/')}/archives/{channel}"


async def _email_of(run: StepRun, user_id: str | None) -> str | None:
    if not user_id:
        return None
    try:
        user = (await run.ctx.slack.users_info(user=user_id))["user"]
    except SlackApiError as exc:
        log.info("no e-mail for %s: %s", user_id, slack_error(exc))
        return None
    email = (user.get("profile") or {}).get("email")
    return str(email) if email else None


async def _refuse(run: StepRun, record: TicketRecord, error: str) -> None:
    """A refusal for good: saved and told once; the step does not retry it."""
    if record.error == error:
        return
    log.error("ticket %s of %s: %s", record.marker, run.incident.public_id, error)
    await _save(run, record, entry=f"Ticket not opened: {error}", event="refused", error=error)
    await tell(run.ctx, run.incident, texts.refused_text(run.incident, record, error))


async def _bookmark(run: StepRun, records: list[TicketRecord], state: _Pass) -> None:
    """The incident ticket as a bookmark of the incident channel, once."""
    channel = run.incident.channel_id
    own = next((r for r in records if r.action_item_id is None), None)
    if own is None or own.bookmarked or not own.key or not own.url or not channel:
        return
    try:
        with slack_priority(Priority.COSMETIC):
            await run.ctx.slack.bookmarks_add(
                channel_id=channel,
                title=f"{texts.tracker_title(own.provider)} {own.key}",
                type="link",
                link=own.url,
            )
    except SlackApiError as exc:
        if is_transient(exc):
            state.waits.append((run.now + BUSY_WAIT * 5, f"bookmark: {slack_error(exc)}"))
            return
        log.warning("bookmark of %s refused: %s", own.key, slack_error(exc))
    await _save(run, own, bookmarked=True)


async def _finish(run: StepRun, state: _Pass) -> None:
    """Done, or deferred to the earliest wait; a tracker failing for a while is told once."""
    if not state.waits:
        run.data.pop("tries", None)
        return
    until, reason = min(state.waits)
    tries = int(run.data.get("tries", 0)) + (1 if state.failure else 0)
    run.data["tries"] = tries
    if state.failure is not None and tries == NOTICE_AFTER_TRIES:
        own = run.data.get("told")
        if own != state.failure.message:
            run.data["told"] = state.failure.message
            text = texts.delayed_text(run.incident, state.provider, state.failure.message)
            await tell(run.ctx, run.incident, text)
    run.defer(max(until, run.now + timedelta(milliseconds=100)), reason)

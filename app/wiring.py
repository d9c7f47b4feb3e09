"""Builds the bot: the context, its step kinds and its event subscribers.

`build` is the one place a `BotContext` is made (the server, the CLI, tests and benchmarks all
call it). What runs when is said here, explicitly, rather than by which modules happen to be
imported: `register` gives every step kind its handler and subscribes the follow-ups of every
event, in the order they run. Slack's listeners are registered the same way, on the Bolt app
that `app.web` builds (`app.slack.bolt_app`).
"""

from __future__ import annotations

import logging

from slack_sdk.web.async_client import AsyncWebClient

from app import metrics
from app.clock import Clock, SystemClock
from app.config.runbooks import load_runbooks
from app.config.settings import Settings
from app.context import BotContext
from app.domain.escalation import PAGE, TARGET_WARNING, UPDATE_REMINDER
from app.domain.policy import Policy
from app.domain.runbooks import Runbooks
from app.runtime.slack_client import (
    InstrumentedWebClient,
    RateLimitObserver,
    SafeConnectionErrorRetryHandler,
    SafeServerErrorRetryHandler,
)
from app.runtime.slack_limits import SlackLimits
from app.runtime.wakeup import Wakeup
from app.services import (
    documents,
    engine,
    escalation,
    events,
    paging,
    reminder_steps,
    resolve_steps,
    setup,
    status_board,
    statuspage_sync,
    ticket_news,
    tickets,
)
from app.services.directory import Directory
from app.services.engine import Handler
from app.services.escalation import backup, copies, invites
from app.services.escalation import handlers as escalation_steps
from app.services.incident_channels import IncidentChannels
from app.store import wakeups
from app.store.db import make_engine, make_sessionmaker
from app.trackers.registry import build_trackers

# Every kind of scheduled step, and the function that sends it when it falls due.
STEP_KINDS: dict[str, Handler] = {
    PAGE: escalation_steps.send_page,
    TARGET_WARNING: escalation_steps.warn_target_missed,
    UPDATE_REMINDER: escalation_steps.remind_update,
    reminder_steps.REVIEW: reminder_steps.send_review_reminder,
    reminder_steps.ACTION_ITEM: reminder_steps.send_action_item_reminder,
    setup.SETUP: setup.run_setup,
    copies.PAGE_COPY: copies.copy_page,
    invites.INVITE: invites.send_invite,
    resolve_steps.POSTMORTEM: resolve_steps.upload_postmortem_step,
    tickets.TICKET: tickets.sync_tickets,
    ticket_news.TICKET_POLL: ticket_news.poll_ticket,
    backup.KIND: backup.send_backup_page,
    statuspage_sync.STATUSPAGE: statuspage_sync.sync_statuspage,
    **paging.KINDS,
}


# The follow-ups of each event, in the order they run (see `register`).


async def _restart_update_reminders(ctx: BotContext, event: events.StatusUpdated) -> None:
    await escalation.on_status_update(ctx, event.incident)


async def _replan_for_severity(ctx: BotContext, event: events.SeverityChanged) -> None:
    await escalation.on_severity_changed(ctx, event.incident, event.old, event.new)


async def _refresh_status_page(ctx: BotContext, event: events.IncidentEvent) -> None:
    status_board.forget(ctx)


async def _stop_escalation(ctx: BotContext, event: events.Resolved) -> None:
    await escalation.on_resolved(ctx, event.incident)


async def _remember_names(ctx: BotContext, event: events.StatusUpdated) -> None:
    await documents.remember_names(ctx, event.incident)


async def _cancel_review_reminders(ctx: BotContext, event: events.Reopened) -> None:
    await reminder_steps.cancel_reviews(ctx, event.incident)


async def _resume_update_reminders(ctx: BotContext, event: events.Reopened) -> None:
    await escalation.on_status_update(ctx, event.incident)


async def _plan_action_item_reminder(ctx: BotContext, event: events.ActionItemAdded) -> None:
    await reminder_steps.schedule_first_action_item(ctx, event.item)


def register() -> None:
    """Step kinds and event subscribers; calling it again (one more context) changes nothing."""
    for kind, handler in STEP_KINDS.items():
        engine.register_kind(kind, handler)
    # A status update or change: the update reminder starts over.
    events.subscribe(events.StatusUpdated, _restart_update_reminders)
    # ... and the names of the people it mentions are learnt, for an export while it runs.
    events.subscribe(events.StatusUpdated, _remember_names)
    # A new severity: the chain is extended or trimmed, the cadence follows.
    events.subscribe(events.SeverityChanged, _replan_for_severity)
    # Resolved: pages and update reminders stop. (The review reminder and the post-mortem
    # upload are steps planned in the resolving transaction: `services.resolve_steps`.)
    events.subscribe(events.Resolved, _stop_escalation)
    # Reopened: no review yet; update reminders resume.
    events.subscribe(events.Reopened, _cancel_review_reminders)
    # Resolved or reopened: the public status page says so at once (this process; others
    # within its FRESH_FOR).
    events.subscribe(events.Resolved, _refresh_status_page)
    events.subscribe(events.Reopened, _refresh_status_page)
    events.subscribe(events.Reopened, _resume_update_reminders)
    # An action item with a due date: its owner is reminded once it is overdue.
    events.subscribe(events.ActionItemAdded, _plan_action_item_reminder)


def make_slack_client(settings: Settings) -> AsyncWebClient:
    """slack-sdk's client, paced within Slack's tiers: a 429 holds that method's callers for
    its Retry-After and is tried again; a 5xx or a dropped connection is tried again only for
    reads and idempotent methods (a creating call raises, so its caller looks first).

    Calls, errors and 429s are counted for /metrics.
    """
    scale = settings.slack_rate_limit_scale
    client = InstrumentedWebClient(
        token=settings.slack_bot_token,
        base_url=settings.slack_api_url,
        timeout=10,
        logger=logging.getLogger("app.slack.client"),
        limits=SlackLimits(scale=scale, enabled=scale > 0),
    )
    client.retry_handlers = [
        RateLimitObserver(),  # first: it sees every attempt and never claims the retry
        SafeConnectionErrorRetryHandler(max_retry_count=2),
        SafeServerErrorRetryHandler(max_retry_count=3),
    ]
    return client


def build(
    settings: Settings,
    policy: Policy,
    clock: Clock | None = None,
    runbooks: Runbooks | None = None,
) -> BotContext:
    """The bot's context: database engine, Slack client, runbooks; kinds and subscribers
    registered; every commit that plans a step wakes this context's scheduler (and, on
    PostgreSQL, notifies the other replicas'). Nothing connects yet (no event loop is needed)."""
    register()
    engine_ = make_engine(settings.database_url)
    sessions = make_sessionmaker(engine_)
    wakeup = Wakeup()
    wakeups.watch_commits(sessions, wakeup.at)
    metrics.prime(policy.severity_keys, policy.escalation.keys)
    slack = make_slack_client(settings)
    clock = clock or SystemClock()
    return BotContext(
        settings=settings,
        policy=policy,
        engine=engine_,
        sessions=sessions,
        slack=slack,
        incident_channels=IncidentChannels(sessions),
        directory=Directory(slack, clock),
        runbooks=runbooks if runbooks is not None else load_runbooks(settings.runbooks_dir),
        clock=clock,
        wakeup=wakeup,
        trackers=build_trackers(settings, policy.tickets.priority_names()),
    )

"""What trackers tell the bot: an action item's ticket closed there marks the item done.

Heard two ways, so nothing depends on one: the tracker's webhook (`receive_webhook`, its
signature verified by the tracker's module), and a `ticket_poll` step per open item ticket
that asks the tracker every TICKET_POLL_SECONDS (0: webhooks only). Whichever hears first marks
the item; the other then finds nothing to do. An incident's own ticket closed in the tracker
changes nothing: the incident is resolved in Slack, and its ticket follows.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from app.context import BotContext
from app.domain.tickets import PROVIDERS, Ticket
from app.services import action_items
from app.services.engine import StepRun
from app.services.summary import refresh_summary
from app.services.tickets import drafts
from app.services.tickets.plan import TICKET_POLL
from app.store import tickets as store
from app.store.models import TicketRecord
from app.trackers import TrackerError
from app.trackers.registry import webhook_reader
from app.ui import tickets as texts

__all__ = ["TICKET_POLL", "WebhookAnswer", "apply_news", "poll_ticket", "receive_webhook"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WebhookAnswer:
    status: int
    text: str


async def receive_webhook(
    ctx: BotContext, provider: str, headers: Mapping[str, str], body: bytes
) -> WebhookAnswer:
    """A tracker's webhook delivery: 404 when that tracker's webhook is not set up, 401 when
    the signature is wrong, else 200 once every ticket it names is applied."""
    secret = (
        getattr(ctx.settings, f"{provider}_webhook_secret", None) if provider in PROVIDERS else None
    )
    if not secret:
        return WebhookAnswer(404, "Not Found")
    try:
        news = webhook_reader(provider)(headers, body, secret, ctx.clock.now())
    except ValueError as exc:
        log.warning("refused a %s webhook: %s", provider, exc)
        return WebhookAnswer(401, str(exc))
    applied = 0
    for ticket in news:
        applied += await apply_news(ctx, provider, ticket)
    return WebhookAnswer(200, f"{applied} action item(s) marked done")


async def apply_news(ctx: BotContext, provider: str, ticket: Ticket) -> int:
    """Mark the item of a ticket closed in the tracker done (1), or do nothing (0)."""
    async with ctx.sessions() as session:
        record = await store.by_remote(session, provider, ticket.remote_id)
        if record is None and ticket.key:
            record = await store.by_remote(session, provider, ticket.key)
    if record is None or record.action_item_id is None or record.closed:
        return 0
    closed = ticket.closed
    if ticket.extra.get("state") == "unknown":
        tracker = ctx.trackers.get(provider)
        if tracker is None:
            return 0
        closed = (await tracker.fetch(drafts.as_ticket(record))).closed
    if not closed:
        return 0
    return await _closed_there(ctx, record)


async def _closed_there(ctx: BotContext, record: TicketRecord) -> int:
    assert record.action_item_id is not None
    async with ctx.sessions.begin() as session:
        await store.save(session, record.id, ctx.clock.now(), closed=True)
    reason = f"its ticket {record.key} was closed in {texts.tracker_title(record.provider)}"
    incident, _item, changed = await action_items.mark_done(
        ctx, record.action_item_id, await ctx.bot_user_id(), reason=reason
    )
    if changed:
        await refresh_summary(ctx, incident)
    return int(changed)


async def poll_ticket(run: StepRun) -> None:
    """The `ticket_poll` step's handler: ask the tracker, then look again later, until done."""
    ctx = run.ctx
    async with ctx.sessions() as session:
        record = await session.get(TicketRecord, int(run.data.get("ticket", 0)))
    if record is None or record.closed or record.remote_id is None:
        run.cancel("closed")
        return
    tracker = ctx.trackers.get(record.provider)
    if tracker is None:
        run.cancel(f"{record.provider} is not configured")
        return
    try:
        current = await tracker.fetch(drafts.as_ticket(record))
    except TrackerError as exc:
        log.info("ticket %s not looked at: %s", record.key, exc.message)
        current = None
    if current is not None and current.closed:
        await _closed_there(ctx, record)
        return
    run.defer(run.now + timedelta(seconds=ctx.settings.ticket_poll_seconds or 300), "open")

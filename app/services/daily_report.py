"""The daily report: once a day at the policy's `daily_report.at` (local to its time zone), a
message in its channel with each probe's state, latency p50/p95 and failures over the last
24 hours, TLS days left, the open incidents, the overdue action items, and the probes that
failed since the last report.

A pass runs every minute (`app.scheduler`); the first at or after `at` on a local day claims
that day (`daily_reports` row inserted in its own committed transaction, so replicas post one),
posts, and marks it posted; a Slack failure releases the claim so the next pass tries again. A
bot started after `at` posts that day's report late rather than skipping it. A process killed
between the claim and Slack's answer leaves a claim that a pass takes over after
`STALE_REPORT_CLAIM`; the message carries metadata, and a pass taking over looks in the
channel first, so an answer Slack lost does not post the report twice.

Time is injected: the pass takes `now`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.context import BotContext
from app.domain import reminders
from app.domain.probes import days_left, percentile
from app.services.slack_messages import find_tagged, metadata
from app.store import incidents as incident_store
from app.store import probes as store
from app.store.models import ActionItem, Incident, ProbeResult, ProbeState
from app.ui.common import Message, to_dicts
from app.ui.daily_report import FailureLine, IncidentLine, ItemLine, ProbeLine, daily_report

log = logging.getLogger(__name__)

__all__ = ["REPORT_EVENT", "WINDOW", "post_daily_report"]

WINDOW = timedelta(hours=24)
REPORT_EVENT = "incident_daily_report"  # the message's metadata, to find it after a lost answer


async def post_daily_report(ctx: BotContext, now: datetime, worker: str) -> bool:
    """One pass: post today's report if it is due and not posted; True if this pass posted."""
    config = ctx.policy.daily_report
    if config is None:
        return False
    due = config.due_day(now)
    if due is None:
        return False
    day = date.fromisoformat(due)
    async with ctx.sessions.begin() as session:
        claim = await store.claim_report(session, day, worker, now)
    if claim is None:
        return False
    tag = metadata(REPORT_EVENT, {"day": due})
    try:
        found = await find_tagged(ctx.slack, config.channel, tag) if claim == "stale" else None
        if found is not None:
            answer: Any = found
        else:
            async with ctx.sessions() as session:
                message = await _message(ctx, session, day, now)
            answer = await ctx.slack.chat_postMessage(
                channel=config.channel,
                text=message.text,
                blocks=to_dicts(message.blocks),
                metadata=tag,
            )
    except Exception:  # noqa: BLE001 - released: the next pass tries again
        log.exception("daily report %s: not posted; the next pass tries again", day)
        async with ctx.sessions.begin() as session:
            await store.release_report(session, day)
        return False
    async with ctx.sessions.begin() as session:
        await store.report_posted(session, day, answer.get("ts"), now)
    log.info("daily report %s posted in %s", day, config.channel)
    return True


async def _message(ctx: BotContext, session: AsyncSession, day: date, now: datetime) -> Message:
    states = await store.states(session)
    results = await store.results_since(session, now - WINDOW)
    since = await store.last_report_posted(session, day) or now - WINDOW
    failed = await store.failures_since(session, since)
    incidents = await incident_store.open_incidents(session)
    items = await _overdue_items(ctx, session, now)
    return daily_report(
        day,
        now,
        _probe_lines(ctx, states, results, now),
        [_incident_line(incident) for incident in incidents],
        items,
        _failure_lines(failed),
    )


def _probe_lines(
    ctx: BotContext,
    states: dict[str, ProbeState],
    results: Sequence[ProbeResult],
    now: datetime,
) -> list[ProbeLine]:
    lines = []
    for probe in ctx.policy.probes:
        state = states.get(probe.name)
        mine = [result for result in results if result.name == probe.name]
        latencies = [r.latency_ms for r in mine if r.ok and r.latency_ms is not None]
        expires = state.cert_expires_at if state is not None else None
        detail = "not checked yet"
        if state is not None and state.last_ok is not None:
            detail = "ok" if state.last_ok else (state.last_error or "failing")
        lines.append(
            ProbeLine(
                name=probe.name,
                kind=probe.kind,
                ok=None if state is None else state.last_ok,
                detail=detail,
                p50_ms=percentile(latencies, 0.5),
                p95_ms=percentile(latencies, 0.95),
                checks=len(mine),
                failures=sum(1 for r in mine if not r.ok),
                tls_days_left=days_left(expires, now) if expires is not None else None,
            )
        )
    return lines


def _incident_line(incident: Incident) -> IncidentLine:
    return IncidentLine(
        public_id=incident.public_id,
        severity=incident.severity,
        title=incident.title,
        private=incident.private,
        started_at=incident.started_at,
        status=incident.status,
    )


async def _overdue_items(ctx: BotContext, session: AsyncSession, now: datetime) -> list[ItemLine]:
    stmt = (
        select(ActionItem, Incident)
        .join(Incident, Incident.id == ActionItem.incident_id)
        .where(ActionItem.done.is_(False), ActionItem.due_on.is_not(None))
        .order_by(ActionItem.due_on, ActionItem.id)
    )
    lines = []
    for item, incident in (await session.execute(stmt)).all():
        assert item.due_on is not None
        if reminders.is_overdue(item.due_on, ctx.settings.tz, now):
            lines.append(
                ItemLine(
                    incident.public_id, item.text, item.owner_id, item.due_on, incident.private
                )
            )
    return lines


def _failure_lines(failed: Sequence[ProbeResult]) -> list[FailureLine]:
    grouped: dict[str, list[ProbeResult]] = {}
    for result in failed:
        grouped.setdefault(result.name, []).append(result)
    return [
        FailureLine(name, len(rows), rows[0].checked_at, rows[-1].checked_at, rows[-1].detail)
        for name, rows in grouped.items()
    ]

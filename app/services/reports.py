"""The report against the plan: the store's rows (`app.store.reports`, four queries) joined
into `IncidentFacts`, each with its own policy snapshot, and summed by the domain
(`app.domain.report_compute`; the definitions are there, in `app.domain.report_facts` and in
docs/reports.md).

`build_report(ctx, since, until)` is what the Slack command, the dashboard and the plan
review call; `report_from` is the same without a BotContext (the CLI has only the settings and
the database).
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.context import BotContext
from app.domain.periods import Period
from app.domain.policy import Policy, PolicyError
from app.domain.report import Report
from app.domain.report_compute import compute
from app.domain.report_facts import READ_KINDS, Entry, IncidentFacts, ItemFacts
from app.store import reports as store

__all__ = ["build_period_report", "build_report", "facts_of", "report_from"]

log = logging.getLogger(__name__)


class _Snapshots:
    """Policy.from_snapshot once per distinct snapshot text (most incidents share a few)."""

    def __init__(self, current: Policy) -> None:
        self.current = current
        self.parsed: dict[str, Policy] = {}

    def policy(self, text: str, public_id: str) -> Policy:
        found = self.parsed.get(text)
        if found is None:
            try:
                found = Policy.from_snapshot(json.loads(text))
            except (PolicyError, ValueError, TypeError):
                log.warning(
                    "policy snapshot of %s is unreadable; using the current policy", public_id
                )
                found = self.current
            self.parsed[text] = found
        return found


def facts_of(rows: store.PeriodRows, current: Policy) -> list[IncidentFacts]:
    snapshots = _Snapshots(current)
    return [
        IncidentFacts(
            id=row.id,
            public_id=row.public_id,
            severity=row.severity,
            status=row.status,
            started_at=row.started_at,
            policy=snapshots.policy(row.snapshot_text, row.public_id),
            acknowledged_at=row.acknowledged_at,
            resolved_at=row.resolved_at,
            review_held_at=row.review_held_at,
            incident_type=row.incident_type,
            has_channel=bool(row.has_channel),
            timeline=tuple(Entry(*entry) for entry in rows.entries.get(row.id, ())),
            action_items=tuple(ItemFacts(*item) for item in rows.items.get(row.id, ())),
            alert_sources=tuple(rows.sources.get(row.id, ())),
        )
        for row in rows.incidents
    ]


async def report_from(
    sessions: async_sessionmaker[AsyncSession],
    policy: Policy,
    tz: ZoneInfo,
    now: datetime,
    since: datetime,
    until: datetime,
    *,
    label: str = "",
) -> Report:
    """The report of the incidents declared in [since, until), as known at `now`."""
    async with sessions() as session:
        rows = await store.read_period(session, since, until, READ_KINDS)
    return compute(
        facts_of(rows, policy),
        since=since,
        until=until,
        now=now,
        tz=tz,
        policy=policy,
        label=label,
    )


async def build_report(
    ctx: BotContext, since: datetime, until: datetime, *, label: str = ""
) -> Report:
    """The report of the incidents declared in [since, until)."""
    return await report_from(
        ctx.sessions, ctx.policy, ctx.settings.tz, ctx.clock.now(), since, until, label=label
    )


async def build_period_report(ctx: BotContext, period: Period) -> Report:
    """The report of a period (`app.domain.periods.parse_period`), named after it."""
    return await build_report(ctx, period.since, period.until, label=period.label)

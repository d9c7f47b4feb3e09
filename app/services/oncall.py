"""Who is on call: the policy's schedules with the overrides stored in the database, at any
instant. The one answer `/incident oncall`, the App Home, a page and a backup page all read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from app.context import BotContext
from app.domain.policy import Policy
from app.domain.policy.oncall import Schedule
from app.domain.rotation import Override, Shift, backup_of, next_shift, on_call
from app.store import oncall as store

# Overrides are read for this window around the instant asked about (next shifts included).
LOOKAHEAD = timedelta(days=60)


@dataclass(frozen=True)
class OnCall:
    """One schedule at one instant: who is on, who backs them up, and who comes next."""

    schedule: Schedule
    now: Shift | None
    backup: Shift | None
    next: Shift | None


async def overrides(ctx: BotContext, at: datetime) -> dict[str, list[Override]]:
    async with ctx.sessions() as session:
        return await store.overrides_by_schedule(session, at - LOOKAHEAD, at + LOOKAHEAD)


def state_of(policy: Policy, key: str, at: datetime, found: dict[str, list[Override]]) -> OnCall:
    schedule = policy.oncall.schedules[key]
    mine = found.get(key, [])
    return OnCall(
        schedule=schedule,
        now=on_call(schedule, at, mine),
        backup=backup_of(policy.oncall, schedule, at, found),
        next=next_shift(schedule, at, mine),
    )


async def who(ctx: BotContext, policy: Policy, at: datetime) -> list[OnCall]:
    """Every schedule of `policy` at `at`, in the policy's order."""
    found = await overrides(ctx, at)
    return [state_of(policy, key, at, found) for key in policy.oncall.schedules]


async def on_call_now(ctx: BotContext, policy: Policy, key: str, at: datetime) -> OnCall:
    """One schedule at `at` (a page resolving `schedule:<key>` at send time)."""
    return state_of(policy, key, at, await overrides(ctx, at))

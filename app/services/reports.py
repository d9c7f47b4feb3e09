"""The report against the plan, read from the store (frame; issue 18 fills it in)."""

from __future__ import annotations

from datetime import datetime

from app.context import BotContext
from app.domain.report import Report


async def build_report(ctx: BotContext, since: datetime, until: datetime) -> Report:
    """The report of the incidents declared in [since, until)."""
    return Report(since=since, until=until, generated_at=ctx.clock.now())

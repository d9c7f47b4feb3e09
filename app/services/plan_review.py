"""The plan's own review: on the first day of each quarter, the policy's `plan_review.owner`
gets a DM with the last quarter's report (frame; issue 18)."""

from __future__ import annotations

from datetime import datetime

from app.context import BotContext


async def send_plan_review(ctx: BotContext, now: datetime, worker: str) -> None:
    """Send the reminder of the quarter just ended, once across replicas, if it is due."""
    return None

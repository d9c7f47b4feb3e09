"""The `page_sms` step. (Being written: planned by nothing until it is.)"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.context import BotContext
from app.domain.escalation import PAGE_SMS
from app.domain.policy import EscalationLevel
from app.services.engine import StepRun
from app.store.models import Incident

KIND = PAGE_SMS


async def plan(
    session: AsyncSession,
    ctx: BotContext,
    incident: Incident,
    level: EscalationLevel,
    targets: Sequence[str],
    page_step_id: int,
    now: datetime,
) -> None:
    """Nothing yet."""


async def send(run: StepRun) -> None:
    run.cancel("not built yet")

"""The `page_backup` step: a level's schedules' backups, paged when nobody acknowledged within
the level's `backup_after`. (Being written: planned by nothing until it is.)"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.escalation import PAGE_BACKUP
from app.domain.policy import EscalationLevel
from app.services.engine import StepRun
from app.store.models import Incident

KIND = PAGE_BACKUP


async def plan_backup(
    session: AsyncSession,
    incident: Incident,
    level: EscalationLevel,
    page_step_id: int,
    now: datetime,
) -> None:
    """Nothing yet."""


async def send_backup_page(run: StepRun) -> None:
    run.cancel("not built yet")

"""`/incident oncall` (who is on call, overrides) and the App Home tab. (Being written.)"""

from __future__ import annotations

from typing import Any

from app.context import BotContext
from app.slack.commands import CommandCall


async def oncall_command(call: CommandCall) -> None:
    await call.ack("On-call schedules are not built yet.")


async def home_opened(bot: BotContext, body: dict[str, Any]) -> None:
    """Nothing yet."""

"""`/incident report [quarter]`: the report against the plan, as a file (frame; issue 18)."""

from __future__ import annotations

from app.slack.commands import CommandCall


async def report_command(call: CommandCall) -> None:
    await call.ack("Reports are not built yet.")

"""`/incident contact`: how a person is paged beyond Slack. (Being written.)"""

from __future__ import annotations

from app.slack.commands import CommandCall


async def contact_command(call: CommandCall) -> None:
    await call.ack("Contact methods are not built yet.")

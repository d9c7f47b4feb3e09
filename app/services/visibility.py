"""Who may see which incident on the web pages: a public incident, anyone signed in; a private
one, only members of its channel (frame; issue 18: the dashboard-auth helper fills it in)."""

from __future__ import annotations

from collections.abc import Sequence

from app.context import BotContext
from app.store.models import Incident


async def can_see(ctx: BotContext, user_id: str | None, incident: Incident) -> bool:
    """Whether `user_id` (None: the static token's holder) may see `incident`."""
    return not incident.private


async def visible(
    ctx: BotContext, user_id: str | None, incidents: Sequence[Incident]
) -> list[Incident]:
    """The incidents of `incidents` that `user_id` may see, in their order."""
    return [incident for incident in incidents if await can_see(ctx, user_id, incident)]

"""Who may see which incident on the web pages (issue 18). The rule is `/incident list`'s
(app.services.authorization.visible_to), so the dashboard shows nobody more than Slack would:

- a public incident: anyone signed in with Slack, except a guest (single- or multi-channel),
  who sees only the incidents whose channel they are in;
- a private incident: only a member of its channel (`conversations.members`, every page, kept
  a minute by app.services.directory on the injected clock);
- a private incident without a channel (a severity with `channel: false`): nobody, since no
  channel says who is in it;
- the static token's holder (`user_id` None): public incidents only, never a private one;
- Slack unable to say (an error, a timeout): hidden, and logged (fail closed).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from app.context import BotContext
from app.services.authorization import visible_to
from app.store.models import Incident

log = logging.getLogger(__name__)


async def can_see(ctx: BotContext, user_id: str | None, incident: Incident) -> bool:
    """Whether `user_id` (None: the static token's holder) may see `incident`."""
    return bool(await visible(ctx, user_id, [incident]))


async def visible(
    ctx: BotContext, user_id: str | None, incidents: Sequence[Incident]
) -> list[Incident]:
    """The incidents of `incidents` that `user_id` may see, in their order."""
    if user_id is None:
        return [incident for incident in incidents if not incident.private]
    if not incidents:
        return []
    seen = await visible_to(ctx, incidents, user_id)
    if seen.unchecked:
        log.warning(
            "dashboard: Slack could not say which incidents %s may see; %d of %d hidden",
            user_id,
            len(incidents) - len(seen.incidents),
            len(incidents),
        )
    return seen.incidents

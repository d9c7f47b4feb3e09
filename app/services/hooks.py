"""The seam between running an incident and the escalation engine (issue 4).

Every function here is called AFTER the change it reports is committed, from a background task,
and does nothing yet. When the escalation engine is merged, the maintainer wires these to it:

- status updates and changes reset the update-reminder timer;
- a severity change re-plans the chain (extend it on a raise, stop pages above a new cap);
- resolving ends the chain and cancels the incident's pending pages and reminders;
- reopening restarts what the engine does for an open incident, and cancels review reminders;
- the two ``schedule_*`` functions insert durable scheduled rows. When such a row falls due,
  the engine calls :func:`app.services.review.send_review_reminder` or
  :func:`app.services.action_items.send_action_item_reminder`; while they return True it
  schedules the next one at :func:`app.domain.reminders.next_review_reminder_at` /
  :func:`app.domain.reminders.next_action_item_reminder_at` (given the time it sent).

They take the bot context first, like every service, so the engine can reach the database and
Slack without globals.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.services.context import BotContext
    from app.store.models import ActionItem, Incident


async def on_status_update(bot: BotContext, incident: Incident) -> None:
    """A status update was posted or the status changed: the update reminder starts over."""


async def on_severity_changed(bot: BotContext, incident: Incident, old: str, new: str) -> None:
    """The severity moved from ``old`` to ``new``: re-plan the escalation for ``new``."""


async def on_resolved(bot: BotContext, incident: Incident) -> None:
    """The incident is resolved: stop the escalation, cancel its pages and update reminders."""


async def on_reopened(bot: BotContext, incident: Incident) -> None:
    """The incident is open again: cancel review reminders; resume what an open incident gets."""


async def schedule_review_reminder(bot: BotContext, incident: Incident, due_at: datetime) -> None:
    """Ask for a durable reminder of the post-incident review at ``due_at``."""


async def schedule_action_item_reminder(
    bot: BotContext, item: ActionItem, due_at: datetime
) -> None:
    """Ask for a durable reminder to the owner of an overdue action item at ``due_at``."""

"""Where running an incident meets the escalation engine.

Every function here is called AFTER the change it reports is committed. They keep the services
of issue 5 (status, severity, resolve, reviews, action items) unaware of how pages and reminders
are planned:

- status updates and changes reset the update-reminder timer;
- a severity change re-plans the chain (extend it on a raise, stop pages above a new cap);
- resolving ends the chain and cancels the incident's pending pages and reminders;
- reopening cancels review reminders and restarts the update reminders of an open incident;
- the two ``schedule_*`` functions insert durable scheduled rows (app/services/reminder_steps).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from app import metrics
from app.services import escalation, reminder_steps

if TYPE_CHECKING:
    from app.context import BotContext
    from app.store.models import ActionItem, Incident


async def on_status_update(bot: BotContext, incident: Incident) -> None:
    """A status update was posted or the status changed: the update reminder starts over."""
    await escalation.on_status_update(bot, incident)


async def on_severity_changed(bot: BotContext, incident: Incident, old: str, new: str) -> None:
    """The severity moved from ``old`` to ``new``: re-plan the escalation for ``new``."""
    await escalation.on_severity_changed(bot, incident, old, new)


async def on_resolved(bot: BotContext, incident: Incident) -> None:
    """The incident is resolved: stop the escalation, cancel its pages and update reminders."""
    if incident.resolved_at is not None:
        metrics.resolved(incident.severity, incident.started_at, incident.resolved_at)
    await escalation.on_resolved(bot, incident)


async def on_reopened(bot: BotContext, incident: Incident) -> None:
    """The incident is open again: no review yet; update reminders resume."""
    await reminder_steps.cancel_reviews(bot, incident)
    await escalation.on_status_update(bot, incident)


async def schedule_review_reminder(bot: BotContext, incident: Incident, due_at: datetime) -> None:
    """A durable reminder of the post-incident review at ``due_at``."""
    await reminder_steps.schedule_review(bot, incident, due_at)


async def schedule_action_item_reminder(
    bot: BotContext, item: ActionItem, due_at: datetime
) -> None:
    """A durable reminder to the owner of an overdue action item at ``due_at``."""
    await reminder_steps.schedule_action_item(bot, item, due_at)

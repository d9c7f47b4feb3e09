"""Changing an incident's severity: recorded with its reason, then the escalation re-plans."""

from __future__ import annotations

from app.context import BotContext
from app.domain.timeline import Kind
from app.services import events, tickets
from app.services.errors import UserError
from app.services.incidents import Outcome, changing, policy_of
from app.services.summary import refresh_announcement, refresh_summary
from app.store.models import Incident


async def change_severity(
    bot: BotContext, incident_id: int, new: str, actor_id: str, reason: str = ""
) -> tuple[Outcome, str]:
    """Returns the outcome and the severity it had before."""
    async with changing(bot, incident_id) as change:
        incident = change.incident
        policy = policy_of(bot, incident)
        if new not in policy.severity_keys:
            raise UserError(
                f"`{new}` is not a severity; use one of {', '.join(policy.severity_keys)}. "
                "Nothing was changed."
            )
        old = incident.severity
        if new == old:
            return Outcome(incident, False, f"{incident.public_id} is already {new}."), old
        incident.severity = new
        direction = "raised" if policy.rank(new) < policy.rank(old) else "lowered"
        text = f"Severity {direction} from {old} to {new}" + (f": {reason}" if reason else "")
        await tickets.plan_sync(change.session, incident, change.now)  # its priority follows
        change.record(
            Kind.SEVERITY_CHANGED,
            actor_id=actor_id,
            text=text,
            data={"from": old, "to": new, "reason": reason},
        )
    sev = policy.severity(new)
    return (
        Outcome(incident, True, f"{incident.public_id} is now {new} {sev.name} ({direction})."),
        old,
    )


async def severity_published(bot: BotContext, incident: Incident, old: str, new: str) -> None:
    await events.publish(bot, events.SeverityChanged(incident, old, new))
    await refresh_summary(bot, incident)
    await refresh_announcement(bot, incident)

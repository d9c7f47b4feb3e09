"""Moving an incident through the plan's procedure: status changes, resolve and reopen.

Each change is two steps: the decision and its timeline entry, committed together under the
incident's lock (the functions returning an Outcome), then what Slack should show of it (the
``*_published`` functions, run in the background after the edge has answered the person).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from app import metrics
from app.context import BotContext
from app.domain import lifecycle
from app.domain.formatting import duration_text
from app.domain.timeline import Kind
from app.services import events, paging, resolve_steps, tickets
from app.services.errors import InvalidInput, UserError
from app.services.incidents import Outcome, changing
from app.services.summary import refresh_announcement, refresh_summary
from app.store.models import Incident

log = logging.getLogger(__name__)

RESOLVE_TEXT_MAX = 3000


# ------------------------------------------------------------------------------------ status


async def change_status(bot: BotContext, incident_id: int, target: str, actor_id: str) -> Outcome:
    """Move to Investigating or Mitigating. Resolving needs the log's fields: see `resolve`."""
    if target == lifecycle.RESOLVED:
        raise UserError("Resolving asks for the incident log's fields: use `/incident resolve`.")
    async with changing(bot, incident_id) as change:
        incident = change.incident
        decision = lifecycle.check_move(incident.status, target)
        if not decision.allowed:
            raise UserError(f"{incident.public_id}: {decision.reason} Nothing was changed.")
        if not decision.changes:
            return Outcome(incident, False, f"{incident.public_id}: {decision.reason}")
        old = incident.status
        incident.status = target
        change.record(
            Kind.STATUS_CHANGED,
            actor_id=actor_id,
            text=f"Status changed from {lifecycle.label(old)} to {lifecycle.label(target)}",
            data={"from": old, "to": target},
        )
    return Outcome(incident, True, f"{incident.public_id} is now {lifecycle.label(target)}.")


async def status_published(bot: BotContext, incident: Incident) -> None:
    await refresh_summary(bot, incident)
    await refresh_announcement(bot, incident)
    await events.publish(bot, events.StatusUpdated(incident))


# ------------------------------------------------------------------------------------ resolve


@dataclass(frozen=True)
class Resolution:
    """The incident log's fields, as the resolve form gives them."""

    resolution: str
    data_loss: bool | None
    root_cause: str = ""
    affected_services: str = ""
    affected_users: str = ""
    revenue_impact: str = ""

    def validate(self) -> None:
        """Raise InvalidInput naming the form field at fault."""
        if not self.resolution.strip():
            raise InvalidInput("resolution", "Say what was done to resolve the incident.")
        if self.data_loss is None:
            raise InvalidInput("data_loss", "Say whether any data was lost.")
        for name in (
            "resolution",
            "root_cause",
            "affected_services",
            "affected_users",
            "revenue_impact",
        ):
            if len(getattr(self, name)) > RESOLVE_TEXT_MAX:
                raise InvalidInput(name, f"Keep it to {RESOLVE_TEXT_MAX} characters.")


def check_can_resolve(incident: Incident) -> None:
    """Before opening the form: an already resolved incident gets an answer, not a form."""
    if not incident.is_open:
        raise UserError(already_resolved(incident))


def already_resolved(incident: Incident) -> str:
    return (
        f"{incident.public_id} is already resolved (after {duration_text(incident)}); "
        "nothing was changed. `/incident reopen` reopens it."
    )


async def resolve(
    bot: BotContext,
    incident_id: int,
    resolution: Resolution,
    actor_id: str,
    *,
    from_form: bool = True,
) -> Outcome:
    """Resolve once. A second resolve (two forms open at once, a double click) changes nothing.

    `from_form=False` is for resolutions nobody typed (every alert cleared): the fields a person
    must answer, such as data loss, stay unknown and keep their prompt in the incident log.
    """
    if from_form:
        resolution.validate()
    async with changing(bot, incident_id) as change:
        incident = change.incident
        if not incident.is_open:
            return Outcome(incident, False, already_resolved(incident))
        old = incident.status
        incident.status = lifecycle.RESOLVED
        incident.resolved_at = change.now
        incident.resolved_by = actor_id
        incident.resolution = resolution.resolution.strip()
        incident.root_cause = resolution.root_cause.strip()
        incident.affected_services = resolution.affected_services.strip()
        incident.affected_users = resolution.affected_users.strip()
        incident.revenue_impact = resolution.revenue_impact.strip()
        incident.data_loss = resolution.data_loss
        duration = duration_text(incident)
        # With the resolution: the post-mortem upload and the review reminder (durable steps).
        await resolve_steps.plan_after_resolve(change.session, incident)
        await tickets.plan_sync(change.session, incident, change.now)  # closed with it
        await paging.on_resolved(change.session, bot, incident, change.now)  # PagerDuty too
        change.record(
            Kind.RESOLVED,
            actor_id=actor_id,
            text=f"Resolved after {duration}: {incident.resolution}",
            data={
                "from": old,
                "duration_seconds": int((change.now - incident.started_at).total_seconds()),
            },
        )
    return Outcome(incident, True, f"{incident.public_id} is resolved after {duration}.")


async def resolved_published(bot: BotContext, incident: Incident) -> None:
    """After the commit: stop the escalation (the subscribers of `Resolved`), update what Slack
    shows, and upload the post-mortem draft now (a step planned with the resolution, so a
    process killed before it is done leaves it to the engine)."""
    if incident.resolved_at is not None:
        metrics.resolved(incident.severity, incident.started_at, incident.resolved_at)
    await events.publish(bot, events.Resolved(incident))
    await refresh_summary(bot, incident)
    await refresh_announcement(bot, incident)
    await resolve_steps.run_postmortem_now(bot, incident)


# ------------------------------------------------------------------------------------ reopen


async def reopen(bot: BotContext, incident_id: int, actor_id: str, reason: str = "") -> Outcome:
    async with changing(bot, incident_id) as change:
        incident = change.incident
        decision = lifecycle.check_reopen(incident.status)
        if not decision.allowed:
            raise UserError(f"{incident.public_id}: {decision.reason} Nothing was changed.")
        was_resolved_at = incident.resolved_at
        incident.status = lifecycle.INVESTIGATING
        incident.resolved_at = None
        incident.resolved_by = None
        await tickets.plan_sync(change.session, incident, change.now)  # reopened with it
        text = "Reopened" + (f": {reason}" if reason else "")
        change.record(
            Kind.REOPENED,
            actor_id=actor_id,
            text=text,
            data={"resolved_at": was_resolved_at.isoformat() if was_resolved_at else None},
        )
    return Outcome(incident, True, f"{incident.public_id} is open again (Investigating).")


async def reopened_published(bot: BotContext, incident: Incident) -> None:
    await events.publish(bot, events.Reopened(incident))
    await refresh_summary(bot, incident)
    await refresh_announcement(bot, incident)

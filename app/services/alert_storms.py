"""Alert storms: past ALERT_STORM_LIMIT incidents opened by one source's alerts within a
minute, that source's next new alerts are attached to one "alert storm" incident of the source
(declared and paged once, its timeline listing the alerts, one channel message per chunk)
instead of each opening a channel and paging.

The count is of alert links in the database (the alerts that declared an incident in the last
minute, by the injected clock), so every replica sees the same one. Two replicas that find no
storm incident at the same moment declare it with the same request key: one incident.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.context import BotContext
from app.domain.alerts import Alert
from app.services import alert_links
from app.services.alert_followups import STORM, Note, Work
from app.services.declare import DeclareRequest, declare_with_result
from app.store import alerts as store
from app.store.models import AlertRole, Incident

log = logging.getLogger(__name__)

WINDOW = timedelta(minutes=1)


def reason(ctx: BotContext, source: str) -> str:
    return (
        f"alert storm: {source} alerts opened {ctx.settings.alert_storm_limit} incidents in the "
        "last minute, so this one joins the storm incident"
    )


def in_storm(ctx: BotContext, recent: int) -> bool:
    """Whether a source whose alerts declared `recent` incidents within WINDOW is storming."""
    limit = ctx.settings.alert_storm_limit
    return bool(limit) and recent >= limit


async def attach_to_storm(
    ctx: BotContext, alert: Alert, severity: str | None, reporter: str, work: Work
) -> tuple[str, Incident]:
    """Attach the alert to its source's open storm incident, declaring it if there is none;
    returns "declared" or "updated" and the storm incident."""
    now = ctx.clock.now()
    text = f"{STORM}, {alert.source} alert: {alert.title}"
    async with ctx.sessions() as session:
        storm = await store.open_storm_link(session, alert.source)
        number = await store.storms_declared(session, alert.source) if storm is None else 0
    if storm is None:
        limit = ctx.settings.alert_storm_limit
        request = DeclareRequest(
            title=f"{STORM} from {alert.source}",
            description=(
                f"{alert.source} alerts opened {limit} incidents within a minute. Its further "
                "alerts that would each have opened an incident are attached here instead, "
                "until the rate falls below the limit (ALERT_STORM_LIMIT): the timeline lists "
                "them, and this channel gets one message per batch of alerts."
            ),
            severity=severity,
            reporter_id=reporter,
            request_key=f"alert-storm:{alert.source}:{number}",
        )

        async def attach(session: AsyncSession, incident: Incident) -> None:
            await alert_links.attach(session, incident, alert, AlertRole.STORM, text, now)

        result = await declare_with_result(ctx, request, on_saved=attach)
        if result.created:
            log.warning(
                "alert storm: declared %s for %s alerts past %d incidents a minute",
                result.incident.public_id,
                alert.source,
                limit,
                extra={"incident": result.incident.public_id, "source": alert.source},
            )
            work.setups.append(result.incident)
            work.note(result.incident, Note(STORM, alert))
            return "declared", result.incident
        incident_id = result.incident.id  # another delivery declared it a moment ago
    else:
        incident_id = storm.incident_id
    async with ctx.sessions.begin() as session:
        incident = await session.get(Incident, incident_id)
        assert incident is not None
        if await store.open_link(session, alert.source, alert.fingerprint) is None:
            await alert_links.attach(session, incident, alert, AlertRole.STORM, text, now)
    work.note(incident, Note(STORM, alert))
    if (
        severity is not None
        and _more_severe(ctx, severity, work.raises.get(incident.id))
        and _more_severe(ctx, severity, incident.severity)
    ):
        work.raises[incident.id] = severity
    return "updated", incident


def _more_severe(ctx: BotContext, severity: str, than: str | None) -> bool:
    if than is None:
        return True
    keys = ctx.policy.severity_keys
    if severity not in keys or than not in keys:
        return False
    return ctx.policy.rank(severity) < ctx.policy.rank(than)

"""Publishing a status post for the Statuspage sync's tests (tests/test_statuspage_sync.py):
`[services impact phase] message`, as `/incident statuspage` takes it."""

from __future__ import annotations

from app.context import BotContext
from app.sandbox.fakeslack import FakeSlack
from app.sandbox.sender import SlackSender
from app.services import statuspage_sync
from app.store.models import Incident, StatusPost

IMPACTS = {
    "operational": "operational",
    "degraded": "degraded_performance",
    "partial": "partial_outage",
    "major": "major_outage",
}


async def publish(
    slack: SlackSender, fake: FakeSlack, bot: BotContext, incident: Incident, text: str
) -> StatusPost:
    """Interim, until the status page's own flow exists: the published row and its step."""
    choices, message = text[1:].split("] ", 1)
    services, impact, phase = choices.split()
    now = bot.clock.now()
    async with bot.sessions.begin() as session:
        post = StatusPost(
            incident_id=incident.id,
            state="published",
            message=message,
            services=services.split(","),
            impact=IMPACTS[impact],
            phase=phase,
            drafted_by="UREPORTER",
            drafted_at=now,
            published_by="UREPORTER",
            published_at=now,
            data={},
        )
        session.add(post)
        await statuspage_sync.plan_sync(session, incident, post, now)
    return post

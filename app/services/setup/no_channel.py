"""The setup of an incident whose severity opens no channel (`channel: false`: a P3 that is a
ticket only, say): no channel, topic, members, summary or runbook. It is announced in
INCIDENTS_CHANNEL (if set), the reporter is told its id by DM, and L1's page (if its severity
pages now) goes out by DM and to INCIDENTS_CHANNEL, as for any page without a channel. Its
ticket is the declaration's own step and opens once the setup is complete.

Each part is as durable as the rest of setup: the announcement is saved (and looked for after
a lost answer) like every incident's, and the reporter's DM is a message of the setup step
(`StepRun.post`): sent once, found again in the DM after a lost answer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from slack_sdk.errors import SlackApiError

from app.domain.policy import Policy
from app.services.engine import StepRun
from app.services.escalation.start import release_first_pages
from app.services.setup import slack_steps as parts
from app.store.models import Incident
from app.ui.common import section
from app.ui.summary import no_channel_text

# StepMessage.recipient of the reporter's DM.
REPORTER = "reporter"

Attempt = Callable[[str, Awaitable[None]], Awaitable[None]]


def opens_channel(incident: Incident) -> bool:
    """Whether the incident gets a channel: its severity's `channel` (in the policy it was
    declared under), unless it has one already."""
    if incident.channel_id:
        return True
    policy = Policy.from_snapshot(incident.policy_snapshot)
    return policy.severity(incident.severity).channel


async def set_up_without_channel(run: StepRun, attempt: Attempt, *, look: bool) -> None:
    """The parts of a channel-less setup, independent of each other: one round."""
    ctx, incident = run.ctx, run.incident
    await asyncio.gather(
        attempt("announce", parts.announce(ctx, incident, look=look)),
        attempt("tell_reporter", tell_reporter(run)),
        attempt("start_escalation", release_first_pages(ctx, incident)),
    )


async def tell_reporter(run: StepRun) -> None:
    """DM the reporter the incident's id (never the bot itself, for an alert's incident)."""
    ctx, incident = run.ctx, run.incident
    try:
        bot_user = await ctx.bot_user_id()
    except SlackApiError:
        bot_user = None
    if incident.reporter_id in (bot_user, None, ""):
        return
    text = no_channel_text(incident, run.policy, ctx.settings.tz)
    await run.post(REPORTER, incident.reporter_id, text, [section(text)])

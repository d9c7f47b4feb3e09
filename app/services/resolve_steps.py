"""What a resolve must get done in Slack, as durable steps planned in the resolving transaction:
the post-mortem draft's upload and the first review reminder.

Planned with the resolution, they survive a process killed right after the commit; the upload
runs at once in the resolving process (`run_now`) and is retried by the engine on any failure.
A retry first looks in the channel for a draft an earlier try uploaded (its answer lost, or its
process killed) before uploading another.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from slack_sdk.errors import SlackApiError
from sqlalchemy.ext.asyncio import AsyncSession

from app.context import BotContext
from app.domain import reminders
from app.services import engine, reminder_steps
from app.services.documents import save_upload, upload_postmortem
from app.services.engine import StepRun
from app.services.incidents import policy_of
from app.services.setup import tell_person
from app.services.slack_errors import is_transient, slack_error
from app.store.models import Incident
from app.ui import messages
from app.ui.setup_notice import postmortem_failed_text

log = logging.getLogger(__name__)

POSTMORTEM = "postmortem_upload"
# A resolved incident whose channel is still being made: the upload waits this long at a time.
NO_CHANNEL_WAIT = timedelta(seconds=30)


def postmortem_name(incident: Incident) -> str:
    """The draft's file name, as `documents.upload_postmortem` names it."""
    return f"{incident.public_id}-post-mortem.md"


async def plan_after_resolve(session: AsyncSession, incident: Incident) -> None:
    """In the resolving transaction: the post-mortem upload (now) and the first review reminder.

    Keyed by the resolution time, so a resolve, reopen and resolve again plans each anew, and
    planning one resolution twice plans it once.
    """
    resolved_at = incident.resolved_at
    assert resolved_at is not None
    now = resolved_at
    stamp = resolved_at.isoformat()
    await engine.schedule(
        session,
        incident,
        POSTMORTEM,
        now,
        {"resolved_at": stamp},
        now=now,
        key=f"postmortem:{stamp}",
    )
    await reminder_steps.plan_first_review(session, incident, now)


async def run_postmortem_now(ctx: BotContext, incident: Incident) -> None:
    """Upload the draft of this resolution now, in the resolving process, if it is due."""
    await engine.run_pending(ctx, incident.id, POSTMORTEM)


async def upload_postmortem_step(run: StepRun) -> None:
    """The `postmortem_upload` step's handler (registered by `app.wiring`)."""
    ctx, incident = run.ctx, run.incident
    resolved_at = incident.resolved_at
    if (
        incident.is_open
        or resolved_at is None
        or resolved_at.isoformat() != run.data.get("resolved_at")
    ):
        run.cancel("reopened since")
        return
    if not incident.channel_id:
        if not incident.setup_complete:
            run.defer(run.now + NO_CHANNEL_WAIT, "the channel is not made yet")
        else:
            run.cancel("no channel")
        return
    if run.step.attempts > 1 and (found := await _uploaded_before(ctx, incident)):
        await save_upload(ctx, incident, found)  # its permalink too, for the incident log
        return
    policy = policy_of(ctx, incident)
    due = reminders.review_due_at(resolved_at, policy.review_within)
    comment = messages.resolved_comment(incident, due, ctx.settings.tz)
    try:
        await upload_postmortem(ctx, incident, comment=comment)
    except SlackApiError as exc:
        if is_transient(exc):
            raise  # the engine tries again; the retry looks for the upload first
        error = slack_error(exc)
        log.error("post-mortem of %s refused: %s", incident.public_id, error)
        run.cancel(f"refused: {error}")
        await tell_person(ctx, incident, postmortem_failed_text(incident, error))


async def _uploaded_before(ctx: BotContext, incident: Incident) -> str | None:
    """The id of a draft of this incident shared in its channel after the last one saved, if an
    earlier try uploaded it without saving it."""
    assert incident.channel_id
    me = await ctx.bot_user_id()
    history = await ctx.slack.conversations_history(channel=incident.channel_id, limit=100)
    for message in history.get("messages") or []:
        if message.get("user") not in (me, None):
            continue
        for shared in message.get("files") or []:
            if shared.get("name") == postmortem_name(incident):
                file_id = str(shared.get("id"))
                # The newest draft: this resolution's, unless it is the one already saved.
                return None if file_id == incident.postmortem_file_id else file_id
    return None

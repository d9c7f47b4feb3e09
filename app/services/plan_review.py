"""The plan's own review ("Review Frequency: Quarterly"): on the first day of each quarter at
the policy's `plan_review.at` (local to its time zone), its `owner` gets a DM saying it is time
to review the incident-response plan, with the quarter just ended in figures, what to look at
(targets missed, phases over their box, overdue action items) and that quarter's report
attached as a Markdown file.

A pass runs every minute on every replica (`app.scheduler`). The first pass at or after `at` on
a quarter's first day claims the reminder of the quarter that ended (`plan_reviews` row, one
atomic statement committed before Slack is called: `app.store.plan_reviews.claim`), uploads
the file with the reminder as its comment, and marks it sent. A bot that was down then sends it
late, once, at any later time in that quarter (never the quarter before: a quarter's reminder
is only due during the next one).

Exactly once, across replicas and restarts:
- Replicas passing at the same time: only one claim succeeds.
- A Slack failure keeps the claim (its error saved) until the `LEASE` lapses, and a process
  killed between the claim and Slack's answer leaves the same claim: either way a later pass
  takes it over after the lease (10 minutes) and tries again.
- An ambiguous answer (a 5xx or a dropped connection after Slack shared the file): the pass
  taking over looks in the owner's DM first (`report_delivery.find_upload`: a file the bot
  shared named `plan-review-<quarter>.md`, a name nothing else uses; `/incident report` names
  its files `incident-report-…`) and, finding it, only marks the quarter sent. Looking in the
  DM was chosen over saving a file id first because `files_upload_v2` (the post-mortem's
  upload, reused here) learns the id only in the same call that shares the file; the share is
  one message in a DM the bot owns, so the last 100 messages are plenty, and a pass looks only
  when it takes over a claim (never on the first try).

Time is injected: the pass takes `now`.
"""

from __future__ import annotations

import logging
from datetime import datetime

from app.context import BotContext
from app.domain.periods import Period, previous_quarter
from app.domain.policy.reporting import PlanReview
from app.domain.report_render import summary_lines
from app.services import report_delivery
from app.services.slack_errors import slack_error
from app.store import plan_reviews as store
from app.ui import reports as screens

log = logging.getLogger(__name__)

__all__ = ["due_quarter", "review_filename", "send_plan_review"]


def due_quarter(config: PlanReview, now: datetime) -> Period | None:
    """The quarter whose review is due at `now`: the one just ended, once the current one's
    first day has reached `at` (local); None before that."""
    quarter = previous_quarter(now, config.tz)
    first_day = quarter.until.astimezone(config.tz).date()
    due = datetime.combine(first_day, config.at, tzinfo=config.tz)
    return quarter if now >= due else None


def review_filename(period: Period) -> str:
    return f"plan-review-{report_delivery.period_key(period)}.md"


async def send_plan_review(ctx: BotContext, now: datetime, worker: str) -> bool:
    """One pass: send the reminder of the quarter just ended if it is due and not sent; True
    if this pass sent it (or found that a failed try had)."""
    config = ctx.policy.plan_review
    if config is None:
        return False
    period = due_quarter(config, now)
    if period is None:
        return False
    quarter = report_delivery.period_key(period)
    async with ctx.sessions.begin() as session:
        claim = await store.claim(session, quarter, worker, now)
    if claim is None:
        return False
    try:
        file_id = await _send(ctx, config, period, quarter, retry=claim == "retry")
    except Exception as exc:  # noqa: BLE001 - kept claimed: a pass after the lease retries
        log.exception(
            "plan review %s: not sent to %s; retried after %s",
            quarter,
            config.owner,
            store.LEASE,
        )
        async with ctx.sessions.begin() as session:
            await store.failed(session, quarter, worker, slack_error(exc))
        return False
    async with ctx.sessions.begin() as session:
        await store.sent(session, quarter, file_id, now)
    log.info("plan review %s sent to %s", quarter, config.owner)
    return True


async def _send(
    ctx: BotContext, config: PlanReview, period: Period, quarter: str, *, retry: bool
) -> str | None:
    """The reminder in the owner's DM (looked for first on a retry); the file's id."""
    channel = await report_delivery.dm_channel(ctx, config.owner)
    async with ctx.sessions.begin() as session:
        await store.note_channel(session, quarter, channel)
    filename = review_filename(period)
    if retry and (found := await report_delivery.find_upload(ctx, channel, filename)):
        log.info("plan review %s: an earlier try's file %s is in the DM", quarter, found)
        return found
    report, text = await report_delivery.report_file(ctx, period, config.tz)
    comment = screens.plan_review_comment(
        period.label, summary_lines(report), screens.review_points(report)
    )
    delivered = await report_delivery.upload(
        ctx,
        channel,
        text,
        filename=filename,
        title=f"Plan review: {screens.report_title(period.label)}",
        comment=comment,
        with_permalink=False,
    )
    return delivered.file_id

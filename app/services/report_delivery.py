"""A report against the plan, as a Markdown file in a person's DM with the bot: what
`/incident report` and the quarterly plan review share.

The DM is `conversations.open` with the person (idempotent); the file goes up with
`files_upload_v2` (slack-sdk's three steps: an upload URL, the bytes, the completion that
shares it with the comment), as the post-mortem does. A caller that must not upload twice
looks first with `find_upload`: the share posts a message carrying the file in the DM, and its
file name names what it is.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from app.context import BotContext
from app.domain.periods import Period
from app.domain.report import Report
from app.domain.report_render import render, summary_lines
from app.services.reports import build_period_report
from app.services.slack_errors import slack_error
from app.ui import reports as screens

log = logging.getLogger(__name__)

__all__ = [
    "Delivered",
    "deliver",
    "dm_channel",
    "find_upload",
    "period_key",
    "report_file",
    "upload",
]

HISTORY_LOOKBACK = 100


@dataclass(frozen=True)
class Delivered:
    """Where a report went: the DM, the file, and where people open it (None if unknown)."""

    channel_id: str
    filename: str
    file_id: str | None
    permalink: str | None


def period_key(period: Period) -> str:
    """A period's label as one word, for file names and the plan_reviews row ("2026Q3",
    "2026Q4-to-date")."""
    return "-".join(period.label.split())


async def report_file(ctx: BotContext, period: Period, tz: ZoneInfo) -> tuple[Report, str]:
    """The period's report, and its Markdown (times shown in `tz`)."""
    report = await build_period_report(ctx, period)
    return report, render(report, "md", tz)


async def deliver(ctx: BotContext, user_id: str, period: Period) -> Delivered:
    """`/incident report`: the period's report built now and shared in `user_id`'s DM, its
    summary as the comment (times in the bot's time zone)."""
    report, text = await report_file(ctx, period, ctx.settings.tz)
    channel = await dm_channel(ctx, user_id)
    return await upload(
        ctx,
        channel,
        text,
        filename=f"incident-report-{period_key(period)}.md",
        title=screens.report_title(period.label),
        comment=screens.report_comment(period.label, summary_lines(report)),
    )


async def dm_channel(ctx: BotContext, user_id: str) -> str:
    """The bot's DM with `user_id` (opened if it was not)."""
    answer = await ctx.slack.conversations_open(users=user_id)
    return str(answer["channel"]["id"])


async def upload(
    ctx: BotContext,
    channel_id: str,
    content: str,
    *,
    filename: str,
    title: str,
    comment: str,
    with_permalink: bool = True,
) -> Delivered:
    """Share `content` as `filename` in `channel_id` with `comment`; its permalink is asked of
    Slack (files.info) when wanted, but an answer without one still counts as delivered."""
    response = await ctx.slack.files_upload_v2(
        channel=channel_id,
        content=content,
        filename=filename,
        title=title[:250],
        initial_comment=comment,
    )
    files = response.get("files") or [response.get("file") or {}]
    file_id = files[0].get("id") if files else None
    url = await _permalink(ctx, file_id) if with_permalink else None
    return Delivered(channel_id, filename, file_id, url)


async def find_upload(ctx: BotContext, channel_id: str, filename: str) -> str | None:
    """The id of a file named `filename` the bot shared among the DM's last messages, if any.

    Slack errors are raised: the caller cannot tell then whether it was sent."""
    me = await ctx.bot_user_id()
    history = await ctx.slack.conversations_history(channel=channel_id, limit=HISTORY_LOOKBACK)
    for message in history.get("messages") or []:
        if message.get("user") not in (me, None):
            continue
        for shared in message.get("files") or []:
            if shared.get("name") == filename and shared.get("id"):
                return str(shared["id"])
    return None


async def _permalink(ctx: BotContext, file_id: str | None) -> str | None:
    if not file_id:
        return None
    try:
        info = await ctx.slack.files_info(file=file_id)
    except Exception as exc:  # noqa: BLE001 - the file is shared whatever files.info says
        log.info("no permalink for report file %s: %s", file_id, slack_error(exc))
        return None
    url = (info.get("file") or {}).get("permalink")
    if not isinstance(url, str) or urlsplit(url).scheme != "https" or len(url) > 500:
        return None
    return url

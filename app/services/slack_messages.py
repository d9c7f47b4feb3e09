"""Reading messages back from Slack: a message people flagged, or one of the bot's own; and
building a message's permalink without asking Slack.

The bot's own messages carry metadata (an event type and a payload naming what they are
about), so a process that died between Slack's answer and saving the message's ts can find it
again instead of posting it twice.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from app.context import BotContext
from app.domain import captured

HISTORY_LOOKBACK = 100


def metadata(event_type: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The metadata that tags one of the bot's messages, for `find_tagged` to find it."""
    return {"event_type": event_type, "event_payload": payload}


async def find_tagged(
    slack: AsyncWebClient, channel: str, tag: dict[str, Any]
) -> dict[str, Any] | None:
    """One of the last messages in `channel` tagged with `tag` (see `metadata`), if any.

    Slack errors are raised: each caller knows whether not finding out is worth a retry.
    """
    history = await slack.conversations_history(
        channel=channel, limit=HISTORY_LOOKBACK, include_all_metadata=True
    )
    wanted = tag["event_payload"]
    for message in history.get("messages") or []:
        found = message.get("metadata") or {}
        payload = found.get("event_payload") or {}
        if found.get("event_type") == tag["event_type"] and all(
            payload.get(key) == value for key, value in wanted.items()
        ):
            return dict(message)
    return None


@dataclass(frozen=True)
class FetchedMessage:
    ts: str
    user: str | None
    text: str
    files: tuple[str, ...]
    permalink: str
    thread_ts: str | None
    bot_id: str | None = None
    username: str | None = None


class MessageGone(Exception):
    """The flagged message was deleted (or never existed) by the time we asked Slack."""


def permalink(workspace_url: str, channel: str, ts: str, thread_ts: str | None = None) -> str:
    """The link Slack's `chat.getPermalink` gives, built without asking it.

    `workspace_url` is `auth.test`'s `url` (`https://team.slack.com/`); a thread reply's link
    opens its thread.
    """
    link = f"{workspace_url.rstrip('/')}/archives/{channel}/p{ts.replace('.', '')}"
    if thread_ts and thread_ts != ts:
        link += f"?thread_ts={thread_ts}&cid={channel}"
    return link


async def ask_permalink(ctx: BotContext, channel: str, ts: str) -> str:
    """The message's permalink from `chat.getPermalink`, for when `permalink` cannot build it."""
    try:
        answer = await ctx.slack.chat_getPermalink(channel=channel, message_ts=ts)
    except SlackApiError as exc:
        if exc.response.get("error") == "message_not_found":
            raise MessageGone(ts) from exc
        raise
    return str(answer["permalink"])


async def fetch_message(
    ctx: BotContext, channel: str, ts: str, *, workspace_url: str | None = None
) -> FetchedMessage:
    """The message `ts` in `channel`, top-level or thread reply, with its permalink.

    `conversations.history` (latest=ts, inclusive, limit=1) returns the newest top-level message
    at or before ts: it is ours when the ts matches. A thread reply is not in the history, so
    history then shows an older message (or none), and `conversations.replies`, which accepts a
    reply's ts and returns its thread, is asked for the window [ts, ts]. The permalink is built
    from `workspace_url` when it is given; otherwise it is fetched at the same time as the
    history, so a top-level message costs one round trip either way.
    """
    calls: list[Any] = [
        ctx.slack.conversations_history(channel=channel, latest=ts, inclusive=True, limit=1)
    ]
    if workspace_url is None:
        calls.append(ctx.slack.chat_getPermalink(channel=channel, message_ts=ts))
    results: list[Any] = await asyncio.gather(*calls, return_exceptions=True)
    for result in reversed(results):
        if isinstance(result, SlackApiError) and result.response.get("error") in {
            "message_not_found",
            "thread_not_found",
        }:
            raise MessageGone(ts)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    message = await _in_history_or_thread(ctx, channel, ts, results[0])
    thread_ts = message.get("thread_ts") if message.get("thread_ts") != ts else None
    if workspace_url is None:
        link = str(results[1]["permalink"])
    else:
        link = permalink(workspace_url, channel, ts, thread_ts)
    return FetchedMessage(
        ts=ts,
        user=message.get("user"),
        text=str(message.get("text") or ""),
        files=tuple(captured.file_names(message.get("files"))),
        permalink=link,
        thread_ts=thread_ts,
        bot_id=message.get("bot_id"),
        username=message.get("username"),
    )


async def _in_history_or_thread(
    ctx: BotContext, channel: str, ts: str, history: Any
) -> dict[str, Any]:
    """The message `ts` from the history answer, else from its thread (a reply)."""
    messages: list[dict[str, Any]] = history["messages"] or []
    message = next((m for m in messages if m.get("ts") == ts), None)
    if message is None:
        try:
            replies = await ctx.slack.conversations_replies(
                channel=channel, ts=ts, oldest=ts, latest=ts, inclusive=True, limit=2
            )
        except SlackApiError as exc:
            if exc.response.get("error") == "thread_not_found":
                raise MessageGone(ts) from exc
            raise
        message = next((m for m in replies["messages"] or [] if m.get("ts") == ts), None)
    if message is None:
        raise MessageGone(ts)
    return dict(message)

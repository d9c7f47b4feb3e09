"""Reading messages back from Slack: a message people flagged, or one of the bot's own.

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


async def fetch_message(ctx: BotContext, channel: str, ts: str) -> FetchedMessage:
    """The message `ts` in `channel`, top-level or thread reply, with its permalink.

    `conversations.history` (latest=ts, inclusive, limit=1) returns the newest top-level message
    at or before ts: it is ours when the ts matches. A thread reply is not in the history, so
    history then shows an older message (or none), and `conversations.replies`, which accepts a
    reply's ts and returns its thread, is asked for the window [ts, ts]. The permalink is
    fetched at the same time as the history, so a top-level message costs one round trip.
    """
    history, link = await asyncio.gather(
        ctx.slack.conversations_history(channel=channel, latest=ts, inclusive=True, limit=1),
        ctx.slack.chat_getPermalink(channel=channel, message_ts=ts),
        return_exceptions=True,
    )
    for result in (link, history):
        if isinstance(result, SlackApiError) and result.response.get("error") in {
            "message_not_found",
            "thread_not_found",
        }:
            raise MessageGone(ts)
    for result in (history, link):
        if isinstance(result, BaseException):
            raise result
    messages: list[dict[str, Any]] = history["messages"] or []  # type: ignore[index]
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
    return FetchedMessage(
        ts=ts,
        user=message.get("user"),
        text=str(message.get("text") or ""),
        files=tuple(captured.file_names(message.get("files"))),
        permalink=str(link["permalink"]),  # type: ignore[index]
        thread_ts=message.get("thread_ts") if message.get("thread_ts") != ts else None,
        bot_id=message.get("bot_id"),
        username=message.get("username"),
    )

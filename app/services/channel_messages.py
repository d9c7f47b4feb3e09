"""What the bot keeps of the messages posted in incident channels, so capture need not read Slack.

The bot hears every message of its channels (`message.channels`, `message.groups`). Of incident
channels' messages it keeps what a timeline entry needs (author, text, file names, thread), with
edits and deletions applied, so a timeline emoji on a message it heard costs no
`conversations.history` call. Messages it never heard (posted before it joined, or whose row was
pruned or could not be written) are fetched from Slack when flagged, as before: a failed write
loses nothing.

Writes happen after Slack has had its ack; new messages arriving together share one transaction
(GroupCommit), and every write is an upsert, so redeliveries and replicas leave one row.

Retention: a channel's rows go `RESOLVED_RETENTION` after its incident is resolved, and a
channel keeps at most its `CHANNEL_CAP` newest messages; both are pruned about once an hour per
process.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from slack_sdk.errors import SlackApiError

from app.context import BotContext
from app.services.group_commit import GroupCommit
from app.services.slack_messages import (
    FetchedMessage,
    MessageGone,
    ask_permalink,
    fetch_message,
    permalink,
)
from app.store import channel_messages as store

if TYPE_CHECKING:
    from app.store.models import ChannelMessage

log = logging.getLogger(__name__)

RESOLVED_RETENTION = timedelta(days=7)  # long enough to pin what the post-mortem needs
CHANNEL_CAP = 20_000
PRUNE_EVERY = 3600.0


@dataclass(frozen=True)
class HeardMessage:
    """A message as a `message` event (or an edit's) carried it."""

    channel: str
    ts: str
    user: str | None
    text: str
    files: tuple[str, ...] = ()
    thread_ts: str | None = None  # the parent's ts, for a thread reply only
    bot_id: str | None = None
    username: str | None = None
    deleted: bool = False

    def row(self, incident_id: int, edit_ts: str | None = None) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "ts": self.ts,
            "incident_id": incident_id,
            "user_id": self.user,
            "bot_id": self.bot_id,
            "username": self.username,
            "text": self.text,
            "files": list(self.files),
            "thread_ts": self.thread_ts,
            "edit_ts": edit_ts,
            "deleted": False,
        }


class ChannelMessages:
    """The messages service of one process: its batched writer and its pruning rhythm."""

    def __init__(self, ctx: BotContext, *, cap: int = CHANNEL_CAP) -> None:
        self.ctx = ctx
        self.cap = cap
        self._posted: GroupCommit[dict[str, Any], None] = GroupCommit(self._write_posted)
        self._lookups: GroupCommit[tuple[str, str], HeardMessage | None] = GroupCommit(
            self._look_up
        )
        self._last_prune = time.monotonic()

    async def posted(self, message: HeardMessage) -> bool:
        """Keep a new message if its channel is an incident's; True when it was kept."""
        incident_id = await self.ctx.incident_channels.incident_for(message.channel)
        if incident_id is None:
            return False
        await self._posted.submit(message.row(incident_id))
        self._maybe_prune()
        return True

    async def _write_posted(self, rows: Sequence[dict[str, Any]]) -> list[None]:
        async with self.ctx.sessions.begin() as session:
            await store.add_posted(session, rows)
        return [None] * len(rows)

    async def edited(self, incident_id: int, message: HeardMessage, edit_ts: str | None) -> None:
        """The message now reads as `message` (kept even if its posting was never heard)."""
        async with self.ctx.sessions.begin() as session:
            await store.apply_edit(session, message.row(incident_id, edit_ts))

    async def deleted(self, incident_id: int, channel: str, ts: str) -> None:
        async with self.ctx.sessions.begin() as session:
            await store.mark_deleted(session, incident_id, channel, ts)

    async def read(self, channel: str, ts: str) -> FetchedMessage:
        """A message someone flagged, as the bot heard it (no Slack call) or, if it never did,
        as Slack has it. The permalink is built from the workspace's address."""
        url = await self._workspace_url()
        heard = await self.known(channel, ts)
        if heard is not None and heard.deleted:
            raise MessageGone(ts)
        if heard is None:
            return await fetch_message(self.ctx, channel, ts, workspace_url=url)
        if url is None:
            link = await ask_permalink(self.ctx, channel, ts)
        else:
            link = permalink(url, channel, ts, heard.thread_ts)
        return FetchedMessage(
            ts=ts,
            user=heard.user,
            text=heard.text,
            files=heard.files,
            permalink=link,
            thread_ts=heard.thread_ts,
            bot_id=heard.bot_id,
            username=heard.username,
        )

    async def _workspace_url(self) -> str | None:
        """Known after the first `auth.test`; None (ask Slack for each permalink) while Slack
        will not say."""
        try:
            return await self.ctx.workspace_url()
        except SlackApiError as exc:
            log.warning("auth.test failed: %s", exc.response.get("error"))
            return None

    async def known(self, channel: str, ts: str) -> HeardMessage | None:
        """The message as last heard (`deleted` if it was), or None if it never was. Lookups
        arriving together share one query."""
        return await self._lookups.submit((channel, ts))

    async def _look_up(self, keys: Sequence[tuple[str, str]]) -> list[HeardMessage | None]:
        async with self.ctx.sessions() as session:
            rows = await store.find_many(session, keys)
        return [_heard(rows[key]) if key in rows else None for key in keys]

    def _maybe_prune(self) -> None:
        """About once an hour per process, off the event's path."""
        if time.monotonic() - self._last_prune < PRUNE_EVERY:
            return
        self._last_prune = time.monotonic()
        self.ctx.tasks.spawn(self.prune(), name="prune channel messages")

    async def prune(self) -> int:
        """Apply the retention rule now; returns how many rows went."""
        async with self.ctx.sessions.begin() as session:
            removed = await store.prune_resolved(session, self.ctx.clock.now() - RESOLVED_RETENTION)
            removed += await store.prune_over_cap(session, self.cap)
        log.info("forgot %d channel messages", removed)
        return removed


def _heard(row: ChannelMessage) -> HeardMessage:
    return HeardMessage(
        channel=row.channel,
        ts=row.ts,
        user=row.user_id,
        text=row.text,
        files=tuple(row.files or ()),
        thread_ts=row.thread_ts,
        bot_id=row.bot_id,
        username=row.username,
        deleted=row.deleted,
    )

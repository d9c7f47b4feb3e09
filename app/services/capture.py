"""Capturing Slack messages into incident timelines: reactions, edits and deletions.

A flagged message is read from what the bot heard when it was posted (`channel_messages`), with
its permalink built from the workspace's address, so the usual capture makes one Slack call: the
confirmation. Only a message the bot never heard (older than the bot in the channel) is fetched
from Slack.

Runs after Slack has had its ack. Events about one message are applied one at a time, in the
order they arrived (KeyedLocks); each change commits together with its event id, so a redelivery
or a retry (`X-Slack-Retry-Num`) finds the id and changes nothing; and the database keeps one
entry per (incident, message ts), so two replicas capturing the same message still make one.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import load_only

from app.context import BotContext
from app.domain import captured
from app.domain.slack_ts import is_slack_ts, ts_to_datetime
from app.domain.timeline import Kind
from app.services import timeline
from app.services.channel_messages import ChannelMessages
from app.services.group_commit import GroupCommit
from app.services.locks import KeyedLocks
from app.services.message_events import MessageDeleted, MessageEdited, Outcome, Reaction
from app.services.slack_messages import FetchedMessage, MessageGone
from app.store import timeline as store
from app.store.models import Incident, TimelineEntry

log = logging.getLogger(__name__)

CONFIRM_EMOJI = "white_check_mark"
# Captures reading and writing at once (each holds a database connection for a moment, and a
# message the bot never heard a Slack read); more wait their turn in memory rather than
# exhausting the connection pool. Confirmations are sent outside this limit.
MAX_CONCURRENT = 64
EVENT_RETENTION = timedelta(hours=24)  # Slack's last retry comes about 5 minutes after the first
PRUNE_EVERY = 3600.0
ATTEMPTS = 3
CAPTURED_MEMORY = 10_000


class _Vanished(Exception):
    pass


@dataclass(frozen=True)
class _NewEntry:
    incident_id: int
    reaction: Reaction
    message: FetchedMessage


def _entry_data(reaction: Reaction, message: FetchedMessage) -> dict[str, Any]:
    data: dict[str, Any] = {
        "channel": reaction.channel,
        "permalink": message.permalink,
        "files": list(message.files),
        "thread_ts": message.thread_ts,
        "flagged_by": [],
        "edits": [],
    }
    if message.bot_id:
        data.update(bot_id=message.bot_id, username=message.username)
    return captured.with_flag(data, reaction.user, reaction.emoji)


class Capture:
    """The capture service of one process: its per-message locks and its concurrency limit."""

    def __init__(
        self,
        ctx: BotContext,
        *,
        max_concurrent: int = MAX_CONCURRENT,
        messages: ChannelMessages | None = None,
    ) -> None:
        self.ctx = ctx
        self.messages = messages or ChannelMessages(ctx)
        self.locks = KeyedLocks()
        self.slots = asyncio.Semaphore(max_concurrent)
        # Messages this process put in a timeline lately. Only a hint that saves a database read
        # per reaction: a wrong "yes" is found out by the claim, a wrong "no" by the unique key.
        self._captured: OrderedDict[tuple[str, str], None] = OrderedDict()
        # New entries arriving together are written together (one transaction per batch).
        self._new_entries: GroupCommit[_NewEntry, Outcome] = GroupCommit(self._write_new_entries)
        self._last_prune = time.monotonic()

    # ------------------------------------------------------------------------- reactions

    async def reaction_added(self, reaction: Reaction) -> Outcome:
        """Put the message in the timeline (or note one more reaction on it), then confirm."""
        incident_id = await self.ctx.incident_channels.incident_for(reaction.channel)
        if incident_id is None:
            return Outcome.IGNORED
        key = (reaction.channel, reaction.ts)
        async with self.locks.hold(key):
            async with self.slots:
                outcome = await self._add(incident_id, reaction)
            if outcome in {Outcome.CREATED, Outcome.FLAGGED, Outcome.DUPLICATE}:
                self._remember(key)
            if outcome is Outcome.CREATED:
                # Outside the slots: under Slack's tiers a confirmation may wait its turn, and
                # the next captures need not wait with it.
                await self._react(reaction.channel, reaction.ts, add=True)
        self._maybe_prune()
        return outcome

    async def _add(self, incident_id: int, reaction: Reaction) -> Outcome:
        """Flag the entry if there is one, else read the message and create it.

        Whether there is one is first guessed (this process's memory; for a delivery Slack marks
        as a retry, which may follow a success anywhere, the database), so the usual reaction
        reads only the message before its write and a Slack fetch is never done for nothing. A
        wrong guess costs one round more: a unique-key conflict sends a create to the flag path,
        a vanished entry sends a flag to the create path.
        """
        key = (reaction.channel, reaction.ts)
        exists = key in self._captured
        if not exists and reaction.retry:
            async with self.ctx.sessions() as session:
                if await store.event_seen(session, reaction.event_id):
                    return Outcome.DUPLICATE
                exists = (
                    await store.entry_for_message(session, incident_id, reaction.ts) is not None
                )
        message: FetchedMessage | None = None
        for _ in range(ATTEMPTS):
            if exists:
                outcome = await self._flag_existing(incident_id, reaction)
            else:
                if message is None:
                    try:
                        message = await self.messages.read(reaction.channel, reaction.ts)
                    except MessageGone:
                        log.info("flagged message %s in %s is gone", reaction.ts, reaction.channel)
                        return Outcome.GONE
                    except SlackApiError as exc:
                        # E.g. the bot was removed from the channel: no confirmation appears, so
                        # people see the message was not captured.
                        log.warning(
                            "could not fetch flagged message %s in %s: %s",
                            reaction.ts,
                            reaction.channel,
                            exc.response.get("error"),
                        )
                        return Outcome.FAILED
                outcome = await self._create(incident_id, reaction, message)
            if outcome is not Outcome.RETRY:
                return outcome
            exists = not exists
        return Outcome.RETRY

    def _remember(self, key: tuple[str, str]) -> None:
        self._captured[key] = None
        self._captured.move_to_end(key)
        while len(self._captured) > CAPTURED_MEMORY:
            self._captured.popitem(last=False)

    async def _flag_existing(self, incident_id: int, reaction: Reaction) -> Outcome:
        try:
            async with self.ctx.sessions.begin() as session:
                if not await store.claim_event(session, reaction.event_id, self.ctx.clock.now()):
                    return Outcome.DUPLICATE
                entry = await store.entry_for_message(
                    session, incident_id, reaction.ts, for_update=True
                )
                if entry is None:
                    raise _Vanished  # removed by another replica since we looked: roll back
                if entry.kind == Kind.MESSAGE:
                    entry.data = captured.with_flag(entry.data, reaction.user, reaction.emoji)
        except _Vanished:
            return Outcome.RETRY
        return Outcome.FLAGGED

    async def _create(
        self, incident_id: int, reaction: Reaction, message: FetchedMessage
    ) -> Outcome:
        return await self._new_entries.submit(_NewEntry(incident_id, reaction, message))

    async def _write_new_entries(self, batch: Sequence[_NewEntry]) -> list[Outcome]:
        """Save a batch of captures in one transaction; if one of them conflicts (another
        replica captured that message meanwhile), save them one by one so only it retries."""
        try:
            return await self._insert_entries(batch)
        except IntegrityError:
            if len(batch) == 1:
                return [Outcome.RETRY]  # captured elsewhere: add our reaction to its entry
        outcomes = []
        for item in batch:
            try:
                outcomes += await self._insert_entries([item])
            except IntegrityError:
                outcomes.append(Outcome.RETRY)
        return outcomes

    async def _insert_entries(self, batch: Sequence[_NewEntry]) -> list[Outcome]:
        now = self.ctx.clock.now()
        outcomes: list[Outcome] = []
        async with self.ctx.sessions.begin() as session:
            claimed = await store.claim_events(
                session, [item.reaction.event_id for item in batch], now
            )
            incidents: dict[int, Incident | None] = {}
            for item in batch:
                if item.reaction.event_id not in claimed:
                    outcomes.append(Outcome.DUPLICATE)
                    continue
                if item.incident_id not in incidents:
                    # Only the id is needed: the full row carries a policy snapshot to decode.
                    incidents[item.incident_id] = await session.get(
                        Incident, item.incident_id, options=[load_only(Incident.id)]
                    )
                incident = incidents[item.incident_id]
                if incident is None:
                    outcomes.append(Outcome.IGNORED)
                    continue
                message = item.message
                timeline.record(
                    session,
                    incident,
                    Kind.MESSAGE,
                    now=now,
                    occurred_at=ts_to_datetime(message.ts),
                    actor_id=message.user,
                    text=message.text,
                    data=_entry_data(item.reaction, message),
                    source_ts=message.ts,
                )
                outcomes.append(Outcome.CREATED)
            await session.flush()
        return outcomes

    async def reaction_removed(self, reaction: Reaction) -> Outcome:
        """Forget this reaction; when it was the message's last timeline reaction, the entry."""
        incident_id = await self.ctx.incident_channels.incident_for(reaction.channel)
        if incident_id is None:
            return Outcome.IGNORED
        key = (reaction.channel, reaction.ts)
        async with self.locks.hold(key):
            async with self.slots:
                outcome = await self._remove(incident_id, reaction)
            if outcome is Outcome.REMOVED:
                self._captured.pop(key, None)
                await self._react(reaction.channel, reaction.ts, add=False)
        return outcome

    async def _remove(self, incident_id: int, reaction: Reaction) -> Outcome:
        async with self.ctx.sessions.begin() as session:
            if not await store.claim_event(session, reaction.event_id, self.ctx.clock.now()):
                return Outcome.DUPLICATE
            entry = await store.entry_for_message(
                session, incident_id, reaction.ts, for_update=True
            )
            if entry is None or entry.kind != Kind.MESSAGE:
                return Outcome.IGNORED
            data = captured.without_flag(entry.data, reaction.user, reaction.emoji)
            if captured.flags(data):
                entry.data = data
                return Outcome.UNFLAGGED
            await session.delete(entry)
        return Outcome.REMOVED

    # ------------------------------------------------------------------------- edits

    async def message_edited(self, edit: MessageEdited) -> Outcome:
        """The kept message and the entry follow the new text; the text it replaces goes to the
        entry's edit history."""
        if edit.tombstone:
            return await self.message_deleted(
                MessageDeleted(edit.event_id, edit.channel, edit.ts, edit.edit_ts)
            )

        def apply(entry: TimelineEntry) -> Outcome:
            if edit.text == entry.text and list(edit.files) == entry.data.get("files", []):
                return Outcome.IGNORED  # an unfurl or a reply count changed, not the message
            entry.data = captured.with_edit(entry.data, entry.text, edit.files, edit.edit_ts)
            entry.text = edit.text
            entry.edited_at = self._when(edit.edit_ts)
            return Outcome.EDITED

        async def keep(incident_id: int) -> None:
            await self.messages.edited(incident_id, edit.message, edit.edit_ts)

        return await self._change_captured(edit.event_id, edit.channel, edit.ts, keep, apply)

    async def message_deleted(self, deletion: MessageDeleted) -> Outcome:
        """The entry stays (the log must not lose what happened) and is marked deleted; the
        kept message is emptied, so a late reaction captures nothing."""

        def apply(entry: TimelineEntry) -> Outcome:
            if entry.deleted:
                return Outcome.IGNORED
            entry.deleted = True
            entry.deleted_at = self._when(deletion.deleted_ts)
            return Outcome.DELETED

        async def keep(incident_id: int) -> None:
            await self.messages.deleted(incident_id, deletion.channel, deletion.ts)

        return await self._change_captured(
            deletion.event_id, deletion.channel, deletion.ts, keep, apply
        )

    async def _change_captured(
        self,
        event_id: str,
        channel: str,
        ts: str,
        keep: Callable[[int], Awaitable[None]],
        apply: Any,
    ) -> Outcome:
        """`keep` the change in the kept messages, then `apply` it to the entry if there is one.

        Under the message's lock, so a capture running at the same time reads the message
        either before the change (and then sees its entry changed) or after it."""
        incident_id = await self.ctx.incident_channels.incident_for(channel)
        if incident_id is None:
            return Outcome.IGNORED
        async with self.locks.hold((channel, ts)), self.slots:
            await keep(incident_id)  # an upsert: a redelivery writes the same again
            # Most edits in an incident channel are of messages nobody flagged: no entry write.
            async with self.ctx.sessions() as session:
                entry = await store.entry_for_message(session, incident_id, ts)
            if entry is None or entry.kind != Kind.MESSAGE:
                return Outcome.IGNORED
            async with self.ctx.sessions.begin() as session:
                if not await store.claim_event(session, event_id, self.ctx.clock.now()):
                    return Outcome.DUPLICATE
                entry = await store.entry_for_message(session, incident_id, ts, for_update=True)
                if entry is None:
                    return Outcome.IGNORED
                return apply(entry)

    # ------------------------------------------------------------------------- helpers

    def _when(self, ts: str | None) -> datetime:
        return ts_to_datetime(ts) if ts and is_slack_ts(ts) else self.ctx.clock.now()

    async def _react(self, channel: str, ts: str, *, add: bool) -> None:
        """Show (or take back) the bot's confirmation; the entry is saved either way."""
        try:
            if add:
                await self.ctx.slack.reactions_add(
                    channel=channel, timestamp=ts, name=CONFIRM_EMOJI
                )
            else:
                await self.ctx.slack.reactions_remove(
                    channel=channel, timestamp=ts, name=CONFIRM_EMOJI
                )
        except SlackApiError as exc:
            error = exc.response.get("error")
            if error not in {"already_reacted", "no_reaction", "message_not_found"}:
                log.warning(
                    "could not %s the capture confirmation on %s: %s",
                    "add" if add else "remove",
                    ts,
                    error,
                )

    def _maybe_prune(self) -> None:
        """Forget old event ids about once an hour per process, off the event's path."""
        if time.monotonic() - self._last_prune < PRUNE_EVERY:
            return
        self._last_prune = time.monotonic()
        self.ctx.tasks.spawn(self._prune(), name="prune processed events")

    async def _prune(self) -> None:
        async with self.ctx.sessions.begin() as session:
            removed = await store.prune_events(session, self.ctx.clock.now() - EVENT_RETENTION)
        log.info("forgot %d processed event ids", removed)

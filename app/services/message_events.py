"""What the Slack edge hands to timeline capture (a reaction, an edit, a deletion) and what
came of it: plain values, parsed from events by `app.slack.timeline`."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from app.services.channel_messages import HeardMessage


class Outcome(enum.Enum):
    CREATED = "created"
    FLAGGED = "flagged"  # one more reaction on a message already in the timeline
    UNFLAGGED = "unflagged"
    REMOVED = "removed"
    EDITED = "edited"
    DELETED = "deleted"
    DUPLICATE = "duplicate"
    IGNORED = "ignored"
    GONE = "gone"  # the message no longer exists in Slack
    FAILED = "failed"  # Slack would not give us the message
    RETRY = "retry"


@dataclass(frozen=True)
class Reaction:
    event_id: str
    channel: str
    ts: str
    user: str
    emoji: str
    retry: bool = False  # Slack marked the delivery as a retry (X-Slack-Retry-Num)


@dataclass(frozen=True)
class MessageEdited:
    event_id: str
    message: HeardMessage  # the message as the edit left it
    edit_ts: str | None
    tombstone: bool = False  # a parent with replies was deleted: Slack edits it into a stub

    @property
    def channel(self) -> str:
        return self.message.channel

    @property
    def ts(self) -> str:
        return self.message.ts

    @property
    def text(self) -> str:
        return self.message.text

    @property
    def files(self) -> tuple[str, ...]:
        return self.message.files


@dataclass(frozen=True)
class MessageDeleted:
    event_id: str
    channel: str
    ts: str
    deleted_ts: str | None

"""What a test (or the demo) puts in the workspace before the bot looks: people, user groups,
channels, people's messages, reactions, edits and deletions, trigger ids."""

from __future__ import annotations

import time
from typing import Any

from .state import BOT_USER_ID, Channel, SlackState, User, Usergroup


class Seeding:
    """FakeSlack's seeding methods (a mixin: FakeSlack holds ``state``)."""

    state: SlackState

    def add_user(
        self,
        user_id: str,
        *,
        name: str | None = None,
        email: str | None = None,
        tz: str = "UTC",
        is_bot: bool = False,
        is_restricted: bool = False,
        is_ultra_restricted: bool = False,
    ) -> None:
        """``is_restricted``: a multi-channel guest; ``is_ultra_restricted``: single-channel."""
        self.state.users[user_id] = User(
            user_id,
            name or user_id.lower(),
            email,
            tz,
            is_bot,
            is_restricted=is_restricted or is_ultra_restricted,
            is_ultra_restricted=is_ultra_restricted,
        )

    def add_usergroup(
        self, handle: str, user_ids: list[str] | tuple[str, ...], *, usergroup_id: str | None = None
    ) -> str:
        group_id = usergroup_id or self.state.new_id("S")
        self.state.usergroups[group_id] = Usergroup(group_id, handle, list(user_ids))
        return group_id

    def add_channel(
        self,
        name: str,
        *,
        members: tuple[str, ...] | list[str] = (),
        is_private: bool = False,
        bot_member: bool = True,
    ) -> str:
        """Create a channel directly (no naming checks: seeds may mirror odd legacy names)."""
        if self.state.channel_by_name(name) is not None:
            raise ValueError(f"channel #{name} already exists")
        member_set = set(members) | ({BOT_USER_ID} if bot_member else set())
        channel = Channel(
            id=self.state.new_id("C"),
            name=name,
            is_private=is_private,
            members=member_set,
            created=int(time.time()),
            creator=BOT_USER_ID,
        )
        self.state.channels[channel.id] = channel
        self.state.messages[channel.id] = []
        return channel.id

    def add_message(
        self,
        channel: str,
        text: str,
        *,
        user: str,
        thread_ts: str | None = None,
        files: list[dict[str, Any]] | None = None,
        ts: str | None = None,
    ) -> str:
        """Seed a message (e.g. a human's) and return its ts (``ts`` backdates it)."""
        if channel not in self.state.channels:
            raise KeyError(f"unknown channel {channel}")
        message: dict[str, Any] = {"user": user, "text": text}
        if thread_ts:
            message["thread_ts"] = thread_ts
        if files:
            message["files"] = files
        if ts is not None:
            if self.state.find_message(channel, ts) is not None:
                raise ValueError(f"a message with ts {ts} already exists in {channel}")
            message["ts"] = ts
        return self.state.append_message(channel, message)["ts"]

    def add_reaction(self, channel: str, ts: str, name: str, *, user: str) -> None:
        """A person reacts to a message (what Slack then announces with reaction_added)."""
        self.state.require_message(channel, ts)
        reacted = self.state.reactions.setdefault((channel, ts), [])
        if (name, user) not in reacted:
            reacted.append((name, user))

    def remove_reaction(self, channel: str, ts: str, name: str, *, user: str) -> None:
        reacted = self.state.reactions.get((channel, ts), [])
        if (name, user) in reacted:
            reacted.remove((name, user))

    def edit_message(self, channel: str, ts: str, text: str, *, user: str) -> dict[str, Any]:
        """A person edits a message; returns the message as a ``message_changed`` carries it."""
        message = self.state.require_message(channel, ts)
        previous = dict(message)
        message["text"] = text
        message["edited"] = {"user": user, "ts": self.state.new_ts()}
        return {"message": self.state.render(channel, message), "previous_message": previous}

    def delete_message(self, channel: str, ts: str) -> dict[str, Any]:
        """A person deletes a message; returns it as ``message_deleted`` carries it."""
        message = self.state.require_message(channel, ts)
        self.state.messages[channel].remove(message)
        self.state.reactions.pop((channel, ts), None)
        return message

    def new_trigger_id(self) -> str:
        return self.state.new_trigger_id()

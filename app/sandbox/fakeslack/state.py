"""In-memory workspace: users, channels, messages and the other things tests seed and inspect."""

from __future__ import annotations

import functools
import itertools
import secrets
import time
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from .errors import SlackError
from .oidc import OidcProvider

BOT_USER_ID = "UBOT0001"
BOT_ID = "B0001"
TEAM_ID = "T0001"
APP_ID = "A0001"
BOT_NAME = "incident-bot"
TEAM_DOMAIN = "fake"
TEAM_NAME = "Fake Team"
WORKSPACE_URL = f"https://{TEAM_DOMAIN}.slack.com/"


@dataclass
class Call:
    """One request as the fake saw it; ``args`` never includes the token."""

    method: str
    args: dict[str, Any]
    status: int = 0
    response: dict[str, Any] = field(default_factory=dict)
    at: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == 200 and self.response.get("ok") is True


@dataclass
class User:
    id: str
    name: str
    email: str | None = None
    tz: str = "UTC"
    is_bot: bool = False
    # A guest: multi-channel (restricted) or single-channel (ultra restricted).
    is_restricted: bool = False
    is_ultra_restricted: bool = False
    deleted: bool = False  # deactivated

    def to_api(self) -> dict[str, Any]:
        profile: dict[str, Any] = {"real_name": self.name, "display_name": self.name}
        if self.email:
            profile["email"] = self.email
        if self.is_bot:
            profile["bot_id"] = BOT_ID
        return {
            "id": self.id,
            "team_id": TEAM_ID,
            "name": self.name,
            "real_name": self.name,
            "deleted": self.deleted,
            "tz": self.tz,
            "is_bot": self.is_bot,
            "is_app_user": False,
            "is_restricted": self.is_restricted,
            "is_ultra_restricted": self.is_ultra_restricted,
            "profile": profile,
        }


@dataclass
class Usergroup:
    id: str
    handle: str
    users: list[str]

    def to_api(self, *, include_users: bool, include_count: bool) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "team_id": TEAM_ID,
            "is_usergroup": True,
            "name": self.handle,
            "handle": self.handle,
            "date_delete": 0,
        }
        if include_users:
            data["users"] = list(self.users)
        if include_count:
            data["user_count"] = len(self.users)
        return data


@dataclass
class Channel:
    id: str
    name: str
    is_private: bool = False
    members: set[str] = field(default_factory=set)
    topic: str = ""
    purpose: str = ""
    created: int = 0
    archived: bool = False
    creator: str = ""
    is_im: bool = False
    is_mpim: bool = False
    im_user: str | None = None
    topic_meta: tuple[str, int] = ("", 0)  # (creator, last_set)
    purpose_meta: tuple[str, int] = ("", 0)

    def to_api(self) -> dict[str, Any]:
        """A conversation object as the bot sees it."""
        if self.is_im:
            return {
                "id": self.id,
                "created": self.created,
                "is_im": True,
                "is_org_shared": False,
                "user": self.im_user,
                "is_open": True,
            }
        return {
            "id": self.id,
            "name": self.name,
            "name_normalized": self.name,
            "is_channel": not self.is_private and not self.is_mpim,
            "is_group": self.is_private and not self.is_mpim,
            "is_im": False,
            "is_mpim": self.is_mpim,
            "is_private": self.is_private,
            "created": self.created,
            "creator": self.creator,
            "is_archived": self.archived,
            "is_general": False,
            "is_shared": False,
            "is_ext_shared": False,
            "is_org_shared": False,
            "is_member": BOT_USER_ID in self.members,
            "topic": {
                "value": self.topic,
                "creator": self.topic_meta[0],
                "last_set": self.topic_meta[1],
            },
            "purpose": {
                "value": self.purpose,
                "creator": self.purpose_meta[0],
                "last_set": self.purpose_meta[1],
            },
            "previous_names": [],
        }


def ts_key(ts: str) -> Decimal:
    """Slack timestamps compare as decimals; a bad one is ``invalid_arguments``."""
    try:
        return _decimal(str(ts))
    except (InvalidOperation, ValueError):
        raise SlackError("invalid_arguments") from None


@functools.lru_cache(maxsize=65536)
def _decimal(ts: str) -> Decimal:
    # Cached: history and replies compare every message of a channel on every call, which
    # made the fake, not the bot, the bottleneck of bench/timeline.py.
    return Decimal(ts)


class SlackState:
    """All mutable workspace data. ``clear`` keeps identity, users and usergroups."""

    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self.users: dict[str, User] = {BOT_USER_ID: User(BOT_USER_ID, BOT_NAME, is_bot=True)}
        self.usergroups: dict[str, Usergroup] = {}
        self.granted_scopes: set[str] | None = None
        self.base_url = ""  # "http://127.0.0.1:PORT", set once the server listens
        self.trigger_ttl = 3.0
        # Sign in with Slack's provider (oidc.py): its apps, people elsewhere, codes and key.
        self.openid = OidcProvider(TEAM_ID, TEAM_NAME)
        self.clear()

    def clear(self) -> None:
        self.channels: dict[str, Channel] = {}
        self.messages: dict[str, list[dict[str, Any]]] = {}
        self.pins: dict[str, list[str]] = {}
        self.reactions: dict[tuple[str, str], list[tuple[str, str]]] = {}
        self.ephemerals: list[dict[str, Any]] = []
        self.views: dict[str, dict[str, Any]] = {}
        self.home_views: dict[str, str] = {}  # user id -> view id
        self.files: list[dict[str, Any]] = []
        self.uploads: dict[str, dict[str, Any]] = {}  # file id -> pending upload
        self.bookmarks: dict[str, list[dict[str, Any]]] = {}
        self.ims: dict[str, str] = {}  # user id -> D... channel id
        self.triggers: dict[str, list[Any]] = {}  # trigger id -> [issued_at, used]
        self._last_ts_us = 0

    # --- ids and timestamps -------------------------------------------------------------------

    def new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):08d}"

    def new_ts(self) -> str:
        """Wall-clock based like Slack's, but strictly increasing so every ts is unique."""
        now_us = max(int(time.time() * 1_000_000), self._last_ts_us + 1)
        self._last_ts_us = now_us
        return f"{now_us // 1_000_000}.{now_us % 1_000_000:06d}"

    def new_trigger_id(self) -> str:
        trigger = f"{next(self._ids)}.{secrets.randbelow(10**7):07d}.{secrets.token_hex(16)}"
        self.triggers[trigger] = [time.monotonic(), False]
        return trigger

    # --- lookups ------------------------------------------------------------------------------

    def channel_by_name(self, name: str) -> Channel | None:
        return next((c for c in self.channels.values() if c.name == name and not c.is_im), None)

    def visible_channel(self, channel_id: str) -> Channel:
        """The channel if the bot can see it: private ones only when it is a member."""
        channel = self.channels.get(channel_id)
        if channel is None or (channel.is_private and BOT_USER_ID not in channel.members):
            raise SlackError("channel_not_found")
        return channel

    def member_channel(self, channel_id: str) -> Channel:
        channel = self.visible_channel(channel_id)
        if BOT_USER_ID not in channel.members:
            raise SlackError("not_in_channel")
        return channel

    def find_message(self, channel_id: str, ts: str) -> dict[str, Any] | None:
        return next((m for m in self.messages.get(channel_id, []) if m["ts"] == ts), None)

    def require_message(self, channel_id: str, ts: str) -> dict[str, Any]:
        message = self.find_message(channel_id, ts)
        if message is None:
            raise SlackError("message_not_found")
        return message

    def open_im(self, user_id: str) -> tuple[Channel, bool]:
        """The bot's DM with ``user_id``; returns (channel, already_open)."""
        if user_id in self.ims:
            return self.channels[self.ims[user_id]], True
        channel = Channel(
            id=self.new_id("D"),
            name="",
            is_private=True,
            members={BOT_USER_ID, user_id},
            created=int(time.time()),
            is_im=True,
            im_user=user_id,
        )
        self.channels[channel.id] = channel
        self.messages[channel.id] = []
        self.ims[user_id] = channel.id
        return channel, False

    # --- messages -----------------------------------------------------------------------------

    def append_message(self, channel_id: str, message: dict[str, Any]) -> dict[str, Any]:
        """Store a message; thread replies also update their parent's reply metadata."""
        message = {"type": "message", **message}
        message.setdefault("ts", self.new_ts())
        thread_ts = message.get("thread_ts")
        history = self.messages.setdefault(channel_id, [])
        if thread_ts and thread_ts != message["ts"]:
            parent = self.find_message(channel_id, thread_ts)
            if parent is not None and parent.get("thread_ts") not in (None, parent["ts"]):
                # Replying to a reply threads onto the original parent, as Slack does.
                message["thread_ts"] = parent["thread_ts"]
                parent = self.find_message(channel_id, parent["thread_ts"])
            if parent is not None:
                parent["thread_ts"] = parent["ts"]
                parent["reply_count"] = parent.get("reply_count", 0) + 1
                users = parent.setdefault("reply_users", [])
                if message.get("user") and message["user"] not in users:
                    users.append(message["user"])
                parent["reply_users_count"] = len(users)
                parent["latest_reply"] = message["ts"]
        history.append(message)
        return message

    def is_reply(self, message: dict[str, Any]) -> bool:
        thread_ts = message.get("thread_ts")
        return bool(thread_ts) and thread_ts != message["ts"]

    def render(self, channel_id: str, message: dict[str, Any]) -> dict[str, Any]:
        """A message as the API returns it, with current reactions folded in."""
        out = dict(message)
        grouped: dict[str, list[str]] = {}
        for name, user in self.reactions.get((channel_id, message["ts"]), []):
            grouped.setdefault(name, []).append(user)
        if grouped:
            out["reactions"] = [
                {"name": n, "users": u, "count": len(u)} for n, u in grouped.items()
            ]
        return out

    def permalink(self, channel_id: str, message: dict[str, Any]) -> str:
        link = f"{WORKSPACE_URL}archives/{channel_id}/p{message['ts'].replace('.', '')}"
        if self.is_reply(message):
            link += f"?thread_ts={message['thread_ts']}&cid={channel_id}"
        return link

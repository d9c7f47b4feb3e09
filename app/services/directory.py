"""Who is in a channel, and who is a guest: asked of Slack, remembered briefly.

Authorization asks on every click and command from outside an incident's channel, so the
answers are kept in memory, per channel (its members) and per user (guest or not):

- A channel's members are fetched whole (`conversations.members`, every page) and kept for
  `MEMBERS_TTL`. Someone not in that list is asked about again once the list is older than
  `MISS_RECHECK`, so a person who joined a moment ago is recognized within seconds, while a
  loop of refused requests costs at most one fetch per channel every few seconds.
- When the bot itself invites someone (the lead, paged people), the channel is forgotten.
- Whether a user is a guest (`users.info`: `is_restricted`, `is_ultra_restricted`) is kept
  for `GUEST_TTL`.

Slack refusing, out of reach or too slow (`ASK_TIMEOUT`, short enough for the 3 s Slack gives a
command or a form) raises SlackUnreachable: the caller refuses; it never guesses "yes".
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Coroutine
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from app.clock import Clock
from app.services.slack_errors import slack_error

log = logging.getLogger(__name__)

T = TypeVar("T")

MEMBERS_TTL = timedelta(seconds=60)
MISS_RECHECK = timedelta(seconds=5)
GUEST_TTL = timedelta(minutes=10)
ASK_TIMEOUT = 1.5
MEMBERS_PAGE = 1000
MAX_ENTRIES = 10_000  # channels (and users) remembered at most; the oldest go first


class SlackUnreachable(Exception):
    """Slack could not answer who is in a channel or who a user is."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class _Entry:
    value: frozenset[str] | bool
    fetched: datetime


class Directory:
    """Implements `app.context.SlackDirectory` on the bot's Slack client."""

    def __init__(self, slack: AsyncWebClient, clock: Clock) -> None:
        self._slack = slack
        self._clock = clock
        self._members: OrderedDict[str, _Entry] = OrderedDict()
        self._guests: OrderedDict[str, _Entry] = OrderedDict()

    async def is_member(self, channel_id: str, user_id: str) -> bool:
        entry = self._members.get(channel_id)
        if entry is not None:
            assert isinstance(entry.value, frozenset)
            age = self._age(entry)
            if age < MEMBERS_TTL and (user_id in entry.value or age < MISS_RECHECK):
                return user_id in entry.value
        members = await self._ask(self._fetch_members(channel_id), f"members of {channel_id}")
        _remember(self._members, channel_id, _Entry(members, self._clock.now()))
        return user_id in members

    async def is_guest(self, user_id: str) -> bool:
        entry = self._guests.get(user_id)
        if entry is not None and self._age(entry) < GUEST_TTL:
            return bool(entry.value)
        guest = await self._ask(self._fetch_guest(user_id), f"user {user_id}")
        _remember(self._guests, user_id, _Entry(guest, self._clock.now()))
        return guest

    def forget(self, channel_id: str) -> None:
        """The channel's members changed (the bot invited someone): ask Slack next time."""
        self._members.pop(channel_id, None)

    def _age(self, entry: _Entry) -> timedelta:
        age = self._clock.now() - entry.fetched
        # Fetched "after" now (the clock was set back): treated as stale.
        return age if age >= timedelta(0) else MEMBERS_TTL + GUEST_TTL

    async def _ask(self, question: Coroutine[Any, Any, T], what: str) -> T:
        """The answer to `question`, or SlackUnreachable (logged) if Slack gives none in time."""
        try:
            async with asyncio.timeout(ASK_TIMEOUT):
                return await question
        except SlackApiError as exc:
            reason = f"Slack refused ({slack_error(exc)})"
        except TimeoutError:
            reason = "Slack did not answer in time"
        except (aiohttp.ClientError, OSError):
            reason = "Slack could not be reached"
        log.warning("could not ask Slack about %s: %s", what, reason)
        raise SlackUnreachable(reason)

    async def _fetch_members(self, channel_id: str) -> frozenset[str]:
        members: set[str] = set()
        cursor: str | None = None
        while True:
            page = await self._slack.conversations_members(
                channel=channel_id, limit=MEMBERS_PAGE, cursor=cursor
            )
            members.update(page.get("members") or [])
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return frozenset(members)

    async def _fetch_guest(self, user_id: str) -> bool:
        """A guest, or a deactivated account: either sees only what its channels show (a
        deactivated one is in none), so a dashboard session outliving the account sees
        nothing."""
        user = (await self._slack.users_info(user=user_id))["user"]
        return bool(
            user.get("is_restricted") or user.get("is_ultra_restricted") or user.get("deleted")
        )


def _remember(cache: OrderedDict[str, _Entry], key: str, entry: _Entry) -> None:
    cache[key] = entry
    cache.move_to_end(key)
    while len(cache) > MAX_ENTRIES:
        cache.popitem(last=False)

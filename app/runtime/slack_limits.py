"""Slack's rate tiers, lived within on our side: bursts queue instead of collecting 429s.

Slack limits each method per workspace token by tier (Tier 2 about 20 calls a minute, Tier 3
about 50, Tier 4 about 100) and chat.postMessage per channel (about one a second, short bursts
allowed). Every call takes a slot of its method's gate first; a slot is free again one window
after its call *ended*, so the calls Slack sees in any window never exceed the limit even when
the network delays some of them. Waiters are served by priority (pages and acknowledgements
before cosmetic calls), first come first served within one. A 429's Retry-After holds the whole
gate: every caller of that method (of that channel, for chat.postMessage) waits it out.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import math
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from enum import IntEnum


class Priority(IntEnum):
    """Who goes first when calls of one method queue: lower values first."""

    URGENT = 0  # pages, acknowledgements
    NORMAL = 1
    COSMETIC = 2  # topic, summary refresh, reactions, pins, bookmarks


@dataclass(frozen=True)
class Limit:
    """At most `calls` calls in any `seconds` (scaled); `per_channel`: one gate per channel."""

    calls: int
    seconds: float
    per_channel: bool = False


# Slack's published tiers ("Tier 2: 20+ per minute"): the floor of each, the rate to live within.
TIERS: dict[str, Limit] = {
    "t1": Limit(1, 60.0),
    "t2": Limit(20, 60.0),
    "t3": Limit(50, 60.0),
    "t4": Limit(100, 60.0),
}
# Tier "t5" is Slack's "special": each such method documents its own rule.
SPECIAL: dict[str, Limit] = {
    "chat.postMessage": Limit(3, 3.0, per_channel=True),  # ~1 a second per channel, bursts of 3
    "auth.test": Limit(600, 60.0),  # "hundreds of requests per minute"
    "chat.getPermalink": Limit(600, 60.0),
}

# The tier of each method the bot calls, as ../shared/slack-spec/methods/<m>.json states it
# (tests/test_slack_limits.py checks this table against the reference).
METHOD_TIERS: dict[str, str] = {
    "apps.connections.open": "t3",
    "auth.test": "t5",
    "bookmarks.add": "t2",
    "bookmarks.edit": "t2",
    "bookmarks.list": "t3",
    "bookmarks.remove": "t2",
    "chat.delete": "t3",
    "chat.getPermalink": "t5",
    "chat.postEphemeral": "t4",
    "chat.postMessage": "t5",
    "chat.update": "t3",
    "conversations.archive": "t2",
    "conversations.create": "t2",
    "conversations.history": "t3",
    "conversations.info": "t3",
    "conversations.invite": "t3",
    "conversations.join": "t3",
    "conversations.list": "t2",
    "conversations.members": "t4",
    "conversations.open": "t3",
    "conversations.rename": "t2",
    "conversations.replies": "t3",
    "conversations.setPurpose": "t2",
    "conversations.setTopic": "t2",
    "files.completeUploadExternal": "t4",
    "files.getUploadURLExternal": "t4",
    "files.info": "t4",
    "pins.add": "t2",
    "pins.list": "t2",
    "pins.remove": "t2",
    "reactions.add": "t3",
    "reactions.remove": "t2",
    "usergroups.list": "t2",
    "usergroups.users.list": "t2",
    "users.conversations": "t3",
    "users.info": "t4",
    "users.lookupByEmail": "t3",
    "views.open": "t4",
    "views.publish": "t4",
    "views.push": "t4",
    "views.update": "t4",
}
UNKNOWN_TIER = "t2"  # a method missing above is paced as the strictest common tier

COSMETIC_METHODS = frozenset(
    {
        "conversations.setTopic",
        "chat.update",
        "reactions.add",
        "reactions.remove",
        "pins.add",
        "bookmarks.add",
        "bookmarks.edit",
        "bookmarks.remove",
    }
)

# Methods that may be sent again blindly after a 5xx or a dropped connection: reads, and writes
# whose second sending changes nothing (or is refused harmlessly: already_pinned). Every other
# method creates something (a channel, a message, a modal, a file): the caller looks first.
RETRY_SAFE_METHODS = frozenset(
    {
        "auth.test",
        "bookmarks.list",
        "chat.getPermalink",
        "chat.update",
        "conversations.history",
        "conversations.info",
        "conversations.invite",
        "conversations.join",
        "conversations.list",
        "conversations.members",
        "conversations.open",
        "conversations.replies",
        "conversations.setTopic",
        "files.info",
        "pins.add",
        "pins.list",
        "reactions.add",
        "reactions.remove",
        "usergroups.list",
        "usergroups.users.list",
        "users.conversations",
        "users.info",
        "users.lookupByEmail",
    }
)

_priority: ContextVar[Priority | None] = ContextVar("slack_priority", default=None)


@contextlib.contextmanager
def slack_priority(priority: Priority | None) -> Iterator[None]:
    """Slack calls made inside (in this task and tasks it starts) queue at `priority`; None
    keeps each method's default."""
    token = _priority.set(priority)
    try:
        yield
    finally:
        _priority.reset(token)


def priority_of(method: str) -> Priority:
    """The priority set by `slack_priority`, else the method's default."""
    chosen = _priority.get()
    if chosen is not None:
        return chosen
    return Priority.COSMETIC if method in COSMETIC_METHODS else Priority.NORMAL


def limit_of(method: str) -> Limit:
    tier = METHOD_TIERS.get(method, UNKNOWN_TIER)
    return SPECIAL.get(method, TIERS["t4"]) if tier == "t5" else TIERS[tier]


def retry_safe(method: str) -> bool:
    return method in RETRY_SAFE_METHODS


class Gate:
    """One method's (or one channel's) window: `calls` slots, each free again `window` seconds
    after its call ended, closed entirely while a Retry-After holds it."""

    def __init__(self, calls: float, window: float, now: Callable[[], float]) -> None:
        self.calls = calls
        self.window = window
        self._now = now
        self._active = 0
        self._ended: deque[float] = deque()
        self.held_until = -math.inf
        self._waiting: list[tuple[int, int]] = []
        self._changed = asyncio.Event()

    @property
    def idle(self) -> bool:
        now = self._now()
        return (
            not self._active
            and not self._waiting
            and self.held_until <= now
            and all(end <= now - self.window for end in self._ended)
        )

    def _free_at(self, now: float) -> float:
        """When the next slot is free: now, a later moment, or inf (all slots in flight)."""
        while self._ended and self._ended[0] <= now - self.window:
            self._ended.popleft()
        if self.held_until > now:
            return self.held_until
        if self._active + len(self._ended) < self.calls:
            return now
        return self._ended[0] + self.window if self._ended else math.inf

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def acquire(self, priority: int, ticket: int) -> None:
        """Wait for a slot: the head of the queue (priority, then ticket) takes the next one."""
        entry = (priority, ticket)
        heapq.heappush(self._waiting, entry)
        try:
            while True:
                changed = self._changed
                timeout: float | None = None
                if self._waiting[0] == entry:
                    now = self._now()
                    free_at = self._free_at(now)
                    if free_at <= now:
                        heapq.heappop(self._waiting)
                        self._active += 1
                        self._notify()  # the next in line becomes the head
                        return
                    timeout = None if free_at == math.inf else free_at - now
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(changed.wait(), timeout)
        except BaseException:
            if entry in self._waiting:
                self._waiting.remove(entry)
                heapq.heapify(self._waiting)
                self._notify()
            raise

    def expected_wait(self) -> float:
        """Roughly how long a call asked for now would wait: 0 when a slot is free and nobody
        is in line; else until the next slot, plus a window's share per caller ahead."""
        now = self._now()
        free_at = self._free_at(now)
        wait = self.window if free_at == math.inf else max(free_at - now, 0.0)
        if self.calls != math.inf and self._waiting:
            wait += len(self._waiting) * self.window / self.calls
        return wait

    def release(self) -> None:
        self._active -= 1
        self._ended.append(self._now())
        self._notify()

    def hold(self, seconds: float) -> None:
        """Slack said Retry-After: nobody goes through this gate before it has passed."""
        self.held_until = max(self.held_until, self._now() + seconds)
        self._notify()


class SlackLimits:
    """Every Slack call's gates. `scale` multiplies the windows (tests shrink them);
    `enabled=False` stops the pacing, while a Retry-After is still honoured."""

    MAX_IDLE_GATES = 1000

    def __init__(
        self,
        *,
        scale: float = 1.0,
        enabled: bool = True,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self.scale = scale
        self.enabled = enabled
        self._now = now
        self._gates: dict[tuple[str, str], Gate] = {}
        self._tickets = itertools.count()
        self._reserved: dict[tuple[str, str], float] = {}  # see `reserve`

    def ticket(self) -> int:
        """A place in line; a call retried after a 429 keeps its own."""
        return next(self._tickets)

    def gate(self, method: str, channel: str | None = None) -> Gate:
        limit = limit_of(method)
        key = (method, (channel or "") if limit.per_channel else "")
        gate = self._gates.get(key)
        if gate is None:
            if len(self._gates) >= self.MAX_IDLE_GATES:
                self._gates = {k: g for k, g in self._gates.items() if not g.idle}
            calls = limit.calls if self.enabled else math.inf
            gate = self._gates[key] = Gate(calls, limit.seconds * self.scale, self._now)
        return gate

    def expected_wait(self, method: str, channel: str | None = None) -> float:
        """Seconds a call of `method` made now would wait for its slot (0: it would go now).
        Work that can as well be done later (an invitation) defers itself instead of queueing
        in front of pages."""
        return self.gate(method, channel).expected_wait()

    def reserve(self, method: str, channel: str | None = None) -> float:
        """Seconds from now to a future slot of `method` reserved for the caller: work that
        waits outside the gate (a deferred step) is given staggered times, one slot's share of
        the window apart, instead of all waking when the next slot frees and crowding out the
        rest (a thundering herd of hundreds of deferred invitations)."""
        limit = limit_of(method)
        key = (method, (channel or "") if limit.per_channel else "")
        now = self._now()
        start = max(self._reserved.get(key, now), now + self.expected_wait(method, channel))
        self._reserved[key] = start + limit.seconds * self.scale / limit.calls
        return start - now

    def reserved(self, method: str, channel: str | None = None) -> bool:
        """Whether deferred work holds reservations still ahead: a new caller that could go
        now should queue behind them (`reserve`) rather than take the slot they wait for."""
        limit = limit_of(method)
        key = (method, (channel or "") if limit.per_channel else "")
        return self._reserved.get(key, -math.inf) > self._now()

    @contextlib.asynccontextmanager
    async def slot(
        self, method: str, channel: str | None, priority: Priority, ticket: int
    ) -> AsyncIterator[Gate]:
        """Hold one slot of the call's gate for the duration of the call."""
        gate = self.gate(method, channel)
        await gate.acquire(priority, ticket)
        try:
            yield gate
        finally:
            gate.release()

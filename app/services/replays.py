"""Refusing exact replays of signed Slack requests, across replicas.

Slack signs every delivery with its own timestamp, retries included, and its signature check
accepts a request for 5 minutes. Within those 5 minutes, a request carrying a signature already
seen is the same timestamp and body sent again: someone re-posting a request they copied (from
a proxy log, a debugging session). The first request's signature is saved in the database, so
every replica knows it; a second one is refused.

Rows are forgotten once their timestamp is far enough in the past that the signature check
refuses them anyway (RETENTION, twice Slack's window, for clocks that disagree a little).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from sqlalchemy.exc import SQLAlchemyError

from app.context import BotContext
from app.store import replays as store

log = logging.getLogger(__name__)

WINDOW = 5 * 60  # seconds: Slack's signature check refuses a timestamp further from now
RETENTION = 2 * WINDOW
PRUNE_EVERY = 60.0  # seconds between purges, per process
# The check is on the path of Slack's 3-second ack: a database busy for longer than this is
# not waited for (the request goes on; see `first_use`).
CHECK_TIMEOUT = 0.25
LOCAL_MAX = 100_000  # signatures kept in memory before old ones are dropped
DATABASE_ERRORS = (SQLAlchemyError, OSError, TimeoutError)


class ReplayGuard:
    """Remembers the signatures of the requests this bot applied; one per web app."""

    def __init__(self, ctx: BotContext, *, now: Callable[[], float] = time.time) -> None:
        self.ctx = ctx
        # Slack's clock, not the bot's: the signature check compares timestamps with time.time.
        self._now = now
        self._last_prune: float | None = None
        # Signatures this process let through, by timestamp (insertion order: oldest first).
        self._seen: dict[str, int] = {}

    async def first_use(self, signature: str, timestamp: str) -> bool:
        """False when a request with this signature was seen before (a replay).

        When the database cannot say (unavailable, or slower than CHECK_TIMEOUT), the request
        is let through and a warning logged: everything a replay could change is written to the
        same database, and the person who acted is then told that it is unavailable, which a
        refusal here would hide from them.
        """
        try:
            request_ts = int(timestamp)
        except ValueError:
            return False  # never: the signature check has read it as a number
        # This process first, with no await before the mark: of concurrent copies arriving
        # here, exactly one passes.
        if signature in self._seen:
            return False
        self._seen[signature] = request_ts
        self._forget_local()
        # Other replicas: a read, which a busy writer does not block (the write happens after
        # the answer; see `_remember`). Two replicas given one replay in the same few
        # milliseconds could both let it through: the window is that of the write.
        try:
            async with asyncio.timeout(CHECK_TIMEOUT), self.ctx.sessions() as session:
                seen = await store.signature_seen(session, signature)
        except DATABASE_ERRORS as exc:
            log.warning(
                "could not check a Slack request for a replay (%s); letting it through",
                type(exc).__name__,
            )
            seen = False
        if seen:
            return False
        self.ctx.tasks.spawn(self._remember(signature, request_ts), name="remember signature")
        self._maybe_prune()
        return True

    async def _remember(self, signature: str, request_ts: int) -> None:
        """Save the signature for the other replicas, off the path of Slack's 3 seconds (a
        write on a busy SQLite file can wait seconds for its lock)."""
        try:
            async with self.ctx.sessions.begin() as session:
                await store.claim_signature(session, signature, request_ts)
        except DATABASE_ERRORS as exc:
            log.warning("could not save a request signature (%s)", type(exc).__name__)

    def _forget_local(self) -> None:
        oldest = int(self._now()) - RETENTION
        if len(self._seen) > LOCAL_MAX or next(iter(self._seen.values())) < oldest:
            self._seen = {k: ts for k, ts in self._seen.items() if ts >= oldest}

    def _maybe_prune(self) -> None:
        """Forget old signatures about once a minute per process, off the request's path."""
        if self._last_prune is not None and time.monotonic() - self._last_prune < PRUNE_EVERY:
            return
        self._last_prune = time.monotonic()
        self.ctx.tasks.spawn(self._prune_quietly(), name="prune request signatures")

    async def _prune_quietly(self) -> None:
        try:
            await self.prune()
        except DATABASE_ERRORS as exc:  # the next purge deletes them
            log.warning("could not forget old request signatures (%s)", type(exc).__name__)

    async def prune(self) -> int:
        """Delete the signatures too old to be replayed; how many were deleted."""
        async with self.ctx.sessions.begin() as session:
            removed = await store.prune_signatures(session, int(self._now()) - RETENTION)
        if removed:
            log.debug("forgot %d request signatures", removed)
        return removed

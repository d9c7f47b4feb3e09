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
# The check is on the path of Slack's 3 seconds: a database that does not answer by then is
# not waited for (the request goes on; see `first_use`).
CHECK_TIMEOUT = 1.0
DATABASE_ERRORS = (SQLAlchemyError, OSError, TimeoutError)


class ReplayGuard:
    """Remembers the signatures of the requests this bot applied; one per web app."""

    def __init__(self, ctx: BotContext, *, now: Callable[[], float] = time.time) -> None:
        self.ctx = ctx
        # Slack's clock, not the bot's: the signature check compares timestamps with time.time.
        self._now = now
        self._last_prune: float | None = None

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
        try:
            async with asyncio.timeout(CHECK_TIMEOUT):
                async with self.ctx.sessions.begin() as session:
                    first = await store.claim_signature(session, signature, request_ts)
        except DATABASE_ERRORS as exc:
            log.warning(
                "could not check a Slack request for a replay (%s); letting it through",
                type(exc).__name__,
            )
            return True
        self._maybe_prune()
        return first

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

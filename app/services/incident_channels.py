"""Which Slack channels are incident channels, answered from memory on the hot path."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable

from sqlalchemy.ext.asyncio import async_sessionmaker

from app.store import incidents as store

NEGATIVE_TTL = 60.0
NEGATIVE_MAX = 50_000


class IncidentChannels:
    """Maps incident channel ids to incident ids, so events elsewhere cost no database query.

    The bot hears every reaction and message edit in every channel it is a member of, and almost
    all of them are in ordinary channels. Those must be dropped without touching the database.

    - **Known incident channels** are loaded once at start (`load`) and added as soon as setup
      saves a channel id (`add`). An incident's channel never changes, so they never expire.
    - **Unknown channels** are looked up in the database once, and a "not an incident channel"
      answer is remembered for `NEGATIVE_TTL` seconds (at most `NEGATIVE_MAX` channels, oldest
      dropped first). Concurrent lookups of one channel share a single query.

    Why per-channel lookups with short-lived negatives rather than reloading the whole set every
    N seconds: with several replicas, an incident channel is often created by another replica
    than the one that receives its first reaction. A periodic reload would ignore that channel
    until the next reload. Its id, though, is new (Slack made it a moment ago), so no replica can
    hold a stale "no" for it: the first event asks the database and finds it. The worst cost is
    one indexed query per busy ordinary channel per minute, whatever the event rate. A stale "no"
    could only arise for a channel that existed before becoming an incident channel; it would
    then last at most `NEGATIVE_TTL` seconds on the replicas that did not make the change.
    """

    def __init__(
        self,
        sessions: async_sessionmaker,
        *,
        negative_ttl: float = NEGATIVE_TTL,
        negative_max: int = NEGATIVE_MAX,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sessions = sessions
        self._negative_ttl = negative_ttl
        self._negative_max = negative_max
        self._monotonic = monotonic
        self._known: dict[str, int] = {}
        self._not_incident: OrderedDict[str, float] = OrderedDict()  # channel -> expiry
        self._pending: dict[str, asyncio.Future[int | None]] = {}
        self._loaded = False
        self._load_lock = asyncio.Lock()
        self.lookups = 0  # database lookups of single channels, for tests and metrics

    async def load(self) -> None:
        """Read every incident channel id; called at start and before the first lookup."""
        async with self._load_lock:
            if self._loaded:
                return
            async with self._sessions() as session:
                self._known.update(await store.channel_ids(session))
            self._loaded = True

    def add(self, channel_id: str, incident_id: int) -> None:
        """Setup saved `channel_id` for `incident_id`: its events count from now on."""
        self._known[channel_id] = incident_id
        self._not_incident.pop(channel_id, None)

    def known_not_incident(self, channel_id: str) -> bool:
        """True when memory alone says `channel_id` is not an incident channel (no I/O)."""
        expiry = self._not_incident.get(channel_id)
        if expiry is None:
            return False
        if expiry <= self._monotonic():
            del self._not_incident[channel_id]
            return False
        return True

    async def incident_for(self, channel_id: str) -> int | None:
        """The incident whose channel this is, or None; at most one query per unknown channel."""
        if not self._loaded:
            await self.load()
        if (incident_id := self._known.get(channel_id)) is not None:
            return incident_id
        if self.known_not_incident(channel_id):
            return None
        if (pending := self._pending.get(channel_id)) is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()
        self._pending[channel_id] = future
        try:
            self.lookups += 1
            async with self._sessions() as session:
                incident_id = await store.id_for_channel(session, channel_id)
            if incident_id is None:
                self._remember_not_incident(channel_id)
            else:
                self._known[channel_id] = incident_id
            future.set_result(incident_id)
            return incident_id
        except asyncio.CancelledError:
            future.cancel()
            raise
        except Exception as exc:
            future.set_exception(exc)
            future.exception()  # marked retrieved: with no other waiter, asyncio would log it
            raise
        finally:
            del self._pending[channel_id]

    def _remember_not_incident(self, channel_id: str) -> None:
        self._not_incident[channel_id] = self._monotonic() + self._negative_ttl
        self._not_incident.move_to_end(channel_id)
        while len(self._not_incident) > self._negative_max:
            self._not_incident.popitem(last=False)

"""Telling schedulers that a step was planned, once the plan is committed.

`note_due(session, due)` is called wherever a step's `next_attempt_at` is set (a new step, a
moved one). At commit, `watch_commits` (installed by `app.wiring.build`) hands the earliest
noted time to this process's alarm; on PostgreSQL the same transaction also sends
`NOTIFY incident_bot_steps, '<due>'`, which PostgreSQL delivers to the other replicas only if
and when it commits. `listen` keeps one dedicated connection LISTENing for them, reconnecting
when it drops. SQLite has no notifications: other processes rely on their fallback tick.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

CHANNEL = "incident_bot_steps"
_DUE = "incident_bot.due"  # session.info key: the earliest due time planned in this transaction
PING_EVERY = 30.0  # seconds: a silently dropped LISTEN connection is noticed this soon
RECONNECT_MAX = 10.0

OnDue = Callable[[datetime | None], None]


def note_due(session: AsyncSession, due: datetime) -> None:
    """Remember that this transaction makes a step due at `due` (announced at commit)."""
    noted = session.info.get(_DUE)
    if noted is None or due < noted:
        session.info[_DUE] = due


def watch_commits(
    sessions: async_sessionmaker[AsyncSession], alarm: Callable[[datetime], None]
) -> None:
    """Make `sessions` announce noted due times: NOTIFY in the commit, `alarm(due)` after it.

    The listeners are on a session class of these sessions' own, so two contexts in one
    process (tests, benchmarks) never hear each other's commits.
    """
    base = sessions.kw.get("sync_session_class", Session)
    watched: type[Session] = type("WatchedSession", (base,), {})
    sessions.configure(sync_session_class=watched)

    @event.listens_for(watched, "before_commit")
    def _notify(session: Session) -> None:
        due = session.info.get(_DUE)
        if due is not None and session.get_bind().dialect.name == "postgresql":
            session.execute(
                text("SELECT pg_notify(:channel, :due)"),
                {"channel": CHANNEL, "due": due.isoformat()},
            )

    @event.listens_for(watched, "after_commit")
    def _wake(session: Session) -> None:
        due = session.info.pop(_DUE, None)
        if due is not None:
            alarm(due)

    @event.listens_for(watched, "after_rollback")
    def _forget(session: Session) -> None:
        session.info.pop(_DUE, None)


def _parse(payload: str) -> datetime | None:
    try:
        return datetime.fromisoformat(payload)
    except ValueError:
        return None


async def listen(engine: AsyncEngine, on_due: OnDue) -> None:
    """LISTEN until cancelled, calling `on_due(due)` for each notice from any replica.

    `on_due(None)` is called each time the connection is (re)made: notices sent while it was
    down are lost, so the caller should look for due steps then.
    """
    backoff = 0.5
    while True:
        try:
            async with engine.connect() as conn:
                try:
                    await _listen_on(conn, on_due)
                finally:
                    # Never back to the pool: it would still be listening for another user.
                    await conn.invalidate()
            backoff = 0.5
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - the database is away; try again later
            log.warning("LISTEN %s: connection lost (%s); reconnecting", CHANNEL, exc)
        await asyncio.sleep(backoff)
        backoff = min(backoff * 2, RECONNECT_MAX)


async def _listen_on(conn: Any, on_due: OnDue) -> None:
    raw = await conn.get_raw_connection()
    driver = raw.driver_connection  # the asyncpg connection itself
    lost = asyncio.Event()

    def notified(_conn: Any, _pid: int, _channel: str, payload: str) -> None:
        on_due(_parse(payload))

    driver.add_termination_listener(lambda _conn: lost.set())
    await driver.add_listener(CHANNEL, notified)
    log.debug("listening on %s", CHANNEL)
    on_due(None)
    while not lost.is_set():
        try:
            await asyncio.wait_for(lost.wait(), PING_EVERY)
        except TimeoutError:
            await driver.execute("SELECT 1")  # raises if the connection died without a word
    raise ConnectionError("the LISTEN connection was closed")

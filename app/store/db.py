"""Engine and session factory, one per process."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import CursorResult, Executable, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)


def make_engine(url: str) -> AsyncEngine:
    """An engine tuned for the database behind `url`."""
    if url.startswith("sqlite"):
        # hide_parameters: an error's message never carries a statement's values (titles).
        engine = create_async_engine(url, connect_args={"timeout": 30}, hide_parameters=True)

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # WAL lets readers work while a writer commits; foreign keys are off by default.
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    # Fail fast when PostgreSQL is unreachable: a request waiting on it has Slack's 3 s to answer.
    return create_async_engine(
        url,
        hide_parameters=True,
        pool_pre_ping=True,
        pool_size=10,
        max_overflow=10,
        pool_timeout=5,
        connect_args={"timeout": 5},
    )


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


async def ping(engine: AsyncEngine) -> None:
    """Raise if the database cannot answer a trivial query."""
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


async def changed_rows(session: AsyncSession, statement: Executable) -> int:
    """Run an INSERT, UPDATE or DELETE in `session`; how many rows it touched."""
    result = cast("CursorResult[Any]", await session.execute(statement))
    return int(result.rowcount or 0)


def insert_for(session: AsyncSession) -> Any:
    """The INSERT construct of the session's dialect: both spell ON CONFLICT, differently."""
    dialect = session.bind.dialect.name if session.bind else "sqlite"
    return postgresql.insert if dialect == "postgresql" else sqlite.insert

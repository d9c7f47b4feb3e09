"""Reaching the database from the command line: one line saying what is wrong and the fix.

Every subcommand that needs the database calls `reachable` first, so a wrong port, a missing
database or a SQLite path in a missing folder is one sentence naming DATABASE_URL (exit 2),
not a driver's traceback. `migration_state` tells `check` and `export` whether the schema is
current.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL, make_url

from app.cli.common import CliError

CONNECT_TIMEOUT = 5.0


@dataclass(frozen=True)
class MigrationState:
    current: str | None  # None: no schema yet
    head: str
    known: bool  # whether this version of the bot knows `current`

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head

    def describe(self) -> str:
        """`0009_workers (up to date)`, or what is behind and the command that fixes it."""
        if self.up_to_date:
            return f"{self.current} (up to date)"
        if self.current is None:
            return f"no schema yet (head is {self.head}): run incident-bot migrate"
        if not self.known:
            return (
                f"at {self.current}, a revision this version does not know (head is {self.head}):"
                " the database was migrated by a newer incident-bot; upgrade this one"
            )
        return f"at {self.current}, behind {self.head}: run incident-bot migrate"


def sqlite_path(url: URL) -> Path | None:
    """The file of a SQLite URL (None for PostgreSQL or an in-memory database)."""
    if not url.drivername.startswith("sqlite") or url.database in (None, "", ":memory:"):
        return None
    return Path(str(url.database))


def reachable(database_url: str) -> None:
    """Raise CliError unless the database answers (a SQLite file may be created later)."""
    url = make_url(database_url)
    path = sqlite_path(url)
    if path is not None:
        _check_sqlite_path(path)
        if not path.exists():
            return  # migrate (or serve) creates it
    try:
        asyncio.run(asyncio.wait_for(_ping(database_url), CONNECT_TIMEOUT * 2))
    except CliError:
        raise
    except Exception as exc:  # noqa: BLE001 - every driver error becomes one sentence
        raise CliError(explain(exc, url)) from None


def _check_sqlite_path(path: Path) -> None:
    folder = path.parent
    if not folder.is_dir():
        raise CliError(
            f"DATABASE_URL: the folder {folder} of the SQLite file does not exist: create it "
            f"(mkdir -p {folder}) or set DATABASE_URL to a file in an existing folder."
        )
    if path.is_dir():
        raise CliError(
            f"DATABASE_URL: {path} is a folder, not a SQLite file: set DATABASE_URL to a file "
            f"path such as sqlite:///{path / 'incident-bot.db'}."
        )


async def _ping(database_url: str) -> None:
    from app.store.db import make_engine, ping

    engine = make_engine(database_url)
    try:
        await ping(engine)
    finally:
        await engine.dispose()


def explain(exc: BaseException, url: URL) -> str:
    """One line for a failed connection: what happened, and what to change."""
    where = f"{url.host or 'localhost'}:{url.port or 5432}"
    orig = getattr(exc, "orig", None) or exc
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    detail = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    if isinstance(exc, ConnectionRefusedError):
        return (
            f"DATABASE_URL: nothing answers at {where} (connection refused): start PostgreSQL "
            "there, or set DATABASE_URL to the host and port it listens on."
        )
    if isinstance(exc, socket.gaierror):
        return (
            f"DATABASE_URL: host {url.host!r} not found: set DATABASE_URL to a host name this "
            "machine can resolve."
        )
    if isinstance(exc, TimeoutError):
        return (
            f"DATABASE_URL: {where} did not answer within {CONNECT_TIMEOUT:.0f} s: check that "
            "PostgreSQL runs there and that no firewall is in the way."
        )
    if code == "3D000":
        return (
            f"DATABASE_URL: database {url.database!r} does not exist on {where}: create it "
            f"(createdb -h {url.host or 'localhost'} -p {url.port or 5432} "
            f"-U {url.username or 'postgres'} {url.database}) or fix the name in DATABASE_URL."
        )
    if code in ("28000", "28P01"):
        return (
            f"DATABASE_URL: {where} refused the login ({detail}): fix the user or password in "
            "DATABASE_URL."
        )
    if url.drivername.startswith("sqlite"):
        return f"DATABASE_URL: cannot open the SQLite file {url.database} ({detail}): check it."
    return (
        f"DATABASE_URL: cannot connect to {url.render_as_string(hide_password=True)} "
        f"({type(orig).__name__}: {detail}): check DATABASE_URL."
    )


def migration_state(database_url: str) -> MigrationState:
    """The schema's revision against the newest this version ships."""
    from alembic.script import ScriptDirectory

    from app.store.migrate import alembic_config

    scripts = ScriptDirectory.from_config(alembic_config(database_url))
    head = scripts.get_current_head() or ""
    path = sqlite_path(make_url(database_url))
    current = None if path is not None and not path.exists() else _current(database_url)
    known = current is None or current in {script.revision for script in scripts.walk_revisions()}
    return MigrationState(current=current, head=head, known=known)


def _current(database_url: str) -> str | None:
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy.engine import Connection

    from app.store.db import make_engine

    def read(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    async def run() -> str | None:
        engine = make_engine(database_url)
        try:
            async with engine.connect() as conn:
                return await conn.run_sync(read)
        finally:
            await engine.dispose()

    # Reading the revision is not migrating: keep alembic's "Context impl ..." lines out.
    alembic_log = logging.getLogger("alembic.runtime.migration")
    level = alembic_log.level
    alembic_log.setLevel(logging.WARNING)
    try:
        return asyncio.run(run())
    except Exception as exc:  # noqa: BLE001 - reachable() passed; say what changed since
        raise CliError(explain(exc, make_url(database_url))) from None
    finally:
        alembic_log.setLevel(level)

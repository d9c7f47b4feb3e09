"""`incident-bot migrate`: bring the database schema up to date, and nothing else."""

from __future__ import annotations

import argparse

from app.cli import database
from app.cli.common import CliError, Command, configure_logs, safe_url, settings
from app.config.settings import Settings


def upgrade(settings: Settings) -> None:
    """Apply every migration not yet applied; one-line CliError when the database refuses."""
    from alembic.util import CommandError
    from sqlalchemy.exc import SQLAlchemyError

    from app.store.migrate import upgrade as alembic_upgrade

    database.reachable(settings.database_url)
    state = database.migration_state(settings.database_url)
    if not state.known:
        raise CliError(f"database: {state.describe()}.")
    try:
        alembic_upgrade(settings.database_url)
    except (CommandError, SQLAlchemyError, OSError) as exc:
        detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise CliError(f"database: migration failed ({type(exc).__name__}: {detail}).", 1) from None
    print(f"database is up to date ({safe_url(settings.database_url)})")


def run(_args: argparse.Namespace) -> int:
    loaded = settings(slack=False)
    configure_logs(loaded)
    upgrade(loaded)
    return 0


COMMAND = Command(
    name="migrate",
    summary="create or upgrade the database schema, then exit",
    description=(
        "Create the database schema, or upgrade it to this version's, then exit. It needs only "
        "DATABASE_URL (no Slack token), so it can run as a pre-deploy job; `serve` also "
        "migrates when it starts, and replicas starting together migrate one at a time."
    ),
    run=run,
)

"""`incident-bot export`: an incident's documents or record, read from the database alone."""

from __future__ import annotations

import argparse
import asyncio
import sys

from app.cli import database
from app.cli.common import EXIT_FAILED, CliError, Command, configure_logs, safe_url, settings
from app.config.settings import Settings
from app.domain.documents import IncidentRecord


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("incident_id", metavar="INC-YYYYMMDD-NNN", help="the incident's id")
    parser.add_argument(
        "--format", choices=("md", "json"), default="md", help="Markdown (default) or JSON"
    )
    parser.add_argument(
        "--doc",
        choices=("log", "postmortem"),
        default="log",
        help="which Markdown document: the incident log (default) or the post-mortem",
    )


def read(settings: Settings, public_id: str) -> IncidentRecord | None:
    from sqlalchemy.exc import SQLAlchemyError

    from app.services.documents import record_by_public_id
    from app.store.db import make_engine, make_sessionmaker

    async def fetch() -> IncidentRecord | None:
        engine = make_engine(settings.database_url)
        try:
            return await record_by_public_id(make_sessionmaker(engine), public_id)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(fetch())
    except (SQLAlchemyError, OSError) as exc:
        raise CliError(
            f"cannot read {safe_url(settings.database_url)} ({type(exc).__name__}).", EXIT_FAILED
        ) from None


def run(args: argparse.Namespace) -> int:
    from app.domain.naming import parse_incident_id
    from app.services.documents import record_json, render

    public_id = args.incident_id.strip()
    if parse_incident_id(public_id) is None:
        raise CliError(f"{public_id!r} is not an incident id like INC-20261128-001", EXIT_FAILED)
    loaded = settings(slack=False)
    configure_logs(loaded)
    database.reachable(loaded.database_url)
    state = database.migration_state(loaded.database_url)
    if not state.up_to_date:
        raise CliError(f"database: {state.describe()}.")
    record = read(loaded, public_id)
    if record is None:
        raise CliError(f"no incident {public_id.upper()}", EXIT_FAILED)
    if args.format == "json":
        print(record_json(record))
    else:
        sys.stdout.write(render(record, args.doc, loaded.tz))
    return 0


COMMAND = Command(
    name="export",
    summary="print an incident's log, post-mortem or JSON record",
    description=(
        "Print an incident's incident log or post-mortem draft (Markdown), or its whole record "
        "(JSON), from the database alone: no Slack call and no Slack token, so it works when "
        "Slack is down. Example: incident-bot export INC-20261128-001 --doc postmortem"
    ),
    run=run,
    add_arguments=add_arguments,
)

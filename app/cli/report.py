"""`incident-bot report`: the report against the plan for a period, from the database alone."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, date, datetime

from app.cli import database
from app.cli.common import (
    EXIT_FAILED,
    CliError,
    Command,
    configure_logs,
    policy,
    safe_url,
    settings,
)
from app.config.settings import Settings
from app.domain.periods import Period
from app.domain.policy import Policy
from app.domain.report import Report


def _day(text: str | None, option: str) -> date | None:
    """The day an option names; a ValueError (one line, exit 2) for anything else. Checked
    here rather than by argparse, whose errors are a usage block."""
    if text is None:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{option} {text!r} is not a day like 2026-07-01") from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--since", metavar="YYYY-MM-DD", help="first day included")
    parser.add_argument("--until", metavar="YYYY-MM-DD", help="last day included (default: today)")
    parser.add_argument(
        "--quarter",
        metavar="2026Q3",
        help='a quarter: 2026Q3, 2026-Q3, Q3, "last" or "this" (default: the last full quarter)',
    )
    parser.add_argument(
        "--format",
        metavar="md|json|csv",
        default="md",
        help="Markdown (default), JSON (durations in seconds) or CSV (scope,metric,value,unit)",
    )


def period(args: argparse.Namespace, now: datetime, loaded: Settings) -> Period:
    """The period the options name; a CliError (exit 2) for a wrong or contradictory one."""
    from app.domain.periods import days_period, parse_period
    from app.domain.report_render import FORMATS

    try:
        if args.format not in FORMATS:
            raise ValueError(f"--format {args.format!r} is not one of {', '.join(FORMATS)}")
        since, until = _day(args.since, "--since"), _day(args.until, "--until")
        if args.quarter is not None:
            if since is not None or until is not None:
                raise ValueError("give --quarter or --since/--until, not both")
            return parse_period(args.quarter, now, loaded.tz)
        return days_period(since, until, now, loaded.tz)
    except ValueError as exc:
        raise CliError(f"report: {exc}") from None


def read(loaded: Settings, current: Policy, chosen: Period, now: datetime) -> Report:
    from sqlalchemy.exc import SQLAlchemyError

    from app.services.reports import report_from
    from app.store.db import make_engine, make_sessionmaker

    async def fetch() -> Report:
        engine = make_engine(loaded.database_url)
        try:
            return await report_from(
                make_sessionmaker(engine),
                current,
                loaded.tz,
                now,
                chosen.since,
                chosen.until,
                label=chosen.label,
            )
        finally:
            await engine.dispose()

    try:
        return asyncio.run(fetch())
    except (SQLAlchemyError, OSError) as exc:
        raise CliError(
            f"cannot read {safe_url(loaded.database_url)} ({type(exc).__name__}).", EXIT_FAILED
        ) from None


def run(args: argparse.Namespace) -> int:
    from app.domain.report_render import render

    loaded = settings(slack=False)
    configure_logs(loaded)
    now = datetime.now(UTC)
    chosen = period(args, now, loaded)
    current = policy(loaded.policy_file)
    database.reachable(loaded.database_url)
    state = database.migration_state(loaded.database_url)
    if not state.up_to_date:
        raise CliError(f"database: {state.describe()}.")
    report = read(loaded, current, chosen, now)
    sys.stdout.write(render(report, args.format, loaded.tz))
    return 0


COMMAND = Command(
    name="report",
    summary="print the report against the plan for a period (a quarter by default)",
    description=(
        "Print how the period's incidents did against the plan they were declared under: "
        "MTTA and MTTR, response targets met, the plan's phases, update cadence, reviews, "
        "action items, pages per level, incident types and alert sources, and a trend. From "
        "the database alone (no Slack call). The period is the last full quarter unless "
        "--quarter or --since/--until say otherwise, in TIMEZONE. Example: "
        "incident-bot report --quarter 2026Q3 --format csv"
    ),
    run=run,
    add_arguments=add_arguments,
)

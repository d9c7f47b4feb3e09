"""`incident-bot serve | migrate | check | export`: configuration errors are one line and exit 2."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

from app import __version__
from app.config.policy_loader import load_policy
from app.config.runbooks import load_runbooks
from app.config.settings import ConfigError, Settings, load_settings
from app.domain.policy import ALERT_SOURCES, Policy, PolicyError
from app.domain.runbooks import Runbooks

EXIT_CONFIG = 2
log = logging.getLogger("app")


def _load() -> tuple[Settings, Policy, Runbooks]:
    settings = load_settings()
    policy = load_policy(settings.policy_file)
    runbooks = load_runbooks(settings.runbooks_dir)
    return settings, policy, runbooks


def runbook_warnings(policy: Policy, runbooks: Runbooks) -> list[str]:
    """Alert rules naming an incident type no runbook provides (they declare without one)."""
    return [
        f"alerts.rules[{index}].type: no runbook {rule.type!r} in {runbooks.source} runbooks "
        f"(known: {', '.join(runbooks.keys)}); incidents it declares get no checklist"
        for index, rule in enumerate(policy.alerts.rules)
        if rule.type and rule.type not in runbooks
    ]


def cmd_migrate(settings: Settings) -> int:
    from app.store.migrate import upgrade

    upgrade(settings.database_url)
    print(f"database is up to date ({_safe_url(settings.database_url)})")
    return 0


def cmd_serve(settings: Settings, policy: Policy, runbooks: Runbooks) -> int:
    from app.server import serve

    for warning in runbook_warnings(policy, runbooks):
        log.warning("policy: %s", warning)
    cmd_migrate(settings)
    asyncio.run(serve(settings, policy, runbooks))
    return 0


def cmd_check(settings: Settings, policy: Policy, runbooks: Runbooks) -> int:
    """Print what the bot found, and whether Slack accepts the token."""
    from app.wiring import make_slack_client

    print(f"incident-bot {__version__}")
    print(f"database: {_safe_url(settings.database_url)}")
    print(
        f"policy: {settings.policy_file or 'built-in default'} "
        f"({len(policy.severity_keys)} severities, {len(policy.escalation.levels)} levels)"
    )
    print(f"runbooks: {runbooks.source} ({', '.join(runbooks.keys)})")
    for warning in runbook_warnings(policy, runbooks):
        print(f"warning: {warning}")
    print(
        f"mode: {'Socket Mode' if settings.socket_mode else 'HTTP'}; time zone {settings.timezone}"
    )
    enabled = [source for source in ALERT_SOURCES if settings.alert_source_enabled(source)]
    print(
        "alert webhooks: "
        + (", ".join(enabled) if enabled else "disabled (ALERT_WEBHOOK_TOKEN unset)")
    )

    async def auth() -> dict:
        client = make_slack_client(settings)
        return (await client.auth_test()).data  # type: ignore[return-value]

    try:
        result = asyncio.run(auth())
    except Exception as exc:  # noqa: BLE001 - report whatever Slack or the network said
        error = getattr(getattr(exc, "response", None), "get", lambda _k: None)("error")
        print(
            f"slack: auth.test failed: {error or type(exc).__name__}: check SLACK_BOT_TOKEN "
            "and SLACK_API_URL",
            file=sys.stderr,
        )
        return 1
    print(
        f"slack: connected to {result.get('team')} as {result.get('user')} "
        f"({result.get('user_id')})"
    )
    return 0


def cmd_export(settings: Settings, public_id: str, fmt: str, document: str) -> int:
    """Print an incident's log or post-mortem (Markdown), or its record (JSON), from the store.

    It reads the database only: no Slack call, so it also works when Slack is unreachable.
    """
    from sqlalchemy.exc import SQLAlchemyError

    from app.domain.documents import IncidentRecord
    from app.domain.naming import parse_incident_id
    from app.services.documents import record_by_public_id, record_json, render
    from app.store.db import make_engine, make_sessionmaker

    if parse_incident_id(public_id) is None:
        print(
            f"incident-bot: {public_id!r} is not an incident id like INC-20261128-001",
            file=sys.stderr,
        )
        return 1

    async def read() -> IncidentRecord | None:
        engine = make_engine(settings.database_url)
        try:
            return await record_by_public_id(make_sessionmaker(engine), public_id.strip())
        finally:
            await engine.dispose()

    try:
        record = asyncio.run(read())
    except (SQLAlchemyError, OSError) as exc:
        print(
            f"incident-bot: cannot read {_safe_url(settings.database_url)} "
            f"({type(exc).__name__}); is it migrated (`incident-bot migrate`)?",
            file=sys.stderr,
        )
        return 1
    if record is None:
        print(f"incident-bot: no incident {public_id.strip().upper()}", file=sys.stderr)
        return 1
    if fmt == "json":
        print(record_json(record))
    else:
        sys.stdout.write(render(record, document, settings.tz))  # type: ignore[arg-type]
    return 0


def _safe_url(url: str) -> str:
    """The database URL without its password."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="incident-bot", description=__doc__)
    parser.add_argument("--version", action="version", version=__version__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="apply migrations and serve the bot")
    sub.add_parser("migrate", help="apply database migrations only")
    sub.add_parser("check", help="validate configuration and policy, and call auth.test")
    export = sub.add_parser("export", help="print an incident's log or post-mortem")
    export.add_argument("incident_id", metavar="INC-YYYYMMDD-NNN")
    export.add_argument(
        "--format", choices=("md", "json"), default="md", help="Markdown (default) or JSON"
    )
    export.add_argument(
        "--doc",
        choices=("log", "postmortem"),
        default="log",
        help="which Markdown document: the incident log (default) or the post-mortem",
    )
    args = parser.parse_args(argv)

    try:
        settings, policy, runbooks = _load()
    except (ConfigError, PolicyError) as exc:
        print(f"incident-bot: {exc}", file=sys.stderr)
        return EXIT_CONFIG

    from app.logs import configure

    configure(
        settings.log_level,
        settings.log_format,
        secrets=settings.secrets,
        slack_bodies=settings.log_slack_bodies,
    )
    if args.command == "migrate":
        return cmd_migrate(settings)
    if args.command == "check":
        return cmd_check(settings, policy, runbooks)
    if args.command == "export":
        return cmd_export(settings, args.incident_id, args.format, args.doc)
    return cmd_serve(settings, policy, runbooks)


if __name__ == "__main__":
    sys.exit(main())

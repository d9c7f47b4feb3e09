"""`incident-bot check`: the whole setup, verified the way `serve` would use it."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime
from typing import Any

from app import __version__
from app.cli import database
from app.cli.check_web import check_web
from app.cli.common import (
    EXIT_CONFIG,
    EXIT_FAILED,
    Command,
    configure_logs,
    policy_and_runbooks,
    runbook_warnings,
    safe_url,
    settings,
)
from app.cli.simulate import hours_summary
from app.cli.trackers import check_tickets
from app.config.settings import Settings
from app.config.slack_scopes import missing_scopes
from app.domain.escalation import level_names
from app.domain.policy import ALERT_SOURCES, Policy
from app.domain.simulation import empty_levels


def empty_level_warnings(policy: Policy) -> list[str]:
    """One line per severity whose chain has levels with nobody in `notify`."""
    warnings = []
    for key in policy.severity_keys:
        empty = empty_levels(policy, key)
        if empty:
            warnings.append(
                f"{key} pages nobody at {level_names(empty)}: list Slack user ids, "
                "@usergroups or emails in their escalation.levels[].notify (POLICY_FILE)"
            )
    return warnings


def channel_warnings(settings: Settings, policy: Policy) -> list[str]:
    """Levels paging by a channel whose settings are unset (that channel's pages are skipped,
    with one note in the incident's timeline)."""
    ready = {
        "email": settings.email_configured,
        "sms": settings.twilio_configured,
        "voice": settings.twilio_configured and settings.public_url is not None,
        "pagerduty": settings.pagerduty_configured,
    }
    needs = {
        "email": "SMTP_HOST and SMTP_FROM",
        "sms": "TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM_NUMBER",
        "voice": "the TWILIO_* settings and PUBLIC_URL",
        "pagerduty": "PAGERDUTY_ROUTING_KEY",
    }
    warnings = []
    for level in policy.escalation.levels:
        for channel in level.channels:
            if channel in ready and not ready[channel]:
                warnings.append(
                    f"{level.key} pages by {channel}, but {needs[channel]} are not set: those "
                    "pages are skipped"
                )
    return warnings


def slack_identity(settings: Settings) -> tuple[dict[str, Any], str | None]:
    """auth.test's answer, and the scopes Slack says the token has (None: not reported)."""
    from app.wiring import make_slack_client

    async def auth() -> tuple[dict[str, Any], str | None]:
        response = await make_slack_client(settings).auth_test()
        headers = {name.lower(): value for name, value in (response.headers or {}).items()}
        scopes = headers.get("x-oauth-scopes")
        if isinstance(scopes, list):  # slack-sdk keeps repeated headers as lists
            scopes = ",".join(scopes)
        return dict(response.data), scopes  # type: ignore[arg-type]

    return asyncio.run(auth())


def check_slack(settings: Settings) -> bool:
    """Print who the token is and which needed scopes it lacks; whether all is well."""
    try:
        result, scopes = slack_identity(settings)
    except Exception as exc:  # noqa: BLE001 - report whatever Slack or the network said
        error = getattr(getattr(exc, "response", None), "get", lambda _k: None)("error")
        print(
            f"slack: auth.test failed: {error or type(exc).__name__}: check SLACK_BOT_TOKEN "
            "and SLACK_API_URL",
            file=sys.stderr,
        )
        return False
    print(
        f"slack: connected to {result.get('team')} as {result.get('user')} "
        f"({result.get('user_id')})"
    )
    if scopes is None:
        print("slack scopes: not reported by Slack (no x-oauth-scopes header)")
        return True
    missing = missing_scopes(scopes)
    if missing:
        print(
            f"slack scopes: missing {', '.join(missing)}: add them under OAuth & Permissions "
            "(or from manifest.yml), then reinstall the app to the workspace",
            file=sys.stderr,
        )
        return False
    print("slack scopes: all granted")
    return True


def run(_args: argparse.Namespace) -> int:
    loaded = settings(slack=True)
    policy, runbooks = policy_and_runbooks(loaded)
    configure_logs(loaded)
    print(f"incident-bot {__version__}")
    database.reachable(loaded.database_url)
    state = database.migration_state(loaded.database_url)
    print(f"database: {state.describe()}; {safe_url(loaded.database_url)}")
    print(
        f"policy: {loaded.policy_file or 'built-in default'} "
        f"({len(policy.severity_keys)} severities, {len(policy.escalation.levels)} levels)"
    )
    for warning in empty_level_warnings(policy):
        print(f"warning: {warning}")
    print(f"runbooks: {runbooks.source} ({', '.join(runbooks.keys)})")
    for warning in runbook_warnings(policy, runbooks):
        print(f"warning: {warning}")
    print(f"mode: {'Socket Mode' if loaded.socket_mode else 'HTTP'}; time zone {loaded.timezone}")
    enabled = [source for source in ALERT_SOURCES if loaded.alert_source_enabled(source)]
    print(
        "alert webhooks: "
        + (", ".join(enabled) if enabled else "disabled (ALERT_WEBHOOK_TOKEN unset)")
    )
    print(hours_summary(policy))
    print(f"on call: {', '.join(policy.oncall.schedules) or 'no schedules'}")
    for warning in channel_warnings(loaded, policy):
        print(f"warning: {warning}")
    tickets = check_tickets(loaded, policy.tickets)
    web = check_web(loaded, policy, datetime.now(UTC), state)
    if not state.known or EXIT_CONFIG in (tickets, web):
        return EXIT_CONFIG
    return 0 if check_slack(loaded) and tickets == web == 0 else EXIT_FAILED


COMMAND = Command(
    name="check",
    summary="verify settings, policy, database and Slack token, then exit",
    description=(
        "Verify the setup without serving: every setting, the policy and runbooks, the "
        "database (reachable, and its migration state against this version's), levels that "
        "page nobody, the Slack token (auth.test) with any scope it lacks, and the issue "
        "trackers (the policy's tickets: provider, and every tracker with credentials set, "
        "by one read-only call), the dashboard, the status page, the Atlassian Statuspage "
        "sync (its page and the services' components, read-only) and the plan review. Exit 0 "
        "when ready, 1 when Slack, the tracker or Statuspage refuses, 2 "
        "when a setting or the database needs fixing."
    ),
    run=run,
)

"""`incident-bot serve`: check what can be checked before starting, migrate, then serve."""

from __future__ import annotations

import argparse
import asyncio
import errno
import logging
import os
import socket

from app.cli import database
from app.cli.common import (
    CliError,
    Command,
    configure_logs,
    policy_and_runbooks,
    runbook_warnings,
    settings,
)
from app.cli.migrate import upgrade
from app.config.settings import Settings

log = logging.getLogger("app")


def check_port(setting: str, host: str, port: int, host_setting: str = "HOST") -> None:
    """Raise CliError when `host:port` cannot be listened on (in use, or not this machine's).

    Bound and released at once, with SO_REUSEADDR as uvicorn binds, so a port left in
    TIME_WAIT by the previous run is not reported.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            named = setting
            if exc.errno == errno.EADDRINUSE:
                reason = f"another process listens there: stop it, or set {setting} to a free port"
            elif exc.errno in (errno.EACCES, errno.EPERM):
                reason = f"ports below 1024 need privileges: set {setting} to a port above 1023"
            else:
                named = host_setting
                reason = f"{exc.strerror or exc}: set {host_setting} to an address of this machine"
            raise CliError(f"{named}: cannot listen on {host}:{port} ({reason}).") from None


# What Slack answers for a token that will never work; anything else (no answer, a 5xx) may pass.
REFUSED_TOKEN = {
    "invalid_auth",
    "not_authed",
    "account_inactive",
    "token_revoked",
    "token_expired",
    "not_allowed_token_type",
}


def check_token(settings: Settings) -> None:
    """Raise CliError when Slack refuses SLACK_BOT_TOKEN outright.

    An unreachable Slack is no reason not to start (the bot retries, /health says so); a revoked
    or mistyped token is: every command would fail.
    """
    from slack_sdk.errors import SlackApiError
    from slack_sdk.web.async_client import AsyncWebClient

    async def ask() -> None:
        await AsyncWebClient(settings.slack_bot_token, base_url=settings.slack_api_url).auth_test()

    try:
        asyncio.run(asyncio.wait_for(ask(), 10))
    except SlackApiError as exc:
        error = exc.response.get("error") if isinstance(exc.response.data, dict) else None
        if error in REFUSED_TOKEN:
            raise CliError(
                f"SLACK_BOT_TOKEN: Slack refuses it ({error}): copy the Bot User OAuth Token "
                "(xoxb-...) again from your Slack app's OAuth & Permissions page."
            ) from None
    except Exception:  # noqa: BLE001, S110 - unreachable or slow: start anyway, /health reports it
        pass


def preflight(settings: Settings) -> None:
    """Everything `serve` would otherwise discover halfway through starting."""
    check_port("PORT", settings.host, settings.port)
    if settings.ops_port:
        if settings.ops_host:
            check_port("OPS_PORT", settings.ops_host, settings.ops_port, "OPS_HOST")
        else:
            check_port("OPS_PORT", settings.host, settings.ops_port)
    database.reachable(settings.database_url)
    check_token(settings)


def run(_args: argparse.Namespace) -> int:
    from app.server import serve

    loaded = settings(slack=True)
    policy, runbooks = policy_and_runbooks(loaded)
    configure_logs(loaded)
    # The settings hold the token now. Bolt reads SLACK_BOT_TOKEN from the environment even
    # when given a client, and would then log "`token` will be unused" at every start.
    os.environ.pop("SLACK_BOT_TOKEN", None)
    for warning in runbook_warnings(policy, runbooks):
        log.warning("policy: %s", warning)
    preflight(loaded)
    upgrade(loaded)
    asyncio.run(serve(loaded, policy, runbooks))
    return 0


COMMAND = Command(
    name="serve",
    summary="run the bot (migrates the database first)",
    description=(
        "Run the bot: check the settings, the policy, the port and the database, apply any "
        "pending migration, then answer Slack on HOST:PORT (/slack/events), or over Socket "
        "Mode when SLACK_APP_TOKEN is set, and run the scheduler. SIGTERM stops it cleanly."
    ),
    run=run,
)

"""`incident-bot demo`: the bot with a built-in Slack, in a browser; no configuration, no
network (app.demo)."""

from __future__ import annotations

import argparse
import asyncio
import errno
from pathlib import Path

from app.cli.common import CliError, Command


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--port", type=int, default=3000, help="the page's port on 127.0.0.1 (default: 3000)"
    )
    parser.add_argument(
        "--data",
        metavar="DIR",
        type=Path,
        help="keep the demo's SQLite database in DIR (default: a temporary folder, removed "
        "at exit); the Slack side starts empty on every run",
    )
    parser.add_argument(
        "--policy",
        metavar="FILE",
        type=Path,
        help="a policy YAML file (default: the demo's, which pages the seeded people within "
        "seconds)",
    )


def run(args: argparse.Namespace) -> int:
    from app.demo.run import serve_demo

    if not 0 < args.port < 65536:
        raise CliError(f"--port {args.port} is not a TCP port: give one from 1 to 65535")
    try:
        asyncio.run(serve_demo(port=args.port, data=args.data, policy_file=args.policy))
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise CliError(
                f"port {args.port} is in use: stop what listens there or pick another with --port"
            ) from None
        raise
    return 0


COMMAND = Command(
    name="demo",
    summary="run the bot against a built-in Slack, in your browser",
    description="Start the real bot, a stand-in for Slack and a web page that plays Slack's "
    "client, all on 127.0.0.1, with a throwaway SQLite database. Open the printed URL, type "
    "/incident declare, and switch between the seeded people (reporter, on-call, lead, CTO, "
    "CEO) to be paged and acknowledge. Needs no Slack account and no network.",
    run=run,
    add_arguments=add_arguments,
)

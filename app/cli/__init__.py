"""`incident-bot serve | migrate | check | export | report | simulate | demo`.

One module per subcommand, each exporting a `COMMAND` (`common.Command`); to add one, write its
module and list it in `COMMANDS`. Anything a newcomer can get wrong (a setting, the policy, the
database) ends in one line naming what to fix and exit 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from app import __version__
from app.cli import check, demo, export, migrate, report, serve, simulate
from app.cli.common import EXIT_CONFIG, CliError, Command, runbook_warnings
from app.config.settings import ConfigError
from app.domain.policy import PolicyError

__all__ = ["COMMANDS", "EXIT_CONFIG", "main", "parser", "runbook_warnings"]

COMMANDS: tuple[Command, ...] = (
    serve.COMMAND,
    migrate.COMMAND,
    check.COMMAND,
    export.COMMAND,
    report.COMMAND,
    simulate.COMMAND,
    demo.COMMAND,
)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="incident-bot",
        description="Run incidents from Slack along your written response plan. "
        "Settings come from the environment or .env (see README.md, Configuration).",
    )
    top.add_argument("--version", action="version", version=__version__)
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        one = sub.add_parser(command.name, help=command.summary, description=command.description)
        command.add_arguments(one)
        one.set_defaults(run=command.run)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        code: int = args.run(args)
    except (ConfigError, PolicyError, CliError) as exc:
        print(f"incident-bot: {exc}", file=sys.stderr)
        return exc.code if isinstance(exc, CliError) else EXIT_CONFIG
    return code


if __name__ == "__main__":
    sys.exit(main())

"""What every subcommand shares: the Command record, one-line failures, loading the setup."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidatorFunctionWrapHandler, field_validator

from app.config.policy_loader import load_policy
from app.config.runbooks import load_runbooks
from app.config.settings import Settings, load_settings
from app.domain.policy import Policy
from app.domain.runbooks import Runbooks

EXIT_CONFIG = 2  # a setting, the policy or the database needs fixing before anything runs
EXIT_FAILED = 1  # the configuration is fine but the work failed (Slack refused, no such incident)


@dataclass(frozen=True)
class Command:
    """A subcommand: its name, the line `incident-bot --help` lists, what its own `--help`
    says, its options, and what it runs (returning the exit code)."""

    name: str
    summary: str
    description: str
    run: Callable[[argparse.Namespace], int]
    add_arguments: Callable[[argparse.ArgumentParser], None] = lambda _parser: None


class CliError(Exception):
    """A failure already phrased for the person at the terminal: one line, what to do."""

    def __init__(self, message: str, code: int = EXIT_CONFIG) -> None:
        super().__init__(message)
        self.code = code


class OfflineSettings(Settings):
    """The settings of commands that never call Slack (migrate, export, simulate): a pre-deploy
    migration job needs no Slack credentials. Set ones are still validated."""

    slack_bot_token: str = ""
    slack_signing_secret: str = ""

    @field_validator("slack_bot_token", "slack_signing_secret", mode="wrap")
    @classmethod
    def _unset_is_fine(cls, value: object, handler: ValidatorFunctionWrapHandler) -> object:
        """Unset or empty (`SLACK_BOT_TOKEN=` as in .env.example) is fine here."""
        return "" if value is None or not str(value).strip() else handler(value)


def settings(*, slack: bool) -> Settings:
    """The settings; without `slack`, the Slack credentials may be unset."""
    return load_settings(Settings if slack else OfflineSettings)


def policy(path: Path | None, setting: str = "POLICY_FILE") -> Policy:
    """The policy at `path` (None: the built-in one); a path that is no file names `setting`."""
    if path is not None and not path.is_file():
        what = "is a folder" if path.is_dir() else "does not exist"
        raise CliError(
            f"{setting}: {path} {what}: give the path of your policy YAML file, or leave "
            f"{setting} out for the built-in policy."
        )
    return load_policy(path)


def policy_and_runbooks(settings: Settings) -> tuple[Policy, Runbooks]:
    return policy(settings.policy_file), load_runbooks(settings.runbooks_dir)


def configure_logs(settings: Settings) -> None:
    from app.logs import configure

    configure(
        settings.log_level,
        settings.log_format,
        secrets=settings.secrets,
        slack_bodies=settings.log_slack_bodies,
    )


def runbook_warnings(policy: Policy, runbooks: Runbooks) -> list[str]:
    """Alert rules (and probes) naming an incident type no runbook provides (they declare
    without one). A probe's own rule comes first in `alerts.rules`: it is named as the probe."""
    written = [rule for rule in policy.alerts.rules if rule.source != "probe"]
    found = [
        f"alerts.rules[{index}].type: no runbook {rule.type!r} in {runbooks.source} runbooks "
        f"(known: {', '.join(runbooks.keys)}); incidents it declares get no checklist"
        for index, rule in enumerate(written)
        if rule.type and rule.type not in runbooks
    ]
    found += [
        f"probes[{index}].type: no runbook {probe.type!r} in {runbooks.source} runbooks; "
        "incidents it declares get no checklist"
        for index, probe in enumerate(policy.probes)
        if probe.type and probe.type not in runbooks
    ]
    return found


def safe_url(url: str) -> str:
    """The database URL without its password."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)

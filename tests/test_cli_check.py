"""`incident-bot check` reports what `serve` would meet: the migration state, levels that page
nobody, the Slack scopes the token lacks; and every subcommand's --help says what it does."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import yaml

from app.cli import COMMANDS, parser
from app.cli.common import Command
from app.config.policy_loader import load_policy
from app.config.slack_scopes import BOT_SCOPES
from app.domain.simulation import empty_levels
from app.sandbox.fakeslack import FakeSlack
from app.sandbox.trackers.jira import FakeJira
from app.store.migrate import upgrade
from tests.conftest import ROOT, TOKEN, USERS, manifest_bot_scopes
from tests.test_cli import run_cli

HEAD = max(path.stem for path in (ROOT / "migrations" / "versions").glob("0*.py"))
POLICIES = ROOT / "tests" / "policies"


def slack_env(fake: FakeSlack, **extra: str) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_SIGNING_SECRET": "s",
        "SLACK_API_URL": fake.base_url,
        **extra,
    }


def test_the_shipped_scope_list_is_the_manifests() -> None:
    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text())
    assert list(BOT_SCOPES) == manifest["oauth_config"]["scopes"]["bot"]


async def test_check_reports_a_migrated_database_up_to_date(
    tmp_path: Path, fake_slack: FakeSlack, database_url: str
) -> None:
    code, out, err = await run_cli(
        tmp_path, "check", **slack_env(fake_slack, DATABASE_URL=database_url)
    )
    assert code == 0, err
    assert f"database: {HEAD} (up to date)" in out


async def test_check_says_a_new_database_needs_migrate_and_creates_nothing(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    code, out, err = await run_cli(tmp_path, "check", **slack_env(fake_slack))
    assert code == 0, err
    assert f"database: no schema yet (head is {HEAD}): run incident-bot migrate" in out
    assert not (tmp_path / "bot.db").exists()


async def test_check_says_a_database_behind_the_code_needs_migrate(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    await asyncio.to_thread(upgrade, f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}", "0008_alerts")
    code, out, err = await run_cli(tmp_path, "check", **slack_env(fake_slack))
    assert code == 0, err
    assert f"database: at 0008_alerts, behind {HEAD}: run incident-bot migrate" in out


async def test_a_database_from_a_newer_version_stops_check_and_migrate(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    await asyncio.to_thread(upgrade, f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
    with sqlite3.connect(tmp_path / "bot.db") as db:
        db.execute("UPDATE alembic_version SET version_num = '0099_future'")
    code, out, err = await run_cli(tmp_path, "check", **slack_env(fake_slack))
    assert code == 2, err
    assert "at 0099_future, a revision this version does not know" in out
    code, _, err = await run_cli(tmp_path, "migrate")
    assert code == 2 and err.count("\n") == 1 and "upgrade this one" in err


@pytest.mark.parametrize("policy", [None, "escalation.yml", "escalation_empty_level.yml"])
async def test_check_warns_once_per_severity_about_levels_that_page_nobody(
    tmp_path: Path, fake_slack: FakeSlack, policy: str | None
) -> None:
    extra = {"POLICY_FILE": str(POLICIES / policy)} if policy else {}
    code, out, err = await run_cli(tmp_path, "check", **slack_env(fake_slack, **extra))
    assert code == 0, err
    loaded = load_policy(POLICIES / policy if policy else None)
    warnings = [line for line in out.splitlines() if "pages nobody" in line]
    expected = []
    for key in loaded.severity_keys:
        empty = empty_levels(loaded, key)
        if empty:
            names = ", ".join(f"{level.key} {level.name}" for level in empty)
            expected.append(f"warning: {key} pages nobody at {names}: ")
    assert len(warnings) == len(expected)
    for line, start in zip(warnings, expected, strict=True):
        assert line.startswith(start) and "notify" in line
    if policy == "escalation.yml":
        assert warnings == []


async def test_check_lists_the_scopes_the_token_lacks(tmp_path: Path) -> None:
    granted = manifest_bot_scopes() - {"pins:write", "usergroups:read"}
    fake = FakeSlack(token=TOKEN, granted_scopes=granted)
    for user_id, email in USERS.items():
        fake.add_user(user_id, name=user_id.lower(), email=email)
    await fake.start()
    try:
        code, out, err = await run_cli(tmp_path, "check", **slack_env(fake))
    finally:
        await fake.stop()
    assert code == 1
    assert "slack: connected to" in out
    assert "slack scopes: missing pins:write, usergroups:read: add them" in err
    assert "reinstall" in err


async def test_check_says_so_when_slack_does_not_report_the_scopes(tmp_path: Path) -> None:
    fake = FakeSlack(token=TOKEN, granted_scopes=None)  # grants all, names none
    await fake.start()
    try:
        code, out, err = await run_cli(tmp_path, "check", **slack_env(fake))
    finally:
        await fake.stop()
    assert code == 0, err
    assert "slack scopes: not reported by Slack (no x-oauth-scopes header)" in out


@pytest.mark.parametrize("command", COMMANDS, ids=lambda command: command.name)
async def test_each_subcommand_help_says_what_it_does(tmp_path: Path, command: Command) -> None:
    code, out, err = await run_cli(tmp_path, command.name, "--help")
    assert code == 0, err
    assert out.startswith(f"usage: incident-bot {command.name}")
    # Its own description (reflowed by argparse), not the top-level one or another command's.
    assert " ".join(command.description.split()[:8]) in " ".join(out.split())
    assert len(command.description) > 80 and command.summary in _top_help()
    others = [other.description for other in COMMANDS if other is not command]
    assert command.description not in others


def _top_help() -> str:
    return " ".join(parser().format_help().split())


@pytest.mark.parametrize(
    ("command", "options"),
    [
        ("export", ["--format {md,json}", "--doc {log,postmortem}", "INC-YYYYMMDD-NNN"]),
        ("simulate", ["--severity P0", "--policy FILE", "--at TIME"]),
    ],
)
async def test_subcommand_help_lists_its_options(
    tmp_path: Path, command: str, options: list[str]
) -> None:
    code, out, _ = await run_cli(tmp_path, command, "--help")
    assert code == 0
    for option in options:
        assert option in out


# ------------------------------------------------------------------------------- tickets

NO_TRACKERS = {"JIRA_URL": "", "GITHUB_TOKEN": "", "GITHUB_APP_ID": "", "LINEAR_API_KEY": ""}


def jira_env(jira: FakeJira, token: str = "jira-api-token") -> dict[str, str]:
    return {
        **NO_TRACKERS,
        "JIRA_URL": jira.base_url,
        "JIRA_EMAIL": jira.email,
        "JIRA_API_TOKEN": token,
    }


@pytest.fixture
async def jira() -> AsyncIterator[FakeJira]:
    fake = FakeJira("cloud")
    fake.seed_project("OPS", name="Operations")
    await fake.start()
    yield fake
    await fake.stop()
    assert fake.violations == []


async def test_check_says_tickets_are_off_without_a_provider_and_passes(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    code, out, err = await run_cli(tmp_path, "check", **slack_env(fake_slack, **NO_TRACKERS))
    assert code == 0, err
    assert (
        "tickets: off (the policy's tickets: names no provider): the plan's \"Create ticket\" "
        "stays a reminder on the summary"
    ) in out.splitlines()


async def test_check_fails_naming_the_settings_of_a_provider_without_credentials(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    policy = str(POLICIES / "tickets_jira.yml")
    env = slack_env(fake_slack, POLICY_FILE=policy, **NO_TRACKERS)
    code, out, err = await run_cli(tmp_path, "check", **env)
    assert code == 2
    assert (
        "tickets: Jira is the policy's tickets.provider but its credentials are not set: set "
        "JIRA_URL, with JIRA_EMAIL and JIRA_API_TOKEN (Jira Cloud) or JIRA_PAT "
        "(Server/Data Center)"
    ) in err.splitlines()
    assert "Traceback" not in err


async def test_check_verifies_the_policys_tracker_with_one_read_only_call(
    tmp_path: Path, fake_slack: FakeSlack, jira: FakeJira
) -> None:
    policy = str(POLICIES / "tickets_jira.yml")
    env = slack_env(fake_slack, POLICY_FILE=policy, **jira_env(jira))
    code, out, err = await run_cli(tmp_path, "check", **env)
    assert code == 0, err
    [line] = [line for line in out.splitlines() if line.startswith("tickets:")]
    assert line.startswith("tickets: Jira, project OPS: Incident Bot on 127.0.0.1:")
    assert "Operations" in line
    assert {call.method for call in jira.requests} == {"GET"}  # it changed nothing


async def test_check_fails_with_the_trackers_refusal(
    tmp_path: Path, fake_slack: FakeSlack, jira: FakeJira
) -> None:
    policy = str(POLICIES / "tickets_jira.yml")
    env = slack_env(fake_slack, POLICY_FILE=policy, **jira_env(jira, token="revoked"))
    code, out, err = await run_cli(tmp_path, "check", **env)
    assert code == 1
    [line] = [line for line in err.splitlines() if line.startswith("tickets:")]
    assert line.startswith("tickets: Jira, project OPS: ") and "Traceback" not in err
    assert not any(line.startswith("tickets:") for line in out.splitlines())


async def test_check_verifies_a_tracker_configured_but_unused_and_says_so(
    tmp_path: Path, fake_slack: FakeSlack, jira: FakeJira
) -> None:
    code, out, err = await run_cli(tmp_path, "check", **slack_env(fake_slack, **jira_env(jira)))
    assert code == 0, err
    lines = [line for line in out.splitlines() if line.startswith("tickets:")]
    assert lines[0].startswith("tickets: off")
    assert lines[1].startswith(
        "tickets: Jira is configured but unused (tickets are off): Incident Bot on 127.0.0.1:"
    )
    assert jira.requests  # asked, read-only

    # Unused, it only warns when it fails.
    code, out, err = await run_cli(
        tmp_path, "check", **slack_env(fake_slack, **jira_env(jira, token="revoked"))
    )
    assert code == 0, err
    assert any(
        line.startswith(
            "warning: tickets: Jira is configured but unused (tickets are off), and it failed: "
        )
        for line in out.splitlines()
    )

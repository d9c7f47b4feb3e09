"""Errors a newcomer can act on: through the real CLI, every wrong setting and unreachable
database is one line naming the setting and the fix, exit 2, from every subcommand that
needs it; commands that never call Slack run without Slack credentials."""

from __future__ import annotations

import os
import socket
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from app.sandbox.fakeslack import FakeSlack
from tests.conftest import TOKEN
from tests.test_cli import run_cli

SLACK = {"SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": "s"}
DATABASE_COMMANDS = [("serve",), ("migrate",), ("check",), ("export", "INC-20261128-001")]


def assert_one_line(code: int, err: str, *needles: str) -> None:
    assert code == 2, err
    assert "Traceback" not in err
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert err.startswith("incident-bot: ")
    for needle in needles:
        assert needle in err, err


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serving(**env: str) -> dict[str, str]:
    """Slack credentials and a free port, so `serve` gets as far as the database."""
    return {**SLACK, "HOST": "127.0.0.1", "PORT": str(free_port()), **env}


def postgres_server() -> str:
    """The PostgreSQL the suite may use: TEST_DATABASE_URL's server, else the local one."""
    raw = os.environ.get("TEST_DATABASE_URL", "")
    return raw if raw.startswith("postgres") else "postgresql://postgres@127.0.0.1:5432/postgres"


@pytest.mark.parametrize("command", DATABASE_COMMANDS, ids=lambda c: c[0])
async def test_a_database_port_nobody_listens_on_is_one_line(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    port = free_port()
    url = f"postgresql://postgres@127.0.0.1:{port}/incidents"
    code, _, err = await run_cli(tmp_path, *command, **serving(DATABASE_URL=url))
    assert_one_line(code, err, "DATABASE_URL", f"127.0.0.1:{port}", "connection refused")


@pytest.mark.parametrize("command", DATABASE_COMMANDS, ids=lambda c: c[0])
async def test_a_missing_postgres_database_is_one_line_with_createdb(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    server = make_url(postgres_server())
    url = server.set(drivername="postgresql", database="t14_cli_no_such_db")
    code, _, err = await run_cli(
        tmp_path, *command, **serving(DATABASE_URL=url.render_as_string(hide_password=False))
    )
    assert_one_line(
        code, err, "DATABASE_URL", "'t14_cli_no_such_db' does not exist", "createdb", "t14_cli_no"
    )


@pytest.mark.parametrize("command", DATABASE_COMMANDS, ids=lambda c: c[0])
async def test_a_sqlite_file_in_a_missing_folder_is_one_line(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    folder = tmp_path / "no" / "such"
    code, _, err = await run_cli(
        tmp_path, *command, **serving(DATABASE_URL=f"sqlite:///{folder / 'bot.db'}")
    )
    assert_one_line(code, err, "DATABASE_URL", str(folder), "mkdir -p")
    assert not folder.exists()


@pytest.mark.parametrize("command", ["serve", "check"])
@pytest.mark.parametrize(
    ("port", "said"), [("99999", "99999 is not between 0 and 65535"), ("abc", "got 'abc'")]
)
async def test_port_out_of_range_or_not_a_number_is_refused_before_anything_starts(
    tmp_path: Path, command: str, port: str, said: str
) -> None:
    code, _, err = await run_cli(tmp_path, command, PORT=port, **SLACK)
    assert_one_line(code, err, "PORT is invalid", said, "up to 65535")
    assert not (tmp_path / "bot.db").exists()


async def test_a_port_in_use_stops_serve_in_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, _, err = await run_cli(tmp_path, "serve", HOST="127.0.0.1", PORT=str(port), **SLACK)
    assert_one_line(code, err, f"PORT: cannot listen on 127.0.0.1:{port}", "another process")


async def test_a_host_that_is_not_this_machines_stops_serve_in_one_line(tmp_path: Path) -> None:
    # 192.0.2.0/24 is TEST-NET-1: documentation only, assigned to no machine.
    code, _, err = await run_cli(tmp_path, "serve", HOST="192.0.2.1", PORT="3000", **SLACK)
    assert_one_line(code, err, "HOST: cannot listen on 192.0.2.1:3000", "set HOST to an address")


@pytest.mark.parametrize("command", ["serve", "check", "simulate"])
async def test_a_policy_file_that_is_not_there_names_policy_file(
    tmp_path: Path, command: str
) -> None:
    missing = tmp_path / "policy.yml"
    code, _, err = await run_cli(tmp_path, command, **serving(POLICY_FILE=str(missing)))
    assert_one_line(code, err, f"POLICY_FILE: {missing} does not exist", "built-in policy")


async def test_a_database_url_with_a_bad_port_is_refused_as_a_setting(tmp_path: Path) -> None:
    code, _, err = await run_cli(
        tmp_path, "migrate", DATABASE_URL="postgresql://postgres@127.0.0.1:70000/x"
    )
    assert_one_line(code, err, "DATABASE_URL is invalid", "70000")


@pytest.mark.parametrize("command", ["serve", "check"])
async def test_commands_that_talk_to_slack_need_its_token(tmp_path: Path, command: str) -> None:
    code, _, err = await run_cli(tmp_path, command, SLACK_SIGNING_SECRET="s")
    assert_one_line(code, err, "SLACK_BOT_TOKEN is not set", "xoxb-")


async def test_serve_with_a_token_slack_refuses_stops_in_one_line(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    env = serving(SLACK_BOT_TOKEN="xoxb-revoked", SLACK_API_URL=fake_slack.base_url)
    code, _, err = await run_cli(tmp_path, "serve", **env)
    assert_one_line(code, err, "SLACK_BOT_TOKEN: Slack refuses it (invalid_auth)", "OAuth")
    assert "xoxb-revoked" not in err


async def test_migrate_and_export_run_without_any_slack_setting(tmp_path: Path) -> None:
    code, out, err = await run_cli(tmp_path, "migrate")
    assert code == 0, err
    assert "up to date" in out
    tables = {
        row[0]
        for row in sqlite3.connect(tmp_path / "bot.db").execute(
            "SELECT name FROM sqlite_master WHERE type='table'"
        )
    }
    assert "incidents" in tables
    # Export reached the database: the incident is not there (exit 1), nothing asked for Slack.
    code, out, err = await run_cli(tmp_path, "export", "INC-20261128-001", SLACK_BOT_TOKEN="")
    assert (code, out, err) == (1, "", "incident-bot: no incident INC-20261128-001\n")


async def test_export_of_a_database_never_migrated_says_to_migrate(tmp_path: Path) -> None:
    sqlite3.connect(tmp_path / "bot.db").close()  # an empty file: no schema
    code, _, err = await run_cli(tmp_path, "export", "INC-20261128-001")
    assert_one_line(code, err, "no schema yet", "run incident-bot migrate")


async def test_an_invalid_token_given_to_migrate_is_still_reported(tmp_path: Path) -> None:
    code, _, err = await run_cli(tmp_path, "migrate", SLACK_BOT_TOKEN="xoxp-user-token")
    assert_one_line(code, err, "SLACK_BOT_TOKEN is invalid", "xoxb-")

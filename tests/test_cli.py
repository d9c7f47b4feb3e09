"""The command line: configuration errors are one clear line, and the commands do their job."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sqlite3
import sys
from pathlib import Path

import httpx

from app.sandbox.fakeslack import FakeSlack
from tests.conftest import SIGNING_SECRET, TOKEN

ROOT = Path(__file__).resolve().parents[1]


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "DATABASE_URL", "POLICY_FILE", "TIMEZONE"))
    }
    env.update(PYTHONPATH=str(ROOT), DATABASE_URL=f"sqlite:///{tmp_path / 'bot.db'}")
    env.update(extra)
    return env


async def run_cli(tmp_path: Path, *args: str, **env: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "app",
        *args,
        cwd=tmp_path,
        env=_env(tmp_path, **env),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    return proc.returncode or 0, out.decode(), err.decode()


async def test_missing_token_is_one_line_naming_the_setting_with_exit_2(tmp_path: Path) -> None:
    code, _, err = await run_cli(tmp_path, "check", SLACK_SIGNING_SECRET="s")
    assert code == 2
    assert err.strip().count("\n") == 0 and "Traceback" not in err
    assert "SLACK_BOT_TOKEN is not set" in err and "xoxb-" in err


async def test_invalid_setting_names_the_setting_and_the_fix(tmp_path: Path) -> None:
    code, _, err = await run_cli(
        tmp_path,
        "migrate",
        SLACK_BOT_TOKEN=TOKEN,
        SLACK_SIGNING_SECRET="s",
        TIMEZONE="Mars/Olympus",
    )
    assert code == 2
    assert "TIMEZONE is invalid" in err and "IANA" in err and "Traceback" not in err


async def test_malformed_policy_stops_start_up_naming_file_line_and_key(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yml"
    policy.write_text(
        "escalation:\n  levels:\n    - key: L1\n      name: On-call\n      window: soon\n"
    )
    code, _, err = await run_cli(
        tmp_path, "serve", SLACK_BOT_TOKEN=TOKEN, SLACK_SIGNING_SECRET="s", POLICY_FILE=str(policy)
    )
    assert code == 2
    assert "policy.yml" in err and "line 5" in err and "window" in err
    assert "Traceback" not in err
    assert not (tmp_path / "bot.db").exists()  # nothing was started or migrated


async def test_migrate_creates_the_schema(tmp_path: Path) -> None:
    code, out, err = await run_cli(
        tmp_path, "migrate", SLACK_BOT_TOKEN=TOKEN, SLACK_SIGNING_SECRET="s"
    )
    assert code == 0, err
    assert "up to date" in out
    tables = {
        row[0]
        for row in sqlite3.connect(tmp_path / "bot.db").execute(
            "SELECT name FROM sqlite_master WHERE type='table'"
        )
    }
    assert {"incidents", "timeline_entries", "processed_events", "alembic_version"} <= tables


async def test_check_reports_configuration_and_slack_identity(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    code, out, err = await run_cli(
        tmp_path,
        "check",
        SLACK_BOT_TOKEN=TOKEN,
        SLACK_SIGNING_SECRET="s",
        SLACK_API_URL=fake_slack.base_url,
    )
    assert code == 0, err
    assert "built-in default (4 severities, 4 levels)" in out
    assert "slack: connected to" in out and "UBOT0001" in out
    assert "slack scopes: all granted" in out
    assert fake_slack.calls_to("auth.test")


async def test_check_with_a_revoked_token_fails_with_slacks_error(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    code, _, err = await run_cli(
        tmp_path,
        "check",
        SLACK_BOT_TOKEN="xoxb-revoked",
        SLACK_SIGNING_SECRET="s",
        SLACK_API_URL=fake_slack.base_url,
    )
    assert code == 1
    assert "invalid_auth" in err and "xoxb-revoked" not in err


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_serve_migrates_answers_health_and_stops_cleanly_on_sigterm(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    port = _free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "app",
        "serve",
        cwd=tmp_path,
        env=_env(
            tmp_path,
            SLACK_BOT_TOKEN=TOKEN,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            SLACK_API_URL=fake_slack.base_url,
            HOST="127.0.0.1",
            PORT=str(port),
        ),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with httpx.AsyncClient() as http:
            for _ in range(200):
                try:
                    health = await http.get(f"http://127.0.0.1:{port}/health")
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.05)
            else:
                raise AssertionError("the bot never answered /health")
        assert health.status_code == 200 and health.json()["checks"]["database"]["ok"]
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, err.decode()
    assert "Traceback" not in err.decode()
    # Bolt is given the bot's client only, never the token again from the environment.
    assert "will be unused" not in err.decode()

"""The bot killed with SIGKILL in the middle of a declare, then restarted: the incident that was
saved is completed, and nothing Slack already received is created twice."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from app.context import BotContext
from app.sandbox.fakeslack import FakeSlack
from app.sandbox.sender import SlackSender, modal_values
from app.store.models import Incident
from tests.conftest import SIGNING_SECRET, TOKEN

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@asynccontextmanager
async def bot_process(
    tmp_path: Path, fake: FakeSlack, database_url: str, port: int, announce: str, **extra: str
) -> AsyncIterator[asyncio.subprocess.Process]:
    """`incident-bot serve` in its own process, ready when /health answers."""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake.base_url,
        "DATABASE_URL": database_url,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "LEASE_SECONDS": "1",
        "INCIDENTS_CHANNEL": announce,
        **extra,
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "app",
        "serve",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        async with httpx.AsyncClient() as http:
            for _ in range(300):
                try:
                    await http.get(f"http://127.0.0.1:{port}/health")
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.05)
        yield proc
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()


async def until(condition: Callable[[], bool], seconds: float = 20) -> None:
    async with asyncio.timeout(seconds):
        while not condition():  # noqa: ASYNC110 - polling another process
            await asyncio.sleep(0.01)


async def saved(bot: BotContext) -> list[Incident]:
    async with bot.sessions() as session:
        return list((await session.execute(select(Incident))).scalars())


@pytest.mark.parametrize("kill_during", ["conversations.create", "chat.postMessage", "pins.add"])
async def test_sigkill_mid_declare_then_restart_completes_the_incident_once(
    tmp_path: Path, fake_slack: FakeSlack, bot: BotContext, kill_during: str
) -> None:
    announce = fake_slack.add_channel("incidents", members=["UOTHER"])
    fake_slack.latency = 0.5  # every Slack answer takes long enough to die waiting for it
    port = _free_port()
    url = bot.settings.database_url
    async with bot_process(tmp_path, fake_slack, url, port, announce) as first:
        slack = SlackSender(f"http://127.0.0.1:{port}", SIGNING_SECRET, fake_slack)
        await slack.command("declare")
        await until(lambda: bool(fake_slack.calls_to("views.open")))
        view = fake_slack.attempts_to("views.open")[-1].response["view"]
        submission = asyncio.create_task(
            slack.submit(view, modal_values(title="Killed mid declare", severity="P1"))
        )
        # Slack has received (and acted on) the call; the bot is still waiting for the answer.
        await until(
            lambda: any(
                c.method == kill_during and c.args.get("channel") != "UREPORTER"
                for c in fake_slack.calls
            )
        )
        first.send_signal(signal.SIGKILL)
        await first.wait()
        submission.cancel()
        await slack.close()

    [incident] = await saved(bot)
    assert not incident.setup_complete

    fake_slack.latency = 0.0
    await asyncio.sleep(1.1)  # the dead process's lease on the setup runs out
    async with bot_process(tmp_path, fake_slack, url, _free_port(), announce):

        async def complete() -> bool:
            [i] = await saved(bot)
            return i.setup_complete

        async with asyncio.timeout(20):
            while not await complete():  # noqa: ASYNC110 - polling another process
                await asyncio.sleep(0.05)

    [incident] = await saved(bot)
    channels = [c for c in fake_slack.channels.values() if c.name.startswith("incident-")]
    assert len(channels) == 1 and incident.channel_id == channels[0].id
    assert channels[0].name.endswith("-killed-mid-declare")
    summaries = [
        m
        for m in fake_slack.messages[incident.channel_id]
        if (m.get("metadata") or {}).get("event_type") == "incident_summary"
    ]
    assert [m["ts"] for m in summaries] == [incident.summary_ts]
    assert fake_slack.pins[incident.channel_id] == [incident.summary_ts]
    assert "UREPORTER" in channels[0].members
    announcements = [
        m
        for m in fake_slack.messages[announce]
        if (m.get("metadata") or {}).get("event_type") == "incident_announcement"
    ]
    assert [m["ts"] for m in announcements] == [incident.announcement_ts]


def step_messages(fake: FakeSlack) -> list[tuple[int, str]]:
    """(step id, recipient) of every escalation message Slack received, duplicates included."""
    found = []
    for messages in fake.messages.values():
        for m in messages:
            metadata = m.get("metadata") or {}
            if metadata.get("event_type") == "incident_step":
                payload = metadata["event_payload"]
                found.append((payload["step"], payload["recipient"]))
    return found


@pytest.mark.parametrize("kill_on", ["channel", "UONCALL"])
async def test_sigkill_while_paging_then_restart_pages_each_person_once(
    tmp_path: Path, fake_slack: FakeSlack, bot: BotContext, kill_on: str
) -> None:
    announce = fake_slack.add_channel("incidents", members=["UOTHER"])
    extra = {
        "POLICY_FILE": str(ROOT / "tests" / "policies" / "escalation.yml"),
        "ESCALATION_TICK_SECONDS": "0.2",
        "LEASE_SECONDS": "3",
    }
    url = bot.settings.database_url
    port = _free_port()
    async with bot_process(tmp_path, fake_slack, url, port, announce, **extra) as first:
        slack = SlackSender(f"http://127.0.0.1:{port}", SIGNING_SECRET, fake_slack)
        await slack.command("declare")
        await until(lambda: bool(fake_slack.calls_to("views.open")))
        view = fake_slack.attempts_to("views.open")[-1].response["view"]
        fake_slack.latency = 0.5  # the page's messages are in flight long enough to die
        submission = asyncio.create_task(
            slack.submit(view, modal_values(title="Killed while paging", severity="P0"))
        )

        def paging() -> bool:
            return any(recipient == kill_on for _, recipient in step_messages(fake_slack))

        await until(paging)
        first.send_signal(signal.SIGKILL)
        await first.wait()
        submission.cancel()
        await slack.close()

    fake_slack.latency = 0.0
    await asyncio.sleep(3.1)  # the dead process's claim on the step runs out
    async with bot_process(tmp_path, fake_slack, url, _free_port(), announce, **extra):

        def l1_paged() -> bool:
            recipients = {recipient for _, recipient in step_messages(fake_slack)}
            return {"channel", "UONCALL"} <= recipients

        await until(l1_paged)
        await asyncio.sleep(1.0)  # several more ticks: nothing may be sent again

    sent = step_messages(fake_slack)
    assert len(sent) == len(set(sent)), f"a page went out twice: {sent}"
    [incident] = await saved(bot)
    assert incident.setup_complete

"""A bot process killed while Jira was creating its ticket: Jira made the issue, the bot never
heard. The restarted bot takes the ticket over at once (its holder is known dead by its missed
heartbeats), looks the issue up by the incident's id, and saves it: one issue, not two."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio
from sqlalchemy import select

from app.context import BotContext
from app.sandbox.fakeslack import FakeSlack
from app.sandbox.sender import SlackSender, modal_values
from app.sandbox.trackers.jira import FakeJira
from app.store.models import TicketRecord
from tests.conftest import SIGNING_SECRET
from tests.test_crash import _free_port, bot_process, until

POLICY = Path(__file__).parent / "policies" / "tickets_jira_items.yml"


@pytest_asyncio.fixture
async def jira() -> AsyncIterator[FakeJira]:
    fake = FakeJira("cloud")
    fake.seed_project("OPS")
    await fake.start()
    yield fake
    fake.released.set()
    await fake.stop()
    assert fake.violations == []


async def tickets(bot: BotContext) -> list[TicketRecord]:
    async with bot.sessions() as session:
        return list((await session.execute(select(TicketRecord))).scalars())


async def test_sigkill_while_jira_creates_the_ticket_then_restart_finds_it_once(
    tmp_path: Path, fake_slack: FakeSlack, bot: BotContext, jira: FakeJira
) -> None:
    announce = fake_slack.add_channel("incidents", members=["UOTHER"])
    url = bot.settings.database_url
    env = {
        "POLICY_FILE": str(POLICY),
        "JIRA_URL": jira.base_url,
        "JIRA_EMAIL": jira.email,
        "JIRA_API_TOKEN": jira.token,
        "ESCALATION_TICK_SECONDS": "0.5",
        "WORKER_HEARTBEAT_SECONDS": "0.2",
        "LEASE_SECONDS": "60",
    }
    jira.hold_after_success(route="POST /issue")
    port = _free_port()
    async with bot_process(tmp_path, fake_slack, url, port, announce, **env) as first:
        slack = SlackSender(f"http://127.0.0.1:{port}", SIGNING_SECRET, fake_slack)
        await slack.command("declare")
        await until(lambda: bool(fake_slack.calls_to("views.open")))
        view = fake_slack.attempts_to("views.open")[-1].response["view"]
        await slack.submit(view, modal_values(title="Killed while Jira works", severity="P1"))
        # Jira has made the issue; the bot is still waiting for its answer.
        await until(lambda: len(jira.issues) == 1)
        first.send_signal(signal.SIGKILL)
        await first.wait()
        await slack.close()
    jira.released.set()
    [record] = await tickets(bot)
    assert record.key is None and record.uncertain  # the dead bot never heard Jira's answer

    async with bot_process(tmp_path, fake_slack, url, _free_port(), announce, **env):

        async def saved() -> bool:
            [current] = await tickets(bot)
            return current.key is not None

        async with asyncio.timeout(30):
            while not await saved():  # noqa: ASYNC110 - polling another process
                await asyncio.sleep(0.05)

    [issue] = jira.issues.values()
    [record] = await tickets(bot)
    assert record.key == issue.key and not record.uncertain
    assert len(jira.attempts_to("POST /issue")) == 1  # looked up, not created again

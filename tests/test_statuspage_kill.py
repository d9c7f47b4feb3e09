"""A bot process killed while Statuspage was creating the incident of a post just published:
Statuspage made it, the bot never heard. The restarted bot takes the `statuspage` step over (its
holder is known dead by its missed heartbeats), finds the incident by its marker among the
page's unresolved ones, and saves it: one Statuspage incident, not two."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest_asyncio
from sqlalchemy import select

from app.context import BotContext
from app.sandbox.fakeslack import FakeSlack
from app.sandbox.sender import SlackSender, modal_values
from app.sandbox.statuspage import DEFAULT_API_KEY, FakeStatuspage
from app.store.models import Incident, StatusPost
from tests.conftest import SIGNING_SECRET
from tests.statuspage_helpers import payload, press, statuspage
from tests.test_crash import _free_port, bot_process, until

POLICY = Path(__file__).parent / "policies" / "statuspage.yml"
CREATE = "POST /incidents"


@pytest_asyncio.fixture
async def page() -> AsyncIterator[FakeStatuspage]:
    fake = FakeStatuspage()
    fake.add_component("API", "8kbf7d35c070")
    fake.add_component("Payments", "vtnh60py4yd7")
    await fake.start()
    yield fake
    await fake.stop()
    assert fake.violations == []


async def rows(bot: BotContext) -> list[StatusPost]:
    async with bot.sessions() as session:
        return list((await session.execute(select(StatusPost))).scalars())


async def poll(done: Callable[[], Awaitable[bool]]) -> None:
    async with asyncio.timeout(30):
        while not await done():  # noqa: ASYNC110 - polling another process
            await asyncio.sleep(0.05)


async def test_sigkill_while_statuspage_creates_the_incident_then_restart_finds_it_once(
    tmp_path: Path, fake_slack: FakeSlack, bot: BotContext, page: FakeStatuspage
) -> None:
    announce = fake_slack.add_channel("incidents", members=["UOTHER"])
    url = bot.settings.database_url
    env = {
        "POLICY_FILE": str(POLICY),
        "STATUS_PAGE": "true",
        "STATUSPAGE_API_KEY": DEFAULT_API_KEY,
        "STATUSPAGE_PAGE_ID": page.page_id,
        "STATUSPAGE_API_URL": page.base_url,
        "ESCALATION_TICK_SECONDS": "0.5",
        "WORKER_HEARTBEAT_SECONDS": "0.2",
        "LEASE_SECONDS": "60",
    }
    port = _free_port()
    async with bot_process(tmp_path, fake_slack, url, port, announce, **env) as first:
        slack = SlackSender(f"http://127.0.0.1:{port}", SIGNING_SECRET, fake_slack)
        await slack.command("declare")
        await until(lambda: bool(fake_slack.calls_to("views.open")))
        view = fake_slack.attempts_to("views.open")[-1].response["view"]
        await slack.submit(view, modal_values(title="Killed while Statuspage works", severity="P1"))

        async def set_up() -> bool:
            async with bot.sessions() as session:
                found = (await session.execute(select(Incident))).scalar_one_or_none()
            return found is not None and found.setup_complete

        await poll(set_up)
        async with bot.sessions() as session:
            incident = (await session.execute(select(Incident))).scalar_one()
        preview = await statuspage(
            slack, fake_slack, bot, incident, "[payments major investigating] Checkout is down."
        )
        page.hold_after_success(route=CREATE)
        await press(slack, bot, payload(fake_slack, preview, "Publish"))
        # Statuspage has made the incident; the bot is still waiting for its answer.
        await until(lambda: len(page.incidents) == 1)
        first.send_signal(signal.SIGKILL)
        await first.wait()
        await slack.close()
    page.released.set()
    [post] = await rows(bot)
    assert post.state == "published" and post.statuspage_incident_id is None

    async with bot_process(tmp_path, fake_slack, url, _free_port(), announce, **env):

        async def synced() -> bool:
            [current] = await rows(bot)
            return current.statuspage_incident_id is not None

        await poll(synced)

    [remote] = page.incidents
    [post] = await rows(bot)
    assert post.statuspage_incident_id == remote.id and post.statuspage_error is None
    assert remote.bodies == ["Checkout is down."] and remote.status == "investigating"
    assert len(page.attempts_to(CREATE)) == 1  # looked up, not created again
    assert page.attempts_to("GET /incidents/unresolved")

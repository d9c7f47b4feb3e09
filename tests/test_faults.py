"""Faults: the database going away, Slack failing in bursts. Nothing lost, nothing doubled."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from app import wiring
from app.clock import ManualClock
from app.config.policy_loader import load_policy
from app.context import BotContext
from app.sandbox.fakeslack import FakeSlack
from app.sandbox.sender import SlackSender, modal_values
from app.services.engine import run_due_steps
from app.store.models import Incident
from tests.conftest import SIGNING_SECRET, clean, make_settings, serve_bot
from tests.outage import DatabaseOutage
from tests.test_declare import incidents, open_modal


async def test_database_outage_gets_clear_answers_and_503_then_recovers_by_itself(
    tmp_path: Path, database_url: str, fake_slack: FakeSlack, clock: ManualClock
) -> None:
    async with DatabaseOutage(database_url, tmp_path) as outage:
        bot = wiring.build(make_settings(fake_slack, outage.url), load_policy(None), clock)
        await clean(bot)
        try:
            async with serve_bot(bot) as url:
                slack = SlackSender(url, SIGNING_SECRET, fake_slack)
                first = await open_modal(slack, fake_slack, bot)
                await slack.submit(first, modal_values(title="A", severity="P2"))
                await bot.tasks.drain()

                await outage.down(bot.engine)
                health = await slack.http.get(url + "/health")
                assert health.status_code == 503
                assert health.json()["checks"]["database"]["ok"] is False

                second = await open_modal(slack, fake_slack, bot)
                answer = (await slack.submit(second, modal_values(title="B", severity="P2"))).json()
                assert "could not be saved" in answer["errors"]["title"]

                retry = (await slack.command("retry-setup INC-20261128-001")).json()
                assert (
                    retry["response_type"] == "ephemeral" and "failed on our side" in retry["text"]
                )

                await outage.up()
                health = await slack.http.get(url + "/health")
                assert health.status_code == 200
                third = await open_modal(slack, fake_slack, bot)
                await slack.submit(third, modal_values(title="C", severity="P2"))
                await bot.tasks.drain()
                await slack.close()

            found = await incidents(bot)
            assert [(i.public_id, i.title, i.setup_complete) for i in found] == [
                ("INC-20261128-001", "A", True),
                ("INC-20261128-002", "C", True),
            ]
        finally:
            await clean(bot)
            await bot.engine.dispose()


async def test_slack_5xx_and_429_bursts_during_declare_lose_and_double_nothing(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    fake_slack.server_error_next("conversations.create", times=2)
    fake_slack.rate_limit_next("conversations.setTopic", retry_after=1, times=2)
    fake_slack.server_error_next("chat.postMessage", status=503, times=2)
    fake_slack.rate_limit_next("pins.add", retry_after=1)
    view = await open_modal(slack, fake_slack, bot)
    await slack.submit(view, modal_values(title="Bursty", severity="P1"))
    await bot.tasks.drain()
    # A 5xx on a creating call is not re-sent blindly: the setup step is retried after its
    # backoff, looking for what the failed calls may have made first.
    for _ in range(3):
        clock.advance(timedelta(minutes=1))
        await run_due_steps(bot)
        await bot.tasks.drain()

    async with bot.sessions() as session:
        [incident] = (await session.execute(select(Incident))).scalars().all()
    assert incident.setup_complete
    assert len([c for c in fake_slack.channels.values() if not c.is_im]) == 1  # no second channel
    summaries = [
        m
        for m in fake_slack.messages[incident.channel_id]
        if (m.get("metadata") or {}).get("event_type") == "incident_summary"
    ]
    assert len(summaries) == 1
    assert fake_slack.pins[incident.channel_id] == [incident.summary_ts]
    assert [c.status for c in fake_slack.attempts_to("conversations.create")] == [500, 500, 200]
    # Between the failures and before the retry, the bot looked for a channel they had made.
    assert fake_slack.calls_to("conversations.list")

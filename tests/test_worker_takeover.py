"""Work held by a dead worker is taken over as soon as it is known dead; a live worker keeps
what it holds for as long as it works; a step whose outcome the database would not record is
handed back within seconds, not left claimed until its lease ends.

Real engine, real page handler, fake Slack. A "worker" that claimed and died is the engine's
own `claim` run under a worker name that then never beats again.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest

from app import wiring
from app.clock import ManualClock, SystemClock
from app.config.policy_loader import load_policy
from app.context import BotContext
from app.sandbox.fakeslack import FakeSlack
from app.services.engine import dead_after, run_due_steps
from app.services.engine.claim import claim, stop_worker
from app.store import steps as step_store
from app.store import workers as worker_store
from app.store.models import Worker
from tests.conftest import clean, make_settings, serve_bot
from tests.outage import DatabaseOutage
from tests.test_scheduler_wake import (
    POLICY,
    dms,
    first_tick_done,
    open_incident,
    plan_page,
    sent,
    step,
    until,
)

pytestmark = pytest.mark.policy(POLICY)


async def beat(bot: BotContext, worker: str) -> None:
    async with bot.sessions.begin() as session:
        await worker_store.beat(session, worker, bot.clock.now())


async def claim_as(bot: BotContext, worker: str, step_id: int) -> None:
    """`worker` claims the step (and is registered by the claim), then sends nothing."""
    [claimed] = await claim(bot, worker, 10, [step_id])
    assert claimed.step.claimed_by == worker


async def test_steps_of_dead_stopped_or_unknown_workers_are_taken_at_once_a_live_ones_are_not(
    fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    users = {"dead": "UONCALL", "stopped": "ULEAD", "unknown": "UCTO", "alive": "UCEO"}
    levels = {"dead": "L1", "stopped": "L2", "unknown": "L3", "alive": "L4"}
    pages = {}
    for holder, level in levels.items():
        incident = await open_incident(bot, fake_slack, severity="P0")
        pages[holder] = await plan_page(bot, incident, clock.now(), level=level)
    await claim_as(bot, "worker-dead", pages["dead"])
    await claim_as(bot, "worker-stopped", pages["stopped"])
    await claim_as(bot, "worker-alive", pages["alive"])
    async with bot.sessions.begin() as session:  # a claim by a worker nobody registered
        await step_store.claim_due(
            session,
            worker="worker-unknown",
            now=clock.now(),
            lease_until=clock.now() + timedelta(seconds=bot.settings.lease_seconds),
            limit=1,
            step_ids=[pages["unknown"]],
        )
    await stop_worker(bot, "worker-stopped")

    # Three heartbeats later: the live worker beat each time, the dead one never did again.
    # Every lease still has minutes to run.
    for _ in range(3):
        clock.advance(timedelta(seconds=bot.settings.worker_heartbeat_seconds))
        await beat(bot, "worker-alive")
    clock.advance(timedelta(seconds=0.5))
    for page in pages.values():
        assert (await step(bot, page)).next_attempt_at > clock.now()
    report = await run_due_steps(bot)

    assert report.sent == 3
    for holder in ("dead", "stopped", "unknown"):
        assert (await step(bot, pages[holder])).status == "sent", holder
        assert len(dms(fake_slack, users[holder])) == 1, holder
    held = await step(bot, pages["alive"])
    assert held.status == "pending" and held.claimed_by == "worker-alive"
    assert dms(fake_slack, users["alive"]) == []


async def test_a_claim_younger_than_the_heartbeat_window_is_never_taken(
    fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    """A worker that has just claimed cannot have missed its beats yet, even if its row says
    it stopped (a stop racing a claim on another replica's clock)."""
    incident = await open_incident(bot, fake_slack)
    page = await plan_page(bot, incident, clock.now())
    await claim_as(bot, "worker-just-claimed", page)
    await stop_worker(bot, "worker-just-claimed")
    assert (await run_due_steps(bot)).claimed == 0
    clock.advance(dead_after(bot.settings) + timedelta(seconds=0.1))
    assert (await run_due_steps(bot)).sent == 1


@pytest.mark.settings(escalation_tick_seconds=60, worker_heartbeat_seconds=0.2)
async def test_the_scheduler_takes_over_a_dead_workers_page_once_it_misses_its_beats(
    fake_slack: FakeSlack, bot: BotContext
) -> None:
    """Nothing wakes the scheduler but the death: its fallback is a minute, the lease five."""
    real = wiring.build(bot.settings, bot.policy, SystemClock())
    try:
        incident = await open_incident(real, fake_slack)
        page = await plan_page(real, incident, real.clock.now())
        await claim_as(real, "worker-killed-mid-page", page)  # ... and then it was killed
        async with serve_bot(real):
            await first_tick_done(real)  # too early: the worker may still be alive
            done = await sent(real, page)
        assert done.claimed_by != "worker-killed-mid-page"
        assert len(dms(fake_slack, "UONCALL")) == 1
    finally:
        await real.engine.dispose()


# A 3 s lease (its handler's deadline a share of it, pushed back at every renewal): a 1 s one
# left a loaded machine's half-second stall between two renewals enough to stop the handler,
# and a 2 s one a PostgreSQL renewal stalled beside two suites and four helpers.
@pytest.mark.settings(lease_seconds=3, worker_heartbeat_seconds=0.1)
async def test_a_live_worker_keeps_a_long_running_step_past_its_lease(
    fake_slack: FakeSlack, bot: BotContext
) -> None:
    """Slack answers slowly: sending the page takes several leases. The worker renews its
    claim while it works, so another worker polling all along never takes the step."""
    first = wiring.build(bot.settings, bot.policy, SystemClock())
    second = wiring.build(bot.settings, bot.policy, SystemClock())
    try:
        incident = await open_incident(first, fake_slack)
        page = await plan_page(first, incident, first.clock.now())
        fake_slack.latency = 1.6  # two calls: the page takes longer than the lease
        sending = asyncio.create_task(run_due_steps(first, worker="worker-slow"))
        await until(lambda: bool(fake_slack.calls))
        holders = set()
        while not sending.done():
            await run_due_steps(second)  # it may take the steps the page plans, not the page
            holders.add((await step(first, page)).claimed_by)
            await asyncio.sleep(0.1)
        report = sending.result()
        fake_slack.latency = 0.0
        assert report.sent == 1 and holders <= {"worker-slow"}
        # The premise: the page took longer than a lease (Slack's latency is a sleep, a floor).
        assert report.seconds > bot.settings.lease_seconds
        assert len(dms(fake_slack, "UONCALL")) == 1
        done = await step(first, page)
        assert done.status == "sent" and done.claimed_by == "worker-slow"
        assert done.claimed_at is not None
        lease = timedelta(seconds=first.settings.lease_seconds)
        assert done.next_attempt_at > done.claimed_at + lease  # renewed while it sent
    finally:
        fake_slack.latency = 0.0
        await first.engine.dispose()
        await second.engine.dispose()


async def test_a_page_slack_took_but_the_database_did_not_is_handed_back_within_seconds(
    tmp_path: Path, fake_slack: FakeSlack, database_url: str, clock: ManualClock
) -> None:
    """The database blinks while Slack delivers the page: saving the message fails, and so
    does recording the failure at first. The step is not left claimed for its five-minute
    lease: it is retried a second later, finds its message in Slack, and sends nothing twice."""
    async with DatabaseOutage(database_url, tmp_path) as outage:
        settings = make_settings(fake_slack, outage.url, escalation_tick_seconds=0)
        bot = wiring.build(settings, load_policy(POLICY), clock)
        try:
            await clean(bot)
            incident = await open_incident(bot, fake_slack)
            page = await plan_page(bot, incident, clock.now())
            fake_slack.latency = 0.5
            sending = asyncio.create_task(run_due_steps(bot))
            await until(lambda: bool(fake_slack.attempts_to("chat.postMessage")))
            await outage.down(bot.engine)
            await asyncio.sleep(1.0)  # the answers arrive; nothing can be saved
            await outage.up()
            first = await sending
            fake_slack.latency = 0.0
            assert first.retried == 1 and first.sent == 0
            held = await step(bot, page)
            assert held.status == "pending" and held.claimed_by is None

            clock.advance(timedelta(seconds=2))  # far less than the lease
            second = await run_due_steps(bot)
            assert second.sent == 1
            assert len(dms(fake_slack, "UONCALL")) == 1
            assert len(fake_slack.messages[incident.channel_id]) == 1
        finally:
            fake_slack.latency = 0.0
            await bot.engine.dispose()


@pytest.mark.settings(escalation_tick_seconds=60)
async def test_a_clean_stop_finishes_the_page_in_flight_then_records_its_worker_stopped(
    fake_slack: FakeSlack, bot: BotContext
) -> None:
    real = wiring.build(bot.settings, bot.policy, SystemClock())
    try:
        incident = await open_incident(real, fake_slack)
        async with serve_bot(real):
            await first_tick_done(real)
            fake_slack.latency = 0.5
            page = await plan_page(real, incident, real.clock.now())
            await until(lambda: bool(fake_slack.attempts_to("chat.postMessage")))
        # The server has stopped: the scheduler waited for the page it was sending.
        fake_slack.latency = 0.0
        done = await step(real, page)
        assert done.status == "sent" and len(dms(fake_slack, "UONCALL")) == 1
        async with real.sessions() as session:
            worker = await session.get(Worker, done.claimed_by)
        assert worker is not None and worker.stopped_at is not None
    finally:
        fake_slack.latency = 0.0
        await real.engine.dispose()

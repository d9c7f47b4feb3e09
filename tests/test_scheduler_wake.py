"""The scheduler wakes when a step falls due, not at its next poll.

The fallback tick is set to a minute and every wait below gives up well before it: a page
that goes out in time was sent because something woke the scheduler (the commit that planned
it, the step's due time, another replica's NOTIFY). Real app, real scheduler, fake Slack; no
timing is asserted, only that the page went out, once, and never before it was due.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from sqlalchemy import text

from app import wiring
from app.clock import SystemClock
from app.context import BotContext
from app.domain.escalation import PAGE
from app.sandbox.fakeslack import FakeSlack
from app.services import engine
from app.store import steps as step_store
from app.store.models import Incident, ScheduledStep
from tests.conftest import ROOT, serve_bot

POLICY = str(ROOT / "tests" / "policies" / "escalation.yml")
FALLBACK = 60  # seconds: ESCALATION_TICK_SECONDS for every test here
PATIENCE = 20.0  # seconds a test waits for a page: well within the fallback

pytestmark = [pytest.mark.policy(POLICY), pytest.mark.settings(escalation_tick_seconds=FALLBACK)]


# ---------------------------------------------------------------------------------- helpers


async def open_incident(bot: BotContext, fake: FakeSlack, severity: str = "P1") -> Incident:
    """An open incident whose setup is done (its channel exists), with nothing planned yet."""
    now = bot.clock.now()
    unique = uuid.uuid4()
    name = f"incident-wake-{unique.hex[:8]}"
    incident = Incident(
        public_id=f"INC-{now:%Y%m%d}-{unique.hex[:6]}",
        day=now.date(),
        seq=unique.int % 1_000_000_000,
        title="Checkout is down",
        severity=severity,
        reporter_id="UREPORTER",
        policy_snapshot=bot.policy.to_snapshot(),
        started_at=now,
        channel_id=fake.add_channel(name),
        channel_name=name,
        topic_set=True,
        members_invited=True,
        summary_pinned=True,
        setup_complete=True,
        created_at=now,
        updated_at=now,
    )
    async with bot.sessions.begin() as session:
        session.add(incident)
    return incident


async def plan_page(bot: BotContext, incident: Incident, due: datetime, level: str = "L1") -> int:
    """L`n`'s page, planned the way escalation plans it (`engine.schedule`), committed."""
    async with bot.sessions.begin() as session:
        step_id = await engine.schedule(
            session, incident, PAGE, due, now=bot.clock.now(), level=level, key=f"page:{level}"
        )
    assert step_id is not None
    return step_id


async def step(bot: BotContext, step_id: int) -> ScheduledStep:
    async with bot.sessions() as session:
        found = await session.get(ScheduledStep, step_id)
    assert found is not None
    return found


def dms(fake: FakeSlack, user: str) -> list[dict]:
    channel = fake.state.ims.get(user)
    return list(fake.messages.get(channel, [])) if channel else []


async def until(condition: Callable[[], bool], seconds: float = PATIENCE) -> None:
    async with asyncio.timeout(seconds):
        while not condition():  # noqa: ASYNC110 - waiting for the bot's scheduler
            await asyncio.sleep(0.02)


async def first_tick_done(bot: BotContext) -> None:
    """The tick the scheduler runs at start is over: the next one is FALLBACK seconds away."""
    await until(
        lambda: bot.health.scheduler is not None and bot.health.scheduler.last_tick is not None
    )


async def sent(bot: BotContext, step_id: int) -> ScheduledStep:
    """The step once it is recorded as sent (gives up after PATIENCE)."""
    async with asyncio.timeout(PATIENCE):
        while (found := await step(bot, step_id)).status != "sent":  # noqa: ASYNC110
            await asyncio.sleep(0.02)
    return found


def on_real_clock(bot: BotContext) -> BotContext:
    """Another context over the same database and Slack, on the real clock (due times then
    mean real moments, which is what the scheduler sleeps until)."""
    return wiring.build(bot.settings, bot.policy, SystemClock())


# ------------------------------------------------------------------------------------ tests


async def test_a_step_planned_in_this_process_is_sent_without_waiting_for_the_fallback_tick(
    server: str, fake_slack: FakeSlack, bot: BotContext
) -> None:
    await first_tick_done(bot)
    incident = await open_incident(bot, fake_slack)
    page = await plan_page(bot, incident, bot.clock.now())

    await sent(bot, page)
    assert len(dms(fake_slack, "UONCALL")) == 1


async def test_a_step_planned_by_a_transaction_that_rolled_back_wakes_nothing_and_sends_nothing(
    server: str, fake_slack: FakeSlack, bot: BotContext
) -> None:
    await first_tick_done(bot)
    incident = await open_incident(bot, fake_slack)
    with pytest.raises(RuntimeError):
        async with bot.sessions.begin() as session:
            await engine.schedule(
                session, incident, PAGE, bot.clock.now(), now=bot.clock.now(), level="L1"
            )
            raise RuntimeError("the declare failed after planning its page")
    # A page planned afterwards is sent: the scheduler was woken for it, not for the other.
    page = await plan_page(bot, incident, bot.clock.now(), level="L2")
    await sent(bot, page)
    assert len(dms(fake_slack, "ULEAD")) == 1 and dms(fake_slack, "UONCALL") == []
    async with bot.sessions() as session:
        planned = await step_store.for_incident(session, incident.id, [PAGE])
    assert "L1" not in [s.level for s in planned]


async def test_a_restarted_scheduler_sleeps_until_the_next_step_is_due_and_sends_it_then(
    fake_slack: FakeSlack, bot: BotContext
) -> None:
    """Planned before this process started (nobody told it): its first tick finds the step
    ahead and wakes at that moment, well before the fallback."""
    real = on_real_clock(bot)
    try:
        incident = await open_incident(real, fake_slack)
        page = await plan_page(real, incident, real.clock.now() + timedelta(seconds=1.5))
        async with serve_bot(real):
            await first_tick_done(real)
            assert dms(fake_slack, "UONCALL") == []  # not due at the first tick
            done = await sent(real, page)
        assert done.sent_at is not None and done.sent_at >= done.due_at  # never early
        assert len(dms(fake_slack, "UONCALL")) == 1
    finally:
        await real.engine.dispose()


async def test_a_step_due_later_wakes_the_scheduler_at_its_due_time(
    fake_slack: FakeSlack, bot: BotContext
) -> None:
    real = on_real_clock(bot)
    try:
        async with serve_bot(real):
            await first_tick_done(real)
            incident = await open_incident(real, fake_slack)
            page = await plan_page(real, incident, real.clock.now() + timedelta(seconds=1))
            done = await sent(real, page)
        assert done.sent_at is not None and done.sent_at >= done.due_at  # never early
        assert len(dms(fake_slack, "UONCALL")) == 1
    finally:
        await real.engine.dispose()


async def listening(bot: BotContext) -> bool:
    """Whether some connection to this database is LISTENing for planned steps."""
    async with bot.engine.connect() as conn:
        found = await conn.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND query LIKE 'LISTEN %incident_bot_steps%'"
            )
        )
        return bool(found.scalar_one())


async def test_a_step_planned_by_another_replica_wakes_this_one_through_postgresql(
    server: str, fake_slack: FakeSlack, bot: BotContext
) -> None:
    if bot.engine.dialect.name != "postgresql":
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's; on SQLite one replica polls")
    await first_tick_done(bot)
    async with asyncio.timeout(PATIENCE):
        while not await listening(bot):  # noqa: ASYNC110 - the LISTEN is on its way
            await asyncio.sleep(0.05)
    other = wiring.build(bot.settings, bot.policy, bot.clock)  # a replica with no scheduler
    try:
        incident = await open_incident(other, fake_slack)
        page = await plan_page(other, incident, other.clock.now())
        await sent(bot, page)
        assert len(dms(fake_slack, "UONCALL")) == 1
    finally:
        await other.engine.dispose()


async def test_the_fallback_tick_still_runs_when_nothing_wakes_the_scheduler(
    fake_slack: FakeSlack, bot: BotContext
) -> None:
    """With a short fallback and no notice at all (a step written behind the bot's back, as
    an older replica on SQLite would), the poll still finds it."""
    real = wiring.build(
        bot.settings.model_copy(update={"escalation_tick_seconds": 0.2}), bot.policy, SystemClock()
    )
    try:
        async with serve_bot(real):
            await first_tick_done(real)
            incident = await open_incident(real, fake_slack)
            async with real.engine.begin() as conn:  # no session: nobody is told
                await conn.execute(
                    ScheduledStep.__table__.insert().values(
                        incident_id=incident.id,
                        kind=PAGE,
                        level="L1",
                        dedupe_key="page:L1",
                        status="pending",
                        due_at=real.clock.now(),
                        next_attempt_at=real.clock.now(),
                        attempts=0,
                        late=False,
                        data={},
                        created_at=real.clock.now(),
                        updated_at=real.clock.now(),
                    )
                )
            await until(lambda: len(dms(fake_slack, "UONCALL")) == 1)
    finally:
        await real.engine.dispose()


async def test_a_page_waiting_out_a_rate_limit_does_not_hold_back_the_page_due_after_it(
    fake_slack: FakeSlack, bot: BotContext
) -> None:
    """The first page's invitation gets a 429 and waits out its Retry-After; meanwhile the
    second page falls due and its DM goes out, while the first step is still in flight."""
    real = on_real_clock(bot)
    try:
        async with serve_bot(real):
            await first_tick_done(real)
            slow, quick = (
                await open_incident(real, fake_slack),
                await open_incident(real, fake_slack),
            )
            fake_slack.rate_limit_next(
                "conversations.invite", retry_after=5, when={"channel": slow.channel_id}
            )
            first = await plan_page(real, slow, real.clock.now())
            await until(lambda: len(dms(fake_slack, "UONCALL")) == 1)
            second = await plan_page(real, quick, real.clock.now(), level="L2")
            await until(lambda: len(dms(fake_slack, "ULEAD")) == 1)
            assert (await step(real, first)).status == "pending"  # still waiting out the 429
            await sent(real, first)
            await sent(real, second)
        assert len(dms(fake_slack, "UONCALL")) == 1 and len(dms(fake_slack, "ULEAD")) == 1
    finally:
        await real.engine.dispose()

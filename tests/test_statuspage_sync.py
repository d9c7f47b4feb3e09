"""The copy of the status page on Atlassian Statuspage: the real bot, the fake Slack, and a fake
Statuspage answering in API v1's published shapes, with its faults.

An incident's published posts become one Statuspage incident, created by the first and updated
by the others in order (status, body, the services' components), resolved with its components
back to operational; a lost answer (a 5xx after the work, a dropped connection, a timeout, a
process dying) is looked for before anything is done again, so nothing is doubled; a 429 waits
for its Retry-After; a refusal is kept on the post and told once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import select

from app import wiring
from app.channels import statuspage as statuspage_api
from app.clock import ManualClock
from app.config.policy_loader import load_policy
from app.context import BotContext
from app.sandbox.fakeslack import FakeSlack
from app.sandbox.sender import SlackSender
from app.sandbox.statuspage import DEFAULT_API_KEY, FakeStatuspage
from app.services.engine import run_due_steps
from app.services.statuspage_sync import STATUSPAGE
from app.store.models import Incident, ScheduledStep, StatusPost, StepStatus
from tests.conftest import clean, make_settings
from tests.running import declare, entries, posts_to, resolve
from tests.statuspage_posts import publish

POLICY = Path(__file__).parent / "policies" / "statuspage.yml"
API, PAYMENTS = "8kbf7d35c070", "vtnh60py4yd7"  # the policy's statuspage_component ids
CREATE, UPDATE = "POST /incidents", "PATCH /incidents/{id}"
SECOND = timedelta(seconds=1)


@pytest_asyncio.fixture
async def statuspage(clock: ManualClock) -> AsyncIterator[FakeStatuspage]:
    fake = FakeStatuspage(clock=clock.now)
    fake.add_component("API", API)
    fake.add_component("Payments", PAYMENTS)
    await fake.start()
    yield fake
    await fake.stop()
    assert fake.violations == []


@pytest_asyncio.fixture
async def bot(
    database_url: str, fake_slack: FakeSlack, clock: ManualClock, statuspage: FakeStatuspage
) -> AsyncIterator[BotContext]:
    settings = make_settings(
        fake_slack,
        database_url,
        escalation_tick_seconds=0,
        status_page=True,
        statuspage_api_key=DEFAULT_API_KEY,
        statuspage_page_id=statuspage.page_id,
        statuspage_api_url=statuspage.base_url,
    )
    ctx = wiring.build(settings, load_policy(POLICY), clock)
    await clean(ctx)
    yield ctx
    await ctx.tasks.drain()
    await ctx.close()


async def steps(bot: BotContext, clock: ManualClock, advance: timedelta = timedelta(0)) -> None:
    clock.advance(advance)
    await run_due_steps(bot)
    await bot.tasks.drain()


async def post_rows(bot: BotContext) -> list[StatusPost]:
    async with bot.sessions() as session:
        stmt = select(StatusPost).where(StatusPost.state == "published").order_by(StatusPost.id)
        return list((await session.execute(stmt)).scalars())


async def sync_steps(bot: BotContext) -> list[ScheduledStep]:
    async with bot.sessions() as session:
        stmt = select(ScheduledStep).where(ScheduledStep.kind == STATUSPAGE)
        return list((await session.execute(stmt.order_by(ScheduledStep.id))).scalars())


def statuses(fake: FakeStatuspage) -> dict[str, str]:
    return {c.id: c.status for c in fake.state.components.values()}


async def declared(slack: SlackSender, fake_slack: FakeSlack, bot: BotContext) -> Incident:
    return await declare(slack, fake_slack, bot, title="Checkout <b>down</b>", severity="P1")


async def test_posts_create_update_and_resolve_one_statuspage_incident_with_its_components(
    slack: SlackSender,
    fake_slack: FakeSlack,
    bot: BotContext,
    clock: ManualClock,
    statuspage: FakeStatuspage,
) -> None:
    incident = await declared(slack, fake_slack, bot)
    await publish(
        slack,
        fake_slack,
        bot,
        incident,
        "[api,payments,email partial investigating] Payments fail.",
    )
    await steps(bot, clock)
    [remote] = statuspage.incidents
    # Named as /status names it: a public page never shows the internal title.
    assert remote.name == f"{incident.public_id}: Partial outage · API, Payments, E-mail delivery"
    assert remote.metadata == {"incident_bot": {"incident": incident.public_id}}
    assert remote.status == "investigating" and remote.bodies == ["Payments fail."]
    assert remote.impact_override == "major" and remote.updates[0].deliver_notifications
    assert statuses(statuspage) == {API: "partial_outage", PAYMENTS: "partial_outage"}
    [first] = await post_rows(bot)
    assert first.statuspage_incident_id == remote.id and first.statuspage_error is None
    assert first.statuspage_synced_at == clock.now()

    clock.advance(timedelta(minutes=10))
    await publish(
        slack, fake_slack, bot, incident, "[payments major identified] The card processor is down."
    )
    await steps(bot, clock)
    assert remote.status == "identified" and remote.impact_override == "critical"
    assert remote.bodies == ["Payments fail.", "The card processor is down."]
    # API is no longer named: back to operational; Payments is worse.
    assert statuses(statuspage) == {API: "operational", PAYMENTS: "major_outage"}

    clock.advance(timedelta(minutes=30))
    await resolve(slack, fake_slack, bot, incident, resolution="Failed over")
    await publish(slack, fake_slack, bot, incident, "Fixed.")  # proposed: resolved, operational
    await steps(bot, clock)
    assert remote.status == "resolved" and remote.resolved_at == clock.now().isoformat()
    assert statuses(statuspage) == {API: "operational", PAYMENTS: "operational"}
    assert remote.bodies[-1] == "Fixed." and remote.impact_override == "critical"
    assert len(statuspage.done(CREATE)) == 1 and len(statuspage.done(UPDATE)) == 2
    assert all(p.statuspage_incident_id == remote.id for p in await post_rows(bot))
    assert all(step.status == StepStatus.SENT for step in await sync_steps(bot))


@pytest.mark.parametrize("fault", ["500", "dropped", "timeout"])
async def test_a_lost_answer_is_looked_for_so_nothing_is_made_or_said_twice(
    fault: str,
    slack: SlackSender,
    fake_slack: FakeSlack,
    bot: BotContext,
    clock: ManualClock,
    statuspage: FakeStatuspage,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(statuspage_api, "TIMEOUT", httpx.Timeout(0.3))

    def lose(route: str) -> None:
        if fault == "timeout":
            statuspage.slow_next(1.0, route=route)  # done, answered after the bot gave up
        else:
            statuspage.fail_after_success(500, drop=fault == "dropped", route=route)

    incident = await declared(slack, fake_slack, bot)
    lose(CREATE)
    await publish(slack, fake_slack, bot, incident, "[api major investigating] Down.")
    await steps(bot, clock)
    [remote] = statuspage.incidents  # made, but the bot never heard
    [post] = await post_rows(bot)
    assert post.statuspage_incident_id is None and post.data["statuspage"]["pending"] == "create"
    await steps(bot, clock, 5 * SECOND)
    [found] = await post_rows(bot)
    assert found.statuspage_incident_id == remote.id and found.statuspage_synced_at
    assert len(statuspage.incidents) == 1 and len(statuspage.attempts_to(CREATE)) == 1
    assert statuspage.attempts_to("GET /incidents/unresolved")

    lose(UPDATE)
    await publish(slack, fake_slack, bot, incident, "[api partial monitoring] Recovering.")
    await steps(bot, clock)
    assert remote.bodies == ["Down.", "Recovering."]
    await steps(bot, clock, 5 * SECOND)
    assert remote.bodies == ["Down.", "Recovering."]  # recognised as applied, not sent again
    assert len(statuspage.attempts_to(UPDATE)) == 1
    assert all(p.statuspage_synced_at for p in await post_rows(bot))


async def test_a_429_waits_for_its_retry_after(
    slack: SlackSender,
    fake_slack: FakeSlack,
    bot: BotContext,
    clock: ManualClock,
    statuspage: FakeStatuspage,
) -> None:
    incident = await declared(slack, fake_slack, bot)
    statuspage.rate_limit_next(retry_after=30)
    await publish(slack, fake_slack, bot, incident, "[api degraded investigating] Slow.")
    await steps(bot, clock)
    asked = len(statuspage.requests)
    await steps(bot, clock, 29 * SECOND)
    assert len(statuspage.requests) == asked and not statuspage.incidents  # still waiting
    await steps(bot, clock, SECOND)
    [remote] = statuspage.incidents
    assert remote.bodies == ["Slow."] and statuses(statuspage)[API] == "degraded_performance"


async def test_a_refusal_is_recorded_and_told_once_and_a_later_post_is_copied_once_fixed(
    slack: SlackSender,
    fake_slack: FakeSlack,
    bot: BotContext,
    clock: ManualClock,
    statuspage: FakeStatuspage,
) -> None:
    statuspage.api_key = "another-key"  # the bot's STATUSPAGE_API_KEY was revoked
    incident = await declared(slack, fake_slack, bot)
    channel = incident.channel_id or ""
    before = len(posts_to(fake_slack, channel))
    await publish(slack, fake_slack, bot, incident, "[api major investigating] Down.")
    await steps(bot, clock)
    [post] = await post_rows(bot)
    assert post.statuspage_error and "401" in post.statuspage_error
    told = [m["text"] for m in posts_to(fake_slack, channel)[before:]]
    assert [t for t in told if "Statuspage refused" in t] == [
        f":warning: Statuspage refused the status page update of {incident.public_id}: "
        "Statuspage refused it (401): Could not authenticate (check the API key). The bot's "
        "own status page has it; Statuspage does not. Check STATUSPAGE_API_KEY, "
        "STATUSPAGE_PAGE_ID and the policy's `statuspage_component` ids; the next update "
        "published is copied again."
    ]
    failed = [e for e in await entries(bot, incident) if e.kind == "step_failed"]
    assert len(failed) == 1 and "401" in failed[0].text
    asked = len(statuspage.requests)
    await steps(bot, clock, timedelta(hours=1))
    assert len(statuspage.requests) == asked  # a refusal is not retried

    await publish(slack, fake_slack, bot, incident, "[api major identified] Found it.")
    await steps(bot, clock)
    second = (await post_rows(bot))[-1]
    assert second.statuspage_error == post.statuspage_error
    told = [m["text"] for m in posts_to(fake_slack, channel)[before:]]
    assert len([t for t in told if "Statuspage refused" in t]) == 1  # told once

    statuspage.api_key = DEFAULT_API_KEY  # the key is fixed
    await publish(slack, fake_slack, bot, incident, "[api partial monitoring] Recovering.")
    await steps(bot, clock)
    [remote] = statuspage.incidents
    assert remote.bodies == ["Recovering."] and remote.status == "monitoring"
    assert (await post_rows(bot))[-1].statuspage_incident_id == remote.id


async def test_a_worker_dying_while_statuspage_creates_leaves_one_incident_after_the_rerun(
    slack: SlackSender,
    fake_slack: FakeSlack,
    bot: BotContext,
    clock: ManualClock,
    statuspage: FakeStatuspage,
) -> None:
    incident = await declared(slack, fake_slack, bot)
    statuspage.hold_after_success(route=CREATE)
    await publish(slack, fake_slack, bot, incident, "[payments major investigating] Down.")
    worker = asyncio.create_task(run_due_steps(bot))
    async with asyncio.timeout(10):
        while not statuspage.incidents:  # noqa: ASYNC110 - Statuspage is working on it
            await asyncio.sleep(0.01)
    worker.cancel()  # the worker dies; its claim stays, nothing saved the answer
    with pytest.raises(asyncio.CancelledError):
        await worker
    statuspage.released.set()
    [step] = await sync_steps(bot)
    assert step.status == StepStatus.PENDING and step.claimed_by is not None
    # Its heartbeats stop: once it is known dead, another worker takes the step over.
    await steps(bot, clock, 10 * SECOND)
    [remote] = statuspage.incidents
    [post] = await post_rows(bot)
    assert post.statuspage_incident_id == remote.id and remote.bodies == ["Down."]
    assert len(statuspage.attempts_to(CREATE)) == 1
    [step] = await sync_steps(bot)
    assert step.status == StepStatus.SENT and step.attempts == 2


async def test_posts_published_in_quick_succession_reach_statuspage_in_order(
    slack: SlackSender,
    fake_slack: FakeSlack,
    bot: BotContext,
    clock: ManualClock,
    statuspage: FakeStatuspage,
) -> None:
    incident = await declared(slack, fake_slack, bot)
    statuspage.rate_limit_next(retry_after=3, route=CREATE)  # the first one is held up
    await publish(slack, fake_slack, bot, incident, "[api major investigating] One.")
    await publish(slack, fake_slack, bot, incident, "[api partial identified] Two.")
    await publish(slack, fake_slack, bot, incident, "[api degraded monitoring] Three.")
    for _ in range(10):
        await steps(bot, clock, SECOND)
    [remote] = statuspage.incidents
    assert remote.bodies == ["One.", "Two.", "Three."]
    assert [u.status for u in remote.updates] == ["investigating", "identified", "monitoring"]
    assert statuses(statuspage)[API] == "degraded_performance"
    assert all(p.statuspage_incident_id == remote.id for p in await post_rows(bot))


async def test_statuspage_down_for_a_while_is_told_once_and_the_copy_goes_when_it_is_back(
    slack: SlackSender,
    fake_slack: FakeSlack,
    bot: BotContext,
    clock: ManualClock,
    statuspage: FakeStatuspage,
) -> None:
    incident = await declared(slack, fake_slack, bot)
    channel = incident.channel_id or ""
    before = len(posts_to(fake_slack, channel))
    statuspage.go_down(503)
    await publish(slack, fake_slack, bot, incident, "[payments major investigating] Down.")
    for _ in range(8):
        await steps(bot, clock, timedelta(minutes=5))
    told = [m["text"] for m in posts_to(fake_slack, channel)[before:]]
    delayed = [t for t in told if "Statuspage is not taking" in t]
    assert len(delayed) == 1 and "503" in delayed[0] and "nothing is lost" in delayed[0]
    statuspage.come_up()
    await steps(bot, clock, timedelta(minutes=5))
    [remote] = statuspage.incidents
    [post] = await post_rows(bot)
    assert post.statuspage_incident_id == remote.id and post.statuspage_error is None


async def test_an_incident_deleted_in_statuspage_refuses_the_next_post_then_a_new_one_is_made(
    slack: SlackSender,
    fake_slack: FakeSlack,
    bot: BotContext,
    clock: ManualClock,
    statuspage: FakeStatuspage,
) -> None:
    incident = await declared(slack, fake_slack, bot)
    await publish(slack, fake_slack, bot, incident, "[api major investigating] Down.")
    await steps(bot, clock)
    [deleted] = statuspage.incidents
    statuspage.delete_incident(deleted.id)  # someone removes it in Statuspage
    await publish(slack, fake_slack, bot, incident, "[api major identified] Found it.")
    await steps(bot, clock)
    refused = (await post_rows(bot))[-1]
    assert refused.statuspage_error and "404" in refused.statuspage_error
    told = [m["text"] for m in posts_to(fake_slack, incident.channel_id or "")]
    assert len([t for t in told if "Statuspage refused" in t]) == 1
    await publish(slack, fake_slack, bot, incident, "[api partial monitoring] Recovering.")
    await steps(bot, clock)
    [remote] = statuspage.incidents
    assert remote.id != deleted.id and remote.bodies == ["Recovering."]
    assert (await post_rows(bot))[-1].statuspage_incident_id == remote.id

"""The same incident against each tracker the bot speaks to, through the real bot and each
tracker's fake: a P1 opens exactly one ticket at the tracker's priority for P1, a lost answer
to the create is looked up instead of made twice, and resolve closes it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import select

from app import wiring
from app.clock import ManualClock
from app.config.policy_loader import load_policy
from app.context import BotContext
from app.sandbox.fakeslack import FakeSlack
from app.sandbox.sender import SlackSender
from app.services.engine import run_due_steps
from app.store.models import TicketRecord
from tests.conftest import clean, make_settings
from tests.running import declare, resolve

POLICY = Path(__file__).parent / "policies" / "tickets_jira_items.yml"


@dataclass
class Tracked:
    """One tracker's fake, as these tests need it."""

    fake: Any
    settings: dict[str, Any]
    project: str
    p1_priority: str
    issues: Callable[[], list[Any]]
    priority_of: Callable[[Any], str]
    closed: Callable[[Any], bool]
    lose_create_answer: Callable[[], None]


async def jira_server() -> Tracked:
    from app.sandbox.trackers.jira import FakeJira

    fake = FakeJira("server")
    fake.seed_project("OPS")
    await fake.start()
    return Tracked(
        fake,
        {"jira_url": fake.base_url, "jira_pat": fake.pat},
        "OPS",
        "High",
        lambda: list(fake.issues.values()),
        lambda issue: issue.priority,
        lambda issue: issue.status == "Done",
        lambda: fake.fail_after_success(route="POST /issue"),
    )


async def linear() -> Tracked:
    from app.sandbox.trackers.linear import FakeLinear

    fake = FakeLinear()
    fake.seed_team("ENG")
    await fake.start()
    return Tracked(
        fake,
        {"linear_api_key": fake.api_key, "linear_api_url": fake.api_url},
        "ENG",
        "High",
        lambda: list(fake.issues),
        lambda issue: issue.priorityLabel,
        lambda issue: issue.state.type == "completed",
        lambda: fake.fail_after_success(operation="IssueCreate"),
    )


async def github() -> Tracked:
    from app.sandbox.trackers.github import FakeGitHub

    fake = FakeGitHub()
    fake.seed_repo("acme/api", collaborators=["incident-bot"])
    await fake.start()

    def priority(issue: Any) -> str:
        found = [name for name in issue.label_names if name.startswith("priority: ")]
        return found[0].removeprefix("priority: ").title() if len(found) == 1 else str(found)

    return Tracked(
        fake,
        {"github_token": fake.token, "github_api_url": fake.base_url},
        "acme/api",
        "High",
        lambda: [i for i in fake.issues("acme/api") if not i.is_pull_request],
        priority,
        lambda issue: issue.state == "closed",
        lambda: fake.fail_after_success("issues/create"),
    )


TRACKERS = {"jira": jira_server, "linear": linear, "github": github}


@pytest_asyncio.fixture(params=sorted(TRACKERS))
async def tracked(request: pytest.FixtureRequest) -> AsyncIterator[tuple[str, Tracked]]:
    made = await TRACKERS[request.param]()
    yield request.param, made
    await made.fake.stop()
    assert made.fake.violations == []


@pytest_asyncio.fixture
async def bot(
    database_url: str,
    fake_slack: FakeSlack,
    clock: ManualClock,
    tracked: tuple[str, Tracked],
    tmp_path: Path,
) -> AsyncIterator[BotContext]:
    provider, made = tracked
    policy = tmp_path / "policy.yml"
    text = POLICY.read_text().replace("provider: jira", f"provider: {provider}")
    policy.write_text(text.replace("project: OPS", f"project: {made.project}"))
    settings = make_settings(fake_slack, database_url, escalation_tick_seconds=0, **made.settings)
    ctx = wiring.build(settings, load_policy(policy), clock)
    await clean(ctx)
    yield ctx
    await ctx.tasks.drain()
    await ctx.close()


async def settle(bot: BotContext, clock: ManualClock) -> None:
    for _ in range(4):
        await run_due_steps(bot)
        clock.advance(timedelta(seconds=20))
    await run_due_steps(bot)


async def test_a_p1_opens_one_ticket_and_resolve_closes_it(
    slack: SlackSender,
    fake_slack: FakeSlack,
    bot: BotContext,
    clock: ManualClock,
    tracked: tuple[str, Tracked],
) -> None:
    _provider, made = tracked
    incident = await declare(slack, fake_slack, bot, severity="P1")
    await settle(bot, clock)
    [issue] = made.issues()
    assert made.priority_of(issue) == made.p1_priority and not made.closed(issue)
    await resolve(slack, fake_slack, bot, incident)
    await settle(bot, clock)
    assert made.closed(issue) and len(made.issues()) == 1
    async with bot.sessions() as session:
        [record] = (await session.execute(select(TicketRecord))).scalars()
    assert record.closed and record.key and record.url


async def test_a_lost_answer_to_the_create_makes_no_second_ticket(
    slack: SlackSender,
    fake_slack: FakeSlack,
    bot: BotContext,
    clock: ManualClock,
    tracked: tuple[str, Tracked],
) -> None:
    _provider, made = tracked
    made.lose_create_answer()
    await declare(slack, fake_slack, bot, severity="P2")
    await settle(bot, clock)
    [issue] = made.issues()
    async with bot.sessions() as session:
        [record] = (await session.execute(select(TicketRecord))).scalars()
    assert record.key is not None and not record.uncertain
    assert made.priority_of(issue) == "Medium"

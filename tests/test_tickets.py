"""Tickets end to end: the real bot, the fake Slack and a fake Jira that answers in Jira's
published shapes. A P1 opens exactly one ticket, linked where the plan's documents show links,
kept in step through severity changes, resolve and reopen, across a tracker outage, a lost
answer and a worker that died mid-way; action items become tickets and closing one in Jira
marks the item done."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy import select

from app import wiring
from app.clock import ManualClock
from app.config.policy_loader import load_policy
from app.context import BotContext
from app.sandbox.fakeslack import FakeSlack
from app.sandbox.sender import SlackSender
from app.sandbox.trackers.jira import FakeJira
from app.services.engine import run_due_steps
from app.store.models import ActionItem, ScheduledStep, StepStatus, TicketRecord
from tests.conftest import clean, make_settings
from tests.running import command, declare, entries, posts_to, reload, resolve

POLICY = Path(__file__).parent / "policies" / "tickets_jira_items.yml"
SECRET = "jira-webhook-secret-0123456789"


@pytest_asyncio.fixture
async def jira() -> AsyncIterator[FakeJira]:
    fake = FakeJira("cloud")
    fake.seed_project("OPS")
    fake.seed_user("other@example.com")
    await fake.start()
    yield fake
    await fake.stop()
    assert fake.violations == []


@pytest_asyncio.fixture
async def bot(
    database_url: str, fake_slack: FakeSlack, clock: ManualClock, jira: FakeJira
) -> AsyncIterator[BotContext]:
    settings = make_settings(
        fake_slack,
        database_url,
        escalation_tick_seconds=0,
        jira_url=jira.base_url,
        jira_email=jira.email,
        jira_api_token=jira.token,
        jira_webhook_secret=SECRET,
        ticket_poll_seconds=60,
    )
    ctx = wiring.build(settings, load_policy(POLICY), clock)
    await clean(ctx)
    yield ctx
    await ctx.tasks.drain()
    await ctx.close()


async def tickets_of(bot: BotContext) -> list[TicketRecord]:
    async with bot.sessions() as session:
        return list(
            (await session.execute(select(TicketRecord).order_by(TicketRecord.id))).scalars()
        )


async def settle(bot: BotContext, clock: ManualClock, rounds: int = 3) -> None:
    """Run what is due, a few times over (a step defers itself for a moment)."""
    for _ in range(rounds):
        await run_due_steps(bot)
        clock.advance(timedelta(seconds=3))
    await run_due_steps(bot)


async def test_a_p1_opens_exactly_one_ticket_linked_on_the_summary_bookmarks_and_timeline(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock, jira: FakeJira
) -> None:
    incident = await declare(slack, fake_slack, bot, title="Payments *down* @here", severity="P1")
    await settle(bot, clock)
    [issue] = jira.issues.values()
    assert issue.project == "OPS" and issue.priority == "High"
    assert incident.public_id in issue.labels and "incident" in issue.labels
    assert issue.summary == f"{incident.public_id} P1: Payments *down* @here"
    [record] = await tickets_of(bot)
    assert record.key == issue.key and record.url == f"{jira.base_url}/browse/{issue.key}"
    [bookmark] = fake_slack.bookmarks[incident.channel_id]
    assert bookmark["link"] == record.url
    texts = [e.text for e in await entries(bot, incident)]
    assert f"Ticket {issue.key} opened in Jira: {record.url}" in texts
    # Running the steps again changes nothing: no second ticket, no second call to create.
    await settle(bot, clock)
    assert len(jira.issues) == 1 and len(jira.attempts_to("POST /issue")) == 1


async def test_severity_resolve_and_reopen_keep_the_ticket_in_step(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock, jira: FakeJira
) -> None:
    incident = await declare(slack, fake_slack, bot, severity="P2")
    await settle(bot, clock)
    [issue] = jira.issues.values()
    assert issue.priority == "Medium"
    await command(slack, bot, "severity P1 spreading", channel=incident.channel_id)
    await settle(bot, clock)
    assert issue.priority == "High"
    await resolve(slack, fake_slack, bot, incident, resolution="Rolled back 4.2")
    await settle(bot, clock)
    assert issue.status == "Done"
    comments = [c.read.plain for c in issue.comments]
    assert any("Rolled back 4.2" in c for c in comments)
    incident = await reload(bot, incident)
    links = [url for c in issue.comments for _label, url in c.read.links]
    assert incident.postmortem_url and incident.postmortem_url in links
    await command(slack, bot, "reopen not fixed", channel=incident.channel_id)
    await settle(bot, clock)
    assert issue.status != "Done"
    [record] = await tickets_of(bot)
    assert record.closed is False and len(jira.issues) == 1


async def test_p0_opens_none_until_asked_and_p3_goes_to_the_backlog(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock, jira: FakeJira
) -> None:
    critical = await declare(slack, fake_slack, bot, title="Everything is down", severity="P0")
    await settle(bot, clock)
    assert jira.issues == {}
    await command(slack, bot, "ticket", channel=critical.channel_id)
    [issue] = jira.issues.values()
    answer = fake_slack.responses[-1]["text"]  # by response_url: the tracker may take seconds
    assert issue.key in answer and issue.priority == "Highest"
    low = await declare(slack, fake_slack, bot, title="Typo on the pricing page", severity="P3")
    await settle(bot, clock)
    backlog = next(i for i in jira.issues.values() if low.public_id in i.labels)
    assert "backlog" in backlog.labels and backlog.priority == "Low"


async def test_a_tracker_outage_delays_the_ticket_and_loses_nothing(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock, jira: FakeJira
) -> None:
    await jira.go_down(503)
    incident = await declare(slack, fake_slack, bot)
    for _ in range(6):  # five tries, each failing; the waits grow
        await run_due_steps(bot)
        clock.advance(timedelta(minutes=2))
    assert jira.issues == {}
    [step] = [s for s in await steps(bot) if s.kind == "ticket"]
    assert step.status == StepStatus.PENDING  # never given up
    told = [m["text"] for m in posts_to(fake_slack, incident.channel_id or "")]
    assert sum("is not answering" in t for t in told) == 1  # told once
    await jira.come_up()
    clock.advance(timedelta(minutes=6))
    await settle(bot, clock)
    assert len(jira.issues) == 1


@pytest.mark.parametrize("lost", [{"status": 500}, {"drop": True}], ids=["5xx", "dropped"])
async def test_a_lost_answer_to_the_create_is_looked_up_not_made_twice(
    slack: SlackSender,
    fake_slack: FakeSlack,
    bot: BotContext,
    clock: ManualClock,
    jira: FakeJira,
    lost: dict,
) -> None:
    jira.fail_after_success(route="POST /issue", **lost)
    await declare(slack, fake_slack, bot)
    await settle(bot, clock)
    clock.advance(timedelta(seconds=30))
    await settle(bot, clock)
    [issue] = jira.issues.values()
    [record] = await tickets_of(bot)
    assert record.key == issue.key and len(jira.attempts_to("POST /issue")) == 1


async def test_a_worker_that_died_mid_create_is_taken_over_with_a_look_up(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock, jira: FakeJira
) -> None:
    # The dead worker marked the ticket uncertain, held it, and its create reached Jira.
    jira.fail_after_success(route="POST /issue", drop=True)
    incident = await declare(slack, fake_slack, bot)
    await run_due_steps(bot)
    [record] = await tickets_of(bot)
    assert record.key is None and record.uncertain
    async with bot.sessions.begin() as session:
        held = await session.get(TicketRecord, record.id)
        assert held is not None
        held.busy_until = clock.now() + timedelta(minutes=2)
    clock.advance(timedelta(seconds=30))
    await run_due_steps(bot)  # still held by the dead worker: it waits
    assert (await tickets_of(bot))[0].key is None
    clock.advance(timedelta(minutes=3))  # the hold lapses
    await settle(bot, clock)
    [issue] = jira.issues.values()
    assert (await tickets_of(bot))[0].key == issue.key
    assert incident.public_id in issue.labels


async def test_an_action_item_becomes_a_ticket_and_closing_it_in_jira_marks_it_done(
    slack: SlackSender,
    fake_slack: FakeSlack,
    bot: BotContext,
    clock: ManualClock,
    jira: FakeJira,
    server: str,
) -> None:
    incident = await declare(slack, fake_slack, bot)
    await command(
        slack,
        bot,
        "action Alert on webhook failures <@UOTHER|other> due 2026-12-05",
        channel=incident.channel_id,
    )
    await settle(bot, clock)
    item_issue = next(i for i in jira.issues.values() if f"{incident.public_id}-A1" in i.labels)
    assert item_issue.duedate == "2026-12-05" and item_issue.assignee is not None
    jira.set_status(item_issue.key, "Done")
    headers, body = jira.webhook_for(item_issue.key, SECRET, at=clock.now())
    response = await slack.http.post(
        f"{server}/webhooks/tickets/jira", content=body, headers=headers
    )
    assert response.status_code == 200
    [item] = await items_of(bot)
    assert item.done
    # A tampered delivery changes nothing.
    bad = await slack.http.post(
        f"{server}/webhooks/tickets/jira", content=body + b" ", headers=headers
    )
    assert bad.status_code == 401


async def test_closing_an_item_ticket_is_heard_by_polling_without_a_webhook(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock, jira: FakeJira
) -> None:
    incident = await declare(slack, fake_slack, bot)
    await command(slack, bot, "action Write the runbook", channel=incident.channel_id)
    await settle(bot, clock)
    item_issue = next(i for i in jira.issues.values() if f"{incident.public_id}-A1" in i.labels)
    jira.set_status(item_issue.key, "Done")
    clock.advance(timedelta(seconds=61))
    await run_due_steps(bot)
    [item] = await items_of(bot)
    assert item.done and "closed in Jira" in [e.text for e in await entries(bot, incident)][-1]


async def test_marking_an_item_done_in_slack_closes_its_ticket(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock, jira: FakeJira
) -> None:
    incident = await declare(slack, fake_slack, bot)
    await command(slack, bot, "action Write the runbook", channel=incident.channel_id)
    await settle(bot, clock)
    [item] = await items_of(bot)
    from app.services import action_items

    await action_items.mark_done(bot, item.id, "UREPORTER")
    await settle(bot, clock)
    item_issue = next(i for i in jira.issues.values() if f"{incident.public_id}-A1" in i.labels)
    assert item_issue.status == "Done"


async def test_a_private_incident_ticket_keeps_its_title_out(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock, jira: FakeJira
) -> None:
    incident = await declare(
        slack, fake_slack, bot, title="Customer 4411 data exposed", visibility="private"
    )
    await settle(bot, clock)
    [issue] = jira.issues.values()
    assert "4411" not in issue.summary and "4411" not in issue.description_text
    assert incident.public_id in issue.summary


async def steps(bot: BotContext) -> list[ScheduledStep]:
    async with bot.sessions() as session:
        return list((await session.execute(select(ScheduledStep))).scalars())


async def items_of(bot: BotContext) -> list[ActionItem]:
    async with bot.sessions() as session:
        return list((await session.execute(select(ActionItem))).scalars())

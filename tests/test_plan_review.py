"""The plan's own review ("Review Frequency: Quarterly"): on the first day of each quarter at
09:00 in Paris the policy's owner (UCTO) gets a DM with the quarter just ended in figures,
what to look at, and that quarter's report attached, built from incidents declared through
the real flow; never before 09:00, late (once) when the bot was down then; once however many
passes or replicas look; again after the lease when Slack failed or a process died between the
claim and Slack's answer, and not twice when Slack shared the file but the answer was lost.

Policy: tests/policies/plan_review.yml.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from app import wiring
from app.clock import ManualClock
from app.context import BotContext
from app.sandbox.fakeslack import FakeSlack
from app.sandbox.sender import SlackSender
from app.services.plan_review import send_plan_review
from app.store import plan_reviews
from app.store.models import PlanReviewSent
from tests.conftest import make_settings
from tests.running import declare, resolve

POLICY = Path(__file__).parent / "policies" / "plan_review.yml"
pytestmark = pytest.mark.policy(str(POLICY))

NEW_YEAR_NINE = datetime(2027, 1, 1, 8, 0, tzinfo=UTC)  # 09:00 CET: 2026Q4 is reviewed
APRIL_NINE = datetime(2027, 4, 1, 7, 0, tzinfo=UTC)  # 09:00 CEST: 2027Q1
SECRET = "Secret merger talks leaked"
LEASE = plan_reviews.LEASE


async def incidents_in_two_quarters(
    slack: SlackSender, fake: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    """One incident in 2026Q3; two in 2026Q4: one resolved after 40 minutes, one private and
    still open."""
    clock.set(datetime(2026, 8, 10, 14, 0, tzinfo=UTC))
    await declare(slack, fake, bot, title="Old checkout errors", severity="P2")
    clock.set(datetime(2026, 11, 28, 9, 0, tzinfo=UTC))
    resolved = await declare(slack, fake, bot, title="Checkout errors", severity="P2")
    clock.advance(timedelta(minutes=40))
    await resolve(slack, fake, bot, resolved)
    clock.set(datetime(2026, 12, 3, 22, 0, tzinfo=UTC))
    await declare(slack, fake, bot, title=SECRET, severity="P1", visibility="private")


def reviews(fake: FakeSlack) -> list[dict[str, Any]]:
    """The plan-review files shared, each with the channel it went to."""
    return [f for f in fake.files if f["filename"].startswith("plan-review-")]


def owner_dm(fake: FakeSlack) -> str:
    return fake.state.ims["UCTO"]


async def rows(bot: BotContext) -> list[PlanReviewSent]:
    async with bot.sessions() as session:
        stmt = select(PlanReviewSent).order_by(PlanReviewSent.quarter)
        return list((await session.execute(stmt)).scalars())


async def test_the_owner_gets_the_review_once_at_nine_on_the_quarters_first_day_with_its_report(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    await incidents_in_two_quarters(slack, fake_slack, bot, clock)

    clock.set(NEW_YEAR_NINE - timedelta(minutes=1))  # 08:59 in Paris
    assert await send_plan_review(bot, clock.now(), "w1") is False
    assert await rows(bot) == [] and reviews(fake_slack) == []
    clock.set(NEW_YEAR_NINE)
    assert await send_plan_review(bot, clock.now(), "w1") is True

    [review] = reviews(fake_slack)
    assert (review["filename"], review["channel_id"]) == (
        "plan-review-2026Q4.md",
        owner_dm(fake_slack),
    )
    report = review["content"].decode()
    assert report.startswith("# Report against the plan: 2026Q4\n")
    assert "from 2026-10-01 00:00 until 2027-01-01 00:00 (Europe/Paris)" in report
    comment = review["initial_comment"]
    assert comment.startswith(
        "*Time for the quarterly review of the incident-response plan* "
        "(the plan's _Review Frequency: Quarterly_). 2026Q4 is over; its report is attached."
    )
    assert "• 2026Q4: 2 incidents declared (1 still open)." in comment  # not 2026Q3's
    assert "| Incidents | 2 | 0 | 1 | 1 | 0 |" in report  # All, P0..P3
    assert "*What to look at*\n• " in comment
    assert "• 1 of 1 reviews not held within 48 h\n" in comment
    assert "• Detection phase over its 5 min box in 2 of 2 incidents\n" in comment
    assert SECRET not in report and SECRET not in comment
    [row] = await rows(bot)
    assert (row.quarter, row.sent_at, row.file_id, row.channel_id, row.error) == (
        "2026Q4",
        NEW_YEAR_NINE,
        review["id"],
        owner_dm(fake_slack),
        None,
    )

    # Later passes, and another replica on the same database: nothing more this quarter.
    clock.advance(timedelta(minutes=1))
    assert await send_plan_review(bot, clock.now(), "w1") is False
    other = wiring.build(make_settings(fake_slack, bot.settings.database_url), bot.policy, clock)
    try:
        clock.set(datetime(2027, 3, 31, 20, 0, tzinfo=UTC))
        assert await send_plan_review(other, clock.now(), "w2") is False
    finally:
        await other.engine.dispose()
    assert len(reviews(fake_slack)) == 1

    # The next quarter's first day, at 09:00 summer time.
    clock.set(APRIL_NINE - timedelta(minutes=1))
    assert await send_plan_review(bot, clock.now(), "w1") is False
    clock.set(APRIL_NINE)
    assert await send_plan_review(bot, clock.now(), "w1") is True
    april = reviews(fake_slack)[-1]
    assert april["filename"] == "plan-review-2027Q1.md"
    assert "• 2027Q1: 0 incidents declared." in april["initial_comment"]
    assert "• No incidents this quarter" in april["initial_comment"]


async def test_a_bot_down_on_the_first_day_sends_the_review_late_and_once(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    await incidents_in_two_quarters(slack, fake_slack, bot, clock)

    clock.set(datetime(2027, 2, 15, 13, 0, tzinfo=UTC))
    assert await send_plan_review(bot, clock.now(), "w1") is True
    clock.advance(timedelta(days=30))
    assert await send_plan_review(bot, clock.now(), "w1") is False

    [review] = reviews(fake_slack)
    assert review["filename"] == "plan-review-2026Q4.md"
    assert "2026Q4: 2 incidents declared" in review["initial_comment"]


async def test_two_replicas_passing_at_the_same_time_send_it_once(
    fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    clock.set(NEW_YEAR_NINE + timedelta(seconds=30))
    other = wiring.build(make_settings(fake_slack, bot.settings.database_url), bot.policy, clock)
    try:
        sent = await asyncio.gather(
            send_plan_review(bot, clock.now(), "w1"),
            send_plan_review(other, clock.now(), "w2"),
            send_plan_review(bot, clock.now(), "w1b"),
        )
    finally:
        await other.engine.dispose()
    assert sorted(sent) == [False, False, True]
    assert len(reviews(fake_slack)) == 1
    assert len(fake_slack.calls_to("files.completeUploadExternal")) == 1


async def test_a_slack_failure_is_retried_after_the_lease_and_then_sent_once(
    fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    clock.set(NEW_YEAR_NINE)
    fake_slack.server_error_next("files.completeUploadExternal", status=503)

    assert await send_plan_review(bot, clock.now(), "w1") is False
    assert reviews(fake_slack) == []
    [row] = await rows(bot)
    assert (row.sent_at, row.error) == (None, "http_503")

    clock.advance(LEASE - timedelta(seconds=1))  # still held: no pass hammers Slack meanwhile
    assert await send_plan_review(bot, clock.now(), "w2") is False
    clock.advance(timedelta(seconds=2))
    assert await send_plan_review(bot, clock.now(), "w2") is True
    [review] = reviews(fake_slack)
    assert review["channel_id"] == owner_dm(fake_slack)
    [row] = await rows(bot)
    assert (row.claimed_by, row.file_id, row.error) == ("w2", review["id"], None)
    clock.advance(LEASE * 2)
    assert await send_plan_review(bot, clock.now(), "w3") is False
    assert len(reviews(fake_slack)) == 1


async def test_an_answer_lost_after_slack_shared_the_file_does_not_send_it_twice(
    fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    clock.set(NEW_YEAR_NINE)
    fake_slack.fail_after_success("files.completeUploadExternal", status=500)

    assert await send_plan_review(bot, clock.now(), "w1") is False
    [shared] = reviews(fake_slack)  # Slack has it; the bot could not know

    clock.advance(LEASE + timedelta(seconds=1))
    assert await send_plan_review(bot, clock.now(), "w2") is True  # found in the DM
    assert reviews(fake_slack) == [shared]
    assert len(fake_slack.attempts_to("files.getUploadURLExternal")) == 1
    [row] = await rows(bot)
    assert (row.sent_at, row.file_id) == (clock.now(), shared["id"])


async def test_a_claim_left_by_a_process_killed_before_slack_is_sent_after_the_lease(
    fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    clock.set(NEW_YEAR_NINE)
    async with bot.sessions.begin() as session:  # as if a replica died right after claiming
        assert await plan_reviews.claim(session, "2026Q4", "dead", clock.now()) == "new"

    clock.advance(timedelta(minutes=5))
    assert await send_plan_review(bot, clock.now(), "w2") is False
    clock.set(NEW_YEAR_NINE + LEASE + timedelta(seconds=1))
    assert await send_plan_review(bot, clock.now(), "w2") is True
    [review] = reviews(fake_slack)
    assert review["filename"] == "plan-review-2026Q4.md"


@pytest.mark.policy(None)  # the default policy: plan_review is null
async def test_no_review_without_the_section(bot: BotContext, clock: ManualClock) -> None:
    clock.set(NEW_YEAR_NINE)
    assert bot.policy.plan_review is None
    assert await send_plan_review(bot, clock.now(), "w1") is False

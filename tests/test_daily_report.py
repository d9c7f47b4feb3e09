"""The daily report: at 09:00 Europe/Paris (the ManualClock's time) one message in the policy's
channel with each probe's state, p50/p95 and failures over 24 hours, the open incidents, the
overdue action items and what failed since the last report; escaped; posted once however many
passes or replicas look; again by the next pass after Slack failed; within Block Kit's limits
(the fake Slack checks the blocks) however much there is to say.

Policy: tests/policies/probes.yml, with the probes, the channel and the target's port of each
test.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from app import wiring
from app.clock import ManualClock
from app.context import BotContext
from app.sandbox.fakeslack import FakeSlack
from app.services.daily_report import post_daily_report
from app.services.probes import run_probes
from app.store.models import ActionItem, DailyReportRecord, Incident
from tests.conftest import make_settings
from tests.test_probes import POLICY, Target, api, probes_policy
from tests.test_probes import target as target  # noqa: F401 - the fixture

pytestmark = pytest.mark.policy(str(POLICY))

EVENING = datetime(2026, 12, 1, 20, 0, tzinfo=UTC)
NINE_PARIS = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)  # 09:00 CET


def report_policy(tmp_path: Path, channel: str, probes: list[dict[str, Any]]) -> Any:
    report = {"at": "09:00", "time_zone": "Europe/Paris", "channel": channel}
    return probes_policy(tmp_path, probes, daily_report=report)


def posted(fake: FakeSlack, channel: str) -> list[dict[str, Any]]:
    return list(fake.messages.get(channel, []))


def blocks_text(message: dict[str, Any]) -> str:
    return json.dumps(message["blocks"], ensure_ascii=False)


async def a_night_with_a_failure(bot: BotContext, clock: ManualClock, target: Target) -> Incident:
    """The evening before: the probe passes, then fails once (failures: 1) with a JSON value
    full of Slack markup, which declares an incident; it has an overdue action item."""
    clock.set(EVENING)
    await run_probes(bot, clock.now(), "w1")
    clock.advance(timedelta(minutes=1))
    target.body = {"status": "<!here> & down"}
    await run_probes(bot, clock.now(), "w1")
    await bot.tasks.drain()
    async with bot.sessions.begin() as session:
        [incident] = (await session.execute(select(Incident))).scalars().all()
        session.add(
            ActionItem(
                incident_id=incident.id,
                text="fix <@UCEO> & <!channel>",
                owner_id="UONCALL",
                due_on=date(2026, 11, 30),
                created_by="ULEAD",
                created_at=clock.now(),
            )
        )
    return incident


async def test_the_report_goes_out_once_at_nine_local_with_probes_incidents_and_items(
    bot: BotContext, fake_slack: FakeSlack, clock: ManualClock, target: Target, tmp_path: Path
) -> None:
    channel = fake_slack.add_channel("ops-daily")
    bot.policy = report_policy(tmp_path, channel, [api(target.url, failures=1)])
    incident = await a_night_with_a_failure(bot, clock, target)
    before = len(posted(fake_slack, channel))

    clock.set(NINE_PARIS - timedelta(minutes=1))
    assert await post_daily_report(bot, clock.now(), "w1") is False  # 08:59 in Paris
    clock.set(NINE_PARIS)
    assert await post_daily_report(bot, clock.now(), "w1") is True

    [report] = posted(fake_slack, channel)[before:]
    assert report["text"] == (
        "Daily report 2026-12-02: 1 of 1 probes failing, 1 open incidents, 1 overdue action items"
    )
    text = blocks_text(report)
    assert "*api* (http): status is '&lt;!here&gt; &amp; down', expected 'ok'" in text
    assert "1 of 2 checks failed in 24 h" in text
    assert "p50 " in text and "p95 " in text and "p50 –" not in text  # the passing check's
    assert f"`{incident.public_id}` Probe api failing: status is '&lt;!here&gt;" in text
    assert "fix &lt;@UCEO&gt; &amp; &lt;!channel&gt; · <@UONCALL> · due 2026-11-30" in text
    assert "*api* failed 1×" in text
    assert "<!here>" not in text and "<!channel>" not in text and "<@UCEO>" not in text

    # Later passes, and another replica on the same database: nothing more that day.
    clock.advance(timedelta(minutes=1))
    assert await post_daily_report(bot, clock.now(), "w1") is False
    other = wiring.build(make_settings(fake_slack, bot.settings.database_url), bot.policy, clock)
    try:
        assert await post_daily_report(other, clock.now(), "w2") is False
    finally:
        await other.engine.dispose()
    assert len(posted(fake_slack, channel)) == before + 1

    # The next morning: a new report; "failed since the last report" starts from this one.
    clock.set(NINE_PARIS + timedelta(days=1))
    assert await post_daily_report(bot, clock.now(), "w1") is True
    assert "Nothing failed." in blocks_text(posted(fake_slack, channel)[-1])


async def test_a_slack_failure_releases_the_day_for_the_next_pass(
    bot: BotContext, fake_slack: FakeSlack, clock: ManualClock, target: Target, tmp_path: Path
) -> None:
    channel = fake_slack.add_channel("ops-daily")
    bot.policy = report_policy(tmp_path, channel, [api(target.url)])
    clock.set(NINE_PARIS + timedelta(minutes=5))
    fake_slack.fail_next("chat.postMessage", "internal_error", when={"channel": channel})

    assert await post_daily_report(bot, clock.now(), "w1") is False
    async with bot.sessions() as session:
        assert (await session.execute(select(DailyReportRecord))).scalars().all() == []
    clock.advance(timedelta(minutes=1))
    assert await post_daily_report(bot, clock.now(), "w1") is True
    [report] = posted(fake_slack, channel)
    assert ":white_circle: *api* (http): not checked yet" in blocks_text(report)
    async with bot.sessions() as session:
        [record] = (await session.execute(select(DailyReportRecord))).scalars().all()
    assert (record.day, record.posted_at, record.ts) == (
        date(2026, 12, 2),
        clock.now(),
        report["ts"],
    )


async def test_a_long_night_stays_within_block_kit_limits(
    bot: BotContext, fake_slack: FakeSlack, clock: ManualClock, target: Target, tmp_path: Path
) -> None:
    channel = fake_slack.add_channel("ops-daily")
    bot.policy = report_policy(tmp_path, channel, [api(target.url, failures=1)])
    incident = await a_night_with_a_failure(bot, clock, target)
    async with bot.sessions.begin() as session:
        for n in range(300):
            session.add(
                ActionItem(
                    incident_id=incident.id,
                    text=f"item {n} " + "&" * 40,
                    due_on=date(2026, 11, 1),
                    created_by="ULEAD",
                    created_at=clock.now(),
                )
            )
    clock.set(NINE_PARIS)
    assert await post_daily_report(bot, clock.now(), "w1") is True  # the fake accepted it
    report = posted(fake_slack, channel)[-1]
    assert "Overdue action items (301)" in blocks_text(report)
    assert "more" in blocks_text(report)
    assert all(len(block.get("text", {}).get("text", "")) <= 3000 for block in report["blocks"])


@pytest.mark.policy(None)  # the default policy: no daily_report section
async def test_no_daily_report_without_the_section(bot: BotContext, clock: ManualClock) -> None:
    clock.set(NINE_PARIS)
    assert bot.policy.daily_report is None
    assert await post_daily_report(bot, clock.now(), "w1") is False


async def test_a_claim_left_by_a_dead_process_is_taken_over_without_posting_twice(
    bot: BotContext, fake_slack: FakeSlack, clock: ManualClock, target: Target, tmp_path: Path
) -> None:
    channel = fake_slack.add_channel("ops-daily")
    bot.policy = report_policy(tmp_path, channel, [api(target.url)])
    clock.set(NINE_PARIS)
    assert await post_daily_report(bot, clock.now(), "w1") is True
    [report] = posted(fake_slack, channel)
    # As if the process had died after Slack took the message, before saving its answer.
    async with bot.sessions.begin() as session:
        record = await session.get(DailyReportRecord, date(2026, 12, 2))
        assert record is not None
        record.posted_at, record.ts = None, None

    clock.advance(timedelta(minutes=5))
    assert await post_daily_report(bot, clock.now(), "w2") is False  # the claim is recent
    clock.advance(timedelta(minutes=6))
    assert await post_daily_report(bot, clock.now(), "w2") is True  # taken over: found it
    assert posted(fake_slack, channel) == [report]
    async with bot.sessions() as session:
        record = await session.get(DailyReportRecord, date(2026, 12, 2))
    assert record is not None
    assert (record.claimed_by, record.ts) == ("w2", report["ts"])

"""Hand-offs announced: the person coming on call gets one DM with the open incidents, however
many passes or replicas look, again after Slack failed, never twice after a lost answer, and at
the local hand-off time across a daylight-saving change.

The pass is called directly with the ManualClock's time (the scheduler runs it every minute);
one test lets the real scheduler run it at start. Policy: tests/policies/oncall_slack.yml
(Secondary: America/New_York, daily at 18:00, UCTO and UCEO in turn; backed up by Primary).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app import wiring
from app.clock import ManualClock
from app.config.policy_loader import load_policy
from app.context import BotContext
from app.sandbox.fakeslack import FakeSlack
from app.services import overrides
from app.services.handoffs import announce_handoffs
from app.store.models import Handoff
from tests.conftest import make_settings, serve_bot
from tests.test_oncall_command import POLICY, SECONDARY, open_incident

pytestmark = [pytest.mark.policy(POLICY), pytest.mark.settings(timezone="Europe/Paris")]

# 18:00 EST on 2026-11-28: UCTO takes over Secondary from UCEO.
HANDOFF = datetime(2026, 11, 28, 23, 0, tzinfo=UTC)


def dms(fake: FakeSlack, user: str) -> list[dict]:
    """What the bot's IM with `user` holds."""
    channel = fake.state.ims.get(user)
    return list(fake.state.messages.get(channel, [])) if channel else []


async def claims(bot: BotContext) -> list[Handoff]:
    async with bot.sessions() as session:
        return list((await session.execute(select(Handoff))).scalars())


async def test_the_person_coming_on_call_gets_one_dm_with_the_open_incidents(
    fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    incident = await open_incident(bot, fake_slack, "<!here> cache & db down", "P1")
    secret = await open_incident(bot, fake_slack, "Payroll leak", "P0", private=True)
    clock.set(HANDOFF + timedelta(minutes=1))

    assert await announce_handoffs(bot, clock.now()) == 1
    [dm] = dms(fake_slack, "UCTO")
    assert dm["text"].startswith(
        f":pager: You are on call for {SECONDARY} from 2026-11-28 18:00 EST "
        "(2026-11-29 00:00 CET team time) until 2026-11-29 18:00 EST"
    )
    assert "Your backup: <@UONCALL>." in dm["text"]
    assert (
        f"• *P1* `{incident.public_id}` &lt;!here&gt; cache &amp; db down · "
        f"<#{incident.channel_id}>" in dm["text"]
    )
    assert secret.public_id not in dm["text"]  # private, and UCTO is not in its channel
    [claim] = await claims(bot)
    assert (claim.schedule, claim.starts_at, claim.user_id) == ("secondary", HANDOFF, "UCTO")
    assert claim.announced_at == clock.now()

    # Later passes within the window, and another replica on the same database: no second DM.
    clock.advance(timedelta(minutes=1))
    assert await announce_handoffs(bot, clock.now()) == 0
    other = wiring.build(
        make_settings(fake_slack, bot.settings.database_url, timezone="Europe/Paris"),
        load_policy(POLICY),
        clock,
    )
    try:
        assert await announce_handoffs(other, clock.now()) == 0
    finally:
        await other.engine.dispose()
    assert len(dms(fake_slack, "UCTO")) == 1
    assert dms(fake_slack, "UCEO") == []  # going off call: no DM


async def test_two_replicas_at_once_announce_a_handoff_once(
    fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    clock.set(HANDOFF + timedelta(seconds=30))
    other = wiring.build(
        make_settings(fake_slack, bot.settings.database_url, timezone="Europe/Paris"),
        load_policy(POLICY),
        clock,
    )
    try:
        sent = await asyncio.gather(
            announce_handoffs(bot, clock.now()), announce_handoffs(other, clock.now())
        )
    finally:
        await other.engine.dispose()
    assert sorted(sent) == [0, 1]
    assert len(dms(fake_slack, "UCTO")) == 1


async def test_a_dm_slack_failed_is_sent_by_the_next_pass(
    fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    clock.set(HANDOFF + timedelta(minutes=1))
    fake_slack.server_error_next("chat.postMessage", when={"channel": "UCTO"})

    assert await announce_handoffs(bot, clock.now()) == 0
    assert dms(fake_slack, "UCTO") == []
    assert await claims(bot) == []  # released: the next pass tries again

    clock.advance(timedelta(minutes=1))
    assert await announce_handoffs(bot, clock.now()) == 1
    assert len(dms(fake_slack, "UCTO")) == 1


async def test_a_dm_whose_answer_slack_lost_is_not_sent_twice(
    fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    clock.set(HANDOFF + timedelta(minutes=1))
    fake_slack.fail_after_success("chat.postMessage", when={"channel": "UCTO"})

    assert await announce_handoffs(bot, clock.now()) == 0  # Slack posted it, then answered 500
    assert len(dms(fake_slack, "UCTO")) == 1

    clock.advance(timedelta(minutes=1))
    assert await announce_handoffs(bot, clock.now()) == 1  # found in the IM, not posted again
    assert len(dms(fake_slack, "UCTO")) == 1
    assert len(fake_slack.attempts_to("chat.postMessage")) == 1
    [claim] = await claims(bot)
    assert claim.announced_at is not None


async def test_a_dm_slack_refuses_for_good_is_not_retried(
    fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    clock.set(HANDOFF + timedelta(minutes=1))
    fake_slack.fail_next("chat.postMessage", "channel_not_found", when={"channel": "UCTO"})

    assert await announce_handoffs(bot, clock.now()) == 0
    clock.advance(timedelta(minutes=1))
    assert await announce_handoffs(bot, clock.now()) == 0
    assert len(fake_slack.attempts_to("chat.postMessage")) == 1
    [claim] = await claims(bot)
    assert claim.announced_at is None  # kept, unannounced: the log says why


async def test_a_handoff_older_than_ten_minutes_when_first_seen_is_not_announced(
    fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    clock.set(HANDOFF + timedelta(minutes=11))
    assert await announce_handoffs(bot, clock.now()) == 0
    assert dms(fake_slack, "UCTO") == []


async def test_across_the_dst_change_the_handoff_is_announced_at_the_local_handoff_time(
    fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    # Saturday 2026-10-31, summer time: 18:00 EDT is 22:00 UTC.
    clock.set(datetime(2026, 10, 31, 22, 1, tzinfo=UTC))
    assert await announce_handoffs(bot, clock.now()) == 1
    [before] = dms(fake_slack, "UCTO")
    assert f"{SECONDARY} from 2026-10-31 18:00 EDT" in before["text"]

    # Sunday 2026-11-01, after the clocks went back: 22:00 UTC is 17:00 EST, not a hand-off.
    clock.set(datetime(2026, 11, 1, 22, 5, tzinfo=UTC))
    assert await announce_handoffs(bot, clock.now()) == 0
    assert dms(fake_slack, "UCEO") == []

    # 18:00 EST is 23:00 UTC.
    clock.set(datetime(2026, 11, 1, 23, 1, tzinfo=UTC))
    assert await announce_handoffs(bot, clock.now()) == 1
    [after] = dms(fake_slack, "UCEO")
    assert f"{SECONDARY} from 2026-11-01 18:00 EST" in after["text"]
    assert "until 2026-11-02 18:00 EST" in after["text"]


async def test_an_override_and_its_end_are_announced_to_whoever_comes_on(
    fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    # UCEO came on for Secondary at 18:00 EST the evening before, and was told.
    clock.set(datetime(2026, 11, 27, 23, 1, tzinfo=UTC))
    assert await announce_handoffs(bot, clock.now()) == 1
    assert len(dms(fake_slack, "UCEO")) == 1

    now = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
    clock.set(now)
    request = overrides.parse_override(
        "<@UOTHER> from now until +2h secondary", bot.policy, now, bot.settings.tz
    )
    await overrides.add(bot, request, "UREPORTER", now)

    clock.advance(timedelta(minutes=1))
    assert await announce_handoffs(bot, clock.now()) == 1
    [taking_over] = dms(fake_slack, "UOTHER")
    assert (
        "from 2026-11-28 04:00 EST (10:00 CET team time) until 2026-11-28 06:00 EST"
        in (taking_over["text"])
    )
    assert "(an override)" in taking_over["text"]

    # Back to the rotation: UCEO's shift began the evening before, but they come on again now.
    clock.set(now + timedelta(hours=2, minutes=1))
    assert await announce_handoffs(bot, clock.now()) == 1
    [_first, back] = dms(fake_slack, "UCEO")
    assert (
        "from 2026-11-28 06:00 EST (12:00 CET team time) until 2026-11-28 18:00 EST"
        in (back["text"])
    )


@pytest.mark.settings(timezone="Europe/Paris", escalation_tick_seconds=60)
async def test_the_scheduler_announces_handoffs_at_start(
    fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    clock.set(HANDOFF + timedelta(minutes=2))
    async with serve_bot(bot):
        async with asyncio.timeout(20):
            while not dms(fake_slack, "UCTO"):  # noqa: ASYNC110 - waiting for the scheduler
                await asyncio.sleep(0.02)
    assert len(dms(fake_slack, "UCTO")) == 1

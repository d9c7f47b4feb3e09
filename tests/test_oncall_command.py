"""`/incident oncall` and the App Home tab against the fake Slack, at fixed instants.

The policy (tests/policies/oncall_slack.yml) has two schedules: Primary in Europe/Paris
(weekly, Mondays 09:00) and Secondary in America/New_York (daily, 18:00); the team's TIMEZONE
is Europe/Paris. At the ManualClock's 2026-11-28 09:00 UTC, Primary has UONCALL on (since
Monday 23rd) and ULEAD next; Secondary has UCEO on since 18:00 EST the day before, UCTO next.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from app.clock import ManualClock
from app.config.policy_loader import load_policy
from app.context import BotContext
from app.sandbox.builders import app_home_opened_event
from app.sandbox.fakeslack import FakeSlack
from app.sandbox.sender import SlackSender
from app.store.models import Incident, OnCallOverride
from tests.running import command

POLICY = Path(__file__).parent / "policies" / "oncall_slack.yml"
pytestmark = [pytest.mark.policy(POLICY), pytest.mark.settings(timezone="Europe/Paris")]

SECONDARY = "*Secondary &lt;database&gt; &amp; co*"


async def oncall(
    slack: SlackSender, bot: BotContext, args: str = "", user: str = "UREPORTER"
) -> str:
    return await command(slack, bot, f"oncall {args}".strip(), channel=None, user=user)


async def stored(bot: BotContext) -> list[OnCallOverride]:
    async with bot.sessions() as session:
        rows = await session.execute(select(OnCallOverride).order_by(OnCallOverride.id))
        return list(rows.scalars())


async def open_incident(
    bot: BotContext, fake: FakeSlack, title: str, severity: str = "P1", *, private: bool = False
) -> Incident:
    """An open incident with its channel, stored as a finished declaration leaves it (these
    tests are about who is on call and what they are told, not about declaring)."""
    now = bot.clock.now()
    unique = uuid.uuid4()
    name = f"incident-oncall-{unique.hex[:8]}"
    incident = Incident(
        public_id=f"INC-{now:%Y%m%d}-{unique.hex[:4]}",
        day=now.date(),
        seq=unique.int % 1_000_000_000,
        title=title,
        severity=severity,
        private=private,
        reporter_id="UREPORTER",
        policy_snapshot=load_policy(None).to_snapshot(),
        started_at=now,
        channel_id=fake.add_channel(name, is_private=private),
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


def schedule_sections(blocks: list[dict[str, Any]]) -> list[str]:
    """The text of every block about one schedule (they start with its bold name)."""
    return [
        b["text"]["text"]
        for b in blocks
        if b.get("type") == "section" and "• *On call now:*" in b["text"]["text"]
    ]


async def test_oncall_shows_every_schedule_with_who_is_on_since_until_the_backup_and_next(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    answer = await oncall(slack, bot)

    primary, secondary = answer.split("*Primary on-call*")[1].split(SECONDARY)
    assert "(`primary`, Europe/Paris)" in primary
    assert (
        "*On call now:* <@UONCALL> since 2026-11-23 09:00 CET until 2026-11-30 09:00 CET" in primary
    )
    assert "*Backup:* <@ULEAD>" in primary
    assert "*Next:* <@ULEAD> from 2026-11-30 09:00 CET" in primary
    # The schedule's own time zone, and the team's (Europe/Paris) beside it.
    assert "(`secondary`, America/New_York)" in secondary
    assert (
        "*On call now:* <@UCEO> since 2026-11-27 18:00 EST (2026-11-28 00:00 CET team time) "
        "until 2026-11-28 18:00 EST (2026-11-29 00:00 CET team time)" in secondary
    )
    assert "*Backup:* <@UONCALL>" in secondary  # Secondary is backed up by Primary's person
    assert "*Next:* <@UCTO> from 2026-11-28 18:00 EST" in secondary


@pytest.mark.policy(None)
async def test_without_schedules_oncall_says_how_to_add_them(
    slack: SlackSender, bot: BotContext
) -> None:
    answer = await oncall(slack, bot)
    assert "no on-call schedules" in answer
    assert "`oncall.schedules`" in answer and 'README "On-call"' in answer


async def test_an_override_puts_someone_on_call_and_the_answer_says_what_changed(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    answer = await oncall(slack, bot, "override <@UOTHER|other> from now until +8h secondary")

    [row] = await stored(bot)
    assert (row.schedule, row.user_id, row.created_by) == ("secondary", "UOTHER", "UREPORTER")
    assert row.starts_at == datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
    assert row.ends_at == datetime(2026, 11, 28, 17, 0, tzinfo=UTC)
    assert f"Override `#{row.id}`: <@UOTHER> is on call for {SECONDARY}" in answer
    assert "*On call now:* <@UOTHER> since 2026-11-28 04:00 EST" in answer

    shown = (await oncall(slack, bot)).split(SECONDARY)[1]
    assert "*On call now:* <@UOTHER> since 2026-11-28 04:00 EST" in shown
    assert "until 2026-11-28 12:00 EST (18:00 CET team time) · _override_" in shown
    # When the override ends, the rotation's person comes back (at the override's end).
    assert "*Next:* <@UCEO> from 2026-11-28 12:00 EST" in shown
    assert "<@UONCALL> since 2026-11-23" in (await oncall(slack, bot)).split(SECONDARY)[0]


async def test_override_times_are_read_in_the_team_time_zone_unless_an_offset_is_given(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    await oncall(
        slack, bot, "override <@UOTHER> from 2026-11-28 12:00 until 2026-11-28 14:00 primary"
    )
    await oncall(
        slack,
        bot,
        "override <@ULEAD> from 2026-11-29T10:00-05:00 until 2026-11-29T20:00Z secondary",
    )
    first, second = await stored(bot)
    assert (first.starts_at, first.ends_at) == (
        datetime(2026, 11, 28, 11, 0, tzinfo=UTC),
        datetime(2026, 11, 28, 13, 0, tzinfo=UTC),
    )
    assert (second.starts_at, second.ends_at) == (
        datetime(2026, 11, 29, 15, 0, tzinfo=UTC),
        datetime(2026, 11, 29, 20, 0, tzinfo=UTC),
    )


@pytest.mark.parametrize(
    ("args", "words"),
    [
        ("override <@UOTHER> from now until +8h tertiary", "`tertiary` is not a schedule"),
        ("override <@UOTHER> from now until +8h", "Which schedule?"),
        ("override <@UOTHER> from +8h until +1h primary", "must come after the start"),
        (
            "override <@UOTHER> from 2026-11-27 10:00 until 2026-11-27 12:00 primary",
            "would already be over",
        ),
        ("override <@UOTHER> from now until +91d primary", "at most 90 days"),
        ("override <@UOTHER> from 2028-01-01 until 2028-01-02 primary", "more than a year"),
        ("override <@UBOT0001> from now until +8h primary", "I cannot be on call myself"),
        ("override <@UROBOT> from now until +8h primary", "is a bot"),
        ("override <@UNOBODY> from now until +8h primary", "is not a person of this workspace"),
        ("override <#C123|ops> from now until +8h primary", "Name the person with a mention"),
        ("override @other from now until +8h primary", "Name the person with a mention"),
        ("override <@UOTHER> from tomorrow until +8h primary", "is not a time I can read"),
        ("override <@UOTHER> from now until +8x primary", "is not a duration"),
        # 2027-03-28 02:30 never happens in Paris: the clocks go from 02:00 to 03:00.
        (
            "override <@UOTHER> from 2027-03-28 02:30 until 2027-03-28 09:00 primary",
            "does not exist in Europe/Paris",
        ),
        ("override <@UOTHER> until +8h primary", "Use `/incident oncall override"),
        ("swap <@UOTHER>", "I don't know `/incident oncall swap`"),
        ("remove twelve", "Give the override's number"),
        ("remove 999", "There is no override #999"),
    ],
)
async def test_a_bad_override_is_refused_in_words_and_nothing_is_stored(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, args: str, words: str
) -> None:
    fake_slack.add_user("UROBOT", name="robot", is_bot=True)
    answer = await oncall(slack, bot, args)
    assert words in answer
    assert await stored(bot) == []


async def test_overrides_lists_those_ahead_with_ids_and_remove_takes_one_out(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    await oncall(slack, bot, "override <@UOTHER> from now until +8h secondary")
    await oncall(
        slack, bot, "override <@ULEAD> from 2026-12-01 09:00 until +4d primary", user="UCTO"
    )
    now_one, later_one = await stored(bot)

    listed = await oncall(slack, bot, "overrides")
    assert f"`#{now_one.id}` {SECONDARY}: <@UOTHER>" in listed
    assert f"`#{later_one.id}` *Primary on-call*: <@ULEAD> from 2026-12-01 09:00 CET" in listed
    assert "(by <@UCTO>)" in listed and "_in force now_" in listed

    answer = await oncall(slack, bot, f"remove {now_one.id}", user="ULEAD")
    assert f"Override `#{now_one.id}` removed: <@UOTHER> on call for {SECONDARY}" in answer
    assert "*On call now:* <@UCEO>" in answer  # back to the rotation at once

    [kept, removed] = sorted(await stored(bot), key=lambda r: r.removed_at is not None)
    assert kept.id == later_one.id and kept.removed_at is None
    assert removed.removed_by == "ULEAD" and removed.removed_at == clock.now()
    assert f"`#{now_one.id}`" not in await oncall(slack, bot, "overrides")
    again = await oncall(slack, bot, f"remove {now_one.id}")
    assert f"There is no override #{now_one.id}" in again


async def test_the_home_tab_shows_the_same_on_call_and_the_open_incidents(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    incident = await open_incident(bot, fake_slack, "<!channel> cache & db down")
    hidden = await open_incident(bot, fake_slack, "Secret payroll leak", "P0", private=True)
    await oncall(slack, bot, "override <@UOTHER> from now until +8h secondary")
    response = await slack.command("oncall", channel="CGENERAL", user="UREPORTER")
    answer_sections = schedule_sections(response.json()["blocks"])

    sent = await slack.event(app_home_opened_event(fake_slack, "ULEAD"))
    assert sent.status_code == 200
    await bot.tasks.drain()

    view = fake_slack.state.views[fake_slack.state.home_views["ULEAD"]]
    assert view["type"] == "home"
    assert schedule_sections(view["blocks"]) == answer_sections  # the same answer, word for word
    shown = json.dumps(view["blocks"], ensure_ascii=False)
    assert "<@UOTHER>" in shown and "<@UONCALL>" in shown
    assert (
        f"*P1* `{incident.public_id}` &lt;!channel&gt; cache &amp; db down · "
        f"<#{incident.channel_id}>" in shown
    )
    assert "<!channel>" not in shown
    assert hidden.public_id not in shown and "payroll" not in shown  # not in its channel


async def test_the_messages_tab_publishes_nothing(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    await slack.event(app_home_opened_event(fake_slack, "ULEAD", tab="messages"))
    await bot.tasks.drain()
    assert fake_slack.calls_to("views.publish") == []

"""Business hours per severity (#16): outside Mon-Fri 09:00-17:00 Paris, a P2/P3 is paged at
the next start of working hours, a P0/P1 at once, a P4 (`outside_hours: none`) not at all; a
severity change applies the new severity's rule from then on. The real app against the fake
Slack; time is the ManualClock and the scheduler's tick is `run_due_steps`, run just before
and at each moment a page is due."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from app.clock import ManualClock
from app.context import BotContext
from app.domain.escalation import PAGE, when_paged
from app.sandbox.fakeslack import FakeSlack
from app.sandbox.sender import SlackSender
from app.store.models import Incident, StepStatus
from tests.conftest import ROOT
from tests.running import command, declare, entries, posts_to, summary_text
from tests.test_escalation import steps_of, tick

POLICY = ROOT / "tests" / "policies" / "business_hours.yml"
# The team reads Paris time (TIMEZONE), the zone of its working hours.
pytestmark = [pytest.mark.policy(str(POLICY)), pytest.mark.settings(timezone="Europe/Paris")]

SECOND = timedelta(seconds=1)
# Paris is UTC+1 in winter (CET), UTC+2 in summer (CEST).
SATURDAY_3AM = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)  # Sat 28 Nov 03:00 CET
MONDAY_9AM = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)  # Mon 30 Nov 09:00 CET
WEDNESDAY_10AM = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)  # Wed 2 Dec 10:00 CET
SATURDAY_BEFORE_HOLIDAY = datetime(2026, 12, 5, 2, 0, tzinfo=UTC)  # Mon 7 Dec is a holiday
TUESDAY_9AM = datetime(2026, 12, 8, 8, 0, tzinfo=UTC)
# The autumn change: Sun 25 Oct 2026 03:00 CEST becomes 02:00 CET.
SATURDAY_BEFORE_DST = datetime(2026, 10, 24, 1, 0, tzinfo=UTC)  # Sat 24 Oct 03:00 CEST
MONDAY_AFTER_DST = datetime(2026, 10, 26, 8, 0, tzinfo=UTC)  # Mon 26 Oct 09:00 CET


def paged(fake: FakeSlack, user: str, incident: Incident) -> list[dict]:
    """The page DMs `user` got for `incident`."""
    return [m for m in posts_to(fake, user) if incident.public_id in m["text"]]


async def page_steps(bot: BotContext, incident: Incident) -> dict[str, tuple[datetime, str]]:
    return {s.level or "": (s.due_at, s.status) for s in await steps_of(bot, incident, PAGE)}


async def at(bot: BotContext, clock: ManualClock, when: datetime) -> None:
    clock.set(when)
    await tick(bot)


async def test_a_p3_declared_saturday_night_is_paged_monday_at_nine_paris_time(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    clock.set(SATURDAY_3AM)
    incident = await declare(slack, fake_slack, bot, severity="P3")
    await tick(bot)
    # The channel opens now; its summary says when L1 is paged.
    assert incident.channel_id
    assert "L1 will be paged on Mon 30 Nov at 09:00 (next working hours)" in summary_text(
        fake_slack, incident
    )
    assert paged(fake_slack, "UONCALL", incident) == []
    assert await page_steps(bot, incident) == {"L1": (MONDAY_9AM, StepStatus.PENDING)}

    await at(bot, clock, MONDAY_9AM - SECOND)
    assert paged(fake_slack, "UONCALL", incident) == []
    await at(bot, clock, MONDAY_9AM)
    assert len(paged(fake_slack, "UONCALL", incident)) == 1
    [step] = await steps_of(bot, incident, PAGE)
    assert step.status == StepStatus.SENT and not step.late
    log = [e.text for e in await entries(bot, incident)]
    assert (
        "Declared outside working hours: L1 On-call Engineer is paged at 2026-11-30 09:00 "
        "Europe/Paris (next working hours)" in log
    )


async def test_a_holiday_monday_defers_to_tuesday(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    clock.set(SATURDAY_BEFORE_HOLIDAY)
    incident = await declare(slack, fake_slack, bot, severity="P3")
    await at(bot, clock, datetime(2026, 12, 7, 8, 0, tzinfo=UTC))  # the holiday, 09:00
    assert paged(fake_slack, "UONCALL", incident) == []
    await at(bot, clock, TUESDAY_9AM - SECOND)
    assert paged(fake_slack, "UONCALL", incident) == []
    await at(bot, clock, TUESDAY_9AM)
    assert len(paged(fake_slack, "UONCALL", incident)) == 1


async def test_a_deferral_across_the_autumn_clock_change_lands_at_nine_local(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    clock.set(SATURDAY_BEFORE_DST)
    incident = await declare(slack, fake_slack, bot, severity="P3")
    # 54 hours after 03:00 CEST would be 08:00 CET: the page waits for 09:00 on the new clock.
    await at(bot, clock, MONDAY_AFTER_DST - SECOND)
    assert paged(fake_slack, "UONCALL", incident) == []
    await at(bot, clock, MONDAY_AFTER_DST)
    assert len(paged(fake_slack, "UONCALL", incident)) == 1


async def test_a_p3_declared_within_working_hours_pages_at_once(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    clock.set(WEDNESDAY_10AM)
    incident = await declare(slack, fake_slack, bot, severity="P3")
    assert len(paged(fake_slack, "UONCALL", incident)) == 1
    assert "next working hours" not in summary_text(fake_slack, incident)


async def test_a_p1_at_three_in_the_morning_pages_at_once_and_escalates(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    clock.set(SATURDAY_3AM)
    incident = await declare(slack, fake_slack, bot, severity="P1")
    assert len(paged(fake_slack, "UONCALL", incident)) == 1
    await at(bot, clock, SATURDAY_3AM + timedelta(minutes=15))
    assert len(paged(fake_slack, "ULEAD", incident)) == 1


async def test_outside_hours_none_pages_nobody_and_says_so_in_the_channel(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    clock.set(SATURDAY_3AM)
    incident = await declare(slack, fake_slack, bot, severity="P4")
    assert await page_steps(bot, incident) == {}
    text = summary_text(fake_slack, incident)
    assert "declared outside working hours, P4 pages nobody" in text
    assert "until someone acknowledges" not in text  # no chain to show
    for moment in (MONDAY_9AM, MONDAY_9AM + timedelta(hours=2)):
        await at(bot, clock, moment)
    assert paged(fake_slack, "UONCALL", incident) == []
    kinds = [e.kind for e in await entries(bot, incident)]
    assert "paged" not in kinds and "escalation_skipped" in kinds


async def test_raising_a_deferred_p3_to_p1_at_night_pages_now(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    clock.set(SATURDAY_3AM)
    incident = await declare(slack, fake_slack, bot, severity="P3")
    clock.set(SATURDAY_3AM + timedelta(minutes=5))
    await command(slack, bot, "severity P1 spreading to checkout", channel=incident.channel_id)
    await tick(bot)
    assert len(paged(fake_slack, "UONCALL", incident)) == 1
    notes = [m["text"] for m in fake_slack.messages[incident.channel_id]]
    assert any("the pages held for working hours go out now" in n for n in notes)
    await at(bot, clock, SATURDAY_3AM + timedelta(minutes=20))  # L1's window from its page
    assert len(paged(fake_slack, "ULEAD", incident)) == 1


async def test_raising_a_silent_p4_to_p1_at_night_pages_now(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    clock.set(SATURDAY_3AM)
    incident = await declare(slack, fake_slack, bot, severity="P4")
    await command(slack, bot, "severity P1 worse than we thought", channel=incident.channel_id)
    await tick(bot)
    assert len(paged(fake_slack, "UONCALL", incident)) == 1


async def test_lowering_to_a_deferred_severity_at_night_defers_the_rest_of_the_chain(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    clock.set(SATURDAY_3AM)
    incident = await declare(slack, fake_slack, bot, severity="P1")
    assert len(paged(fake_slack, "UONCALL", incident)) == 1
    clock.set(SATURDAY_3AM + timedelta(minutes=5))
    await command(slack, bot, "severity P2 only one customer", channel=incident.channel_id)
    notes = [m["text"] for m in fake_slack.messages[incident.channel_id]]
    assert any("the pages still to come go out on Mon 30 Nov at 09:00" in n for n in notes)
    await at(bot, clock, SATURDAY_3AM + timedelta(minutes=15))  # L2's time under P1
    assert paged(fake_slack, "ULEAD", incident) == []
    await at(bot, clock, MONDAY_9AM - SECOND)
    assert paged(fake_slack, "ULEAD", incident) == []
    await at(bot, clock, MONDAY_9AM)
    assert len(paged(fake_slack, "ULEAD", incident)) == 1
    await at(bot, clock, MONDAY_9AM + timedelta(hours=3))
    assert paged(fake_slack, "UCTO", incident) == []  # P2 stops at L2


async def test_lowering_to_a_silent_severity_at_night_cancels_the_rest_of_the_chain(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    clock.set(SATURDAY_3AM)
    incident = await declare(slack, fake_slack, bot, severity="P1")
    clock.set(SATURDAY_3AM + timedelta(minutes=5))
    await command(slack, bot, "severity P4 cosmetic after all", channel=incident.channel_id)
    await at(bot, clock, MONDAY_9AM + timedelta(hours=1))
    assert paged(fake_slack, "ULEAD", incident) == []
    assert len(paged(fake_slack, "UONCALL", incident)) == 1  # the one page before the change


async def test_an_acknowledgement_before_working_hours_stops_the_deferred_page(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    clock.set(SATURDAY_3AM)
    incident = await declare(slack, fake_slack, bot, severity="P2")
    clock.set(SATURDAY_3AM + timedelta(hours=1))
    await command(slack, bot, "ack", channel=incident.channel_id)
    await at(bot, clock, MONDAY_9AM + timedelta(hours=1))
    assert paged(fake_slack, "UONCALL", incident) == []
    assert paged(fake_slack, "ULEAD", incident) == []
    [step] = await steps_of(bot, incident, PAGE)
    assert step.status == StepStatus.CANCELLED


async def test_the_response_target_still_counts_from_the_declaration(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    clock.set(SATURDAY_3AM)
    incident = await declare(slack, fake_slack, bot, severity="P2")  # 4 h target
    [warning] = await steps_of(bot, incident, "target_warning")
    assert warning.due_at == SATURDAY_3AM + timedelta(hours=4)
    # Its first update reminder counts from L1's page: nobody works to post one before.
    [reminder] = await steps_of(bot, incident, "update_reminder")
    assert reminder.due_at == MONDAY_9AM + timedelta(hours=4)


def test_the_announcement_says_when_l1_is_paged() -> None:
    from app.config.policy_loader import load_policy
    from app.ui.summary import announcement

    policy = load_policy(POLICY)
    incident = Incident(
        public_id="INC-20261128-001",
        title="Docs typo",
        severity="P3",
        status="investigating",
        private=False,
        channel_id="C1",
        started_at=SATURDAY_3AM,
    )
    text = announcement(incident, policy).text
    assert "Join <#C1>." in text
    assert "L1 will be paged on Mon 30 Nov at 09:00 (next working hours)." in text
    same_day = Incident(**{**_fields(incident), "started_at": MONDAY_9AM - timedelta(hours=2)})
    assert "L1 will be paged at 09:00 (next working hours)." in announcement(same_day, policy).text
    assert when_paged(policy, "P1", SATURDAY_3AM).at == SATURDAY_3AM


def _fields(incident: Incident) -> dict:
    keys = ("public_id", "title", "severity", "status", "private", "channel_id", "started_at")
    return {key: getattr(incident, key) for key in keys}


def test_block_kit_of_the_deferred_summary_is_plain_text_and_mentions_nobody() -> None:
    from app.config.policy_loader import load_policy
    from app.ui.summary import escalation_path

    policy = load_policy(POLICY)
    path = escalation_path(policy, "P3", when_paged(policy, "P3", SATURDAY_3AM))
    assert "<@" not in json.dumps(path)
    assert path.endswith("L1 will be paged on Mon 30 Nov at 09:00 (next working hours).")

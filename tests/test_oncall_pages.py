"""Pages to on-call schedules, end to end: the real app over signed HTTP against the fake
Slack, time on the ManualClock. A level naming `schedule:<key>` pages whoever the rotation
(with its stored overrides) has on call when the page is sent; a level with `backup_after`
pages the schedule's backup when nobody has acknowledged by then, before the next level.

tests/policies/oncall.yml: L1 pages `schedule:primary` (daily, 09:00 Paris: UADA, UBOB,
cat@example.com) with its backup after 5 minutes; L2 pages `schedule:leads` (daily at
03:10 UTC: ULEAD, UCTO) with the managers' schedule (UMGR, from Monday 7 December 09:00 UTC)
as its backup after 10 minutes. On Wednesday 9 December at 03:00 UTC the primary is
cat@example.com (UCAT), its backup UADA, and the leads' hand-off at 03:10 brings UCTO on.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.clock import ManualClock
from app.context import BotContext
from app.sandbox.fakeslack import FakeSlack
from app.sandbox.sender import SlackSender
from app.services.engine import run_due_steps
from app.services.oncall import on_call_now
from app.store import oncall as oncall_store
from app.store import steps as step_store
from app.store.models import Incident, ScheduledStep, StepStatus, TimelineEntry
from app.ui import escalation as eb
from tests.conftest import ROOT
from tests.running import click, command, declare, reload, resolve

pytestmark = pytest.mark.policy(str(ROOT / "tests" / "policies" / "oncall.yml"))

MINUTE = timedelta(minutes=1)
SECOND = timedelta(seconds=1)
NIGHT = datetime(2026, 12, 9, 3, 0, tzinfo=UTC)  # Wednesday, 04:00 in Paris
EARLIER_NIGHT = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)  # before the managers' schedule
PEOPLE = {
    "UADA": "ada@example.com",
    "UBOB": "bob@example.com",
    "UCAT": "cat@example.com",
    "UDAN": "dan@example.com",
    "UMGR": "mgr@example.com",
}


@pytest.fixture(autouse=True)
def people(fake_slack: FakeSlack) -> None:
    for user, email in PEOPLE.items():
        fake_slack.add_user(user, name=user.lower(), email=email)


async def tick(bot: BotContext, clock: ManualClock, advance: timedelta) -> None:
    clock.advance(advance)
    await run_due_steps(bot)
    await bot.tasks.drain()


def dms(fake: FakeSlack, user: str) -> list[dict]:
    channel = fake.state.ims.get(user)
    return list(fake.messages.get(channel, [])) if channel else []


def said(fake: FakeSlack, incident: Incident, prefix: str) -> list[str]:
    return [m["text"] for m in fake.messages[incident.channel_id] if m["text"].startswith(prefix)]


def has_ack_button(message: dict) -> bool:
    return any(
        element.get("action_id") == "escalation_ack"
        for block in message.get("blocks", [])
        if block["type"] == "actions"
        for element in block["elements"]
    )


async def steps(bot: BotContext, incident: Incident, kind: str) -> list[ScheduledStep]:
    async with bot.sessions() as session:
        return await step_store.for_incident(session, incident.id, [kind])


async def paged_entries(bot: BotContext, incident: Incident) -> list[TimelineEntry]:
    async with bot.sessions() as session:
        stmt = (
            select(TimelineEntry)
            .where(TimelineEntry.incident_id == incident.id, TimelineEntry.kind == "paged")
            .order_by(TimelineEntry.occurred_at, TimelineEntry.id)
        )
        return list((await session.execute(stmt)).scalars())


async def override(
    bot: BotContext, schedule: str, user: str, starts: datetime, ends: datetime, now: datetime
) -> None:
    async with bot.sessions.begin() as session:
        await oncall_store.add_override(session, schedule, user, starts, ends, "UREPORTER", now)


async def night_p0(
    slack: SlackSender, fake: FakeSlack, bot: BotContext, clock: ManualClock, at: datetime = NIGHT
) -> Incident:
    clock.set(at)
    return await declare(slack, fake, bot, severity="P0", title="Checkout is down")


# ------------------------------------------------------------------------------ the night


async def test_a_p0_at_3am_pages_the_on_call_then_the_backup_then_l2(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    incident = await night_p0(slack, fake_slack, bot, clock)

    # L1: the primary's person on call now, a member given by e-mail, found as a Slack user.
    [page] = [s for s in await steps(bot, incident, "page") if s.level == "L1"]
    assert page.data["targets"] == ["UCAT"] and page.data["on_call"] == {"UCAT": "primary"}
    [dm] = dms(fake_slack, "UCAT")
    assert has_ack_button(dm) and "L1 On-call Engineer" in dm["text"]
    # What the page's data records is what its text names: the schedule next to the person.
    text = eb.page_text(incident, bot.policy, bot.policy.level("L1"), ["UCAT"], paged_before=[],
                        next_level=None, waited=MINUTE, on_call=page.data["on_call"])  # fmt: skip
    assert "<@UCAT> (Primary on-call)" in text
    [backup_step] = await steps(bot, incident, "page_backup")
    assert backup_step.due_at == NIGHT + 5 * MINUTE and backup_step.level == "L1"

    await tick(bot, clock, 5 * MINUTE - SECOND)
    assert dms(fake_slack, "UADA") == []
    await tick(bot, clock, SECOND)
    [backup_dm] = dms(fake_slack, "UADA")  # the next member of the rotation
    assert has_ack_button(backup_dm)
    assert backup_dm["text"].startswith(
        ":sos: <@UCAT> (Primary on-call) has not acknowledged within 5 minutes: "
        "you are paged as the backup."
    )
    assert incident.public_id in backup_dm["text"] and "L1 On-call Engineer" in backup_dm["text"]
    [notice] = said(fake_slack, incident, ":sos:")
    assert "<@UADA> (backup of Primary on-call)" in notice
    assert "L2 Engineering Lead is paged at 03:15" in notice
    assert "UADA" in fake_slack.channels[incident.channel_id].members  # invited
    [_, backup_entry] = await paged_entries(bot, incident)
    assert backup_entry.data["backup"] is True and backup_entry.data["targets"] == ["UADA"]
    assert backup_entry.data["primaries"] == ["UCAT"]
    assert dms(fake_slack, "UCAT") == [dm]  # the primary is not paged again

    # L2 at L1's window, unchanged by the backup; its own backup 10 minutes later.
    await tick(bot, clock, 10 * MINUTE - SECOND)
    assert dms(fake_slack, "UCTO") == []
    await tick(bot, clock, SECOND)
    assert len(dms(fake_slack, "UCTO")) == 1
    await tick(bot, clock, 10 * MINUTE)
    [manager_dm] = dms(fake_slack, "UMGR")  # leads' backup is another schedule's person
    assert "<@UCTO> (Lead on-call) has not acknowledged within 10 minutes" in manager_dm["text"]

    # The backup acknowledges from their DM: everything stops.
    await click(slack, bot, backup_dm, "Acknowledge", user="UADA")
    assert (await reload(bot, incident)).acknowledged_by == "UADA"
    await tick(bot, clock, 2 * 60 * MINUTE)
    assert dms(fake_slack, "UCEO") == []
    assert [e.data["level"] for e in await paged_entries(bot, incident)] == ["L1", "L1", "L2", "L2"]


async def test_an_escalation_page_goes_to_whoever_is_on_call_when_it_is_sent(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    incident = await night_p0(slack, fake_slack, bot, clock)
    at_declaration = await on_call_now(bot, bot.policy, "leads", NIGHT)
    assert at_declaration.now is not None and at_declaration.now.user == "ULEAD"

    await tick(bot, clock, 15 * MINUTE)  # past the leads' 03:10 hand-off
    l2 = [s for s in await steps(bot, incident, "page") if s.level == "L2"]
    assert [s.data["targets"] for s in l2] == [["UCTO"]]
    assert l2[0].data["on_call"] == {"UCTO": "leads"}
    assert len(dms(fake_slack, "UCTO")) == 1 and dms(fake_slack, "ULEAD") == []


async def test_an_override_stored_for_the_schedule_wins_over_the_rotation(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    clock.set(NIGHT - timedelta(hours=2))
    await override(bot, "primary", "UDAN", NIGHT - timedelta(hours=1), NIGHT + 3 * 60 * MINUTE,
                   clock.now())  # fmt: skip
    await night_p0(slack, fake_slack, bot, clock)
    assert len(dms(fake_slack, "UDAN")) == 1 and dms(fake_slack, "UCAT") == []

    await tick(bot, clock, 5 * MINUTE)
    # UDAN stands in for UCAT: the member after UCAT backs UDAN up.
    [backup_dm] = dms(fake_slack, "UADA")
    assert "<@UDAN> (Primary on-call) has not acknowledged" in backup_dm["text"]
    assert dms(fake_slack, "UCAT") == []


# ------------------------------------------------------------------- no backup page when


async def test_acknowledging_within_backup_after_means_no_backup_page(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    incident = await night_p0(slack, fake_slack, bot, clock)
    clock.advance(4 * MINUTE)
    [dm] = dms(fake_slack, "UCAT")
    await click(slack, bot, dm, "Acknowledge", user="UCAT")
    [backup_step] = await steps(bot, incident, "page_backup")
    assert backup_step.status == StepStatus.CANCELLED

    await tick(bot, clock, 60 * MINUTE)
    assert dms(fake_slack, "UADA") == [] and dms(fake_slack, "UCTO") == []
    assert said(fake_slack, incident, ":sos:") == []


async def test_resolving_cancels_a_pending_backup_page(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    incident = await night_p0(slack, fake_slack, bot, clock)
    clock.advance(2 * MINUTE)
    await resolve(slack, fake_slack, bot, incident)
    [backup_step] = await steps(bot, incident, "page_backup")
    assert backup_step.status == StepStatus.CANCELLED
    await tick(bot, clock, 10 * MINUTE)
    assert dms(fake_slack, "UADA") == []


async def test_lowering_the_severity_below_the_level_cancels_its_backup_page(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    incident = await night_p0(slack, fake_slack, bot, clock)
    await tick(bot, clock, 5 * MINUTE)  # L1's backup
    await tick(bot, clock, 10 * MINUTE)  # L2, its backup due at 03:25
    assert len(dms(fake_slack, "UCTO")) == 1
    await command(slack, bot, "severity P3 contained", channel=incident.channel_id)
    assert (await reload(bot, incident)).severity == "P3"

    await tick(bot, clock, 10 * MINUTE)
    assert dms(fake_slack, "UMGR") == []
    l2_backup = [s for s in await steps(bot, incident, "page_backup") if s.level == "L2"]
    assert [s.status for s in l2_backup] == [StepStatus.CANCELLED]


async def test_no_backup_on_call_is_one_notice_in_the_channel(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    # A week earlier: the primary is UBOB, backed up by cat@example.com; the managers'
    # schedule (the leads' backup) has not started.
    incident = await night_p0(slack, fake_slack, bot, clock, EARLIER_NIGHT)
    await tick(bot, clock, 5 * MINUTE)
    assert len(dms(fake_slack, "UBOB")) == 1 and len(dms(fake_slack, "UCAT")) == 1
    await tick(bot, clock, 10 * MINUTE)
    assert len(dms(fake_slack, "ULEAD")) == 1
    before = len(await paged_entries(bot, incident))

    await tick(bot, clock, 10 * MINUTE)
    await tick(bot, clock, MINUTE)
    [notice] = said(fake_slack, incident, ":warning: *No backup to page for L2")
    assert "schedule:leads (no backup on call)" in notice
    assert "<@ULEAD> (Lead on-call) has not acknowledged within 10 minutes" in notice
    assert dms(fake_slack, "UMGR") == []
    assert len(await paged_entries(bot, incident)) == before  # nobody was paged


async def test_a_backup_already_paged_as_the_primary_is_not_paged_twice(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    # UADA covers until 03:03 and is paged; by 03:05 the rotation's UCAT is back, and the
    # member after UCAT is UADA again.
    clock.set(NIGHT - timedelta(hours=1))
    await override(bot, "primary", "UADA", clock.now(), NIGHT + 3 * MINUTE, clock.now())
    incident = await night_p0(slack, fake_slack, bot, clock)
    assert len(dms(fake_slack, "UADA")) == 1

    await tick(bot, clock, 5 * MINUTE)
    assert len(dms(fake_slack, "UADA")) == 1
    [notice] = said(fake_slack, incident, ":warning: *No backup to page for L1")
    assert "its backup was already paged" in notice


async def test_a_schedule_with_nobody_on_call_yet_is_a_problem_and_the_level_is_skipped(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    incident = await night_p0(slack, fake_slack, bot, clock, datetime(2026, 11, 28, 3, tzinfo=UTC))
    [empty] = said(fake_slack, incident, ":warning:")
    assert "schedule:primary (nobody on call)" in empty
    assert "schedule:leads (nobody on call)" in empty
    await tick(bot, clock, SECOND)  # the levels after the empty ones are due at once
    assert len(dms(fake_slack, "UCEO")) == 1  # L3, the first level with someone to page
    assert await steps(bot, incident, "page_backup") == []

"""Escalation end to end: pages L1 to L4, acknowledgement, reminders, restarts and failures.

The real app over signed HTTP against the fake Slack; time is the ManualClock, and the scheduler's
tick is `run_due_steps`, called by the tests when they have moved the clock.
"""

from __future__ import annotations

import asyncio
import copy
import json
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from app import wiring
from app.clock import ManualClock
from app.context import BotContext
from app.sandbox.fakeslack import FakeSlack
from app.sandbox.sender import SlackSender
from app.services import escalation
from app.services.engine import TickReport, run_due_steps
from app.store import steps as step_store
from app.store.models import Incident, ScheduledStep, Status, StepMessage, TimelineEntry
from tests.conftest import ROOT
from tests.running import click, join
from tests.test_declare import open_modal, submit

POLICY = str(ROOT / "tests" / "policies" / "escalation.yml")
DIRECTORY_POLICY = str(ROOT / "tests" / "policies" / "escalation_directory.yml")
EMPTY_LEVEL_POLICY = str(ROOT / "tests" / "policies" / "escalation_empty_level.yml")

pytestmark = pytest.mark.policy(POLICY)

MINUTE = timedelta(minutes=1)


# ---------------------------------------------------------------------------------- helpers


async def declare_incident(
    slack: SlackSender, fake: FakeSlack, bot: BotContext, severity: str, title: str = "API down"
) -> Incident:
    view = await open_modal(slack, fake, bot)
    await submit(slack, bot, view, title=title, severity=severity)
    return (await incidents(bot))[-1]


async def incidents(bot: BotContext) -> list[Incident]:
    async with bot.sessions() as session:
        return list((await session.execute(select(Incident).order_by(Incident.id))).scalars())


async def reload(bot: BotContext, incident: Incident) -> Incident:
    async with bot.sessions() as session:
        found = await session.get(Incident, incident.id)
    assert found is not None
    return found


async def tick(
    bot: BotContext, clock: ManualClock | None = None, advance: timedelta | None = None
) -> TickReport:
    """Move the clock, then run one scheduler tick and the work it spawned."""
    if advance is not None:
        assert clock is not None
        clock.advance(advance)
    report = await run_due_steps(bot)
    await bot.tasks.drain()
    return report


def channel_messages(fake: FakeSlack, incident: Incident, prefix: str = "") -> list[dict]:
    return [m for m in fake.messages[incident.channel_id] if m["text"].startswith(prefix)]


def pages(fake: FakeSlack, incident: Incident) -> list[dict]:
    """The incident channel's page messages (one per level paged)."""
    return channel_messages(fake, incident, ":rotating_light:")


def dms(fake: FakeSlack, user: str) -> list[dict]:
    channel = fake.state.ims.get(user)
    return list(fake.messages.get(channel, [])) if channel else []


def action_ids(message: dict) -> list[str]:
    return [
        element["action_id"]
        for block in message.get("blocks", [])
        if block["type"] == "actions"
        for element in block["elements"]
    ]


def context_text(message: dict) -> str:
    return " ".join(
        element["text"]
        for block in message.get("blocks", [])
        if block["type"] == "context"
        for element in block["elements"]
    )


def mentioned(text: str) -> set[str]:
    import re

    return set(re.findall(r"<@([UW][A-Z0-9]+)>", text))


async def steps_of(bot: BotContext, incident: Incident, kind: str) -> list[ScheduledStep]:
    async with bot.sessions() as session:
        return await step_store.for_incident(session, incident.id, [kind])


async def timeline_kinds(bot: BotContext, incident: Incident, kind: str) -> list[TimelineEntry]:
    async with bot.sessions() as session:
        stmt = (
            select(TimelineEntry)
            .where(TimelineEntry.incident_id == incident.id, TimelineEntry.kind == kind)
            .order_by(TimelineEntry.occurred_at, TimelineEntry.id)
        )
        return list((await session.execute(stmt)).scalars())


# ------------------------------------------------------------------------- the chain


async def test_p0_pages_each_level_after_its_own_window_up_to_l4(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    incident = await declare_incident(slack, fake_slack, bot, "P0")
    [summary] = [
        m for m in fake_slack.messages[incident.channel_id] if m["ts"] == incident.summary_ts
    ]
    path = json.dumps(summary["blocks"], ensure_ascii=False)
    assert "L1 On-call Engineer (15 minutes) → L2 Engineering Lead" in path
    assert "L4 CEO" in path and mentioned(path) == {"UREPORTER"}  # levels named, not mentioned

    # L1 at declaration: the channel message mentions only L1's people, and a DM reaches them.
    [l1] = pages(fake_slack, incident)
    assert mentioned(l1["text"]) == {"UONCALL"}
    assert "L1 On-call Engineer" in l1["text"] and "L2 Engineering Lead is paged next" in l1["text"]
    assert action_ids(l1) == ["escalation_ack"]
    [dm] = dms(fake_slack, "UONCALL")
    assert action_ids(dm) == ["escalation_ack"] and incident.public_id in dm["text"]
    assert "UONCALL" in fake_slack.channels[incident.channel_id].members  # invited

    await tick(bot, clock, 15 * MINUTE - timedelta(seconds=1))
    assert len(pages(fake_slack, incident)) == 1

    await tick(bot, clock, timedelta(seconds=1))
    l2 = pages(fake_slack, incident)[-1]
    assert mentioned(l2["text"]) == {"ULEAD"}  # L1 is named, not mentioned again
    assert "Escalating" in l2["text"] and "Already paged: L1 On-call Engineer" in l2["text"]
    assert "waited 15 minutes" in l2["text"]

    await tick(bot, clock, 30 * MINUTE - timedelta(seconds=1))
    assert len(pages(fake_slack, incident)) == 2  # L2's own window (30 min) counts from its page
    await tick(bot, clock, timedelta(seconds=1))
    l3 = pages(fake_slack, incident)[-1]
    assert mentioned(l3["text"]) == {"UCTO"} and "waited 45 minutes" in l3["text"]

    await tick(bot, clock, 60 * MINUTE)
    l4 = pages(fake_slack, incident)[-1]
    assert mentioned(l4["text"]) == {"UCEO"} and "last level for P0" in l4["text"]

    await tick(bot, clock, timedelta(hours=10))
    assert len(pages(fake_slack, incident)) == 4
    for user in ("UONCALL", "ULEAD", "UCTO", "UCEO"):
        assert len(dms(fake_slack, user)) == 1, user
    assert [s.level for s in await steps_of(bot, incident, "page")] == ["L1", "L2", "L3", "L4"]
    paged = await timeline_kinds(bot, incident, "paged")
    assert [e.data["level"] for e in paged] == ["L1", "L2", "L3", "L4"]
    assert all(not s.late for s in await steps_of(bot, incident, "page"))
    assert fake_slack.violations == []


async def test_p1_stops_at_l3(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    incident = await declare_incident(slack, fake_slack, bot, "P1")
    for advance in (15 * MINUTE, 30 * MINUTE, 60 * MINUTE, 5 * 60 * MINUTE):
        await tick(bot, clock, advance)
    levels = [m for m in pages(fake_slack, incident)]
    assert [mentioned(m["text"]) for m in levels] == [{"UONCALL"}, {"ULEAD"}, {"UCTO"}]
    assert "last level for P1" in levels[-1]["text"]
    assert dms(fake_slack, "UCEO") == []


async def test_p3_pages_l1_only(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    incident = await declare_incident(slack, fake_slack, bot, "P3")
    await tick(bot, clock, timedelta(hours=30))
    [only] = pages(fake_slack, incident)
    assert mentioned(only["text"]) == {"UONCALL"} and "last level for P3" in only["text"]
    assert dms(fake_slack, "ULEAD") == []
    # P3 has no update cadence: nothing reminds the channel.
    assert channel_messages(fake_slack, incident, ":memo:") == []


# ----------------------------------------------------------------------- acknowledge


async def test_acknowledge_button_in_a_dm_stops_the_chain_and_settles_every_page(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    incident = await declare_incident(slack, fake_slack, bot, "P0")
    await tick(bot, clock, 15 * MINUTE)
    [dm] = dms(fake_slack, "ULEAD")
    stale_page = copy.deepcopy(pages(fake_slack, incident)[0])
    await click(slack, bot, dm, "Acknowledge", user="ULEAD")

    incident = await reload(bot, incident)
    assert incident.acknowledged_by == "ULEAD" and incident.acknowledged_at == clock.now()
    [entry] = await timeline_kinds(bot, incident, "acknowledged")
    assert entry.actor_id == "ULEAD" and entry.data["time_to_acknowledge_seconds"] == 900
    [announce] = channel_messages(fake_slack, incident, ":white_check_mark:")
    assert "<@ULEAD> acknowledged" in announce["text"] and "Escalation stopped" in announce["text"]
    assert "L1 On-call Engineer, L2 Engineering Lead" in announce["text"]

    # Every page, in the channel and in DMs, lost its button and says who acknowledged.
    page_messages = pages(fake_slack, incident) + [
        m for user in ("UONCALL", "ULEAD") for m in dms(fake_slack, user)
    ]
    assert len(page_messages) == 4
    for message in page_messages:
        assert action_ids(message) == []
        assert "Acknowledged by <@ULEAD>" in context_text(message)

    await tick(bot, clock, timedelta(hours=3))
    assert dms(fake_slack, "UCTO") == []
    assert len(pages(fake_slack, incident)) == 2

    # A second click, on a screen not yet refreshed, answers privately and changes nothing.
    join(fake_slack, incident, "UOTHER")
    await click(slack, bot, stale_page, "Acknowledge", user="UOTHER")
    assert "already acknowledged by <@ULEAD>" in fake_slack.responses[-1]["text"]
    assert (await reload(bot, incident)).acknowledged_by == "ULEAD"


async def test_incident_ack_command_in_the_channel_stops_the_chain(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    incident = await declare_incident(slack, fake_slack, bot, "P1")
    clock.advance(7 * MINUTE)
    answer = (await slack.command("ack", user="UONCALL", channel=incident.channel_id)).json()
    assert answer["response_type"] == "ephemeral"
    assert "You acknowledged" in answer["text"] and "7 minutes" in answer["text"]
    await bot.tasks.drain()
    incident = await reload(bot, incident)
    assert incident.acknowledged_by == "UONCALL"
    assert "Acknowledged by <@UONCALL>" in context_text(pages(fake_slack, incident)[0])

    # Past L1's window and the P1 target (1 h): no L2 page, no target warning.
    await tick(bot, clock, timedelta(hours=2))
    assert len(pages(fake_slack, incident)) == 1
    assert channel_messages(fake_slack, incident, ":hourglass_flowing_sand:") == []
    statuses = {s.kind: s.status for s in await steps_of(bot, incident, "target_warning")}
    assert statuses == {"target_warning": "cancelled"}

    join(fake_slack, incident, "UOTHER")  # a member, from another channel
    again = (await slack.command(f"ack {incident.public_id}", user="UOTHER")).json()
    assert "already acknowledged by <@UONCALL>" in again["text"]


async def test_incident_ack_needs_an_incident(slack: SlackSender, bot: BotContext) -> None:
    outside = (await slack.command("ack", channel="CGENERAL")).json()
    assert "not an incident channel" in outside["text"]
    bogus = (await slack.command("ack INC-2026")).json()
    assert "is not an incident id" in bogus["text"]
    missing = (await slack.command("ack INC-20261128-999")).json()
    assert missing["text"] == (
        "There is no incident INC-20261128-999 that you can act on: an incident is run by the "
        "people in its channel. Nothing was changed."
    )


async def test_two_people_acknowledging_at_once_make_one_acknowledgement(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    incident = await declare_incident(slack, fake_slack, bot, "P0")
    answers = await asyncio.gather(
        slack.command("ack", user="UONCALL", channel=incident.channel_id),
        slack.command("ack", user="UOTHER", channel=incident.channel_id),
    )
    await bot.tasks.drain()
    texts = sorted(a.json()["text"] for a in answers)
    assert sum("You acknowledged" in t for t in texts) == 1
    assert sum("already acknowledged" in t for t in texts) == 1
    assert len(await timeline_kinds(bot, incident, "acknowledged")) == 1
    assert len(channel_messages(fake_slack, incident, ":white_check_mark:")) == 1


# ---------------------------------------------------------------------- resolve, severity


async def test_resolving_mid_chain_cancels_pending_pages_and_reminders(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    incident = await declare_incident(slack, fake_slack, bot, "P0")
    await tick(bot, clock, 15 * MINUTE)  # L2 paged
    clock.advance(5 * MINUTE)
    async with bot.sessions.begin() as session:  # what the resolve feature saves first
        await session.execute(
            update(Incident)
            .where(Incident.id == incident.id)
            .values(status=Status.RESOLVED, resolved_at=clock.now())
        )
    cancelled = await escalation.on_resolved(bot, incident)
    assert cancelled == 2  # L3's page and the next update reminder
    for message in pages(fake_slack, incident):
        assert action_ids(message) == [] and "Resolved" in context_text(message)

    before = len(fake_slack.messages[incident.channel_id])
    await tick(bot, clock, timedelta(hours=5))
    assert len(fake_slack.messages[incident.channel_id]) == before
    assert dms(fake_slack, "UCTO") == []
    pending = [s for s in await steps_of(bot, incident, "page") if s.status == "pending"]
    assert pending == []


async def test_a_page_due_after_resolution_is_not_sent_even_without_on_resolved(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    incident = await declare_incident(slack, fake_slack, bot, "P1")
    async with bot.sessions.begin() as session:
        await session.execute(
            update(Incident).where(Incident.id == incident.id).values(status=Status.RESOLVED)
        )
    await tick(bot, clock, 15 * MINUTE)
    assert dms(fake_slack, "ULEAD") == []
    l2 = [s for s in await steps_of(bot, incident, "page") if s.level == "L2"]
    assert [(s.status, s.data.get("reason")) for s in l2] == [("cancelled", "resolved")]


async def set_severity(bot: BotContext, incident: Incident, severity: str) -> Incident:
    async with bot.sessions.begin() as session:
        await session.execute(
            update(Incident).where(Incident.id == incident.id).values(severity=severity)
        )
    return await reload(bot, incident)


async def test_raising_the_severity_extends_the_chain_from_where_it_stopped(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    incident = await declare_incident(slack, fake_slack, bot, "P2")  # capped at L2
    await tick(bot, clock, 15 * MINUTE)
    await tick(bot, clock, 45 * MINUTE)
    assert len(pages(fake_slack, incident)) == 2  # L2 waited out its window: P2 stops there

    incident = await set_severity(bot, incident, "P0")
    await escalation.on_severity_changed(bot, incident, "P2", "P0")
    [note] = channel_messages(fake_slack, incident, ":arrow_up:")
    assert "escalation goes up to L4 CEO" in note["text"] and mentioned(note["text"]) == set()

    await tick(bot)  # L2's window is long over: L3 goes out now
    assert mentioned(pages(fake_slack, incident)[-1]["text"]) == {"UCTO"}
    await tick(bot, clock, 60 * MINUTE)
    assert mentioned(pages(fake_slack, incident)[-1]["text"]) == {"UCEO"}
    assert len(pages(fake_slack, incident)) == 4


async def test_lowering_the_severity_cancels_pages_above_the_new_cap(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    incident = await declare_incident(slack, fake_slack, bot, "P0")
    clock.advance(5 * MINUTE)
    incident = await set_severity(bot, incident, "P3")
    await escalation.on_severity_changed(bot, incident, "P0", "P3")
    [note] = channel_messages(fake_slack, incident, ":arrow_down:")
    assert "stops at L1 On-call Engineer" in note["text"]
    assert "L2 Engineering Lead is cancelled" in note["text"]

    await tick(bot, clock, timedelta(hours=2))
    assert len(pages(fake_slack, incident)) == 1 and dms(fake_slack, "ULEAD") == []
    # P3's response target is 24 h, and P3 has no update cadence.
    assert channel_messages(fake_slack, incident, ":hourglass_flowing_sand:") == []
    assert channel_messages(fake_slack, incident, ":memo:") == []
    await tick(bot, clock, timedelta(hours=23))
    assert len(channel_messages(fake_slack, incident, ":hourglass_flowing_sand:")) == 1


# ---------------------------------------------------------------------------- targets


@pytest.mark.policy(DIRECTORY_POLICY)
async def test_usergroup_and_email_targets_are_resolved_when_the_page_is_sent(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    fake_slack.add_usergroup("sre-oncall", ["UOTHER", "UONCALL"])
    incident = await declare_incident(slack, fake_slack, bot, "P1")
    [l1] = pages(fake_slack, incident)
    assert mentioned(l1["text"]) == {"UOTHER", "UONCALL"}  # the group and the email, deduplicated
    assert "nobody@example.com (no Slack user with this email)" in l1["text"]
    assert len(dms(fake_slack, "UOTHER")) == 1 and len(dms(fake_slack, "UONCALL")) == 1

    # @leads did not exist at declaration; it is looked up when L2 falls due.
    fake_slack.add_usergroup("leads", ["ULEAD"])
    await tick(bot, clock, 15 * MINUTE)
    assert mentioned(pages(fake_slack, incident)[-1]["text"]) == {"ULEAD"}
    await tick(bot, clock, 30 * MINUTE)
    assert mentioned(pages(fake_slack, incident)[-1]["text"]) == {"UCTO"}  # cto@example.com
    assert fake_slack.calls_to("usergroups.users.list")
    assert fake_slack.violations == []


@pytest.mark.policy(EMPTY_LEVEL_POLICY)
async def test_a_level_with_no_one_to_page_is_skipped_and_the_channel_told(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    incident = await declare_incident(slack, fake_slack, bot, "P1")
    await tick(bot, clock, 15 * MINUTE)
    [skipped] = channel_messages(fake_slack, incident, ":warning:")
    assert "L2 Engineering Lead has no one to page" in skipped["text"]
    assert "Moving on to L3 CTO now" in skipped["text"]
    # L3 is paged in the same tick, not after L2's 30 minutes.
    assert mentioned(pages(fake_slack, incident)[-1]["text"]) == {"UCTO"}
    assert "Already paged: L1 On-call Engineer." in pages(fake_slack, incident)[-1]["text"]
    [entry] = await timeline_kinds(bot, incident, "escalation_skipped")
    assert entry.data["level"] == "L2"


async def test_private_incident_pages_invite_the_paged_people(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    view = await open_modal(slack, fake_slack, bot)
    await submit(slack, bot, view, title="Leak", impacts={"P0": ["data_breach"]})
    [incident] = await incidents(bot)
    channel = fake_slack.channels[incident.channel_id]
    assert channel.is_private and "UONCALL" in channel.members


# -------------------------------------------------------------------- target, reminders


async def test_response_target_warning_is_posted_once_and_the_breach_recorded(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    incident = await declare_incident(slack, fake_slack, bot, "P1")  # target: 1 hour
    await tick(bot, clock, 59 * MINUTE)
    assert channel_messages(fake_slack, incident, ":hourglass_flowing_sand:") == []
    await tick(bot, clock, MINUTE)
    [warning] = channel_messages(fake_slack, incident, ":hourglass_flowing_sand:")
    assert "within its P1 response target of 1 hour" in warning["text"]
    assert "L1 On-call Engineer, L2 Engineering Lead" in warning["text"]
    assert mentioned(warning["text"]) == set()
    incident = await reload(bot, incident)
    assert incident.response_breached_at == incident.started_at + timedelta(hours=1)
    [entry] = await timeline_kinds(bot, incident, "response_target_missed")
    assert entry.occurred_at == incident.response_breached_at

    for _ in range(3):
        await tick(bot, clock, timedelta(hours=1))
    assert len(channel_messages(fake_slack, incident, ":hourglass_flowing_sand:")) == 1


async def test_update_reminders_follow_the_cadence_snooze_and_reset(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    incident = await declare_incident(slack, fake_slack, bot, "P0")  # every 30 minutes
    await slack.command("ack", user="UONCALL", channel=incident.channel_id)
    await tick(bot, clock, 29 * MINUTE)
    assert channel_messages(fake_slack, incident, ":memo:") == []
    await tick(bot, clock, MINUTE)
    [reminder] = channel_messages(fake_slack, incident, ":memo:")
    assert "none since the incident was declared 30 minutes ago" in reminder["text"]
    assert action_ids(reminder) == ["escalation_snooze_900", "escalation_snooze_3600"]
    assert mentioned(reminder["text"]) == set()

    # Snooze 1 hour: nothing at the usual 30 minutes, the next one an hour after the click.
    join(fake_slack, incident, "UOTHER")
    await click(slack, bot, reminder, "Snooze 1 hour", user="UOTHER")
    assert "snoozed until 10:30 UTC" in fake_slack.responses[-1]["text"]
    [reminder] = channel_messages(fake_slack, incident, ":memo:")
    assert action_ids(reminder) == [] and "Snoozed by <@UOTHER>" in context_text(reminder)
    await tick(bot, clock, 59 * MINUTE)
    assert len(channel_messages(fake_slack, incident, ":memo:")) == 1
    await tick(bot, clock, MINUTE)
    assert len(channel_messages(fake_slack, incident, ":memo:")) == 2  # 10:30

    # A status update resets the timer: the next reminder is a full cadence after it.
    await tick(bot, clock, 20 * MINUTE)  # 10:50, the next reminder was due 11:00
    due = await escalation.on_status_update(bot, incident)
    assert due == clock.now() + 30 * MINUTE
    await tick(bot, clock, 29 * MINUTE)  # 11:19
    assert len(channel_messages(fake_slack, incident, ":memo:")) == 2
    await tick(bot, clock, MINUTE)  # 11:20
    latest = channel_messages(fake_slack, incident, ":memo:")[-1]
    assert "the last one was 30 minutes ago" in latest["text"]


async def test_resolved_incident_cannot_be_snoozed(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    incident = await declare_incident(slack, fake_slack, bot, "P1")
    await tick(bot, clock, 60 * MINUTE)
    reminder = channel_messages(fake_slack, incident, ":memo:")[-1]
    async with bot.sessions.begin() as session:
        await session.execute(
            update(Incident).where(Incident.id == incident.id).values(status=Status.RESOLVED)
        )
    join(fake_slack, incident, "UOTHER")
    await click(slack, bot, reminder, "Snooze 15 minutes", user="UOTHER")
    assert "is resolved" in fake_slack.responses[-1]["text"]


# ------------------------------------------------------------------ durability, failures


async def test_retry_setup_does_not_page_twice(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    fake_slack.fail_next("pins.add", "not_in_channel")
    incident = await declare_incident(slack, fake_slack, bot, "P0")
    assert not incident.setup_complete and len(pages(fake_slack, incident)) == 1
    await slack.command(f"retry-setup {incident.public_id}")
    await bot.tasks.drain()
    assert (await reload(bot, incident)).setup_complete
    assert len(pages(fake_slack, incident)) == 1 and len(dms(fake_slack, "UONCALL")) == 1
    assert len(await steps_of(bot, incident, "target_warning")) == 1
    assert len(await steps_of(bot, incident, "update_reminder")) == 1


def restarted(bot: BotContext, clock: ManualClock) -> BotContext:
    """A new process over the same database and Slack: nothing carried over in memory."""
    return wiring.build(bot.settings, bot.policy, clock)


async def test_restart_mid_chain_sends_what_fell_due_once_and_late(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    incident = await declare_incident(slack, fake_slack, bot, "P0")
    await bot.engine.dispose()  # the bot goes down right after paging L1

    clock.advance(50 * MINUTE)  # L2 fell due at 09:15
    second = restarted(bot, clock)
    try:
        await tick(second)
        await tick(second)
        l2 = pages(fake_slack, incident)[-1]
        assert mentioned(l2["text"]) == {"ULEAD"}
        assert "Sent 35 minutes late" in l2["text"]
        [step] = [s for s in await steps_of(second, incident, "page") if s.level == "L2"]
        assert step.late and step.sent_at == clock.now()
        # L3 waits L2's full window from L2's (late) page, not from its planned time.
        await tick(second, clock, 30 * MINUTE - timedelta(seconds=1))
        assert len(pages(fake_slack, incident)) == 2
    finally:
        await second.engine.dispose()

    third = restarted(bot, clock)
    try:
        await tick(third, clock, timedelta(seconds=1))
        assert mentioned(pages(fake_slack, incident)[-1]["text"]) == {"UCTO"}
        assert [len(dms(fake_slack, u)) for u in ("UONCALL", "ULEAD", "UCTO")] == [1, 1, 1]
        assert len(pages(fake_slack, incident)) == 3
    finally:
        await third.engine.dispose()


async def test_a_step_held_by_a_worker_that_died_is_sent_once_its_lease_runs_out(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    await declare_incident(slack, fake_slack, bot, "P1")
    clock.advance(15 * MINUTE)
    async with bot.sessions.begin() as session:  # a replica claims L2, then dies
        claimed = await step_store.claim_due(
            session,
            worker="dead-replica",
            now=clock.now(),
            lease_until=clock.now() + timedelta(minutes=5),
            limit=10,
        )
    assert claimed
    await tick(bot)
    assert dms(fake_slack, "ULEAD") == []  # the lease still holds
    await tick(bot, clock, timedelta(minutes=5))
    assert len(dms(fake_slack, "ULEAD")) == 1
    await tick(bot, clock, timedelta(minutes=5))
    assert len(dms(fake_slack, "ULEAD")) == 1


async def test_slack_failing_while_paging_still_sends_exactly_one_page(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    incident = await declare_incident(slack, fake_slack, bot, "P1")
    clock.advance(15 * MINUTE)
    # A 5xx is not re-sent inside the call (the message may have gone out): the step fails and
    # is retried after its backoff, looking for what it already sent. A 429 is waited out
    # inside the call, and an error Slack answers in the body fails the step too.
    fake_slack.server_error_next("chat.postMessage", times=2)
    fake_slack.rate_limit_next("chat.postMessage", retry_after=1)
    fake_slack.fail_next("chat.postMessage", "internal_error", when={"channel": "ULEAD"})
    report = await tick(bot)
    assert report.retried == 1
    [step] = [s for s in await steps_of(bot, incident, "page") if s.level == "L2"]
    assert step.status == "pending" and step.last_error
    sent_before = len(fake_slack.calls_to("chat.postMessage"))
    await tick(bot, clock, timedelta(seconds=5))  # inside the backoff: nothing
    assert len(fake_slack.calls_to("chat.postMessage")) == sent_before

    for _ in range(4):
        await tick(bot, clock, MINUTE)
    assert len(dms(fake_slack, "ULEAD")) == 1
    assert len(pages(fake_slack, incident)) == 2
    statuses = [a.status for a in fake_slack.attempts_to("chat.postMessage")]
    assert statuses.count(500) == 2 and statuses.count(429) == 1
    async with bot.sessions() as session:
        sent = (
            await session.execute(select(StepMessage).where(StepMessage.step_id == step.id))
        ).scalars()
        assert sorted(m.recipient for m in sent) == ["ULEAD", "channel"]
    assert fake_slack.violations == []


async def test_a_deactivated_target_does_not_block_the_others(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    incident = await declare_incident(slack, fake_slack, bot, "P1")
    fake_slack.fail_next("chat.postMessage", "channel_not_found", when={"channel": "ULEAD"})
    await tick(bot, clock, 15 * MINUTE)
    [step] = [s for s in await steps_of(bot, incident, "page") if s.level == "L2"]
    assert step.status == "sent"  # a permanent refusal is recorded, not retried forever
    await tick(bot, clock, 30 * MINUTE)
    assert mentioned(pages(fake_slack, incident)[-1]["text"]) == {"UCTO"}


async def declare_quietly(bot: BotContext, fake: FakeSlack, count: int, severity: str) -> list:
    """Incidents with channels and planned escalations, nothing sent yet (for the workers).

    Declaring plans the escalation; the setup step is dropped (the channel is made here) and
    L1's page is due at once rather than waiting for a channel.
    """
    from app.services.declare import DeclareRequest, declare

    made = []
    for n in range(count):
        incident = await declare(
            bot, DeclareRequest(title=f"Load {n}", reporter_id="UREPORTER", severity=severity)
        )
        channel = fake.add_channel(f"incident-load-{n}")
        async with bot.sessions.begin() as session:
            await session.execute(
                update(Incident)
                .where(Incident.id == incident.id)
                .values(channel_id=channel, setup_complete=True)
            )
            incident.channel_id = channel
            mine = ScheduledStep.incident_id == incident.id
            await session.execute(
                update(ScheduledStep)
                .where(mine, ScheduledStep.kind == "setup")
                .values(status="cancelled")
            )
            await session.execute(
                update(ScheduledStep)
                .where(mine, ScheduledStep.kind == "page")
                .values(next_attempt_at=ScheduledStep.due_at)
            )
        made.append(incident)
    return made


async def test_two_schedulers_against_one_database_send_each_page_once(
    fake_slack: FakeSlack, bot: BotContext, clock: ManualClock, database_url: str
) -> None:
    """On PostgreSQL this is SKIP LOCKED at work; SQLite serialises the claim statement."""
    made = await declare_quietly(bot, fake_slack, 20, "P0")
    other = restarted(bot, clock)
    try:
        for advance in (timedelta(0), 15 * MINUTE):
            clock.advance(advance)
            reports = await asyncio.gather(
                run_due_steps(bot, batch=3), run_due_steps(other, batch=3)
            )
            assert sum(r.claimed for r in reports) == sum(r.sent for r in reports)
            print("REPORTS", reports)
        for incident in made:
            texts = [m["text"] for m in pages(fake_slack, incident)]
            assert [mentioned(t) for t in texts] == [{"UONCALL"}, {"ULEAD"}], incident.public_id
        assert len(dms(fake_slack, "UONCALL")) == 20 and len(dms(fake_slack, "ULEAD")) == 20
        warnings = sum(
            len(channel_messages(fake_slack, i, ":hourglass_flowing_sand:")) for i in made
        )
        assert warnings == 20
    finally:
        await other.engine.dispose()


# ----------------------------------------------------------------------- the scheduler


@pytest.mark.settings(escalation_tick_seconds=0.05)
async def test_the_scheduler_started_by_the_app_sends_due_pages(
    server: str, fake_slack: FakeSlack, bot: BotContext
) -> None:
    [incident] = await declare_quietly(bot, fake_slack, 1, "P1")
    for _ in range(250):  # up to 5 s of real time; the tick is every 50 ms
        if dms(fake_slack, "UONCALL"):
            break
        await asyncio.sleep(0.02)
    assert len(pages(fake_slack, incident)) == 1
    await asyncio.sleep(0.2)  # more ticks change nothing
    assert len(pages(fake_slack, incident)) == 1 and len(dms(fake_slack, "UONCALL")) == 1


def test_page_messages_render_as_valid_block_kit() -> None:
    """Pages carry the Acknowledge button Slack will send back to the listener."""
    from app.ui import escalation as eb

    incident = Incident(public_id="INC-20261128-001", severity="P0", title="x", channel_id="C1")
    message = eb.with_ack_button("text", incident)
    rendered = json.loads(json.dumps([b.to_dict() for b in message.blocks]))
    [button] = rendered[1]["elements"]
    assert button["action_id"] == "escalation_ack" and button["value"] == "INC-20261128-001"
    assert {"type", "text", "style"} <= button.keys()


async def test_a_failed_channel_creation_does_not_delay_the_page(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    fake_slack.fail_next("conversations.create", "restricted_action")
    view = await open_modal(slack, fake_slack, bot)
    await submit(slack, bot, view, title="No channel", severity="P0")
    [incident] = await incidents(bot)
    assert incident.channel_id is None
    [dm] = dms(fake_slack, "UONCALL")  # paged by DM all the same
    assert "Join <#" not in dm["text"] and action_ids(dm) == ["escalation_ack"]

    await slack.command(f"retry-setup {incident.public_id}")
    await bot.tasks.drain()
    incident = await reload(bot, incident)
    assert incident.setup_complete and len(dms(fake_slack, "UONCALL")) == 1


async def test_the_summarys_acknowledge_button_acknowledges_and_then_disappears(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    from tests.running import buttons, declare, summary

    incident = await declare(slack, fake_slack, bot, severity="P0")
    pinned = summary(fake_slack, incident)
    assert buttons(pinned)["escalation_ack"] == incident.public_id
    await click(slack, bot, pinned, "Acknowledge", user="UONCALL")
    updated = summary(fake_slack, incident)
    assert "escalation_ack" not in buttons(updated)
    assert "*Acknowledged*\n<@UONCALL>" in json.dumps(updated["blocks"]).replace("\\n", "\n")

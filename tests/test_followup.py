"""After the fire: action items (added, shown, done, reminded when overdue), the post-mortem
draft on demand, and the post-incident review reminded until it is held. Reminders are sent by
the service functions the escalation engine's scheduled rows call, driven here by a ManualClock."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta

from app.clock import ManualClock
from app.context import BotContext
from app.domain import reminders
from app.sandbox.fakeslack import FakeSlack
from app.sandbox.sender import SlackSender
from app.services.action_items import send_action_item_reminder
from app.services.review import send_review_reminder
from app.ui.followup import ACTION_ITEM_DONE_ACTION, REVIEW_HELD_ACTION
from tests.running import (
    buttons,
    click,
    command,
    declare,
    entries,
    items,
    join,
    kinds,
    posts_to,
    reload,
    resolve,
    summary,
    summary_text,
)

# ------------------------------------------------------------------------------ action items


async def test_action_item_is_added_shown_on_the_summary_and_its_owner_told(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    incident = await declare(slack, fake_slack, bot)

    answer = await command(
        slack,
        bot,
        "action Alert on webhook failures <@UOTHER|other> due 2026-12-05",
        channel=incident.channel_id,
    )

    assert answer == "Action item 1 added: Alert on webhook failures · <@UOTHER> · due 2026-12-05"
    [item] = await items(bot, incident)
    assert (item.text, item.owner_id, item.due_on.isoformat(), item.done) == (
        "Alert on webhook failures",
        "UOTHER",
        "2026-12-05",
        False,
    )
    assert item.created_by == "UREPORTER"
    entry = (await entries(bot, incident))[-1]
    # The owner the entry's text names (shown as a mention in the timeline, app.domain.timeline).
    assert entry.kind == "action_item"
    assert entry.data == {"event": "added", "item": item.id, "owner": "UOTHER"}
    rendered = summary_text(fake_slack, incident)
    assert "*Action items*: 1 open, 0 done" in rendered
    assert "1. Alert on webhook failures · <@UOTHER> · due 2026-12-05" in rendered
    assert buttons(summary(fake_slack, incident))[ACTION_ITEM_DONE_ACTION] == str(item.id)
    [dm] = posts_to(fake_slack, "UOTHER")
    assert "gave you an action item" in dm["text"] and "Alert on webhook failures" in dm["text"]


async def test_action_item_without_owner_or_due_date(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    incident = await declare(slack, fake_slack, bot)
    answer = await command(slack, bot, "action Write the runbook", channel=incident.channel_id)
    assert answer == "Action item 1 added: Write the runbook · no owner"
    [item] = await items(bot, incident)
    assert item.owner_id is None and item.due_on is None


async def test_bad_action_items_are_refused_with_the_usage(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    incident = await declare(slack, fake_slack, bot)
    cases = {
        "action": "Say what needs doing",
        "action Fix it due 05/12/2026": "is not a date",
        "action Fix it due 2026-02-30": "is not a real date",
        "action Fix it due 2026-11-01": "is in the past (today is 2026-11-28)",
    }
    for text, expected in cases.items():
        assert expected in await command(slack, bot, text, channel=incident.channel_id), text
    assert await items(bot, incident) == []
    assert await kinds(bot, incident) == ["declared"]


async def test_done_button_marks_the_item_done_once(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    incident = await declare(slack, fake_slack, bot)
    await command(slack, bot, "action Add a canary", channel=incident.channel_id)
    await command(slack, bot, "action Document rollback", channel=incident.channel_id)
    first, second = await items(bot, incident)

    shown = copy.deepcopy(summary(fake_slack, incident))
    join(fake_slack, incident, "UOTHER")
    for _ in range(2):  # a double click: both on the summary as it was
        await click(slack, bot, shown, "Done", near="Add a canary", user="UOTHER")

    first, second = await items(bot, incident)
    assert first.done and first.done_by == "UOTHER" and not second.done
    done_entries = [e for e in await entries(bot, incident) if e.data.get("event") == "done"]
    assert [e.text for e in done_entries] == ["Action item done: Add a canary"]
    rendered = summary_text(fake_slack, incident)
    assert "*Action items*: 1 open, 1 done" in rendered
    assert "Add a canary" not in rendered and "2. Document rollback" in rendered


# ------------------------------------------------------------------------------ post-mortem


async def test_postmortem_command_renders_the_current_timeline_and_uploads_it(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    incident = await declare(slack, fake_slack, bot)
    clock.advance(timedelta(minutes=12))
    await command(slack, bot, "status mitigating", channel=incident.channel_id)
    await command(slack, bot, "action Add a canary <@ULEAD|lead>", channel=incident.channel_id)

    answer = await command(slack, bot, "postmortem", channel=incident.channel_id)

    assert answer == ""
    [upload] = fake_slack.files
    draft = upload["content"].decode()
    # People by name (the fake's users are named after their ids), not as Slack mentions.
    assert "- 09:00 - Declared as P1 High: Payments are down (ureporter)" in draft
    assert "- 09:12 - Status changed from Investigating to Mitigating (ureporter)" in draft
    assert "- [ ] Add a canary - ulead - Due date" in draft
    assert "is ongoing." in draft  # not resolved yet: the summary prompt says so
    assert "rendered from the current timeline" in upload["initial_comment"]


# ------------------------------------------------------------------------------ review


async def test_review_reminders_follow_the_schedule_until_the_review_is_held(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    incident = await declare(slack, fake_slack, bot)
    await command(slack, bot, "lead <@ULEAD|lead>", channel=incident.channel_id)
    await resolve(slack, fake_slack, bot, incident)
    incident = await reload(bot, incident)
    resolved_at = incident.resolved_at
    assert resolved_at is not None
    window = bot.policy.review_within
    assert window == timedelta(hours=48)

    # The engine's first row falls due halfway through the window.
    clock.set(reminders.first_review_reminder_at(resolved_at, window))
    assert await send_review_reminder(bot, incident.id) is True
    reminder = fake_slack.messages[incident.channel_id][-1]
    assert "<@ULEAD>" in reminder["text"] and "is due by 2026-11-30 09:00 UTC" in reminder["text"]
    assert "24 hours from now" in reminder["text"]
    assert buttons(reminder) == {REVIEW_HELD_ACTION: str(incident.id)}

    # Then at the deadline, then daily, while nobody marks it held.
    clock.set(reminders.next_review_reminder_at(resolved_at, window, clock.now()))
    assert clock.now() == resolved_at + window
    assert await send_review_reminder(bot, incident.id) is True
    assert "was due 2026-11-30 09:00 UTC" in fake_slack.messages[incident.channel_id][-1]["text"]

    # The lead presses the button on the reminder.
    await click(
        slack, bot, fake_slack.messages[incident.channel_id][-1], "Mark review held", user="ULEAD"
    )
    incident = await reload(bot, incident)
    assert incident.review_held_by == "ULEAD" and incident.review_held_at == clock.now()
    assert (await entries(bot, incident))[-1].kind == "review_held"
    assert "review of" in fake_slack.messages[incident.channel_id][-1]["text"]
    assert "is held" in fake_slack.messages[incident.channel_id][-1]["text"]
    assert "*Post-incident review*\\nHeld 2026-11-30 09:00 UTC (<@ULEAD>)" in summary_text(
        fake_slack, incident
    )
    assert buttons(summary(fake_slack, incident)) == {}

    posted = len(fake_slack.calls_to("chat.postMessage"))
    clock.advance(timedelta(days=1))
    assert await send_review_reminder(bot, incident.id) is False
    assert len(fake_slack.calls_to("chat.postMessage")) == posted


async def test_review_reminder_goes_to_the_reporter_without_a_lead_and_stops_on_reopen(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    incident = await declare(slack, fake_slack, bot)
    await resolve(slack, fake_slack, bot, incident)
    clock.advance(timedelta(hours=24))
    assert await send_review_reminder(bot, incident.id) is True
    assert "<@UREPORTER>" in fake_slack.messages[incident.channel_id][-1]["text"]

    await command(slack, bot, "reopen", channel=incident.channel_id)
    posted = len(fake_slack.calls_to("chat.postMessage"))
    assert await send_review_reminder(bot, incident.id) is False
    assert len(fake_slack.calls_to("chat.postMessage")) == posted


async def test_marking_the_review_held_of_a_reopened_incident_is_refused(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    """The button is pressed on a screen that still shows the resolved summary."""
    incident = await declare(slack, fake_slack, bot)
    await resolve(slack, fake_slack, bot, incident)
    stale = copy.deepcopy(summary(fake_slack, incident))
    await command(slack, bot, "reopen", channel=incident.channel_id)
    await click(slack, bot, stale, "Mark review held")
    assert "not resolved" in fake_slack.ephemerals[-1]["text"]
    assert (await reload(bot, incident)).review_held_at is None


async def test_unknown_incident_needs_no_review_reminder(bot: BotContext) -> None:
    assert await send_review_reminder(bot, 999_999) is False
    assert await send_action_item_reminder(bot, 999_999) is False


# ------------------------------------------------------------------------------ overdue items


async def test_overdue_action_item_is_reminded_to_its_owner_until_done(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    incident = await declare(slack, fake_slack, bot)
    await command(
        slack,
        bot,
        "action Add a canary <@UOTHER|other> due 2026-12-01",
        channel=incident.channel_id,
    )
    [item] = await items(bot, incident)
    assigned = len(posts_to(fake_slack, "UOTHER"))

    # Still due: the row came early, nothing is said, and another reminder is wanted.
    clock.set(datetime(2026, 12, 1, 23, 59, tzinfo=UTC))
    assert await send_action_item_reminder(bot, item.id) is True
    assert len(posts_to(fake_slack, "UOTHER")) == assigned

    first = reminders.first_action_item_reminder_at(item.due_on, bot.settings.tz)
    assert first == datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
    clock.set(first)
    assert await send_action_item_reminder(bot, item.id) is True
    reminder = posts_to(fake_slack, "UOTHER")[-1]
    assert "was due 2026-12-01 and is not done" in reminder["text"]
    dm_channel = fake_slack.state.ims["UOTHER"]
    reminder_message = fake_slack.messages[dm_channel][-1]
    assert buttons(reminder_message) == {ACTION_ITEM_DONE_ACTION: str(item.id)}

    # The owner presses Done on the reminder itself.
    await click(slack, bot, reminder_message, "Done", user="UOTHER")
    assert reminder_message["text"].startswith(":white_check_mark: Done: Add a canary")
    assert buttons(reminder_message) == {}
    [item] = await items(bot, incident)
    assert item.done
    assert "1 open" not in summary_text(fake_slack, incident)

    clock.advance(timedelta(days=1))
    posted = len(fake_slack.calls_to("chat.postMessage"))
    assert await send_action_item_reminder(bot, item.id) is False
    assert len(fake_slack.calls_to("chat.postMessage")) == posted


async def test_an_overdue_item_nobody_owns_is_reminded_in_the_incident_channel(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    incident = await declare(slack, fake_slack, bot)
    await command(slack, bot, "action Rotate keys due 2026-11-28", channel=incident.channel_id)
    [item] = await items(bot, incident)
    clock.set(datetime(2026, 11, 29, 9, 0, tzinfo=UTC))
    assert await send_action_item_reminder(bot, item.id) is True
    reminder = fake_slack.messages[incident.channel_id][-1]
    assert "Nobody owns this item" in reminder["text"] and "Rotate keys" in reminder["text"]
    assert buttons(reminder) == {ACTION_ITEM_DONE_ACTION: str(item.id)}

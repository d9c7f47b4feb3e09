"""Capture without reading Slack: the bot keeps what it hears of every message posted in an
incident channel, so a timeline emoji on such a message costs one Slack call (the confirmation)
and no `conversations.history` or `chat.getPermalink`. Through the real app over signed HTTP
against the fake Slack; events are built from what the fake holds."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest_asyncio
from sqlalchemy import select

from app import wiring
from app.clock import ManualClock
from app.config.policy_loader import load_policy
from app.context import BotContext
from app.sandbox import builders as build
from app.sandbox.fakeslack import FakeSlack
from app.sandbox.sender import SlackSender
from app.services import lifecycle
from app.services.capture import Capture, Outcome
from app.services.channel_messages import RESOLVED_RETENTION, ChannelMessages
from app.services.message_events import Reaction
from app.store import channel_messages as store
from app.store.models import ChannelMessage, Incident
from tests import slack_events as ev
from tests.conftest import SIGNING_SECRET, clean, make_settings, serve_bot
from tests.outage import DatabaseOutage
from tests.test_declare import incidents, open_modal, submit
from tests.test_timeline import confirmations, declared, entries, send


@pytest_asyncio.fixture
async def incident(slack: SlackSender, fake_slack: FakeSlack, bot: BotContext) -> Incident:
    """`declared` (test_timeline), with the workspace address known; calls forgotten."""
    found = await declared(slack, fake_slack, bot)
    # Asked of Slack once per process, by its first capture unless something asked before
    # (test_the_workspace_address_is_asked_of_slack_once_per_process).
    assert await bot.workspace_url() == "https://fake.slack.com/"
    fake_slack.calls.clear()
    return found


def methods(fake: FakeSlack) -> list[str]:
    """Every call the bot made, auth.test included."""
    return [c.method for c in fake.calls]


async def post(
    slack: SlackSender, bot: BotContext, fake: FakeSlack, channel: str, text: str, **kwargs: Any
) -> str:
    """A person posts a message in `channel` and Slack tells the bot: its ts."""
    ts = fake.add_message(channel, text, **kwargs)
    await send(slack, bot, build.message_event(fake, channel, ts))
    return ts


async def rows(bot: BotContext) -> list[ChannelMessage]:
    async with bot.sessions() as session:
        stmt = select(ChannelMessage).order_by(ChannelMessage.ts)
        return list((await session.execute(stmt)).scalars())


async def slack_permalink(bot: BotContext, channel: str, ts: str) -> str:
    """What chat.getPermalink answers for the message (asked by the test, not the bot)."""
    return str((await bot.slack.chat_getPermalink(channel=channel, message_ts=ts))["permalink"])


async def test_a_pin_on_a_message_the_bot_heard_costs_only_the_confirmation(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, incident: Incident
) -> None:
    channel = incident.channel_id
    assert channel is not None
    files = [{"id": "F1", "name": "grafana.png", "title": "Error rate"}]
    ts = await post(
        slack, bot, fake_slack, channel, "Error rate back to 0.1%", user="ULEAD", files=files
    )
    assert methods(fake_slack) == []  # hearing a message costs no call

    await send(slack, bot, ev.added(fake_slack, channel, ts))

    assert methods(fake_slack) == ["reactions.add"]
    [entry] = await entries(bot, "message")
    assert (entry.actor_id, entry.text, entry.source_ts) == ("ULEAD", "Error rate back to 0.1%", ts)
    assert entry.data["files"] == ["grafana.png"]
    assert entry.data["thread_ts"] is None
    assert entry.data["permalink"] == await slack_permalink(bot, channel, ts)
    assert confirmations(fake_slack, channel, ts) == [("white_check_mark", fake_slack.bot_user_id)]


async def test_a_message_edited_before_the_pin_is_captured_as_edited(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, incident: Incident
) -> None:
    channel = incident.channel_id
    assert channel is not None
    ts = await post(slack, bot, fake_slack, channel, "Rollback to v41", user="ULEAD")
    change = fake_slack.edit_message(channel, ts, "Rollback to v40", user="ULEAD")
    await send(slack, bot, ev.message_changed(fake_slack, channel, change))

    await send(slack, bot, ev.added(fake_slack, channel, ts))

    assert methods(fake_slack) == ["reactions.add"]
    [entry] = await entries(bot, "message")
    assert entry.text == "Rollback to v40"


async def test_an_edit_after_the_capture_keeps_the_kept_message_current(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, incident: Incident
) -> None:
    """Unpinned and pinned again after an edit: the new entry has the new text, unread."""
    channel = incident.channel_id
    assert channel is not None
    ts = await post(slack, bot, fake_slack, channel, "Cause: DNS", user="ULEAD")
    await send(slack, bot, ev.added(fake_slack, channel, ts))
    change = fake_slack.edit_message(channel, ts, "Cause: expired cert", user="ULEAD")
    await send(slack, bot, ev.message_changed(fake_slack, channel, change))
    [entry] = await entries(bot, "message")
    assert entry.text == "Cause: expired cert"

    await send(slack, bot, ev.removed(fake_slack, channel, ts))
    assert await entries(bot, "message") == []
    fake_slack.calls.clear()
    await send(slack, bot, ev.added(fake_slack, channel, ts))
    assert methods(fake_slack) == ["reactions.add"]
    [entry] = await entries(bot, "message")
    assert entry.text == "Cause: expired cert"


async def test_a_thread_reply_gets_its_thread_permalink_without_a_call(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, incident: Incident
) -> None:
    channel = incident.channel_id
    assert channel is not None
    parent = await post(slack, bot, fake_slack, channel, "Is the DB the cause?", user="UOTHER")
    reply = await post(
        slack, bot, fake_slack, channel, "No: replica lag is 0", user="ULEAD", thread_ts=parent
    )

    await send(slack, bot, ev.added(fake_slack, channel, reply))

    assert methods(fake_slack) == ["reactions.add"]
    [entry] = await entries(bot, "message")
    assert (entry.text, entry.data["thread_ts"]) == ("No: replica lag is 0", parent)
    link = await slack_permalink(bot, channel, reply)
    assert entry.data["permalink"] == link
    assert link.endswith(f"?thread_ts={parent}&cid={channel}")


async def test_a_message_from_before_the_bot_heard_it_is_read_from_history(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, incident: Incident
) -> None:
    """Posted before the bot joined (no event reached it): fetched, the permalink still built."""
    channel = incident.channel_id
    assert channel is not None
    ts = fake_slack.add_message(channel, "Earlier: deploy 42 started", user="ULEAD")

    await send(slack, bot, ev.added(fake_slack, channel, ts))

    assert methods(fake_slack) == ["conversations.history", "reactions.add"]
    [entry] = await entries(bot, "message")
    assert entry.text == "Earlier: deploy 42 started"
    assert entry.data["permalink"] == await slack_permalink(bot, channel, ts)


async def test_a_deleted_message_is_not_captured_and_costs_no_call(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, incident: Incident
) -> None:
    channel = incident.channel_id
    assert channel is not None
    ts = await post(slack, bot, fake_slack, channel, "Customer data exposed?", user="UOTHER")
    reacted = ev.added(fake_slack, channel, ts)  # the reaction's event is delivered late
    previous = fake_slack.delete_message(channel, ts)
    await send(slack, bot, ev.message_deleted(fake_slack, channel, previous))

    await send(slack, bot, reacted)

    assert await entries(bot, "message") == []
    assert methods(fake_slack) == []
    [row] = await rows(bot)
    assert row.deleted and row.text == ""  # what it said is not kept either


async def test_a_redelivered_message_event_keeps_one_row(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, incident: Incident
) -> None:
    channel = incident.channel_id
    assert channel is not None
    ts = fake_slack.add_message(channel, "Paged the DBA", user="ULEAD")
    posted = build.message_event(fake_slack, channel, ts)
    await send(slack, bot, posted, event_id="EvPOSTED")
    await send(slack, bot, posted, event_id="EvPOSTED", retry_num=1)
    await send(slack, bot, posted, event_id="EvPOSTED", retry_num=2)
    await send(slack, bot, posted)  # the same message under another event id

    [row] = await rows(bot)
    assert (row.ts, row.user_id, row.text, row.incident_id) == (
        ts,
        "ULEAD",
        "Paged the DBA",
        incident.id,
    )
    assert methods(fake_slack) == []


async def test_events_arriving_out_of_order_leave_the_latest_version(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, incident: Incident
) -> None:
    """Slack does not promise order: a late posting does not undo an edit, a late older edit
    does not undo a newer one, and nothing revives a deleted message."""
    channel = incident.channel_id
    assert channel is not None
    ts = fake_slack.add_message(channel, "v1", user="ULEAD")
    posted = build.message_event(fake_slack, channel, ts)
    first = ev.message_changed(
        fake_slack, channel, fake_slack.edit_message(channel, ts, "v2", user="ULEAD")
    )
    second = ev.message_changed(
        fake_slack, channel, fake_slack.edit_message(channel, ts, "v3", user="ULEAD")
    )

    await send(slack, bot, second)
    await send(slack, bot, first)
    await send(slack, bot, posted)
    [row] = await rows(bot)
    assert row.text == "v3"

    await send(slack, bot, ev.added(fake_slack, channel, ts))
    [entry] = await entries(bot, "message")
    assert entry.text == "v3" and methods(fake_slack) == ["reactions.add"]

    deleted = ev.message_deleted(fake_slack, channel, fake_slack.delete_message(channel, ts))
    await send(slack, bot, deleted)
    await send(slack, bot, second)
    await send(slack, bot, posted)
    [row] = await rows(bot)
    assert row.deleted and row.text == ""


async def test_messages_outside_incident_channels_are_not_kept(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, incident: Incident
) -> None:
    general = fake_slack.add_channel("general", members=["UOTHER"])
    for text in ("lunch?", "pizza", "ok"):
        await post(slack, bot, fake_slack, general, text, user="UOTHER")
    assert await rows(bot) == []
    assert bot.incident_channels.lookups == 1  # one lookup, then memory says "not an incident"


async def test_the_workspace_address_is_asked_of_slack_once_per_process(
    slack: SlackSender,
    fake_slack: FakeSlack,
    bot: BotContext,
    incident: Incident,
    database_url: str,
    clock: ManualClock,
) -> None:
    channel = incident.channel_id
    assert channel is not None
    stamps = [await post(slack, bot, fake_slack, channel, t, user="ULEAD") for t in ("a", "b")]
    other = wiring.build(make_settings(fake_slack, database_url), load_policy(None), clock)
    try:
        capture = Capture(other)  # a process that has not asked auth.test anything yet
        for n, ts in enumerate(stamps):
            reaction = Reaction(f"EvONCE{n}", channel, ts, "UOTHER", "pushpin")
            assert await capture.reaction_added(reaction) is Outcome.CREATED
    finally:
        await other.engine.dispose()
    assert methods(fake_slack) == ["auth.test", "reactions.add", "reactions.add"]


async def test_without_the_workspace_address_the_permalink_is_asked_of_slack(
    slack: SlackSender,
    fake_slack: FakeSlack,
    bot: BotContext,
    incident: Incident,
    database_url: str,
    clock: ManualClock,
) -> None:
    """A process that could not learn its workspace's address still captures a heard message:
    the permalink costs a chat.getPermalink call, the message itself no read."""
    channel = incident.channel_id
    assert channel is not None
    ts = await post(slack, bot, fake_slack, channel, "Failover done", user="ULEAD")
    other = wiring.build(make_settings(fake_slack, database_url), load_policy(None), clock)
    try:
        fake_slack.fail_next("auth.test", "internal_error")
        outcome = await Capture(other).reaction_added(
            Reaction("EvNOURL", channel, ts, "UOTHER", "pushpin")
        )
    finally:
        await other.engine.dispose()
    assert outcome is Outcome.CREATED
    assert methods(fake_slack) == ["auth.test", "chat.getPermalink", "reactions.add"]
    [entry] = await entries(bot, "message")
    assert entry.data["permalink"] == await slack_permalink(bot, channel, ts)


async def test_a_resolved_incidents_messages_are_forgotten_after_the_retention(
    slack: SlackSender,
    fake_slack: FakeSlack,
    bot: BotContext,
    incident: Incident,
    clock: ManualClock,
) -> None:
    channel = incident.channel_id
    assert channel is not None
    await post(slack, bot, fake_slack, channel, "Mitigated", user="ULEAD")
    await lifecycle.resolve(
        bot, incident.id, lifecycle.Resolution("Rolled back", data_loss=False), "ULEAD"
    )
    messages = ChannelMessages(bot)
    clock.advance(RESOLVED_RETENTION - timedelta(minutes=1))
    assert await messages.prune() == 0 and len(await rows(bot)) == 1
    clock.advance(timedelta(minutes=2))
    assert await messages.prune() == 1 and await rows(bot) == []


async def test_a_channel_keeps_only_its_newest_messages(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, incident: Incident
) -> None:
    channel = incident.channel_id
    assert channel is not None
    stamps = [await post(slack, bot, fake_slack, channel, f"m{n}", user="ULEAD") for n in range(5)]
    assert await ChannelMessages(bot, cap=3).prune() == 2
    assert [row.ts for row in await rows(bot)] == stamps[2:]
    async with bot.sessions() as session:
        assert await store.count(session, channel) == 3

    # A pin on a forgotten message is still captured, from Slack.
    await send(slack, bot, ev.added(fake_slack, channel, stamps[0]))
    assert methods(fake_slack) == ["conversations.history", "reactions.add"]
    [entry] = await entries(bot, "message")
    assert entry.text == "m0"


async def test_an_integrations_message_is_kept_with_its_name_clipped_to_fit(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, incident: Incident
) -> None:
    """A field longer than its column must not cost the row (nor the batch written with it)."""
    channel = incident.channel_id
    assert channel is not None
    name = "Datadog " + "x" * 300
    posted = ev.message(
        fake_slack, channel, "CPU > 90%", subtype="bot_message", bot_id="B0DD", username=name
    )
    await send(slack, bot, posted)
    await send(slack, bot, ev.added(fake_slack, channel, posted["ts"]))

    assert methods(fake_slack) == ["reactions.add"]
    [entry] = await entries(bot, "message")
    assert (entry.text, entry.data["bot_id"], entry.data["username"]) == (
        "CPU > 90%",
        "B0DD",
        name[:255],
    )


async def test_a_message_heard_while_the_database_was_down_is_acked_and_still_captured(
    tmp_path: Path, database_url: str, fake_slack: FakeSlack, clock: ManualClock
) -> None:
    """Keeping a message happens after the ack, and a message that could not be kept costs
    nothing but a read when someone flags it."""
    async with DatabaseOutage(database_url, tmp_path) as outage:
        bot = wiring.build(make_settings(fake_slack, outage.url), load_policy(None), clock)
        await clean(bot)
        try:
            async with serve_bot(bot) as url:
                slack = SlackSender(url, SIGNING_SECRET, fake_slack)
                view = await open_modal(slack, fake_slack, bot)
                await submit(slack, bot, view, title="Checkout errors", severity="P1")
                [incident] = await incidents(bot)
                channel = incident.channel_id
                assert channel is not None
                await bot.workspace_url()

                await outage.down(bot.engine)
                ts = fake_slack.add_message(channel, "Failing over to eu-west", user="ULEAD")
                await send(slack, bot, build.message_event(fake_slack, channel, ts))  # acked
                await outage.up()

                fake_slack.calls.clear()
                await send(slack, bot, ev.added(fake_slack, channel, ts))
                await slack.close()
            assert methods(fake_slack) == ["conversations.history", "reactions.add"]
            [entry] = await entries(bot, "message")
            assert entry.text == "Failing over to eu-west"
        finally:
            await bot.close()

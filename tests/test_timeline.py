"""The incident timeline end to end: reactions, edits, deletions, notes and the timeline view,
through the real app over signed HTTP against the fake Slack."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import event, select

from app.context import BotContext
from app.domain.slack_ts import ts_to_datetime
from app.sandbox.fakeslack import FakeSlack
from app.sandbox.sender import SlackSender
from app.services import timeline
from app.services.capture import Capture, Outcome, Reaction, _NewEntry
from app.services.slack_messages import fetch_message
from app.store.models import Incident, ProcessedEvent, TimelineEntry
from tests import slack_events as ev
from tests.test_declare import open_modal, submit

POLICIES = Path(__file__).parent / "policies"
CAPTURE_CALLS = ("conversations.history", "conversations.replies", "chat.getPermalink")


async def declared(slack: SlackSender, fake_slack: FakeSlack, bot: BotContext) -> Incident:
    """A declared incident whose Slack setup is complete, UOTHER and ULEAD in its channel."""
    view = await open_modal(slack, fake_slack, bot)
    await submit(slack, bot, view, title="Checkout errors", severity="P1")
    async with bot.sessions() as session:
        [found] = (await session.execute(select(Incident))).scalars()
    assert found.setup_complete and found.channel_id
    fake_slack.channels[found.channel_id].members.update({"UOTHER", "ULEAD"})
    return found


@pytest_asyncio.fixture
async def incident(slack: SlackSender, fake_slack: FakeSlack, bot: BotContext) -> Incident:
    """`declared`, with the fake's calls forgotten."""
    found = await declared(slack, fake_slack, bot)
    fake_slack.calls.clear()
    return found


async def entries(bot: BotContext, kind: str | None = None) -> list[TimelineEntry]:
    async with bot.sessions() as session:
        stmt = select(TimelineEntry).order_by(TimelineEntry.occurred_at, TimelineEntry.id)
        if kind:
            stmt = stmt.where(TimelineEntry.kind == kind)
        return list((await session.execute(stmt)).scalars())


async def send(slack: SlackSender, bot: BotContext, payload: dict[str, Any], **kwargs: Any) -> Any:
    response = await slack.event(payload, **kwargs)
    assert response.status_code == 200, response.text
    await bot.tasks.drain()
    return response


def confirmations(fake: FakeSlack, channel: str, ts: str) -> list[tuple[str, str]]:
    return [r for r in fake.reactions.get((channel, ts), []) if r[0] == "white_check_mark"]


def slack_calls(fake: FakeSlack) -> list[str]:
    """Methods called, without the auth.test Bolt makes once to learn who it is."""
    return [c.method for c in fake.calls if c.method != "auth.test"]


@pytest.fixture
def statements(bot: BotContext) -> Iterator[list[str]]:
    """Every SQL statement the bot sends while the test runs."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(bot.engine.sync_engine, "before_cursor_execute", record)
    yield seen
    event.remove(bot.engine.sync_engine, "before_cursor_execute", record)


# ------------------------------------------------------------------------------ capture


async def test_pushpin_records_the_message_at_its_own_time_with_author_text_files_and_link(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, incident: Incident
) -> None:
    channel = incident.channel_id
    assert channel is not None
    ts = fake_slack.add_message(
        channel,
        "Error rate back to 0.1% after the rollback",
        user="ULEAD",
        ts="1764320700.000123",  # 2025-11-28 09:05:00.000123 UTC, long before the reaction
        files=[{"id": "F1", "name": "grafana.png", "title": "Error rate"}],
    )
    fake_slack.add_reaction(channel, ts, "pushpin", user="UOTHER")
    await send(slack, bot, ev.added(fake_slack, channel, ts))

    [entry] = await entries(bot, "message")
    assert entry.occurred_at == ts_to_datetime("1764320700.000123")
    assert entry.occurred_at.microsecond == 123 and entry.occurred_at.tzinfo is not None
    assert (entry.actor_id, entry.text, entry.source_ts) == (
        "ULEAD",
        "Error rate back to 0.1% after the rollback",
        ts,
    )
    assert entry.data["files"] == ["grafana.png"]
    assert entry.data["permalink"] == f"https://fake.slack.com/archives/{channel}/p1764320700000123"
    assert entry.data["flagged_by"] == [{"user": "UOTHER", "emoji": "pushpin"}]
    assert confirmations(fake_slack, channel, ts) == [("white_check_mark", fake_slack.bot_user_id)]
    assert "conversations.replies" not in slack_calls(fake_slack)
    assert fake_slack.violations == []


async def test_pushpin_on_a_thread_reply_fetches_it_from_its_thread(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, incident: Incident
) -> None:
    channel = incident.channel_id
    assert channel is not None
    parent = fake_slack.add_message(channel, "Is the DB the cause?", user="UOTHER")
    reply = fake_slack.add_message(channel, "No: replica lag is 0", user="ULEAD", thread_ts=parent)
    fake_slack.add_message(channel, "Later reply", user="UOTHER", thread_ts=parent)
    fake_slack.add_message(channel, "Newer top-level message", user="UOTHER")
    await send(slack, bot, ev.added(fake_slack, channel, reply))

    [entry] = await entries(bot, "message")
    assert (entry.text, entry.actor_id, entry.source_ts) == ("No: replica lag is 0", "ULEAD", reply)
    assert entry.occurred_at == ts_to_datetime(reply)
    assert entry.data["thread_ts"] == parent
    assert f"thread_ts={parent}" in entry.data["permalink"]
    assert slack_calls(fake_slack).count("conversations.replies") == 1
    assert confirmations(fake_slack, channel, reply)


async def test_a_redelivered_and_a_retried_event_give_one_entry_and_one_confirmation(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, incident: Incident
) -> None:
    channel = incident.channel_id
    assert channel is not None
    ts = fake_slack.add_message(channel, "Deploy 42 started", user="ULEAD")
    payload = ev.added(fake_slack, channel, ts)
    responses = await asyncio.gather(
        slack.event(payload, event_id="EvSAME1"),
        slack.event(payload, event_id="EvSAME1"),
    )
    await bot.tasks.drain()
    await send(slack, bot, payload, event_id="EvSAME1", retry_num=1)
    await send(slack, bot, payload, event_id="EvSAME1", retry_num=2)

    assert [r.status_code for r in responses] == [200, 200]
    assert len(await entries(bot, "message")) == 1
    assert slack_calls(fake_slack).count("conversations.history") == 1
    assert slack_calls(fake_slack).count("reactions.add") == 1
    async with bot.sessions() as session:
        ids = list((await session.execute(select(ProcessedEvent.event_id))).scalars())
    assert ids == ["EvSAME1"]


async def test_the_same_reaction_under_a_new_event_id_still_gives_one_entry(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, incident: Incident
) -> None:
    channel = incident.channel_id
    assert channel is not None
    ts = fake_slack.add_message(channel, "Feature flag off", user="ULEAD")
    await send(slack, bot, ev.added(fake_slack, channel, ts), event_id="EvFIRST")
    await send(slack, bot, ev.added(fake_slack, channel, ts), event_id="EvSECOND")
    [entry] = await entries(bot, "message")
    assert entry.data["flagged_by"] == [{"user": "UOTHER", "emoji": "pushpin"}]
    assert slack_calls(fake_slack).count("conversations.history") == 1


async def test_a_processed_event_stays_processed_for_a_process_that_never_saw_it(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, incident: Incident
) -> None:
    """The event log is in the database: a restarted or other replica skips it too."""
    channel = incident.channel_id
    assert channel is not None
    ts = fake_slack.add_message(channel, "Cache flushed", user="ULEAD")
    await send(slack, bot, ev.added(fake_slack, channel, ts), event_id="EvDURABLE")
    fresh = Capture(bot)  # no memory of anything
    retried = Reaction("EvDURABLE", channel, ts, "UOTHER", "pushpin", retry=True)
    assert await fresh.reaction_added(retried) is Outcome.DUPLICATE
    assert len(await entries(bot, "message")) == 1
    assert slack_calls(fake_slack).count("conversations.history") == 1  # not fetched again

    # Not marked as a retry (Slack's duplicate delivery): the claim still refuses it.
    duplicate = Reaction("EvDURABLE", channel, ts, "UOTHER", "pushpin")
    assert await Capture(bot).reaction_added(duplicate) is Outcome.DUPLICATE
    assert len(await entries(bot, "message")) == 1
    assert slack_calls(fake_slack).count("reactions.add") == 1


async def test_two_replicas_capturing_one_message_at_once_make_one_entry(
    fake_slack: FakeSlack, bot: BotContext, incident: Incident
) -> None:
    channel = incident.channel_id
    assert channel is not None
    ts = fake_slack.add_message(channel, "Root cause: expired cert", user="ULEAD")
    first, second = Capture(bot), Capture(bot)  # separate locks, like two processes
    outcomes = await asyncio.gather(
        first.reaction_added(Reaction("EvA", channel, ts, "UOTHER", "pushpin")),
        second.reaction_added(Reaction("EvB", channel, ts, "ULEAD", "pushpin")),
    )
    assert sorted(o.value for o in outcomes) == ["created", "flagged"]
    [entry] = await entries(bot, "message")
    assert {f["user"] for f in entry.data["flagged_by"]} == {"UOTHER", "ULEAD"}
    assert len(confirmations(fake_slack, channel, ts)) == 1


async def test_a_conflict_in_a_batch_of_new_entries_sends_only_that_one_to_be_flagged(
    fake_slack: FakeSlack, bot: BotContext, incident: Incident
) -> None:
    """Captures finishing together are saved in one transaction; one message captured by
    another replica meanwhile must not cost the others their entries."""
    channel = incident.channel_id
    assert channel is not None
    taken, fresh, other = (fake_slack.add_message(channel, t, user="ULEAD") for t in "abc")
    await Capture(bot).reaction_added(Reaction("EvElsewhere", channel, taken, "ULEAD", "pushpin"))

    capture = Capture(bot)
    batch = [
        _NewEntry(incident.id, Reaction(f"Ev{ts}", channel, ts, "UOTHER", "pushpin"), message)
        for ts in (fresh, taken, other)
        for message in [await fetch_message(bot, channel, ts)]
    ]
    outcomes = await capture._write_new_entries(batch)
    assert [o.value for o in outcomes] == ["created", "retry", "created"]
    assert sorted(e.source_ts for e in await entries(bot, "message")) == sorted(
        [taken, fresh, other]
    )
    # The retried one then takes the flag path, as reaction_added does after a RETRY.
    flagged = await capture.reaction_added(
        Reaction(f"Ev{taken}", channel, taken, "UOTHER", "pushpin")
    )
    assert flagged is Outcome.FLAGGED


@pytest.mark.policy(str(POLICIES / "two_timeline_emoji.yml"))
async def test_two_different_timeline_reactions_on_one_message_give_one_entry(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, incident: Incident
) -> None:
    channel = incident.channel_id
    assert channel is not None
    ts = fake_slack.add_message(channel, "Paged the DBA", user="ULEAD")
    await send(slack, bot, ev.added(fake_slack, channel, ts, emoji="pushpin"))
    await send(slack, bot, ev.added(fake_slack, channel, ts, emoji="memo", user="ULEAD"))
    await send(slack, bot, ev.added(fake_slack, channel, ts, emoji="thumbsup", user="UREPORTER"))
    [entry] = await entries(bot, "message")
    assert entry.data["flagged_by"] == [
        {"user": "UOTHER", "emoji": "pushpin"},
        {"user": "ULEAD", "emoji": "memo"},
    ]
    assert slack_calls(fake_slack).count("reactions.add") == 1


async def test_a_skin_tone_does_not_hide_a_timeline_emoji(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, incident: Incident
) -> None:
    channel = incident.channel_id
    assert channel is not None
    ts = fake_slack.add_message(channel, "Escalated to vendor", user="ULEAD")
    await send(slack, bot, ev.added(fake_slack, channel, ts, emoji="pushpin::skin-tone-3"))
    assert len(await entries(bot, "message")) == 1


async def test_reactions_outside_incident_channels_cost_no_slack_call_and_one_query_per_channel(
    slack: SlackSender,
    fake_slack: FakeSlack,
    bot: BotContext,
    incident: Incident,
    statements: list[str],
) -> None:
    general = fake_slack.add_channel("general", members=["UOTHER"])
    ts = fake_slack.add_message(general, "lunch?", user="UOTHER")
    fake_slack.calls.clear()
    for _ in range(10):
        await send(slack, bot, ev.added(fake_slack, general, ts))
    assert slack_calls(fake_slack) == []
    assert await entries(bot, "message") == []
    assert bot.incident_channels.lookups == 1  # the first reaction asked the database once
    assert len([s for s in statements if "incidents" in s]) == 1

    statements.clear()
    for _ in range(10):
        await send(slack, bot, ev.added(fake_slack, general, ts))
        await send(slack, bot, ev.removed(fake_slack, general, ts))
    assert statements == [] and slack_calls(fake_slack) == []
    assert bot.tasks.pending == 0


async def test_other_emoji_are_ignored_without_any_lookup(
    slack: SlackSender,
    fake_slack: FakeSlack,
    bot: BotContext,
    incident: Incident,
    statements: list[str],
) -> None:
    channel = incident.channel_id
    assert channel is not None
    ts = fake_slack.add_message(channel, "ok", user="ULEAD")
    await send(slack, bot, ev.added(fake_slack, channel, ts, emoji="eyes"))
    await send(
        slack, bot, {**ev.added(fake_slack, channel, ts), "item": {"type": "file", "file": "F1"}}
    )
    assert statements == [] and slack_calls(fake_slack) == []


async def test_a_channel_set_up_by_another_replica_is_found_on_its_first_event(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, incident: Incident
) -> None:
    """This process has never heard of the channel: one lookup finds it, then memory serves."""
    channel = fake_slack.add_channel("incident-20261128-elsewhere", members=["UOTHER"])
    async with bot.sessions.begin() as session:
        other = await session.get(Incident, incident.id)
        assert other is not None
        session.expunge(other)
    async with bot.sessions.begin() as session:
        copy = Incident(
            **{
                c.key: getattr(other, c.key)
                for c in Incident.__table__.columns
                if c.key not in {"id", "public_id", "seq", "request_key", "channel_id"}
            },
            public_id="INC-20261128-099",
            seq=99,
            channel_id=channel,
        )
        session.add(copy)
    ts = fake_slack.add_message(channel, "Found it", user="UOTHER")
    lookups = bot.incident_channels.lookups
    await send(slack, bot, ev.added(fake_slack, channel, ts))
    await send(slack, bot, ev.added(fake_slack, channel, ts, user="ULEAD"))
    [entry] = await entries(bot, "message")
    assert entry.incident_id == copy.id
    assert bot.incident_channels.lookups == lookups + 1


async def test_removing_the_last_timeline_reaction_removes_the_entry_and_the_confirmation(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, incident: Incident
) -> None:
    channel = incident.channel_id
    assert channel is not None
    ts = fake_slack.add_message(channel, "Maybe DNS?", user="ULEAD")
    await send(slack, bot, ev.added(fake_slack, channel, ts, user="UOTHER"))
    await send(slack, bot, ev.added(fake_slack, channel, ts, user="ULEAD"))
    await send(slack, bot, ev.removed(fake_slack, channel, ts, user="UOTHER"))
    [entry] = await entries(bot, "message")
    assert entry.data["flagged_by"] == [{"user": "ULEAD", "emoji": "pushpin"}]
    assert confirmations(fake_slack, channel, ts)

    await send(slack, bot, ev.removed(fake_slack, channel, ts, user="ULEAD"))
    assert await entries(bot, "message") == []
    assert confirmations(fake_slack, channel, ts) == []
    await send(
        slack, bot, ev.removed(fake_slack, channel, ts, user="ULEAD")
    )  # nothing left: no error
    assert fake_slack.violations == []


async def test_a_reaction_removed_right_after_it_was_added_leaves_nothing(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, incident: Incident
) -> None:
    channel = incident.channel_id
    assert channel is not None
    ts = fake_slack.add_message(channel, "oops, wrong message", user="ULEAD")
    fake_slack.latency = 0.05  # the capture is still fetching when the removal arrives
    await slack.event(ev.added(fake_slack, channel, ts))
    await slack.event(ev.removed(fake_slack, channel, ts))
    await bot.tasks.drain()
    assert await entries(bot, "message") == []
    assert confirmations(fake_slack, channel, ts) == []


async def test_a_message_deleted_before_it_is_fetched_is_not_captured(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, incident: Incident
) -> None:
    channel = incident.channel_id
    assert channel is not None
    ts = fake_slack.add_message(channel, "gone soon", user="ULEAD")
    reacted = ev.added(fake_slack, channel, ts)
    fake_slack.delete_message(channel, ts)  # before the event reaches the bot
    await send(slack, bot, reacted)
    assert await entries(bot, "message") == []
    assert "reactions.add" not in slack_calls(fake_slack)


async def test_a_message_slack_will_not_give_is_not_captured_and_nothing_breaks(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, incident: Incident
) -> None:
    channel = incident.channel_id
    assert channel is not None
    ts = fake_slack.add_message(channel, "hello", user="ULEAD")
    fake_slack.fail_next("conversations.history", "not_in_channel")
    await send(slack, bot, ev.added(fake_slack, channel, ts))
    assert await entries(bot, "message") == []
    assert confirmations(fake_slack, channel, ts) == []
    await send(
        slack, bot, ev.added(fake_slack, channel, ts, user="ULEAD")
    )  # works again afterwards
    assert len(await entries(bot, "message")) == 1


# ------------------------------------------------------------------------------ edits, deletions


async def test_an_edit_updates_the_entry_and_keeps_the_old_text(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, incident: Incident
) -> None:
    channel = incident.channel_id
    assert channel is not None
    ts = fake_slack.add_message(channel, "Rollback to v41", user="ULEAD")
    await send(slack, bot, ev.added(fake_slack, channel, ts))
    change = fake_slack.edit_message(channel, ts, "Rollback to v40", user="ULEAD")
    edited = ev.message_changed(fake_slack, channel, change)
    await send(slack, bot, edited, event_id="EvEDIT")
    await send(slack, bot, edited, event_id="EvEDIT", retry_num=1)

    [entry] = await entries(bot, "message")
    assert entry.text == "Rollback to v40"
    assert [e["text"] for e in entry.data["edits"]] == ["Rollback to v41"]
    assert entry.edited_at == ts_to_datetime(change["message"]["edited"]["ts"])
    assert entry.occurred_at == ts_to_datetime(ts)  # still the time it was first said
    assert slack_calls(fake_slack).count("conversations.history") == 1


async def test_an_edit_that_leaves_the_text_alone_adds_no_history(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, incident: Incident
) -> None:
    channel = incident.channel_id
    assert channel is not None
    ts = fake_slack.add_message(channel, "see https://status.example.com", user="ULEAD")
    await send(slack, bot, ev.added(fake_slack, channel, ts))
    change = fake_slack.edit_message(channel, ts, "see https://status.example.com", user="ULEAD")
    await send(slack, bot, ev.message_changed(fake_slack, channel, change))  # e.g. a link unfurled
    [entry] = await entries(bot, "message")
    assert entry.data["edits"] == [] and entry.edited_at is None


async def test_a_deleted_message_keeps_its_entry_marked_deleted(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, incident: Incident
) -> None:
    channel = incident.channel_id
    assert channel is not None
    ts = fake_slack.add_message(channel, "Customer data exposed?", user="UOTHER")
    await send(slack, bot, ev.added(fake_slack, channel, ts))
    previous = fake_slack.delete_message(channel, ts)
    await send(slack, bot, ev.message_deleted(fake_slack, channel, previous))
    [entry] = await entries(bot, "message")
    assert entry.deleted and entry.text == "Customer data exposed?"
    assert entry.deleted_at is not None and entry.deleted_at.tzinfo is not None


async def test_a_deleted_thread_parent_turned_tombstone_is_marked_deleted(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, incident: Incident
) -> None:
    channel = incident.channel_id
    assert channel is not None
    ts = fake_slack.add_message(channel, "Thread about the cause", user="UOTHER")
    fake_slack.add_message(channel, "a reply", user="ULEAD", thread_ts=ts)
    await send(slack, bot, ev.added(fake_slack, channel, ts))
    change = fake_slack.edit_message(channel, ts, "This message was deleted.", user="UOTHER")
    change["message"]["subtype"] = "tombstone"
    await send(slack, bot, ev.message_changed(fake_slack, channel, change))
    [entry] = await entries(bot, "message")
    assert entry.deleted and entry.text == "Thread about the cause"


async def test_edits_of_uncaptured_messages_change_nothing(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, incident: Incident
) -> None:
    channel = incident.channel_id
    assert channel is not None
    ts = fake_slack.add_message(channel, "typo", user="ULEAD")
    change = fake_slack.edit_message(channel, ts, "typo fixed", user="ULEAD")
    await send(slack, bot, ev.message_changed(fake_slack, channel, change))
    assert await entries(bot, "message") == []
    async with bot.sessions() as session:
        assert list((await session.execute(select(ProcessedEvent))).scalars()) == []


@pytest.mark.parametrize(
    "subtype",
    [
        "channel_join",
        "channel_leave",
        "channel_topic",
        "message_replied",
        "pinned_item",
        "some_subtype_slack_adds_next_year",
    ],
)
async def test_every_message_subtype_that_is_not_a_new_message_is_acked_and_costs_nothing(
    slack: SlackSender,
    fake_slack: FakeSlack,
    bot: BotContext,
    incident: Incident,
    subtype: str | None,
    statements: list[str],
) -> None:
    channel = incident.channel_id
    assert channel is not None
    response = await send(slack, bot, ev.message(fake_slack, channel, "hello", subtype=subtype))
    assert response.status_code == 200
    assert statements == [] and slack_calls(fake_slack) == []


@pytest.mark.parametrize(
    "subtype", [None, "bot_message", "file_share", "thread_broadcast", "me_message"]
)
async def test_a_new_message_in_an_incident_channel_costs_one_write_and_no_slack_call(
    slack: SlackSender,
    fake_slack: FakeSlack,
    bot: BotContext,
    incident: Incident,
    subtype: str | None,
    statements: list[str],
) -> None:
    """Kept for a later capture (tests/test_capture_without_reading.py), in one statement."""
    channel = incident.channel_id
    assert channel is not None
    response = await send(slack, bot, ev.message(fake_slack, channel, "hello", subtype=subtype))
    assert response.status_code == 200
    assert [s.split()[:3] for s in statements] == [["INSERT", "INTO", "channel_messages"]]
    assert slack_calls(fake_slack) == []


async def test_edits_and_deletions_outside_incident_channels_are_acked_and_ignored(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, incident: Incident
) -> None:
    general = fake_slack.add_channel("general", members=["UOTHER"])
    ts = fake_slack.add_message(general, "hi", user="UOTHER")
    change = fake_slack.edit_message(general, ts, "hi all", user="UOTHER")
    await send(slack, bot, ev.message_changed(fake_slack, general, change))
    previous = fake_slack.delete_message(general, ts)
    await send(slack, bot, ev.message_deleted(fake_slack, general, previous))
    assert slack_calls(fake_slack) == []


# ------------------------------------------------------------------------------ notes


async def test_a_note_is_saved_with_author_and_time_and_echoed_in_the_channel(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, incident: Incident, clock: Any
) -> None:
    clock.advance(timedelta(minutes=7))
    response = await slack.command(
        "note Rolled back payments to v41", user="ULEAD", channel=incident.channel_id
    )
    assert response.status_code == 200
    await bot.tasks.drain()
    [note] = await entries(bot, "note")
    assert (note.actor_id, note.text) == ("ULEAD", "Rolled back payments to v41")
    assert note.occurred_at == clock.now()
    [echo] = [m for m in fake_slack.calls_to("chat.postMessage")]
    assert echo["channel"] == incident.channel_id
    assert "<@ULEAD>" in echo["text"] and "Rolled back payments to v41" in echo["text"]

    # Flagging the echo with a timeline emoji finds the note instead of copying it.
    echo_ts = fake_slack.messages[incident.channel_id][-1]["ts"]
    await send(slack, bot, ev.added(fake_slack, incident.channel_id, echo_ts))
    assert [e.kind for e in await entries(bot) if e.kind in {"note", "message"}] == ["note"]


async def test_a_note_outside_an_incident_channel_explains_and_saves_nothing(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, incident: Incident
) -> None:
    answer = (await slack.command("note something", channel="CGENERAL")).json()
    assert answer["response_type"] == "ephemeral"
    assert "not an incident channel" in answer["text"]
    await bot.tasks.drain()
    assert await entries(bot, "note") == []
    assert slack_calls(fake_slack) == []


async def test_an_empty_note_shows_how_to_write_one(
    slack: SlackSender, bot: BotContext, incident: Incident
) -> None:
    answer = (await slack.command("note   ", channel=incident.channel_id)).json()
    assert "/incident note Rolled back" in answer["text"]
    assert await entries(bot, "note") == []


# ------------------------------------------------------------------------------ automatic entries


def test_every_automatic_event_of_the_issue_has_a_kind() -> None:
    kinds = timeline.Kind.AUTOMATIC
    for name in (
        "declared",
        "severity_changed",
        "status_changed",
        "paged",
        "acknowledged",
        "lead_assigned",
        "resolved",
        "reopened",
    ):
        assert name in kinds


async def test_automatic_entries_are_written_with_who_and_when_and_shown(
    slack: SlackSender, bot: BotContext, incident: Incident, clock: Any
) -> None:
    kinds = sorted(timeline.Kind.AUTOMATIC - {"declared"})
    at_declaration = [e.kind for e in await entries(bot)]  # declared, and L1's page or skip
    async with bot.sessions.begin() as session:
        for n, kind in enumerate(kinds, start=1):
            timeline.record(
                session,
                incident,
                kind,
                now=clock.now() + timedelta(minutes=n),
                actor_id="ULEAD",
                text=f"{kind} happened",
            )
    written = await entries(bot)
    assert [e.kind for e in written] == [*at_declaration, *kinds]
    assert all(e.occurred_at.tzinfo is not None for e in written)

    answer = (await slack.command("timeline", channel=incident.channel_id)).json()
    rendered = json.dumps(answer["blocks"])
    for kind in kinds:
        assert f"{kind} happened (<@ULEAD>)" in rendered
    assert "Declared as P1" in rendered


# ------------------------------------------------------------------------------ viewing


def section_texts(blocks: list[dict[str, Any]]) -> list[str]:
    return [b["text"]["text"] for b in blocks if b["type"] == "section"]


@pytest.mark.settings(timezone="Europe/Paris")
async def test_timeline_is_in_time_order_grouped_by_local_date(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, incident: Incident
) -> None:
    channel = incident.channel_id
    assert channel is not None
    # 22:30 UTC on the 28th is 23:30 in Paris; 23:30 UTC is already the 29th there.
    late = fake_slack.add_message(channel, "Still failing", user="ULEAD", ts="1795905000.000000")
    later = fake_slack.add_message(channel, "Fixed", user="ULEAD", ts="1795908600.000000")
    for ts in (later, late):  # flagged in the wrong order on purpose
        await send(slack, bot, ev.added(fake_slack, channel, ts))

    answer = (await slack.command("timeline", channel=channel)).json()
    assert answer["response_type"] == "ephemeral"
    texts = section_texts(answer["blocks"])
    joined = "\n".join(texts)
    assert joined.index("Saturday 28 November 2026") < joined.index("Still failing")
    assert joined.index("Still failing") < joined.index("Sunday 29 November 2026")
    assert joined.index("Sunday 29 November 2026") < joined.index("Fixed")
    assert "`23:30` :pushpin: <@ULEAD>: Still failing" in joined
    assert "`00:30` :pushpin: <@ULEAD>: Fixed" in joined
    assert "`10:00` :rotating_light:" in joined  # declared at 09:00 UTC
    assert "Europe/Paris" in json.dumps(answer["blocks"])


async def test_timeline_marks_deleted_and_edited_messages(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, incident: Incident
) -> None:
    channel = incident.channel_id
    assert channel is not None
    kept = fake_slack.add_message(channel, "first", user="ULEAD")
    gone = fake_slack.add_message(channel, "wrong", user="ULEAD")
    for ts in (kept, gone):
        await send(slack, bot, ev.added(fake_slack, channel, ts))
    await send(
        slack,
        bot,
        ev.message_changed(
            fake_slack, channel, fake_slack.edit_message(channel, kept, "1st", user="ULEAD")
        ),
    )
    await send(
        slack,
        bot,
        ev.message_deleted(fake_slack, channel, fake_slack.delete_message(channel, gone)),
    )
    joined = "\n".join(
        section_texts((await slack.command("timeline", channel=channel)).json()["blocks"])
    )
    assert "<@ULEAD>: 1st _(edited)_" in joined
    assert "~<@ULEAD>: wrong~ _(deleted)_" in joined


async def test_a_timeline_longer_than_one_message_is_paginated_within_slack_limits(
    slack: SlackSender, bot: BotContext, incident: Incident, clock: Any
) -> None:
    at_declaration = len(await entries(bot))  # declared, and L1's page or skip
    async with bot.sessions.begin() as session:
        for n in range(1, 81 - at_declaration):
            timeline.record(
                session,
                incident,
                timeline.Kind.NOTE,
                now=clock.now() + timedelta(hours=n),  # spans four days
                actor_id="ULEAD",
                text=f"note {n:02d} " + "x" * 2000,
            )
    total = 80  # with the entries written at declaration

    seen: list[str] = []
    pages = 0
    page = 1
    while True:
        answer = (await slack.command(f"timeline {page}", channel=incident.channel_id)).json()
        blocks = answer["blocks"]
        assert len(blocks) <= 50
        assert all(len(t) <= 3000 for t in section_texts(blocks))
        seen += [line for text in section_texts(blocks) for line in text.split("\n") if "`" in line]
        pages += 1
        footer = json.dumps(blocks[-1])
        if f"/incident timeline {page + 1}" not in footer:
            break
        page += 1
    assert pages == 4 and len(seen) == total
    assert f"of {total}" in footer

    latest = (await slack.command("timeline", channel=incident.channel_id)).json()
    assert latest["blocks"] == answer["blocks"]  # no page given: the newest entries
    beyond = (await slack.command("timeline 99", channel=incident.channel_id)).json()
    assert beyond["blocks"] == answer["blocks"]


async def test_timeline_outside_an_incident_channel_or_with_a_bad_page_explains(
    slack: SlackSender, incident: Incident
) -> None:
    answer = (await slack.command("timeline", channel="CGENERAL")).json()
    assert "not an incident channel" in answer["text"]
    answer = (await slack.command("timeline two", channel=incident.channel_id)).json()
    assert "page number" in answer["text"]

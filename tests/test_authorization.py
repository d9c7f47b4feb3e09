"""Who may act on an incident (issue 12): from its channel, as a member of its channel, or as
someone it paged; anyone else is answered as if there were no such incident, and nothing
changes. Guests list only the incidents whose channels they are in, and a private incident's
action item is not DMed to an owner outside it.

Everything goes through the real HTTP endpoint with Slack's own bodies, against the fake
Slack's channel members (`conversations.members`) and users (`users.info`).
"""

from __future__ import annotations

import asyncio
import copy
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app.clock import ManualClock
from app.context import BotContext
from app.sandbox.fakeslack import FakeSlack
from app.sandbox.sender import SlackSender
from app.services.action_items import send_action_item_reminder
from app.services.engine import run_due_steps
from app.store.models import Incident
from tests.conftest import ROOT
from tests.running import (
    click,
    command,
    declare,
    entries,
    items,
    join,
    last_view,
    posts_to,
    reload,
    resolve_values,
    summary,
)

pytestmark = pytest.mark.policy(str(ROOT / "tests" / "policies" / "escalation.yml"))

MINUTE = timedelta(minutes=1)
TITLE = "Customer database exposed"
NOBODY = "INC-20261128-009"  # an id no incident has


def refusal(asked: str = "") -> str:
    named = f" {asked}" if asked else ""
    return (
        f"There is no incident{named} that you can act on: an incident is run by the people in "
        "its channel. Nothing was changed."
    )


async def tick(bot: BotContext, clock: ManualClock, advance: timedelta) -> None:
    clock.advance(advance)
    await run_due_steps(bot)
    await bot.tasks.drain()


def dms(fake: FakeSlack, user: str) -> list[dict[str, Any]]:
    channel = fake.state.ims.get(user)
    return list(fake.messages.get(channel, [])) if channel else []


def said_to(fake: FakeSlack, user: str) -> list[str]:
    """Everything the bot told `user` privately: ephemerals, response_url answers and DMs."""
    ephemeral = [e["text"] for e in fake.state.ephemerals if e.get("user") == user]
    return ephemeral + [r["text"] for r in fake.responses] + [m["text"] for m in dms(fake, user)]


def slack_writes(fake: FakeSlack, but_to: str = "") -> dict[str, int]:
    """How many messages the bot has posted (but to `but_to`'s DM) or edited, forms it opened
    and people it invited."""
    methods = ("chat.postMessage", "chat.update", "views.open", "conversations.invite")
    counts = {m: len(fake.calls_to(m)) for m in methods}
    counts["chat.postMessage"] -= len(posts_to(fake, but_to))
    return counts


async def random_channel(fake: FakeSlack) -> str:
    return fake.add_channel("random", members=["UREPORTER", "UOTHER", "ULEAD", "UONCALL"])


# ------------------------------------------------------------------------ acknowledging


@pytest.mark.parametrize("visibility", ["private", "public"])
async def test_a_non_member_cannot_ack_by_id_and_is_answered_as_for_no_incident(
    visibility: str,
    slack: SlackSender,
    fake_slack: FakeSlack,
    bot: BotContext,
    clock: ManualClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    incident = await declare(
        slack, fake_slack, bot, title=TITLE, severity="P0", visibility=visibility
    )
    assert incident.private is (visibility == "private")
    random = await random_channel(fake_slack)
    assert "UOTHER" not in fake_slack.channels[incident.channel_id].members
    before_entries = [e.kind for e in await entries(bot, incident)]
    before_slack = slack_writes(fake_slack)

    with caplog.at_level(logging.WARNING, logger="app.services.authorization"):
        answer = await command(
            slack, bot, f"ack {incident.public_id}", channel=random, user="UOTHER"
        )
    missing = await command(slack, bot, f"ack {NOBODY}", channel=random, user="UOTHER")

    assert answer == refusal(incident.public_id)
    assert missing == refusal(NOBODY)  # the same words, whether it exists or not
    incident = await reload(bot, incident)
    assert incident.acknowledged_at is None and incident.acknowledged_by is None
    assert [e.kind for e in await entries(bot, incident)] == before_entries
    assert slack_writes(fake_slack) == before_slack
    refused = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert refused and "UOTHER" in refused[0].getMessage()
    assert incident.public_id in refused[0].getMessage()
    assert all(TITLE not in r.getMessage() for r in caplog.records)

    # L2 is still paged when L1's window (15 minutes) runs out.
    await tick(bot, clock, 15 * MINUTE)
    [page] = dms(fake_slack, "ULEAD")
    assert incident.public_id in page["text"]


async def test_a_non_member_is_not_told_who_acknowledged_a_private_incident(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    incident = await declare(
        slack, fake_slack, bot, title=TITLE, severity="P0", visibility="private"
    )
    await command(slack, bot, "ack", channel=incident.channel_id, user="UREPORTER")
    assert (await reload(bot, incident)).acknowledged_by == "UREPORTER"
    random = await random_channel(fake_slack)

    for _ in range(2):
        answer = await command(
            slack, bot, f"ack {incident.public_id}", channel=random, user="UOTHER"
        )
        assert answer == refusal(incident.public_id)
        assert "UREPORTER" not in answer


async def test_a_member_may_ack_from_another_channel(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    incident = await declare(slack, fake_slack, bot, severity="P0", visibility="private")
    random = await random_channel(fake_slack)
    join(fake_slack, incident, "UOTHER")

    answer = await command(slack, bot, f"ack {incident.public_id}", channel=random, user="UOTHER")

    assert answer.startswith(f"You acknowledged {incident.public_id}")
    assert (await reload(bot, incident)).acknowledged_by == "UOTHER"
    await tick(bot, clock, 15 * MINUTE)
    assert dms(fake_slack, "ULEAD") == []  # the chain stopped


async def test_the_paged_engineer_may_ack_with_the_button_of_the_page_dm(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    incident = await declare(slack, fake_slack, bot, severity="P0", visibility="private")
    [page] = dms(fake_slack, "UONCALL")
    # Paged, but not in the channel (they left it, or the invitation failed): the page is
    # enough, and Slack need not be asked.
    fake_slack.channels[incident.channel_id].members.discard("UONCALL")
    asked = len(fake_slack.attempts_to("conversations.members"))

    await click(slack, bot, page, "Acknowledge", user="UONCALL")

    incident = await reload(bot, incident)
    assert incident.acknowledged_by == "UONCALL"
    assert len(fake_slack.attempts_to("conversations.members")) == asked


async def test_the_acknowledge_button_of_someone_elses_page_is_refused_to_a_non_member(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    incident = await declare(slack, fake_slack, bot, severity="P0")
    [page] = dms(fake_slack, "UONCALL")
    # The same button pressed by someone the incident neither paged nor has in its channel.
    await click(slack, bot, page, "Acknowledge", user="UOTHER")
    assert fake_slack.responses[-1]["text"] == refusal(incident.public_id)  # the button's id
    assert (await reload(bot, incident)).acknowledged_at is None


# ---------------------------------------------------------------- the summary's buttons


@pytest.mark.parametrize(
    "button", ["Acknowledge", "Change status", "Change severity", "Resolve", "Done"]
)
async def test_the_summary_buttons_pressed_by_a_non_member_are_refused(
    button: str, slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    incident = await declare(slack, fake_slack, bot, severity="P1")
    await command(slack, bot, "action Rotate the keys", channel=incident.channel_id)
    shown = copy.deepcopy(summary(fake_slack, incident))
    before_entries = [e.kind for e in await entries(bot, incident)]
    before_slack = slack_writes(fake_slack, but_to="UOTHER")

    await click(slack, bot, shown, button, user="UOTHER")

    # Told privately (the ephemeral cannot reach a non-member: a DM), and nothing else; the
    # Acknowledge button names the incident by its id, the others by its number.
    asked = incident.public_id if button == "Acknowledge" else ""
    assert said_to(fake_slack, "UOTHER") == [refusal(asked)]
    assert slack_writes(fake_slack, but_to="UOTHER") == before_slack
    assert [e.kind for e in await entries(bot, incident)] == before_entries
    after = await reload(bot, incident)
    assert (after.acknowledged_at, after.status, after.severity) == (None, "investigating", "P1")
    assert not any(item.done for item in await items(bot, incident))


async def test_a_form_submitted_after_leaving_the_channel_is_refused(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    incident = await declare(slack, fake_slack, bot, severity="P1", visibility="private")
    join(fake_slack, incident, "UOTHER")
    await click(slack, bot, summary(fake_slack, incident), "Resolve", user="UOTHER")
    view = last_view(fake_slack)

    fake_slack.channels[incident.channel_id].members.discard("UOTHER")
    clock.advance(61)  # what the bot remembered of the channel's members is stale
    answer = (await slack.submit(view, resolve_values(), user="UOTHER")).json()

    assert answer["response_action"] == "errors"
    assert answer["errors"]["resolution"] == refusal()
    after = await reload(bot, incident)
    assert after.is_open and after.resolved_at is None


async def test_snooze_and_runbook_ticks_by_a_non_member_are_refused(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    incident = await declare(slack, fake_slack, bot, severity="P0")
    await tick(bot, clock, 30 * MINUTE)
    [reminder] = [m for m in fake_slack.messages[incident.channel_id] if m["text"][:6] == ":memo:"]
    await click(slack, bot, reminder, "Snooze 1 hour", user="UOTHER")
    assert said_to(fake_slack, "UOTHER") == [refusal(incident.public_id)]
    assert reminder == fake_slack.state.find_message(incident.channel_id, reminder["ts"])
    assert "Snoozed" not in str(reminder["blocks"])

    await command(slack, bot, "runbook cache_failure", channel=incident.channel_id)
    checklist = fake_slack.messages[incident.channel_id][-1]
    kinds = [e.kind for e in await entries(bot, incident)]
    await click(
        slack, bot, checklist, "runbook_step", near="Check Redis", selected=["done"], user="UOTHER"
    )
    assert [e.kind for e in await entries(bot, incident)] == kinds
    assert said_to(fake_slack, "UOTHER")[-1] == refusal()
    assert "done by" not in str(fake_slack.state.find_message(incident.channel_id, checklist["ts"]))

    # The same tick by someone in the channel is recorded.
    join(fake_slack, incident, "UOTHER")
    clock.advance(61)
    await click(
        slack, bot, checklist, "runbook_step", near="Check Redis", selected=["done"], user="UOTHER"
    )
    assert [e.kind for e in await entries(bot, incident)] == [*kinds, "runbook_step"]


# ------------------------------------------------------------------------ Slack unknown


async def test_when_slack_cannot_say_who_is_in_the_channel_the_answer_is_no(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    incident = await declare(slack, fake_slack, bot, severity="P0")
    random = await random_channel(fake_slack)
    join(fake_slack, incident, "UOTHER")  # a member: yet unverifiable, so refused

    fake_slack.fail_next("conversations.members", "internal_error")
    failed = await command(slack, bot, f"ack {incident.public_id}", channel=random, user="UOTHER")
    assert failed == (
        "I could not check with Slack that you are in the incident's channel (Slack refused "
        "(internal_error)), so nothing was changed. Try again in a moment, or from the "
        "incident's channel."
    )
    fake_slack.rate_limit_next("conversations.members", retry_after=2)
    slow = await command(slack, bot, f"ack {incident.public_id}", channel=random, user="UOTHER")
    assert "Slack did not answer in time" in slow
    assert (await reload(bot, incident)).acknowledged_at is None
    await asyncio.sleep(2)  # Slack's Retry-After holds every caller of the method: waited out

    answer = await command(slack, bot, f"ack {incident.public_id}", channel=random, user="UOTHER")
    assert answer.startswith("You acknowledged")


# ------------------------------------------------------------------------------ the cache


async def test_membership_is_asked_once_a_minute_and_a_leaver_is_refused_after(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    incident = await declare(slack, fake_slack, bot, severity="P1")
    join(fake_slack, incident, "UOTHER")
    asked = len(fake_slack.attempts_to("conversations.members"))
    for _ in range(3):
        await click(slack, bot, summary(fake_slack, incident), "Change severity", user="UOTHER")
    assert len(fake_slack.attempts_to("views.open")) >= 3
    assert len(fake_slack.attempts_to("conversations.members")) == asked + 1

    fake_slack.channels[incident.channel_id].members.discard("UOTHER")
    clock.advance(61)
    opened = len(fake_slack.attempts_to("views.open"))
    await click(slack, bot, summary(fake_slack, incident), "Change severity", user="UOTHER")
    assert len(fake_slack.attempts_to("views.open")) == opened
    assert said_to(fake_slack, "UOTHER")[-1] == refusal()


async def test_a_lead_invited_by_the_bot_may_act_at_once(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    incident = await declare(slack, fake_slack, bot, severity="P1", visibility="private")
    # Someone outside is refused: the channel's members are now remembered without UOTHER.
    await click(slack, bot, summary(fake_slack, incident), "Change status", user="UOTHER")
    assert said_to(fake_slack, "UOTHER") == [refusal()]
    await command(slack, bot, "lead <@UOTHER|other>", channel=incident.channel_id)
    opened = len(fake_slack.attempts_to("views.open"))
    await click(slack, bot, summary(fake_slack, incident), "Change status", user="UOTHER")
    assert len(fake_slack.attempts_to("views.open")) == opened + 1


# ---------------------------------------------------------------------------- the list


async def test_a_guest_lists_only_the_incidents_whose_channels_they_are_in(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    fake_slack.add_user("UGUEST", name="guest", is_restricted=True)
    fake_slack.add_user("USINGLE", name="single", is_ultra_restricted=True)
    theirs = await declare(slack, fake_slack, bot, title="Search is slow", severity="P2")
    other = await declare(slack, fake_slack, bot, title="Checkout is down", severity="P1")
    secret = await declare(slack, fake_slack, bot, title=TITLE, severity="P0", visibility="private")
    join(fake_slack, theirs, "UGUEST", "USINGLE")

    for guest in ("UGUEST", "USINGLE"):
        await command(slack, bot, "list", channel=None, user=guest)
        listed = fake_slack.responses[-1]["text"]
        assert theirs.public_id in listed
        assert other.public_id not in listed and "Checkout is down" not in listed
        assert secret.public_id not in listed and TITLE not in listed

    # A full member of the workspace sees every public incident, and no private one.
    await command(slack, bot, "list", channel=None, user="UOTHER")
    listed = fake_slack.responses[-1]["text"]
    assert theirs.public_id in listed and other.public_id in listed
    assert secret.public_id not in listed

    # The guest acting on a public incident they are not in is refused like anyone.
    answer = await command(slack, bot, f"ack {other.public_id}", channel=None, user="UGUEST")
    assert answer == refusal(other.public_id)


async def test_the_list_says_so_when_slack_cannot_say_who_is_a_guest(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    public = await declare(slack, fake_slack, bot, severity="P2")
    fake_slack.fail_next("users.info", "internal_error", when={"user": "UOTHER"})
    await command(slack, bot, "list", channel=None, user="UOTHER")
    listed = fake_slack.responses[-1]["text"]
    assert public.public_id not in listed  # as for a guest: only channels they are in
    assert "some incidents may be missing" in listed


# --------------------------------------------------------------------- action items


async def test_an_owner_outside_a_private_incident_gets_no_dm(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    incident = await declare(slack, fake_slack, bot, title=TITLE, visibility="private")
    answer = await command(
        slack,
        bot,
        "action Rotate the leaked keys <@UOTHER|other> due 2026-11-28",
        channel=incident.channel_id,
    )
    assert answer.startswith("Action item 1 added: Rotate the leaked keys")
    assert posts_to(fake_slack, "UOTHER") == []
    assert fake_slack.responses[-1]["text"] == (
        "<@UOTHER> is not in this private incident's channel, so they were not sent this action "
        "item by DM, and any reminder of it will be posted in the channel instead. Invite them "
        "to the channel if they should be told."
    )

    # Overdue: the reminder goes to the channel, not to the owner.
    [item] = await items(bot, incident)
    clock.set(datetime(2026, 11, 29, 9, 0, tzinfo=UTC))
    assert await send_action_item_reminder(bot, item.id) is True
    assert posts_to(fake_slack, "UOTHER") == []
    reminder = fake_slack.messages[incident.channel_id][-1]
    assert "Rotate the leaked keys" in reminder["text"] and "was due" in reminder["text"]

    # Once they are in the channel, they are reminded by DM again.
    join(fake_slack, incident, "UOTHER")
    clock.advance(timedelta(days=1))
    assert await send_action_item_reminder(bot, item.id) is True
    [dm] = posts_to(fake_slack, "UOTHER")
    assert "Rotate the leaked keys" in dm["text"]


async def test_an_owner_inside_a_private_incident_is_told_by_dm(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    incident = await declare(slack, fake_slack, bot, visibility="private")
    join(fake_slack, incident, "UOTHER")
    responses = len(fake_slack.responses)
    await command(slack, bot, "action Rotate the keys <@UOTHER|other>", channel=incident.channel_id)
    [dm] = posts_to(fake_slack, "UOTHER")
    assert "gave you an action item" in dm["text"]
    assert len(fake_slack.responses) == responses  # nothing more to tell the one who added it


async def test_the_owner_of_an_item_may_mark_it_done_from_outside(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    incident: Incident = await declare(slack, fake_slack, bot)
    await command(slack, bot, "action Add a canary <@UOTHER|other>", channel=incident.channel_id)
    await command(slack, bot, "action Write it down", channel=incident.channel_id)
    [dm] = dms(fake_slack, "UOTHER")  # a public incident: its owner is told by DM
    await click(slack, bot, dm, "Done", user="UOTHER")
    # Their own item, not the other one.
    await click(
        slack, bot, summary(fake_slack, incident), "Done", near="Write it down", user="UOTHER"
    )
    first, second = await items(bot, incident)
    assert first.done and first.done_by == "UOTHER" and not second.done
    assert said_to(fake_slack, "UOTHER")[-1] == refusal()

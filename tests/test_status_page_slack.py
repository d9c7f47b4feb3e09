"""`/incident statuspage` in Slack, end to end: the draft and its ephemeral preview, Publish
and Cancel pressed on that preview (the clicks built from the bot's own ephemeral answer), once
only however often they come, and the drafts that must not be published."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import select

from app.clock import ManualClock
from app.context import BotContext
from app.sandbox.ephemeral import block_actions_on_ephemeral
from app.sandbox.fakeslack import FakeSlack
from app.sandbox.identity import NotOffered
from app.sandbox.sender import SlackSender
from app.store.models import ScheduledStep
from tests.running import command, entries, join, posts_to, resolve
from tests.statuspage_helpers import (
    POLICY,
    PUBLIC_URL,
    blocks_text,
    click,
    declare,
    payload,
    post_id,
    press,
    status_posts,
    statuspage,
)

ROOT = Path(__file__).resolve().parents[1]
ON = pytest.mark.settings(status_page=True, public_url=PUBLIC_URL)
pytestmark = pytest.mark.policy(str(ROOT / POLICY))


def texts(blocks: list[dict]) -> list[str]:
    """Every text of a message's blocks, with the type of its text object."""
    found = []
    for block in blocks:
        for item in [block.get("text"), *block.get("elements", [])]:
            if isinstance(item, dict) and isinstance(item.get("text"), str):
                found.append(f"{item['type']}:{item['text']}")
    return found


# ---------------------------------------------------------------------------- the preview


@ON
async def test_the_preview_shows_the_message_and_the_proposed_services_state_and_phase(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    incident = await declare(slack, fake_slack, bot, severity="P0", impacts={"P0": ["outage"]})
    preview = await statuspage(
        slack, fake_slack, bot, incident, '"We are investigating failed checkouts."'
    )

    [draft] = await status_posts(bot)
    assert (draft.state, draft.incident_id, draft.drafted_by) == ("draft", incident.id, "UREPORTER")
    assert draft.message == "We are investigating failed checkouts."  # the quotes dropped
    assert (draft.services, draft.impact, draft.phase) == (
        ["api", "payments"],
        "major_outage",
        "investigating",
    )
    shown = texts(preview.blocks)
    assert "plain_text:We are investigating failed checkouts." in shown
    assert any("Major outage · API, Payments" in t and "Investigating" in t for t in shown)
    assert any("API: *Major outage*" in t and "Payments: *Major outage*" in t for t in shown)
    assert any("Only you see this" in t for t in shown)
    buttons = [e for b in preview.blocks for e in b.get("elements", []) if e["type"] == "button"]
    publish, cancel = buttons
    assert (publish["text"]["text"], publish["style"]) == ("Publish", "primary")
    assert publish["confirm"]["title"]["text"] == "Publish to the status page?"
    assert cancel["text"]["text"] == "Cancel"
    assert post_id(preview) == draft.id
    # Nothing is public, nor said in the channel, before Publish.
    assert [e for e in await entries(bot, incident) if e.data.get("statuspage")] == []
    assert [
        m for m in posts_to(fake_slack, incident.channel_id) if "status page" in m["text"]
    ] == []


@ON
async def test_mitigating_proposes_identified_and_the_next_severity_a_partial_outage(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    incident = await declare(
        slack, fake_slack, bot, severity="P1", impacts={"P1": ["critical_feature"]}
    )
    await command(slack, bot, "status mitigating", channel=incident.channel_id)
    await statuspage(slack, fake_slack, bot, incident, "A fix is rolling out.")
    [draft] = await status_posts(bot)
    assert (draft.services, draft.impact, draft.phase) == (
        ["payments"],
        "partial_outage",
        "identified",
    )


@ON
async def test_a_lower_severity_proposes_degraded_performance_and_resolved_operational(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    incident = await declare(slack, fake_slack, bot, severity="P2", impacts={"P2": ["email"]})
    await statuspage(slack, fake_slack, bot, incident, "Some e-mails are late.")
    await resolve(slack, fake_slack, bot, incident)
    await statuspage(slack, fake_slack, bot, incident, "All e-mails went out.")
    first, second = await status_posts(bot)
    assert (first.services, first.impact, first.phase) == (
        ["email"],
        "degraded_performance",
        "investigating",
    )
    assert (second.impact, second.phase) == ("operational", "resolved")


@ON
async def test_choices_in_brackets_pick_the_services_the_state_and_the_phase(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    incident = await declare(slack, fake_slack, bot, severity="P0", impacts={"P0": ["outage"]})
    preview = await statuspage(
        slack, fake_slack, bot, incident, "[email, api partial monitoring] Watching the fix."
    )
    await statuspage(slack, fake_slack, bot, incident, "[] [EU] Logins are slow.")
    chosen, literal = await status_posts(bot)
    # In the policy's order, whatever the order typed.
    assert (chosen.services, chosen.impact, chosen.phase) == (
        ["api", "email"],
        "partial_outage",
        "monitoring",
    )
    assert chosen.message == "Watching the fix."
    assert "You chose these" in blocks_text(preview)
    assert (literal.message, literal.services) == ("[EU] Logins are slow.", ["api", "payments"])


@ON
async def test_an_unknown_choice_or_an_empty_message_writes_nothing_and_says_what_to_type(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    incident = await declare(slack, fake_slack, bot)
    channel = incident.channel_id
    unknown = await command(slack, bot, "statuspage [Update] All good", channel=channel)
    empty = await command(slack, bot, "statuspage", channel=channel)
    only_choices = await command(slack, bot, "statuspage [api major]", channel=channel)
    unclosed = await command(slack, bot, "statuspage [api major oops", channel=channel)
    two_states = await command(slack, bot, "statuspage [major partial] x", channel=channel)
    assert "`update` is not a service, state or phase" in unknown
    assert "`api`" in unknown and "Nothing was written" in unknown
    assert "Say what the public should read" in empty
    assert "Say what the public should read" in only_choices
    assert "closed by `]`" in unclosed
    assert "not both" in two_states
    assert await status_posts(bot) == []


@ON
async def test_the_preview_never_reads_the_message_as_slack_markup(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    incident = await declare(slack, fake_slack, bot)
    hostile = '<script>alert("x")</script> *urgent* & @here <https://evil.example|Re-login> :boom:'
    preview = await statuspage(slack, fake_slack, bot, incident, hostile)
    [draft] = await status_posts(bot)
    assert draft.message == hostile  # as the person typed it (Slack's escapes read back)
    # The message only ever appears in plain_text (never parsed), emoji codes left as typed.
    holders = [(b["type"], b["text"]) for b in preview.blocks if "script" in str(b)]
    assert holders == [("section", {"type": "plain_text", "text": hostile, "emoji": False})]
    assert "<script>" not in preview.text and "&lt;script&gt;" in preview.text


async def test_with_the_status_page_off_the_command_says_how_to_turn_it_on(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    incident = await declare(slack, fake_slack, bot)
    answer = await command(slack, bot, "statuspage All good", channel=incident.channel_id)
    elsewhere = await command(slack, bot, "statuspage All good", channel="CGENERAL")
    assert "status page is off" in answer and "STATUS_PAGE=true" in answer
    assert elsewhere == answer
    assert await status_posts(bot) == []


@ON
async def test_a_private_incident_is_refused_and_nothing_is_written(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    incident = await declare(slack, fake_slack, bot, visibility="private")
    assert incident.private
    answer = await command(slack, bot, "statuspage Checkout fails", channel=incident.channel_id)
    assert "is private" in answer and "Nothing was written" in answer
    assert await status_posts(bot) == []


@ON
async def test_statuspage_outside_an_incident_channel_says_where_it_works(
    slack: SlackSender, bot: BotContext
) -> None:
    answer = await command(slack, bot, "statuspage All good", channel="CGENERAL")
    assert "This is not an incident channel" in answer
    assert await status_posts(bot) == []


# ----------------------------------------------------------------------------- publishing


@ON
async def test_publish_marks_the_draft_published_records_it_and_replaces_the_preview(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    incident = await declare(slack, fake_slack, bot)
    preview = await statuspage(slack, fake_slack, bot, incident, "Checkouts fail; on it.")
    clock.advance(5 * 60)
    replaced = await click(slack, fake_slack, bot, preview, "Publish")

    [post] = await status_posts(bot)
    assert (post.state, post.published_by, post.published_at) == (
        "published",
        "UREPORTER",
        clock.now(),
    )
    assert replaced["replace_original"] is True
    assert replaced["text"].startswith(
        ":white_check_mark: Published to the status page by <@UREPORTER> at 09:05 UTC."
    )
    assert f"<{PUBLIC_URL}/status|View the status page>" in replaced["text"]
    [entry] = [e for e in await entries(bot, incident) if e.data.get("statuspage")]
    assert (entry.kind, entry.actor_id, entry.data["statuspage"]) == (
        "update",
        "UREPORTER",
        post.id,
    )
    assert entry.text == "Status page (Investigating, Major outage): Checkouts fail; on it."
    # The team sees what the public now reads.
    [notice] = [m for m in posts_to(fake_slack, incident.channel_id) if "status page" in m["text"]]
    assert "<@UREPORTER> published to" in notice["text"]
    assert {"type": "plain_text", "text": "Checkouts fail; on it.", "emoji": False} in [
        b.get("text") for b in notice["blocks"]
    ]


@ON
async def test_a_double_click_a_retry_and_a_second_click_publish_once(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    incident = await declare(slack, fake_slack, bot)
    preview = await statuspage(slack, fake_slack, bot, incident, "Checkouts fail.")
    first, second = payload(fake_slack, preview, "Publish"), payload(fake_slack, preview, "Publish")
    await asyncio.gather(press(slack, bot, first), press(slack, bot, second))
    await press(slack, bot, first, retry=1)  # Slack redelivers the first click
    await bot.tasks.drain()
    await click(slack, fake_slack, bot, preview, "Publish")  # later, from a stale screen

    [post] = await status_posts(bot)
    assert post.state == "published"
    assert len([e for e in await entries(bot, incident) if e.data.get("statuspage")]) == 1
    notices = [m for m in posts_to(fake_slack, incident.channel_id) if "status page" in m["text"]]
    assert len(notices) == 1
    answers = [r["text"].split(" by ")[0] for r in fake_slack.responses]
    assert sorted(answers) == [
        ":information_source: Already published to the status page",
        ":information_source: Already published to the status page",
        ":information_source: Already published to the status page",
        ":white_check_mark: Published to the status page",
    ]


@ON
async def test_two_people_publishing_their_own_previews_at_once_publish_one(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    incident = await declare(slack, fake_slack, bot)
    join(fake_slack, incident, "UOTHER")
    mine = await statuspage(slack, fake_slack, bot, incident, "Investigating.")
    theirs = await statuspage(slack, fake_slack, bot, incident, "Looking into it.", user="UOTHER")
    await asyncio.gather(
        press(slack, bot, payload(fake_slack, mine, "Publish")),
        press(slack, bot, payload(fake_slack, theirs, "Publish")),
    )
    await bot.tasks.drain()
    states = sorted(p.state for p in await status_posts(bot))
    assert states == ["cancelled", "published"]
    told = sorted(r["text"] for r in fake_slack.responses)
    assert told[0].startswith(":warning: Not published: another update of this incident was")
    assert "run `/incident statuspage` again for a fresh preview" in told[0]
    assert told[1].startswith(":white_check_mark: Published")


@ON
async def test_only_the_person_shown_the_preview_can_press_it(
    fake_slack: FakeSlack, slack: SlackSender, bot: BotContext
) -> None:
    incident = await declare(slack, fake_slack, bot)
    preview = await statuspage(slack, fake_slack, bot, incident, "Investigating.")
    with pytest.raises(NotOffered):
        block_actions_on_ephemeral(fake_slack, preview, "Publish", user_id="UOTHER")


@ON
async def test_cancel_drops_the_draft_and_a_later_publish_publishes_nothing(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    incident = await declare(slack, fake_slack, bot)
    preview = await statuspage(slack, fake_slack, bot, incident, "Investigating.")
    cancelled = await click(slack, fake_slack, bot, preview, "Cancel")
    later = await click(slack, fake_slack, bot, preview, "Publish")
    [post] = await status_posts(bot)
    assert post.state == "cancelled" and post.published_at is None
    assert cancelled["replace_original"] is True
    assert cancelled["text"] == ":x: Cancelled: this update was not published."
    assert later["text"] == cancelled["text"]
    assert [e for e in await entries(bot, incident) if e.data.get("statuspage")] == []


@ON
async def test_a_preview_made_before_the_incident_was_resolved_is_not_published(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    incident = await declare(slack, fake_slack, bot)
    preview = await statuspage(slack, fake_slack, bot, incident, "Still investigating.")
    await resolve(slack, fake_slack, bot, incident)
    told = await click(slack, fake_slack, bot, preview, "Publish")
    assert told["text"].startswith(f":warning: Not published: {incident.public_id} was resolved")
    assert "fresh preview" in told["text"]
    [post] = await status_posts(bot)
    assert post.state == "cancelled"


@ON
async def test_a_preview_older_than_a_published_update_is_not_published(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    incident = await declare(slack, fake_slack, bot)
    old = await statuspage(slack, fake_slack, bot, incident, "Investigating.")
    clock.advance(60)
    new = await statuspage(slack, fake_slack, bot, incident, "Identified: a bad deploy.")
    await click(slack, fake_slack, bot, new, "Publish")
    told = await click(slack, fake_slack, bot, old, "Publish")
    assert "another update of this incident was published" in told["text"]
    assert "(by <@UREPORTER> at 09:01 UTC)" in told["text"]
    assert [p.state for p in await status_posts(bot)] == ["cancelled", "published"]


@pytest.mark.settings(
    status_page=True,
    public_url=PUBLIC_URL,
    statuspage_api_key="key",
    statuspage_page_id="page",
    statuspage_api_url="http://127.0.0.1:9/v1",  # never reached: the step is only planned
)
async def test_with_the_statuspage_sync_on_publishing_plans_its_step_once(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    assert bot.settings.statuspage_sync
    incident = await declare(slack, fake_slack, bot)
    preview = await statuspage(slack, fake_slack, bot, incident, "Investigating.")
    first, second = payload(fake_slack, preview, "Publish"), payload(fake_slack, preview, "Publish")
    await asyncio.gather(press(slack, bot, first), press(slack, bot, second))
    await bot.tasks.drain()
    [post] = await status_posts(bot)
    assert post.state == "published"
    async with bot.sessions() as session:
        stmt = select(ScheduledStep).where(ScheduledStep.kind == "statuspage")
        steps = list((await session.execute(stmt)).scalars())
    assert [(s.incident_id, s.data) for s in steps] == [(incident.id, {"post": post.id})]

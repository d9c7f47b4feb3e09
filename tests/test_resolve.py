"""Resolving: the incident log form, the duration, the summary and announcement edited in
place, the post-mortem draft uploaded, and a second resolve that changes nothing."""

from __future__ import annotations

from datetime import timedelta

from app.clock import ManualClock
from app.context import BotContext
from app.domain.formatting import duration_text
from app.sandbox.fakeslack import FakeSlack
from app.sandbox.sender import SlackSender
from app.ui.followup import REVIEW_HELD_ACTION
from tests.running import (
    buttons,
    command,
    declare,
    entries,
    kinds,
    last_view,
    reload,
    resolve,
    resolve_values,
    summary,
    summary_text,
)


async def test_resolve_form_asks_for_the_incident_log_fields(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    incident = await declare(slack, fake_slack, bot)
    await command(slack, bot, "resolve", channel=incident.channel_id)
    view = last_view(fake_slack)
    inputs = {b["block_id"]: b for b in view["blocks"] if b["type"] == "input"}
    assert list(inputs) == [
        "resolution",
        "root_cause",
        "affected_services",
        "affected_users",
        "revenue_impact",
        "data_loss",
    ]
    assert not inputs["resolution"].get("optional") and not inputs["data_loss"].get("optional")
    assert [o["value"] for o in inputs["data_loss"]["element"]["options"]] == ["yes", "no"]


async def test_resolving_saves_the_fields_duration_and_updates_summary_and_announcement(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    announce = fake_slack.add_channel("incidents")
    bot.settings.incidents_channel = announce
    incident = await declare(slack, fake_slack, bot)
    clock.advance(timedelta(hours=2, minutes=5, seconds=40))
    channel_messages = len(fake_slack.messages[incident.channel_id])

    response = await resolve(
        slack,
        fake_slack,
        bot,
        incident,
        resolution="Rotated the webhook secret.",
        root_cause="The Stripe webhook secret expired.",
        affected_services="checkout, billing",
        affected_users="All EU customers",
        revenue_impact="$12,000",
        data_loss="no",
    )

    assert response.status_code == 200 and response.content in (b"", b"null")
    incident = await reload(bot, incident)
    assert incident.status == "resolved" and incident.resolved_by == "UREPORTER"
    assert incident.resolved_at == clock.now()
    assert incident.resolution == "Rotated the webhook secret."
    assert incident.root_cause == "The Stripe webhook secret expired."
    assert (incident.affected_services, incident.affected_users) == (
        "checkout, billing",
        "All EU customers",
    )
    assert (incident.revenue_impact, incident.data_loss) == ("$12,000", False)
    entry = (await entries(bot, incident))[-1]
    assert entry.kind == "resolved"
    assert entry.text == "Resolved after 2 hours 5 minutes: Rotated the webhook secret."

    rendered = summary_text(fake_slack, incident)
    assert "*Status*\\nResolved" in rendered and "*Duration*\\n2 hours 5 minutes" in rendered
    assert "*Post-incident review*\\nDue by 2026-11-30 11:05 UTC" in rendered
    assert set(buttons(summary(fake_slack, incident))) == {REVIEW_HELD_ACTION}
    assert "| Resolved |" in fake_slack.channels[incident.channel_id].topic
    [announcement] = fake_slack.messages[announce]
    assert announcement["ts"] == incident.announcement_ts and "edited" in announcement
    assert "resolved after 2 hours 5 minutes" in announcement["text"]

    # The post-mortem draft is the only new message in the channel.
    [upload] = fake_slack.files
    assert upload["channel_id"] == incident.channel_id
    assert upload["filename"] == f"{incident.public_id}-post-mortem.md"
    draft = upload["content"].decode()
    assert draft.startswith("# Post-Mortem: Payments are down\n")
    assert "**Duration**: 2 hours 5 minutes" in draft
    assert "The Stripe webhook secret expired." in draft
    assert "- Revenue impact: $12,000" in draft and "- Data loss: No" in draft
    assert "is resolved* after 2 hours 5 minutes" in upload["initial_comment"]
    assert (
        "<@UREPORTER>: hold the post-incident review by 2026-11-30 11:05 UTC"
        in (upload["initial_comment"])
    )
    assert len(fake_slack.messages[incident.channel_id]) == channel_messages + 1
    assert incident.postmortem_file_id == upload["id"]


async def test_missing_resolution_or_data_loss_is_shown_in_the_form_and_nothing_changes(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    incident = await declare(slack, fake_slack, bot)
    await command(slack, bot, "resolve", channel=incident.channel_id)
    view = last_view(fake_slack)
    empty = await slack.submit(view, resolve_values(resolution="  "))
    assert empty.json() == {
        "response_action": "errors",
        "errors": {"resolution": "Say what was done to resolve the incident."},
    }
    unsure = await slack.submit(view, resolve_values(data_loss=None))
    assert unsure.json()["errors"] == {"data_loss": "Say whether any data was lost."}
    await bot.tasks.drain()
    assert (await reload(bot, incident)).status == "investigating"
    assert await kinds(bot, incident) == ["declared"]
    assert fake_slack.files == []


async def test_resolving_twice_is_harmless(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    incident = await declare(slack, fake_slack, bot)
    # Two people open the form at once, then both submit it.
    forms = []
    for user in ("UREPORTER", "UOTHER"):
        await command(
            slack,
            bot,
            "resolve",
            channel=incident.channel_id,
            user=user,
            trigger_id=fake_slack.new_trigger_id(),
        )
        forms.append(last_view(fake_slack))
    clock.advance(timedelta(minutes=30))
    first = await slack.submit(forms[0], resolve_values(resolution="Fixed"))
    await bot.tasks.drain()
    resolved_at = (await reload(bot, incident)).resolved_at
    clock.advance(timedelta(minutes=5))
    fake_slack.channels[incident.channel_id].members.add("UOTHER")
    second = await slack.submit(forms[1], resolve_values(resolution="Other words"), user="UOTHER")
    await bot.tasks.drain()

    assert first.content in (b"", b"null") and second.content in (b"", b"null")
    incident = await reload(bot, incident)
    assert incident.resolved_at == resolved_at and incident.resolution == "Fixed"
    assert (await kinds(bot, incident)).count("resolved") == 1
    assert len(fake_slack.files) == 1
    told = fake_slack.ephemerals[-1]
    assert told["user"] == "UOTHER" and "already resolved (after 30 minutes)" in told["text"]

    answer = await command(slack, bot, "resolve", channel=incident.channel_id)
    assert "already resolved" in answer and "nothing was changed" in answer
    answer = await command(slack, bot, "status resolved", channel=incident.channel_id)
    assert "already resolved" in answer


async def test_status_after_resolve_points_at_reopen(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    incident = await declare(slack, fake_slack, bot)
    await resolve(slack, fake_slack, bot, incident)
    answer = await command(slack, bot, "status mitigating", channel=incident.channel_id)
    assert "`/incident reopen`" in answer and "Nothing was changed" in answer
    assert (await reload(bot, incident)).status == "resolved"


async def test_resolving_after_a_reopen_prefills_the_form_and_measures_to_the_new_end(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    incident = await declare(slack, fake_slack, bot)
    clock.advance(timedelta(minutes=20))
    await resolve(slack, fake_slack, bot, incident, root_cause="Bad deploy")
    await command(slack, bot, "reopen", channel=incident.channel_id)
    clock.advance(timedelta(hours=1))
    await command(slack, bot, "resolve", channel=incident.channel_id)
    view = last_view(fake_slack)
    root_cause = next(b for b in view["blocks"] if b.get("block_id") == "root_cause")
    assert root_cause["element"]["initial_value"] == "Bad deploy"
    await slack.submit(view, resolve_values(resolution="Reverted again"))
    await bot.tasks.drain()
    incident = await reload(bot, incident)
    assert duration_text(incident) == "1 hour 20 minutes"
    assert (await kinds(bot, incident)).count("resolved") == 2
    assert len(fake_slack.files) == 2


async def test_a_failed_upload_does_not_undo_the_resolution(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    incident = await declare(slack, fake_slack, bot)
    fake_slack.fail_next("files.completeUploadExternal", "not_in_channel")
    await resolve(slack, fake_slack, bot, incident)
    incident = await reload(bot, incident)
    assert incident.status == "resolved" and incident.postmortem_file_id is None
    assert "*Status*\\nResolved" in summary_text(fake_slack, incident)

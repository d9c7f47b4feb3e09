"""Running an incident from its channel: status, severity, lead, updates, list, reopen, and the
summary kept current in place. The real app over signed HTTP, against the fake Slack."""

from __future__ import annotations

import asyncio
import copy
import json

import pytest

from app.context import BotContext
from app.sandbox.fakeslack import FakeSlack
from app.sandbox.sender import SlackSender
from app.ui.summary import (
    ACKNOWLEDGE_ACTION,
    CHANGE_SEVERITY_ACTION,
    CHANGE_STATUS_ACTION,
    RESOLVE_ACTION,
)
from tests.running import (
    buttons,
    click,
    command,
    declare,
    entries,
    kinds,
    last_view,
    posts_to,
    reload,
    resolve,
    summary,
    summary_text,
)

# ------------------------------------------------------------------------------------ status


async def test_status_moves_forward_and_updates_the_summary_and_topic_in_place(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    incident = await declare(slack, fake_slack, bot)
    messages_before = len(fake_slack.messages[incident.channel_id])

    answer = await command(slack, bot, "status mitigating", channel=incident.channel_id)

    assert answer == f"{incident.public_id} is now Mitigating."
    incident = await reload(bot, incident)
    assert incident.status == "mitigating"
    entry = (await entries(bot, incident))[-1]
    assert (entry.kind, entry.actor_id) == ("status_changed", "UREPORTER")
    assert entry.text == "Status changed from Investigating to Mitigating"
    # One summary, edited: no new message in the channel.
    assert len(fake_slack.messages[incident.channel_id]) == messages_before
    [update] = fake_slack.calls_to("chat.update")
    assert update["ts"] == incident.summary_ts
    assert "*Status*\\nMitigating" in summary_text(fake_slack, incident)
    assert "| Mitigating |" in fake_slack.channels[incident.channel_id].topic


async def test_backward_move_is_refused_clearly_and_changes_nothing(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    incident = await declare(slack, fake_slack, bot)
    await command(slack, bot, "status mitigating", channel=incident.channel_id)
    calls_before = len(fake_slack.calls)
    entries_before = await kinds(bot, incident)

    answer = await command(slack, bot, "status investigating", channel=incident.channel_id)

    assert "forward only" in answer and "Nothing was changed" in answer
    assert (await reload(bot, incident)).status == "mitigating"
    assert await kinds(bot, incident) == entries_before
    assert len(fake_slack.calls) == calls_before


async def test_the_same_status_again_is_harmless(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    incident = await declare(slack, fake_slack, bot)
    answer = await command(slack, bot, "status investigating", channel=incident.channel_id)
    assert "already Investigating" in answer
    assert await kinds(bot, incident) == ["declared"]
    assert fake_slack.calls_to("chat.update") == []


async def test_unknown_status_names_the_choices(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    incident = await declare(slack, fake_slack, bot)
    answer = await command(slack, bot, "status fixed", channel=incident.channel_id)
    assert "investigating|mitigating|resolved" in answer
    assert await kinds(bot, incident) == ["declared"]


async def test_status_resolved_opens_the_resolve_form(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    incident = await declare(slack, fake_slack, bot)
    answer = await command(
        slack,
        bot,
        "status resolved",
        channel=incident.channel_id,
        trigger_id=fake_slack.new_trigger_id(),
    )
    assert answer == ""
    view = last_view(fake_slack)
    assert view["callback_id"] == "incident_resolve"
    assert (await reload(bot, incident)).status == "investigating"


@pytest.mark.parametrize(
    "text",
    [
        "status mitigating",
        "severity P0",
        "lead <@ULEAD|lead>",
        "update All good",
        "resolve",
        "reopen",
        "action Write a runbook",
        "postmortem",
    ],
)
async def test_incident_commands_outside_an_incident_channel_explain_and_change_nothing(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, text: str
) -> None:
    incident = await declare(slack, fake_slack, bot)
    calls_before = len(fake_slack.calls)
    answer = await command(slack, bot, text, channel="CGENERAL")
    assert "works in an incident channel" in answer and "/incident list" in answer
    assert len(fake_slack.calls) == calls_before
    assert await kinds(bot, incident) == ["declared"]


# ------------------------------------------------------------------------------------ severity


@pytest.mark.settings(incidents_channel="CANNOUNCE")
async def test_severity_change_is_recorded_with_its_reason_and_shown_everywhere(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    announce = fake_slack.add_channel("incidents")
    bot.settings.incidents_channel = announce
    incident = await declare(slack, fake_slack, bot, severity="P2")

    answer = await command(
        slack, bot, "severity p0 checkout down everywhere", channel=incident.channel_id
    )

    assert answer == f"{incident.public_id} is now P0 Critical (raised)."
    incident = await reload(bot, incident)
    assert incident.severity == "P0"
    entry = (await entries(bot, incident))[-1]
    assert entry.kind == "severity_changed"
    assert entry.text == "Severity raised from P2 to P0: checkout down everywhere"
    assert entry.data == {"from": "P2", "to": "P0", "reason": "checkout down everywhere"}
    rendered = summary_text(fake_slack, incident)
    assert "P0 Critical" in rendered and "Required actions for P0" in rendered
    assert "| P0 Critical |" in fake_slack.channels[incident.channel_id].topic
    [announcement] = fake_slack.messages[announce]
    assert announcement["text"].startswith(":rotating_light: P0 Critical incident")


async def test_unknown_severity_is_refused_with_the_usage(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    incident = await declare(slack, fake_slack, bot)
    answer = await command(slack, bot, "severity P7 bad", channel=incident.channel_id)
    assert "`P7` is not a severity" in answer and "P0|P1|P2|P3" in answer
    assert (await reload(bot, incident)).severity == "P1"


async def test_same_severity_changes_nothing(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    incident = await declare(slack, fake_slack, bot)
    answer = await command(slack, bot, "severity P1", channel=incident.channel_id)
    assert "already P1" in answer
    assert await kinds(bot, incident) == ["declared"]


# ------------------------------------------------------------------------------------ lead


async def test_lead_is_recorded_invited_shown_and_told(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    incident = await declare(slack, fake_slack, bot)
    assert "ULEAD" not in fake_slack.channels[incident.channel_id].members

    answer = await command(slack, bot, "lead <@ULEAD|lead>", channel=incident.channel_id)

    assert answer == f"<@ULEAD> now leads {incident.public_id}."
    incident = await reload(bot, incident)
    assert incident.lead_id == "ULEAD"
    assert "ULEAD" in fake_slack.channels[incident.channel_id].members
    assert "*Lead*\\n<@ULEAD>" in summary_text(fake_slack, incident)
    entry = (await entries(bot, incident))[-1]
    assert (entry.kind, entry.text) == ("lead_assigned", "<@ULEAD> is the incident lead")
    [dm] = [c for c in fake_slack.calls_to("chat.postMessage") if c["channel"] == "ULEAD"]
    assert "made you the lead" in dm["text"]


async def test_lead_already_in_the_channel_is_not_an_error(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    incident = await declare(slack, fake_slack, bot)
    answer = await command(slack, bot, "lead <@UREPORTER|reporter>", channel=incident.channel_id)
    assert "now leads" in answer
    assert fake_slack.responses == []  # no complaint about the invite
    assert (await reload(bot, incident)).lead_id == "UREPORTER"


@pytest.mark.parametrize("text", ["lead", "lead bob", "lead <@ULEAD|lead> <@UCTO|cto>"])
async def test_lead_needs_exactly_one_mention(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, text: str
) -> None:
    incident = await declare(slack, fake_slack, bot)
    answer = await command(slack, bot, text, channel=incident.channel_id)
    assert "`/incident lead @name`" in answer
    assert (await reload(bot, incident)).lead_id is None


# ------------------------------------------------------------------------------------ update


async def test_update_is_posted_in_the_channel_and_broadcast_for_a_public_incident(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    announce = fake_slack.add_channel("incidents")
    bot.settings.incidents_channel = announce
    incident = await declare(slack, fake_slack, bot)

    answer = await command(
        slack, bot, "update Rolled back to v41, errors dropping", channel=incident.channel_id
    )

    assert answer == ""
    [post] = posts_to(fake_slack, incident.channel_id)[-1:]
    assert "Status update" in post["text"] and "Rolled back to v41" in post["text"]
    broadcast = posts_to(fake_slack, announce)[-1]
    assert "Rolled back to v41" in broadcast["text"] and incident.title in broadcast["text"]
    assert broadcast["thread_ts"] == incident.announcement_ts
    entry = (await entries(bot, incident))[-1]
    assert (entry.kind, entry.text) == (
        "update",
        "Status update: Rolled back to v41, errors dropping",
    )


async def test_update_of_a_private_incident_stays_in_its_channel(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    announce = fake_slack.add_channel("incidents")
    bot.settings.incidents_channel = announce
    incident = await declare(slack, fake_slack, bot, visibility="private")
    await command(slack, bot, "update Keys rotated", channel=incident.channel_id)
    assert "Keys rotated" in posts_to(fake_slack, incident.channel_id)[-1]["text"]
    assert not any("Keys rotated" in json.dumps(m) for m in fake_slack.messages[announce])


async def test_empty_update_asks_for_text(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    incident = await declare(slack, fake_slack, bot)
    answer = await command(slack, bot, "update", channel=incident.channel_id)
    assert "Say what changed" in answer
    assert await kinds(bot, incident) == ["declared"]


# ------------------------------------------------------------------------------------ list


async def test_list_shows_open_incidents_most_severe_first_and_private_ones_to_members_only(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    low = await declare(slack, fake_slack, bot, title="Slow search", severity="P3")
    high = await declare(slack, fake_slack, bot, title="Checkout down", severity="P0")
    secret = await declare(slack, fake_slack, bot, title="Leaked keys", visibility="private")
    done = await declare(slack, fake_slack, bot, title="Old thing", severity="P0")
    await resolve(slack, fake_slack, bot, done)

    await command(slack, bot, "list", channel="CGENERAL", user="UREPORTER")
    member_view = fake_slack.responses[-1]["text"]
    await command(slack, bot, "list", channel="CGENERAL", user="UOTHER")
    outsider_view = fake_slack.responses[-1]["text"]

    order = [member_view.index(i.public_id) for i in (high, secret, low)]
    assert order == sorted(order)
    assert ":lock:" in member_view and "Leaked keys" in member_view
    assert done.public_id not in member_view
    assert secret.public_id not in outsider_view and "Leaked keys" not in outsider_view
    assert high.public_id in outsider_view and low.public_id in outsider_view
    assert fake_slack.calls_to("conversations.members")


async def test_list_with_nothing_open_says_so(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    await command(slack, bot, "list", channel="CGENERAL")
    assert "No open incidents" in fake_slack.responses[-1]["text"]


# ------------------------------------------------------------------------------------ reopen


async def test_reopen_moves_a_resolved_incident_back_to_investigating(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    incident = await declare(slack, fake_slack, bot)
    await resolve(slack, fake_slack, bot, incident)

    answer = await command(slack, bot, "reopen errors are back", channel=incident.channel_id)

    assert answer == f"{incident.public_id} is open again (Investigating)."
    incident = await reload(bot, incident)
    assert (incident.status, incident.resolved_at) == ("investigating", None)
    entry = (await entries(bot, incident))[-1]
    assert (entry.kind, entry.text) == ("reopened", "Reopened: errors are back")
    rendered = summary_text(fake_slack, incident)
    assert "*Status*\\nInvestigating" in rendered and "*Duration*" not in rendered
    assert RESOLVE_ACTION in buttons(summary(fake_slack, incident))


async def test_reopening_an_open_incident_is_refused(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    incident = await declare(slack, fake_slack, bot)
    answer = await command(slack, bot, "reopen", channel=incident.channel_id)
    assert "not resolved" in answer and "Nothing was changed" in answer
    assert await kinds(bot, incident) == ["declared"]


# ------------------------------------------------------------------------------------ buttons


async def test_summary_buttons_change_severity_through_a_modal(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    incident = await declare(slack, fake_slack, bot)
    pinned = summary(fake_slack, incident)
    assert set(buttons(pinned)) == {
        ACKNOWLEDGE_ACTION,
        CHANGE_SEVERITY_ACTION,
        CHANGE_STATUS_ACTION,
        RESOLVE_ACTION,
    }
    await click(slack, bot, pinned, "Change severity")
    view = last_view(fake_slack)
    assert view["callback_id"] == "incident_severity"
    response = await slack.submit(view, {"severity": "P3", "reason": "only staff affected"})
    await bot.tasks.drain()
    assert response.status_code == 200 and response.content in (b"", b"null")
    incident = await reload(bot, incident)
    assert incident.severity == "P3"
    assert (await entries(bot, incident))[-1].text == (
        "Severity lowered from P1 to P3: only staff affected"
    )
    assert "P3 Low" in summary_text(fake_slack, incident)


async def test_change_status_modal_moves_forward_refuses_backward_and_leads_to_resolve(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    incident = await declare(slack, fake_slack, bot)

    async def status_modal() -> dict:
        await click(slack, bot, summary(fake_slack, incident), "Change status")
        view = last_view(fake_slack)
        assert view["callback_id"] == "incident_status"
        return view

    view = await status_modal()
    ok = await slack.submit(view, {"status": "mitigating"})
    await bot.tasks.drain()
    assert ok.content in (b"", b"null")
    assert (await reload(bot, incident)).status == "mitigating"

    view = await status_modal()
    refused = await slack.submit(view, {"status": "investigating"})
    assert refused.json()["response_action"] == "errors"
    assert "forward only" in refused.json()["errors"]["status"]
    assert (await reload(bot, incident)).status == "mitigating"

    view = await status_modal()
    onward = await slack.submit(view, {"status": "resolved"})
    answer = onward.json()
    assert answer["response_action"] == "update"
    assert answer["view"]["callback_id"] == "incident_resolve"
    assert (await reload(bot, incident)).status == "mitigating"  # nothing until the form


async def test_resolve_button_opens_the_form_and_a_resolved_incident_says_so(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    incident = await declare(slack, fake_slack, bot)
    stale = copy.deepcopy(summary(fake_slack, incident))
    await click(slack, bot, summary(fake_slack, incident), "Resolve")
    assert last_view(fake_slack)["callback_id"] == "incident_resolve"

    await resolve(slack, fake_slack, bot, incident)
    assert RESOLVE_ACTION not in buttons(summary(fake_slack, incident))
    opened = len(fake_slack.calls_to("views.open"))
    await click(slack, bot, stale, "Resolve")  # on a screen that still shows the button
    assert len(fake_slack.calls_to("views.open")) == opened
    [told] = fake_slack.ephemerals[-1:]
    assert "already resolved" in told["text"] and told["user"] == "UREPORTER"


# ------------------------------------------------------------------------------------ races


async def test_two_people_changing_the_status_at_once_record_it_once(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    incident = await declare(slack, fake_slack, bot)
    answers = await asyncio.gather(
        *(
            slack.command("status mitigating", channel=incident.channel_id, user=user)
            for user in ("UREPORTER", "UOTHER", "ULEAD")
        )
    )
    await bot.tasks.drain()
    texts = sorted(a.json()["text"] for a in answers)
    assert texts.count(f"{incident.public_id} is now Mitigating.") == 1
    assert sum("already Mitigating" in t for t in texts) == 2
    assert (await kinds(bot, incident)).count("status_changed") == 1


# ------------------------------------------------------------------------------------ failures


async def test_an_update_slack_refuses_is_kept_and_its_author_told(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    incident = await declare(slack, fake_slack, bot)
    fake_slack.fail_next("chat.postMessage", "is_archived")
    await command(slack, bot, "update Still failing over", channel=incident.channel_id)
    assert "Slack refused to post it (is_archived)" in fake_slack.responses[-1]["text"]
    assert (await entries(bot, incident))[-1].text == "Status update: Still failing over"


async def test_a_summary_slack_cannot_edit_does_not_undo_the_change_and_the_next_one_repairs_it(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    incident = await declare(slack, fake_slack, bot)
    fake_slack.fail_next("chat.update", "message_not_found")
    await command(slack, bot, "status mitigating", channel=incident.channel_id)
    assert (await reload(bot, incident)).status == "mitigating"
    assert "*Status*\\nInvestigating" in summary_text(fake_slack, incident)
    await command(slack, bot, "lead <@ULEAD|lead>", channel=incident.channel_id)
    rendered = summary_text(fake_slack, incident)
    assert "*Status*\\nMitigating" in rendered and "<@ULEAD>" in rendered

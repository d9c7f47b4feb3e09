"""Text from people and alerts never becomes Slack markup (issue 12): a broadcast, a mention or
a disguised link typed in a title, a note, an update, an action item, a reason or a resolution,
or carried by an alert, reaches Slack as literal text, in the channel and in the pages DMed to
L1..L4; a note cannot forge a section of the post-mortem; a title of invisible characters is
refused.

Slash command text arrives as Slack sends it (app/sandbox/builders.py escapes it the way Slack
does: `<!channel>` stands for a typed @channel, `<@UCEO>` for a person picked from the menu);
modal inputs arrive as typed.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from sqlalchemy import select

from app.clock import ManualClock
from app.context import BotContext
from app.sandbox import builders as build
from app.sandbox.fakeslack import FakeSlack
from app.sandbox.sender import FORM, SlackSender
from app.services.engine import run_due_steps
from app.store.models import Incident
from tests.conftest import ROOT
from tests.running import command, declare, entries, items, posts_to, reload, resolve, summary
from tests.test_alerts import TOKEN, alertmanager, am_alert, poster, sentry_event_alert
from tests.test_declare import open_modal, submit

ESCALATION = str(ROOT / "tests" / "policies" / "escalation.yml")

EVIL = "<!channel> ask <@UCEO> to <https://evil.example|Re-login>"
# What must never reach Slack outside plain_text: a broadcast, a ping, a disguised link.
MARKUP = ("<!channel>", "<https://evil", "<@UCEO>")
MINUTE = timedelta(minutes=1)

# Where Slack reads mrkdwn in what the bot sends; plain_text objects and inputs are never parsed.
MRKDWN_CALLS = {
    "chat.postMessage": ("text", "blocks", "attachments"),
    "chat.update": ("text", "blocks", "attachments"),
    "chat.postEphemeral": ("text", "blocks", "attachments"),
    "files.completeUploadExternal": ("initial_comment", "blocks"),
    "views.open": ("view",),
    "views.update": ("view",),
    "views.push": ("view",),
}
PLAIN = {"plain_text", "plain_text_input"}


def _without_plain_text(value: Any) -> Any:
    if isinstance(value, dict):
        if value.get("type") in PLAIN:
            return None
        return {k: _without_plain_text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_plain_text(v) for v in value]
    return value


def _decoded(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def sent_as_mrkdwn(fake: FakeSlack) -> list[str]:
    """Every piece of what the bot sent that Slack parses as mrkdwn, one JSON per call (and per
    response_url answer)."""
    sent = []
    for call in fake.calls:
        fields = MRKDWN_CALLS.get(call.method)
        if fields and call.ok:
            parsed = {f: _without_plain_text(_decoded(call.args.get(f))) for f in fields}
            sent.append(json.dumps({"method": call.method, **parsed}, ensure_ascii=False))
    for answer in fake.responses:
        sent.append(json.dumps(_without_plain_text(answer), ensure_ascii=False))
    return sent


def assert_no_markup_from_users(fake: FakeSlack) -> None:
    """No broadcast, disguised link or ping of the CEO came from user text. The bot mentions the
    CEO only where it pages them itself (L4's page in the incident channel)."""
    sent = sent_as_mrkdwn(fake)
    assert sent
    for payload in sent:
        assert "<!channel>" not in payload, payload
        assert "<https://evil" not in payload, payload
        assert payload.count("<@UCEO>") == payload.count("L4 CEO*: <@UCEO>"), payload


async def tick(bot: BotContext, clock: ManualClock, advance: timedelta) -> None:
    clock.advance(advance)
    await run_due_steps(bot)
    await bot.tasks.drain()


async def command_as_sent(
    slack: SlackSender, bot: BotContext, sent: str, *, channel: str | None
) -> None:
    """`/incident` with `sent` exactly as Slack sends it (no escaping added by the builder)."""
    fields = build.slash_command(
        slack.fake, "", user_id="UREPORTER", channel_id=channel or "CGENERAL"
    )
    response = await slack.post(urlencode({**fields, "text": sent}), FORM)
    assert response.status_code == 200
    await bot.tasks.drain()


async def timeline_shown(slack: SlackSender, bot: BotContext, channel: str | None) -> str:
    """`/incident timeline` in `channel`: the blocks of its ephemeral answer, as JSON."""
    response = await slack.command("timeline", channel=channel or "CGENERAL")
    await bot.tasks.drain()
    return json.dumps(response.json()["blocks"], ensure_ascii=False)


async def latest_incident(bot: BotContext) -> Incident | None:
    async with bot.sessions() as session:
        stmt = select(Incident).order_by(Incident.id.desc()).limit(1)
        return (await session.execute(stmt)).scalar_one_or_none()


# ---------------------------------------------------------------------------------- titles


@pytest.mark.policy(ESCALATION)
async def test_markup_in_a_title_reaches_the_channel_and_the_page_dms_to_l1_l4_as_literal_text(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    announce = fake_slack.add_channel("incidents")
    bot.settings.incidents_channel = announce
    incident = await declare(slack, fake_slack, bot, title=f"Checkout down {EVIL}", severity="P0")
    for advance in (15 * MINUTE, 30 * MINUTE, 60 * MINUTE):
        await tick(bot, clock, advance)

    for user in ("UONCALL", "ULEAD", "UCTO", "UCEO"):
        [dm] = posts_to(fake_slack, user)
        assert "Checkout down &lt;!channel&gt; ask &lt;@UCEO&gt; to &lt;https://evil" in dm["text"]
    [announcement] = posts_to(fake_slack, announce)
    assert "&lt;!channel&gt;" in announcement["text"]
    # The header is plain_text, never parsed: the title as typed, not entities.
    header = summary(fake_slack, incident)["blocks"][0]["text"]
    assert header["type"] == "plain_text"
    assert header["text"] == f"{incident.public_id}: Checkout down {EVIL}"
    assert_no_markup_from_users(fake_slack)


# ------------------------------------------------------------------ what people type later


@pytest.mark.policy(ESCALATION)
async def test_markup_in_notes_updates_action_items_reasons_and_resolutions_stays_literal(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    announce = fake_slack.add_channel("incidents")
    bot.settings.incidents_channel = announce
    incident = await declare(slack, fake_slack, bot, severity="P1")
    channel = incident.channel_id

    for text in (
        f"note {EVIL}",
        f"update {EVIL}",
        f"action Rotate keys {EVIL} <@UOTHER|other> due 2026-11-29",
        f"severity P2 {EVIL}",
    ):
        answer = await command(slack, bot, text, channel=channel)
        assert "<!channel>" not in answer and "<https://evil" not in answer
    await resolve(slack, fake_slack, bot, incident, resolution=f"Rolled back. {EVIL}")
    await command(slack, bot, f"reopen {EVIL}", channel=channel)
    timeline = await timeline_shown(slack, bot, channel)
    await tick(bot, clock, timedelta(days=2))  # the action item's overdue reminder

    # Stored as typed: Slack's escapes decoded, a mention picked from the menu as a name.
    note = next(e for e in await entries(bot, incident) if e.kind == "note")
    assert note.text == "@channel ask @UCEO to <https://evil.example|Re-login>"
    [item] = await items(bot, incident)
    assert item.text == "Rotate keys @channel ask @UCEO to <https://evil.example|Re-login>"
    assert (await reload(bot, incident)).resolution == f"Rolled back. {EVIL}"
    # Shown literally: the note's echo, the owner's DM and reminder, the broadcast update.
    echo = posts_to(fake_slack, channel)
    assert any(":memo: Note from <@UREPORTER>: @channel ask @UCEO" in p["text"] for p in echo)
    assert len(posts_to(fake_slack, "UOTHER")) == 2  # assigned, then overdue
    assert any("&lt;https://evil" in p["text"] for p in posts_to(fake_slack, announce))
    assert "Note by <@UREPORTER>: @channel ask @UCEO to &lt;https://evil.example|Re-login&gt;" in (
        timeline
    )
    assert "Reopened: @channel" in timeline and "<!channel>" not in timeline
    assert_no_markup_from_users(fake_slack)


async def test_a_mention_picked_in_a_note_reads_as_a_name_and_pings_nobody(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    incident = await declare(slack, fake_slack, bot)

    await command(slack, bot, "note asked <@UCEO|ceo> & @other", channel=incident.channel_id)

    [echo] = [p for p in posts_to(fake_slack, incident.channel_id) if "Note from" in p["text"]]
    assert echo["text"] == ":memo: Note from <@UREPORTER>: asked @ceo &amp; @other"
    assert (await entries(bot, incident))[-1].text == "asked @ceo & @other"


async def test_the_timeline_mentions_only_the_people_the_bot_named(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    incident = await declare(slack, fake_slack, bot)
    await command(slack, bot, "lead <@ULEAD|lead>", channel=incident.channel_id)
    # `<@UCEO>` typed as text arrives escaped and is stored as typed; the owner is picked.
    await command_as_sent(
        slack, bot, "action Ask &lt;@UCEO&gt; <@UOTHER|other>", channel=incident.channel_id
    )

    timeline = await timeline_shown(slack, bot, incident.channel_id)

    assert "<@ULEAD> is the incident lead" in timeline
    assert "Action item 1 added: Ask &lt;@UCEO&gt; · <@UOTHER>" in timeline
    assert "<@UCEO>" not in timeline


# ---------------------------------------------------------------------------------- alerts


@pytest.mark.settings(alert_webhook_token=TOKEN)
@pytest.mark.parametrize(
    "url",
    ["javascript:alert(document.cookie)", "https://prometheus.example/graph|<!channel> Re-login"],
)
async def test_an_alert_with_markup_and_a_bad_url_posts_literal_text_and_no_link(
    server: str, fake_slack: FakeSlack, bot: BotContext, url: str
) -> None:
    fired = am_alert(summary=EVIL)
    fired["generatorURL"] = url
    cleared = am_alert("resolved", summary=EVIL)
    cleared["generatorURL"] = url
    async with poster(server) as post:
        for payload in (alertmanager(fired), alertmanager(cleared)):
            assert (await post("alertmanager", payload)).status_code == 200
            await bot.tasks.drain()

    incident = await latest_incident(bot)
    assert incident is not None and incident.channel_id
    said = [p["text"] for p in posts_to(fake_slack, incident.channel_id)]
    assert any("Alert resolved" in text and "&lt;!channel&gt;" in text for text in said)
    for payload in sent_as_mrkdwn(fake_slack):
        assert "<javascript:" not in payload and "<https://prometheus.example" not in payload
    assert_no_markup_from_users(fake_slack)


@pytest.mark.settings(alert_webhook_token=TOKEN)
async def test_a_good_alert_url_is_a_link_with_an_escaped_label(
    server: str, fake_slack: FakeSlack, bot: BotContext
) -> None:
    fired = am_alert(summary="errors")
    fired["generatorURL"] = "https://prometheus.example/graph?g0=1&g1=2"
    async with poster(server) as post:
        await post("alertmanager", alertmanager(fired))
        await bot.tasks.drain()
        await post("alertmanager", alertmanager({**fired, "status": "resolved"}))
        await bot.tasks.drain()

    incident = await latest_incident(bot)
    assert incident is not None
    said = " ".join(p["text"] for p in posts_to(fake_slack, incident.channel_id))
    assert "<https://prometheus.example/graph?g0=1&amp;g1=2|Open in alertmanager>" in said


@pytest.mark.settings(alert_webhook_token=TOKEN)
async def test_a_sentry_culprit_with_markup_is_shown_literally(
    server: str, fake_slack: FakeSlack, bot: BotContext
) -> None:
    payload = sentry_event_alert()
    payload["data"]["event"]["culprit"] = EVIL
    payload["data"]["event"]["title"] = f"TypeError {EVIL}"
    async with poster(server) as post:
        response = await post("sentry", payload, headers={"sentry-hook-resource": "event_alert"})
        assert response.status_code == 200, response.text
        await bot.tasks.drain()

    incident = await latest_incident(bot)
    assert incident is not None and EVIL in incident.description
    summary = json.dumps(fake_slack.messages[incident.channel_id], ensure_ascii=False)
    assert "&lt;!channel&gt; ask &lt;@UCEO&gt;" in summary
    assert_no_markup_from_users(fake_slack)


# ------------------------------------------------------------------------------- documents


async def test_a_note_cannot_forge_a_section_of_the_post_mortem(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    incident = await declare(slack, fake_slack, bot, title="# Forged title")
    await command(
        slack,
        bot,
        "note x\n## Root Cause\nforged\n- [x] done [Re-login](https://evil.example) <b>hi</b>",
        channel=incident.channel_id,
    )

    await resolve(slack, fake_slack, bot, incident, root_cause="1. first\n## What Went Well\nall")

    [upload] = fake_slack.files
    draft = upload["content"].decode()
    headings = [line for line in draft.splitlines() if line.startswith("#")]
    assert headings.count("## Root Cause") == 1
    assert headings.count("## What Went Well") == 1
    assert headings[0] == "# Post-Mortem: \\# Forged title"
    assert "\\## Root Cause" in draft and "\\## What Went Well" in draft
    assert "\\- \\[x\\] done \\[Re-login\\](https://evil.example)" in draft
    assert "<b>" not in draft and "&lt;b&gt;hi&lt;/b&gt;" in draft
    assert "](https://evil" not in draft.replace("\\](https://evil", "")


# ---------------------------------------------------------------------------------- titles


@pytest.mark.parametrize("title", ["\u200b\u200c\u200d", "\u202e\u2066\u2069", "\ufeff \u3164"])
async def test_a_title_of_only_invisible_characters_is_refused_in_the_modal_and_changes_nothing(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, title: str
) -> None:
    view = await open_modal(slack, fake_slack, bot)
    before = len(fake_slack.calls)

    response = await submit(slack, bot, view, title=title, severity="P1")

    answer = response.json()
    assert answer["response_action"] == "errors"
    assert answer["errors"]["title"] == "The title needs at least one visible character."
    assert await latest_incident(bot) is None
    assert [c.method for c in fake_slack.calls[before:]] == []


async def test_invisible_and_bidi_characters_are_dropped_from_a_declared_title(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    incident = await declare(slack, fake_slack, bot, title="\u202eAPI\u200b  down\u2066 \ufeff")

    assert incident.title == "API down"
    assert re.search(r"api-down$", incident.channel_name or "")

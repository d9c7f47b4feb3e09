"""`/incident statuspage` against what Slack really sends and shows.

- The press on the ephemeral preview is Slack's `block_actions` for a message button
  (`../shared/slack-payloads/block_actions_message.json`) as Slack sends it from an
  *ephemeral* message: `container.is_ephemeral` true and no `message` (Slack keeps no copy of an
  ephemeral message to send back; bolt-python's ephemeral fixtures, tests/scenario_tests_async/
  test_block_actions.py and tests/slack_bolt/request/test_request.py, have none). The bot takes
  it, and the leaner variant of bolt-python's fixture (no `state`, no `enterprise`, the team
  carrying the enterprise) too.
- Every message of the flow is one Slack shows (the fake's Block Kit checks), at the limits.
- Slack sends `&`, `<` and `>` of a command's text as `&amp;`, `&lt;`, `&gt;`: the page reads
  what the person typed, never an entity.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.context import BotContext
from app.domain.status_page import MESSAGE_MAX
from app.sandbox import builders as build
from app.sandbox.ephemeral import NotShown, block_actions_on_ephemeral, replaced, shown
from app.sandbox.fakeslack import FakeSlack
from app.sandbox.identity import ENTERPRISE_ID, ENTERPRISE_NAME
from app.sandbox.sender import SlackSender
from tests.running import command, entries, posts_to
from tests.statuspage_helpers import (
    POLICY,
    PUBLIC_URL,
    click,
    declare,
    press,
    status_posts,
    statuspage,
)
from tests.test_slack_builders import differences, reference

ROOT = Path(__file__).resolve().parents[1]
ON = pytest.mark.settings(status_page=True, public_url=PUBLIC_URL)
pytestmark = [pytest.mark.policy(str(ROOT / POLICY)), ON]

# A button's entry in `actions` as bolt-python's fixtures hold it (Slack adds `style` when the
# button has one).
BOLT_BUTTON_ACTION = {
    "action_id": "${ACTION_ID}",
    "block_id": "${BLOCK_ID}",
    "text": {"type": "plain_text", "text": "${LABEL}", "emoji": True},
    "value": "${VALUE}",
    "type": "button",
    "action_ts": "${ACTION_TS}",
}


def ephemeral_reference() -> dict[str, Any]:
    """Slack's published message-button body, as it comes from an ephemeral message."""
    body = copy.deepcopy(reference("block_actions_message")["body"])
    del body["message"]
    body["container"]["is_ephemeral"] = True
    return body


def bolt_fixture_shape(body: dict[str, Any]) -> dict[str, Any]:
    """The same press in the shape of bolt-python's ephemeral fixture: no `state`, no
    `enterprise` / `is_enterprise_install`, the team naming its enterprise."""
    lean = {
        k: v for k, v in body.items() if k not in {"state", "enterprise", "is_enterprise_install"}
    }
    lean["team"] = {
        **body["team"],
        "enterprise_id": ENTERPRISE_ID,
        "enterprise_name": ENTERPRISE_NAME,
    }
    return lean


async def page(server: str, path: str) -> httpx.Response:
    async with httpx.AsyncClient() as http:
        return await http.get(server + path)


# ------------------------------------------------------------------- the press, as Slack sends it


async def test_a_press_on_the_ephemeral_preview_is_built_as_slack_sends_it(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    incident = await declare(slack, fake_slack, bot)
    preview = await statuspage(slack, fake_slack, bot, incident, "Checkouts fail.")
    body = block_actions_on_ephemeral(fake_slack, preview, "Publish")

    assert differences(ephemeral_reference(), body) == []
    assert "message" not in body
    assert body["container"] == {
        "type": "message",
        "message_ts": preview.ts,
        "channel_id": incident.channel_id,
        "is_ephemeral": True,
    }
    assert body["channel"] == {"id": incident.channel_id, "name": incident.channel_name}
    [pressed] = body["actions"]
    assert differences(BOLT_BUTTON_ACTION, {k: v for k, v in pressed.items() if k != "style"}) == []
    assert (pressed["text"]["text"], pressed["style"], pressed["block_id"]) == (
        "Publish",
        "primary",
        f"statuspage_{pressed['value']}",
    )


async def test_publish_in_bolts_ephemeral_fixture_shape_publishes_once(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    incident = await declare(slack, fake_slack, bot)
    preview = await statuspage(slack, fake_slack, bot, incident, "Checkouts fail.")
    body = bolt_fixture_shape(block_actions_on_ephemeral(fake_slack, preview, "Publish"))

    await press(slack, bot, body)
    await press(slack, bot, body, retry=1)
    await bot.tasks.drain()

    [post] = await status_posts(bot)
    assert (post.state, post.published_by) == ("published", "UREPORTER")
    answers = [r for r in fake_slack.responses if r["text"].startswith(":white_check_mark:")]
    assert len(answers) == 1 and replaced(preview, answers[0]) is not None
    assert len([e for e in await entries(bot, incident) if e.data.get("statuspage")]) == 1


async def test_cancel_in_bolts_ephemeral_fixture_shape_cancels(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    incident = await declare(slack, fake_slack, bot)
    preview = await statuspage(slack, fake_slack, bot, incident, "Checkouts fail.")

    await press(
        slack, bot, bolt_fixture_shape(block_actions_on_ephemeral(fake_slack, preview, "Cancel"))
    )
    await bot.tasks.drain()

    [post] = await status_posts(bot)
    assert post.state == "cancelled"
    after = replaced(preview, fake_slack.responses[-1])
    assert after is not None and after.text.startswith(":x: Cancelled")


# ------------------------------------------------------------------------- Block Kit, at the limits


async def test_every_message_of_the_flow_is_one_slack_shows_even_at_the_limits(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    incident = await declare(slack, fake_slack, bot)
    longest = ("Logins & payments <EU> fail :boom: *now* " * 60)[: MESSAGE_MAX - 1] + "."
    assert len(longest) == MESSAGE_MAX
    preview = await statuspage(
        slack, fake_slack, bot, incident, f"[all major monitoring] {longest}"
    )
    [draft] = await status_posts(bot)
    assert draft.message == longest

    [actions] = [b for b in preview.blocks if b["type"] == "actions"]
    publish, cancel = actions["elements"]
    assert (publish["style"], "style" in cancel) == ("primary", False)
    assert {k: v["type"] for k, v in publish["confirm"].items()} == dict.fromkeys(
        ("title", "text", "confirm", "deny"), "plain_text"
    )
    assert len(preview.text) <= 3000

    await click(slack, fake_slack, bot, preview, "Publish")  # its answer: checked by `replaced`
    [notice] = [m for m in posts_to(fake_slack, incident.channel_id) if ":mega:" in m["text"]]
    assert {"type": "plain_text", "text": longest, "emoji": False} in [
        b.get("text") for b in notice["blocks"]
    ]

    answer = await command(slack, bot, f"statuspage {longest}x", channel=incident.channel_id)
    assert f"keep it to {MESSAGE_MAX}" in answer and len(await status_posts(bot)) == 1


def test_an_answer_slack_would_refuse_is_not_shown(fake_slack: FakeSlack) -> None:
    button = {
        "type": "button",
        "action_id": "a",
        "text": {"type": "plain_text", "text": "Publish"},
        "confirm": {
            "title": {"type": "mrkdwn", "text": "Publish?"},
            "text": {"type": "plain_text", "text": "Sure?"},
            "confirm": {"type": "plain_text", "text": "Yes"},
            "deny": {"type": "plain_text", "text": "No"},
        },
    }
    answer = {
        "response_type": "ephemeral",
        "text": "x",
        "blocks": [{"type": "actions", "elements": [button]}],
    }
    with pytest.raises(NotShown, match="confirm/title/type"):
        shown(fake_slack, answer, channel_id="CGENERAL", user_id="UREPORTER")
    good = {
        "response_type": "ephemeral",
        "text": "x",
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "x"}}],
    }
    message = shown(fake_slack, good, channel_id="CGENERAL", user_id="UREPORTER")
    assert message.blocks[0]["block_id"]  # Slack names a block the bot left unnamed
    with pytest.raises(NotShown, match="invalid_blocks"):
        replaced(message, {**answer, "replace_original": True})
    assert replaced(message, {"delete_original": True}) is None


# ------------------------------------------------------------------------ Slack's escapes read back


async def test_logins_and_payments_fail_reads_exactly_that_in_slack_and_on_the_page(
    server: str, slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    incident = await declare(slack, fake_slack, bot)
    typed = "Logins & payments fail (p95 > 5s, <EU> only)"
    sent = build.slash_command(
        fake_slack, f"statuspage {typed}", user_id="UREPORTER", channel_id=str(incident.channel_id)
    )
    assert sent["text"] == "statuspage Logins &amp; payments fail (p95 &gt; 5s, &lt;EU&gt; only)"

    preview = await statuspage(slack, fake_slack, bot, incident, typed)
    assert {"type": "plain_text", "text": typed, "emoji": False} in [
        b.get("text") for b in preview.blocks
    ]
    # The notification text is mrkdwn: Slack's own escapes, which it shows as the characters.
    assert preview.text.endswith("Logins &amp; payments fail (p95 &gt; 5s, &lt;EU&gt; only)")
    await click(slack, fake_slack, bot, preview, "Publish")

    [entry] = [e for e in await entries(bot, incident) if e.data.get("statuspage")]
    assert entry.text.endswith(f": {typed}")
    data = (await page(server, "/status.json")).json()
    assert data["incidents"][0]["updates"][0]["message"] == typed
    html = (await page(server, "/status")).text
    assert "Logins &amp; payments fail (p95 &gt; 5s, &lt;EU&gt; only)" in html  # reads as typed
    assert "&amp;amp;" not in html and "&amp;gt;" not in html

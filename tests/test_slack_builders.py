"""The suite's request builders produce what Slack publishes, key by key.

Each body a test sends the bot comes from `app.sandbox.builders`; here every builder's output,
made from what the bot really posted or opened, is compared with Slack's published example in
`../shared/slack-payloads/` (see its README): the same keys at every level, values of the same
JSON type, `${NAME}` placeholders standing for any value of the type their name says. A builder
that drifted from Slack (a button's `text` as a string, a missing `container`) fails here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from app.context import BotContext
from app.sandbox import builders as build
from app.sandbox.fakeslack import FakeSlack
from app.sandbox.sender import SlackSender
from tests import slack_events as ev
from tests.conftest import ROOT
from tests.running import declare, summary
from tests.test_declare import open_modal

PAYLOADS = ROOT.parent / "shared" / "slack-payloads"
# Placeholders whose value is an object or a number, not a string.
OBJECT_PLACEHOLDERS = {"${MESSAGE}", "${VIEW}", "${STATE_VALUES}", "${ACTION}"}
NUMBER_PLACEHOLDERS = {"${EVENT_TIME}"}


def reference(name: str) -> dict[str, Any]:
    path = PAYLOADS / f"{name}.json"
    if not PAYLOADS.is_dir():
        pytest.skip(
            f"Slack's published payloads are absent ({PAYLOADS} does not exist): this check "
            "needs the ../shared folder beside the clone, which CI always has"
        )
    return json.loads(path.read_text())


def differences(expected: Any, actual: Any, where: str = "body") -> list[str]:
    """Where `actual` departs from Slack's example `expected` (empty when it matches)."""
    if isinstance(expected, str) and expected.startswith("${"):
        if expected in OBJECT_PLACEHOLDERS:
            return [] if isinstance(actual, dict) else [f"{where}: object expected"]
        if expected in NUMBER_PLACEHOLDERS:
            return [] if isinstance(actual, int) else [f"{where}: number expected"]
        return [] if isinstance(actual, str) and actual else [f"{where}: string expected"]
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{where}: object expected, got {type(actual).__name__}"]
        problems = [f"{where}.{k}: missing" for k in expected if k not in actual]
        problems += [f"{where}.{k}: not in Slack's example" for k in actual if k not in expected]
        for key in expected.keys() & actual.keys():
            problems += differences(expected[key], actual[key], f"{where}.{key}")
        return problems
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return [f"{where}: list expected"]
        if not expected:
            return [] if actual == [] else [f"{where}: empty list expected"]
        return [
            p
            for n, item in enumerate(actual)
            for p in differences(expected[0], item, f"{where}[{n}]")
        ]
    if expected is None:
        return [] if actual is None else [f"{where}: null expected"]
    if isinstance(expected, bool) or isinstance(actual, bool):
        ok = isinstance(expected, bool) and isinstance(actual, bool)
        return [] if ok else [f"{where}: boolean expected"]
    if type(expected) is not type(actual):
        return [f"{where}: {type(expected).__name__} expected, got {type(actual).__name__}"]
    return []


def assert_like_slack(name: str, built: dict[str, Any]) -> None:
    ref = reference(name)
    assert differences(ref["body"], built) == [], ref["source"]


# ------------------------------------------------------------------------------ the tests


def test_the_comparison_catches_a_button_text_given_as_a_string() -> None:
    """The drift that hid every refused click: `text` a string where Slack sends an object."""
    expected = {"actions": [{"text": {"type": "plain_text", "text": "${X}"}}]}
    assert differences(expected, {"actions": [{"text": "Acknowledge"}]}) == [
        "body.actions[0].text: object expected, got str"
    ]
    assert differences({"a": None, "b": 1}, {"a": None}) == ["body.b: missing"]


async def test_a_click_on_the_pinned_summary_is_built_as_slack_publishes_it(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    incident = await declare(slack, fake_slack, bot)
    body = build.block_actions_on_message(
        fake_slack, summary(fake_slack, incident), "Change status", user_id="UOTHER"
    )
    assert_like_slack("block_actions_message", body)
    [clicked] = body["actions"]
    assert clicked["text"] == {"type": "plain_text", "text": "Change status", "emoji": True}
    assert clicked["value"] == str(incident.id) and clicked["block_id"] == "incident_actions"
    assert body["message"]["blocks"] == summary(fake_slack, incident)["blocks"]


async def test_a_change_in_an_open_modal_is_built_as_slack_publishes_it(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    view = await open_modal(slack, fake_slack, bot, "declare Checkout down")
    body = build.block_actions_in_view(
        fake_slack,
        view,
        "value",
        block_id="impacts_P0",
        user_id="UREPORTER",
        answers={"impacts_P0": ["outage"]},
    )
    assert_like_slack("block_actions_view", body)
    [changed] = body["actions"]
    assert changed["type"] == "checkboxes" and changed["selected_options"][0]["value"] == "outage"
    assert changed["selected_options"][0]["text"]["type"] == "plain_text"
    values = body["view"]["state"]["values"]
    assert values["title"]["value"] == {"type": "plain_text_input", "value": "Checkout down"}
    assert values["severity"]["value"] == {"type": "static_select", "selected_option": None}


async def test_a_submission_and_a_dismissal_are_built_as_slack_publishes_them(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    view = await open_modal(slack, fake_slack, bot)
    body = build.view_submission(
        fake_slack, view, {"title": "DB down", "severity": "P1"}, user_id="UREPORTER"
    )
    assert_like_slack("view_submission", body)
    values = body["view"]["state"]["values"]
    assert values["severity"]["value"]["selected_option"]["value"] == "P1"
    assert values["description"]["value"] == {"type": "plain_text_input", "value": None}
    assert_like_slack("view_closed", build.view_closed(fake_slack, view, user_id="UREPORTER"))


async def test_an_answer_the_modal_does_not_offer_cannot_be_sent(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    view = await open_modal(slack, fake_slack, bot)
    with pytest.raises(build.NotOffered, match="offers no option 'P9'"):
        build.view_submission(fake_slack, view, {"severity": "P9"}, user_id="UREPORTER")
    with pytest.raises(build.NotOffered, match="no input blocks"):
        build.view_submission(fake_slack, view, {"nonsense": "x"}, user_id="UREPORTER")


def test_a_slash_command_is_built_as_slack_publishes_it(fake_slack: FakeSlack) -> None:
    fields = build.slash_command(
        fake_slack, "lead @ulead", user_id="UREPORTER", channel_id="CGENERAL"
    )
    assert_like_slack("slash_command", fields)
    assert fields["text"] == "lead <@ULEAD|ulead>"


def test_command_text_is_escaped_as_slack_escapes_it(fake_slack: FakeSlack) -> None:
    group = fake_slack.add_usergroup("sre", ["UONCALL"])
    channel = fake_slack.add_channel("ops")
    text = build.escape_text(fake_slack, "note p95 > 5s & @uother, @sre in #ops <@ULEAD|lead>")
    assert text == (
        f"note p95 &gt; 5s &amp; <@UOTHER|uother>, <!subteam^{group}|@sre> in <#{channel}|ops> "
        "<@ULEAD|lead>"
    )
    assert build.escape_text(fake_slack, "mail ana@example.com about @nobody") == (
        "mail ana@example.com about @nobody"
    )


def test_events_are_built_as_slack_publishes_them(fake_slack: FakeSlack) -> None:
    channel = fake_slack.add_channel("incident-20261201-db", members=["UOTHER"])
    ts = fake_slack.add_message(channel, "p95 is 4s", user="UOTHER")
    assert_like_slack(
        "event_reaction_added", build.event_callback(ev.added(fake_slack, channel, ts))
    )
    assert_like_slack(
        "event_reaction_removed", build.event_callback(ev.removed(fake_slack, channel, ts))
    )
    assert_like_slack(
        "event_message", build.event_callback(build.message_event(fake_slack, channel, ts))
    )
    change = fake_slack.edit_message(channel, ts, "p95 is 5s", user="UOTHER")
    assert_like_slack(
        "event_message_changed",
        build.event_callback(ev.message_changed(fake_slack, channel, change)),
    )
    previous = fake_slack.delete_message(channel, ts)
    assert_like_slack(
        "event_message_deleted",
        build.event_callback(ev.message_deleted(fake_slack, channel, previous)),
    )


def test_every_published_payload_has_a_builder_checked_here() -> None:
    """A payload added to ../shared/slack-payloads must be checked by a builder or by the
    request tests (tests/test_slack_shapes.py sends the ones the bot answers by itself)."""
    reference("slash_command")  # skips without the folder
    checked_here = {
        "block_actions_message",
        "block_actions_view",
        "view_submission",
        "view_closed",
        "slash_command",
        "event_reaction_added",
        "event_reaction_removed",
        "event_message",
        "event_message_changed",
        "event_message_deleted",
    }
    sent_as_published = {"app_rate_limited", "ssl_check", "url_verification"}
    published = {p.stem for p in Path(PAYLOADS).glob("*.json")}
    assert published == checked_here | sent_as_published

"""Every request shape, fuzzed: never a 500, never a change from an unsigned request."""

from __future__ import annotations

import json
import os
from typing import Any
from urllib.parse import urlencode

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from app.context import BotContext
from app.sandbox import builders as build
from app.sandbox.fakeslack import FakeSlack
from app.sandbox.sender import SlackSender
from app.store.models import Incident
from tests.test_declare import not_startup

FORM = "application/x-www-form-urlencoded"


def HEADER_TEXT(size: int) -> st.SearchStrategy[str]:  # noqa: N802 - reads like a constant
    """What an HTTP header value can carry: printable ASCII, no surrounding spaces."""
    chars = st.characters(min_codepoint=32, max_codepoint=126)
    return st.text(chars, max_size=size).map(str.strip)


SETTINGS = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
words = st.sampled_from(
    [
        "declare",
        "help",
        "retry-setup",
        "INC-20261128-001",
        "",
        "nope",
        "DECLARE",
        "status",
        "ack",
        "note",
        "timeline",
        "resolve",
        "severity",
    ]
)
command_text = st.one_of(
    st.lists(words, max_size=4).map(" ".join),
    st.text(max_size=300),
    st.text(min_size=4000, max_size=4100),
)
known_types = st.sampled_from(
    [
        "view_submission",
        "block_actions",
        "view_closed",
        "shortcut",
        "message_action",
        "block_suggestion",
        "unknown",
    ]
)
callback_ids = st.sampled_from(["declare_incident", "resolve_incident", "", "nope"])


def interaction_payloads() -> st.SearchStrategy[dict[str, Any]]:
    view = st.fixed_dictionaries(
        {"id": st.text(max_size=12), "callback_id": callback_ids},
        optional={
            "state": st.fixed_dictionaries({"values": json_values}),
            "private_metadata": st.text(max_size=40),
            "hash": st.text(max_size=8),
        },
    )
    action = st.fixed_dictionaries(
        {
            "action_id": st.sampled_from(["value", "escalation_ack", "x"]),
            "block_id": st.sampled_from(["impacts_P0", "impacts_P9", "severity", ""]),
        },
        optional={"value": st.text(max_size=20), "selected_options": json_values},
    )
    return st.fixed_dictionaries(
        {"type": known_types},
        optional={
            "user": st.one_of(st.fixed_dictionaries({"id": st.text(max_size=12)}), json_values),
            "view": st.one_of(view, json_values),
            "actions": st.one_of(st.lists(action, max_size=3), json_values),
            "callback_id": callback_ids,
            "trigger_id": st.text(max_size=20),
            "channel": json_values,
        },
    )


def events() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {
            "type": st.sampled_from(
                ["reaction_added", "reaction_removed", "message", "app_mention", "unknown_event"]
            )
        },
        optional={
            "user": st.text(max_size=12),
            "reaction": st.sampled_from(["pushpin", "eyes", ""]),
            "item": st.one_of(
                st.fixed_dictionaries(
                    {
                        "type": st.just("message"),
                        "channel": st.text(max_size=12),
                        "ts": st.text(max_size=20),
                    }
                ),
                json_values,
            ),
            "subtype": st.sampled_from(["message_changed", "message_deleted", "bot_message"]),
            "channel": st.text(max_size=12),
            "ts": st.text(max_size=20),
            "message": json_values,
        },
    )


async def incident_count(bot: BotContext) -> int:
    async with bot.sessions() as session:
        return int((await session.execute(select(func.count()).select_from(Incident))).scalar())


@SETTINGS
@given(
    text=command_text,
    extra=st.dictionaries(
        st.sampled_from(["user_id", "channel_id", "trigger_id", "response_url", "team_id"]),
        st.text(max_size=30),
        max_size=3,
    ),
)
async def test_fuzzed_signed_commands_never_fail_with_500(
    slack: SlackSender, text: str, extra: dict[str, str]
) -> None:
    extra.pop("response_url", None)  # the answer must not be sent somewhere unreachable
    fields = build.slash_command(slack.fake, "", user_id="UREPORTER", channel_id="CGENERAL")
    fields.update(text=text, **extra)  # Slack's own fields, then the fuzzed ones over them
    response = await slack.post(urlencode(fields), FORM)
    assert response.status_code == 200
    assert "Traceback" not in response.text


@SETTINGS
@given(payload=interaction_payloads())
async def test_fuzzed_signed_interactions_never_fail_with_500(
    slack: SlackSender, bot: BotContext, payload: dict[str, Any]
) -> None:
    response = await slack.interaction(payload)
    await bot.tasks.drain()
    assert response.status_code < 500
    assert "Traceback" not in response.text


@SETTINGS
@given(event=events(), retry=st.one_of(st.none(), st.integers(1, 3)))
async def test_fuzzed_signed_events_never_fail_with_500(
    slack: SlackSender, bot: BotContext, event: dict[str, Any], retry: int | None
) -> None:
    response = await slack.event(event, retry_num=retry)
    await bot.tasks.drain()
    assert response.status_code < 500


@SETTINGS
@given(
    body=st.one_of(
        st.binary(max_size=500).map(lambda b: b.decode("latin-1")),
        st.builds(
            lambda t: urlencode(
                {"command": "/incident", "text": t, "user_id": "UREPORTER", "trigger_id": "t"}
            ),
            command_text,
        ),
        interaction_payloads().map(lambda p: urlencode({"payload": json.dumps(p)})),
    ),
    signature=st.one_of(st.none(), HEADER_TEXT(70), st.just("v0=" + "a" * 64)),
    timestamp=st.one_of(st.none(), HEADER_TEXT(12), st.integers(0, 2**40).map(str)),
)
async def test_unsigned_or_forged_requests_change_nothing(
    slack: SlackSender,
    fake_slack: FakeSlack,
    bot: BotContext,
    body: str,
    signature: str | None,
    timestamp: str | None,
) -> None:
    headers = {"content-type": FORM}
    if signature is not None:
        headers["x-slack-signature"] = signature
    if timestamp is not None:
        headers["x-slack-request-timestamp"] = timestamp
    calls_before = len(fake_slack.calls)
    response = await slack.http.post(
        slack.url, content=body.encode("utf-8", "surrogatepass"), headers=headers
    )
    await bot.tasks.drain()
    assert response.status_code == 401
    assert len(fake_slack.calls) == calls_before
    assert await incident_count(bot) == 0


async def test_signed_but_malformed_payload_gets_400_with_the_reason(
    slack: SlackSender, fake_slack: FakeSlack
) -> None:
    response = await slack.interaction({"type": "view_submission", "view": None})
    assert response.status_code == 400
    assert "payload.view is not an object" in response.text
    bad_json = await slack.post("payload=%7Bnot-json", FORM)
    assert bad_json.status_code == 400 and "not valid JSON" in bad_json.text
    assert not_startup(fake_slack.calls) == []


async def test_the_shapes_slack_really_sends_pass_the_shape_check(fake_slack: FakeSlack) -> None:
    """What the builders make (in Slack's shapes, from what the fake holds) is never refused."""
    from app.slack.payloads import check_body

    channel = fake_slack.add_channel("incident-shapes", members=["UOTHER"])
    ts = fake_slack.add_message(channel, "old", user="UOTHER")
    fake_slack.add_reaction(channel, ts, "pushpin", user="UOTHER")
    reaction = build.reaction_event(fake_slack, channel, ts, "pushpin", user_id="UOTHER")
    change = fake_slack.edit_message(channel, ts, "new", user="UOTHER")
    edited = build.message_changed_event(fake_slack, channel, change)
    button = {"type": "button", "text": {"type": "plain_text", "text": "Acknowledge"}}
    page = fake_slack.state.append_message(
        channel,
        {
            "user": fake_slack.bot_user_id,
            "bot_id": fake_slack.bot_id,
            "text": "Paging L1",
            "blocks": [
                {
                    "type": "actions",
                    "block_id": "page",
                    "elements": [{**button, "action_id": "escalation_ack"}],
                }
            ],
        },
    )
    click = build.block_actions_on_message(fake_slack, page, "Acknowledge", user_id="UOTHER")
    command = build.slash_command(fake_slack, "help", user_id="UOTHER", channel_id=channel)

    for event in (reaction, edited):
        check_body(json.dumps(build.event_callback(event)).encode(), "application/json")
    check_body(urlencode({"payload": json.dumps(click)}).encode(), FORM)
    check_body(urlencode(command).encode(), FORM)

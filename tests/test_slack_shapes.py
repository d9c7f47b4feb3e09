"""Slack's published request bodies, checked and sent over signed HTTP.

Every kind of request Slack may send gets the answer Slack expects: a 200 (the challenge, for
`url_verification`), and the listener's effect when there is one. A signed body of a shape
Slack does not send gets a 400 with the reason, never a 500. The bodies come from
``../shared/slack-payloads/`` (see its README); their ``${NAME}`` placeholders are filled with
this suite's ids.
"""

from __future__ import annotations

import copy
import json
import re
import time
import uuid
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
import pytest_asyncio
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from app.context import BotContext
from app.domain.command_text import (
    ActionItemDraft,
    parse_action_item,
    parse_user_mention,
    plain_text,
)
from app.sandbox.fakeslack import FakeSlack
from app.sandbox.sender import SlackSender
from app.services import setup
from app.services.declare import DeclareRequest, declare
from app.slack.payloads import MAX_DEPTH, MalformedPayload, check_body
from app.store.models import Incident, TimelineEntry
from app.ui import modals
from app.ui.declare import DECLARE_CALLBACK
from app.ui.escalation import ACK_ACTION
from tests import running
from tests.test_declare import open_modal

PAYLOADS = Path(__file__).resolve().parents[2] / "shared" / "slack-payloads"
PUBLISHED = (
    "app_rate_limited",
    "block_actions_message",
    "block_actions_view",
    "event_message",
    "event_message_changed",
    "event_message_deleted",
    "event_reaction_added",
    "event_reaction_removed",
    "slash_command",
    "ssl_check",
    "url_verification",
    "view_closed",
    "view_submission",
)
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
TEAM_ID, APP_ID, BOT_USER_ID = "T0001", "A0001", "UBOT0001"
ELSEWHERE = "C0ELSEWHERE"  # a channel that is not an incident's
TS = "1795905000.000100"


def plain(text: str) -> dict[str, Any]:
    """A `plain_text` object, as Slack sends every button label and option text."""
    return {"type": "plain_text", "text": text, "emoji": True}


def option(value: str, text: str) -> dict[str, Any]:
    return {"text": plain(text), "value": value}


# What Slack reports in view.state.values for each element type; untouched ones hold null.
EVERY_ELEMENT_STATE: dict[str, Any] = {
    "title": {"value": {"type": "plain_text_input", "value": "Checkout fails"}},
    "description": {"value": {"type": "plain_text_input", "value": None}},
    "impacts_P0": {
        "value": {"type": "checkboxes", "selected_options": [option("outage", "Full outage")]}
    },
    "impacts_P1": {"value": {"type": "checkboxes", "selected_options": []}},
    "severity": {"value": {"type": "static_select", "selected_option": option("P1", "P1")}},
    "visibility": {"value": {"type": "static_select", "selected_option": None}},
    "data_loss": {"value": {"type": "radio_buttons", "selected_option": option("no", "No")}},
    "untouched_radio": {"value": {"type": "radio_buttons", "selected_option": None}},
    "owner": {"pick": {"type": "users_select", "selected_user": "UOTHER"}},
    "nobody": {"pick": {"type": "users_select", "selected_user": None}},
    "responders": {"pick": {"type": "multi_users_select", "selected_users": ["UOTHER", "ULEAD"]}},
    "due": {"pick": {"type": "datepicker", "selected_date": "2026-12-05"}},
    "undated": {"pick": {"type": "datepicker", "selected_date": None}},
    "at": {"pick": {"type": "timepicker", "selected_time": "09:30"}},
    "untimed": {"pick": {"type": "timepicker", "selected_time": None}},
    "where": {"pick": {"type": "conversations_select", "selected_conversation": "C0001"}},
    "when": {"pick": {"type": "datetimepicker", "selected_date_time": 1795905000}},
    "count": {"value": {"type": "number_input", "value": "3"}},
    "notes": {
        "value": {
            "type": "rich_text_input",
            "rich_text_value": {
                "type": "rich_text",
                "elements": [
                    {"type": "rich_text_section", "elements": [{"type": "text", "text": "hi"}]}
                ],
            },
        }
    },
}


def button(action_id: str, value: str, label: str, block_id: str = "actions") -> dict[str, Any]:
    """A clicked button as Slack reports it in `actions`: its label is a `plain_text` object."""
    return {
        "type": "button",
        "action_id": action_id,
        "block_id": block_id,
        "text": plain(label),
        "value": value,
        "style": "primary",
        "action_ts": "1795905010.123456",
    }


def bot_message(ts: str, blocks_: list[dict[str, Any]]) -> dict[str, Any]:
    """A message the bot posted, as Slack puts it in a block_actions body."""
    return {
        "user": BOT_USER_ID,
        "type": "message",
        "ts": ts,
        "bot_id": "B0001",
        "app_id": APP_ID,
        "text": "INC-20261128-001 (P1): Checkout fails",
        "team": TEAM_ID,
        "bot_profile": {"id": "B0001", "app_id": APP_ID, "name": "incident-bot", "deleted": False},
        "blocks": blocks_,
        "attachments": [{"id": 1, "fallback": "details", "text": "details", "color": "8b1a1a"}],
        "files": [{"id": "F0001", "name": "graph.png", "mode": "hosted"}],
        "metadata": {"event_type": "incident_summary", "event_payload": {"id": 1}},
    }


def slack_view(view: dict[str, Any], view_id: str, values: dict[str, Any]) -> dict[str, Any]:
    """A view the bot opened, as Slack sends it back: its fields plus Slack's own."""
    return {
        "id": view_id,
        "team_id": TEAM_ID,
        "private_metadata": "",
        "callback_id": "",
        "hash": "1795905000.AbCdEfGh",
        "clear_on_close": False,
        "notify_on_close": False,
        "close": None,
        "submit": None,
        "previous_view_id": None,
        "root_view_id": view_id,
        "app_id": APP_ID,
        "external_id": "",
        "app_installed_team_id": TEAM_ID,
        "bot_id": "B0001",
        **view,
        "state": {"values": values},
    }


def default_ids() -> dict[str, Any]:
    now = time.time()
    return {
        "TEAM_ID": TEAM_ID,
        "TEAM_DOMAIN": "fake",
        "APP_ID": APP_ID,
        "USER_ID": "UREPORTER",
        "USER_NAME": "ureporter",
        "BOT_USER_ID": BOT_USER_ID,
        "CHANNEL_ID": ELSEWHERE,
        "CHANNEL_NAME": "general",
        "TS": TS,
        "MESSAGE_TS": TS,
        "EDIT_TS": "1795905060.000200",
        "EVENT_TS": f"{now:.6f}",
        "EVENT_ID": f"Ev{uuid.uuid4().hex[:10].upper()}",
        "EVENT_TIME": int(now),
        "CLIENT_MSG_ID": str(uuid.uuid4()),
        "TEXT": "Checkout is failing",
        "NEW_TEXT": "Checkout is failing for everyone",
        "OLD_TEXT": "Checkout is failing",
        "ITEM_USER": "UOTHER",
        "REACTION": "pushpin",
        "RESPONSE_URL": f"https://hooks.slack.com/actions/{TEAM_ID}/1/{uuid.uuid4().hex}",
        "TRIGGER_ID": "1795905000.1.0123456789abcdef",
        "VIEW_ID": "V0001",
        "MESSAGE": bot_message(TS, [{"type": "section", "text": {"type": "mrkdwn", "text": "x"}}]),
        "STATE_VALUES": {},
        "ACTION": button("incident_unknown_button", "1", "Old button"),
        "VIEW": slack_view(
            {"type": "modal", "callback_id": "declare_incident", "title": plain("Declare")},
            "V0001",
            EVERY_ELEMENT_STATE,
        ),
    }


_PLACEHOLDER = re.compile(r"\$\{([A-Z_]+)\}")


def fill(value: Any, ids: dict[str, Any]) -> Any:
    """`"${NAME}"` alone becomes the value itself (an object, a number); inside a longer string
    it is replaced by the value's text."""
    if isinstance(value, dict):
        return {key: fill(item, ids) for key, item in value.items()}
    if isinstance(value, list):
        return [fill(item, ids) for item in value]
    if isinstance(value, str):
        whole = _PLACEHOLDER.fullmatch(value)
        if whole:
            return copy.deepcopy(ids[whole.group(1)])
        return _PLACEHOLDER.sub(lambda m: str(ids[m.group(1)]), value)
    return value


def published(name: str, **ids: Any) -> tuple[dict[str, Any], str]:
    """Slack's published body `name`, filled in, and the content type Slack sends it with."""
    path = PAYLOADS / f"{name}.json"
    if not path.is_file():
        pytest.skip(
            f"Slack reference data is absent: {path} not found (the published Slack request "
            "bodies are expected in ../shared/slack-payloads/ beside the project)"
        )
    wrapper = json.loads(path.read_text())
    return fill(wrapper["body"], {**default_ids(), **ids}), wrapper["content_type"]


def encode(body: dict[str, Any], content_type: str) -> tuple[str, str]:
    """The HTTP body and Content-Type Slack sends: interactions as a form's `payload` field."""
    if "payload=" in content_type:
        return urlencode({"payload": json.dumps(body)}), FORM
    if content_type.startswith(JSON):
        return json.dumps(body), JSON
    return urlencode(body), content_type


async def send(slack: SlackSender, body: dict[str, Any], content_type: str) -> httpx.Response:
    raw, sent_as = encode(body, content_type)
    return await slack.post(raw, sent_as)


# ------------------------------------------------------------------------------ the shape check


@pytest.mark.parametrize("name", PUBLISHED)
def test_every_published_slack_body_passes_the_shape_check(name: str) -> None:
    body, content_type = published(name)
    raw, sent_as = encode(body, content_type)
    assert check_body(raw.encode(), sent_as) == json.loads(json.dumps(body))


@pytest.mark.parametrize(
    "container",
    [
        {"type": "message", "message_ts": TS, "channel_id": "C0001", "is_ephemeral": False},
        {"type": "view", "view_id": "V0001"},
        {
            "type": "message_attachment",
            "message_ts": TS,
            "attachment_id": 1,
            "channel_id": "C0001",
            "is_ephemeral": False,
            "is_app_unfurl": False,
        },
    ],
    ids=lambda c: c["type"],
)
def test_a_click_passes_the_shape_check_from_every_kind_of_container(
    container: dict[str, Any],
) -> None:
    body, content_type = published("block_actions_message")
    body["container"] = container
    raw, sent_as = encode(body, content_type)
    check_body(raw.encode(), sent_as)


def test_view_state_of_every_element_type_and_untouched_nulls_pass_the_shape_check() -> None:
    body, content_type = published("view_submission")
    assert body["view"]["state"]["values"] == EVERY_ELEMENT_STATE
    raw, sent_as = encode(body, content_type)
    checked = check_body(raw.encode(), sent_as)
    assert checked["view"]["state"]["values"]["nobody"]["pick"]["selected_user"] is None


Mutation = Callable[[dict[str, Any]], None]


def _set(path: str, value: Any) -> Mutation:
    def mutate(body: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = body
        for key in parents:
            target = target[int(key)] if isinstance(target, list) else target[key]
        target[last] = value

    return mutate


def _delete(path: str) -> Mutation:
    def mutate(body: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = body
        for key in parents:
            target = target[int(key)] if isinstance(target, list) else target[key]
        del target[last]

    return mutate


MALFORMED = [
    ("block_actions_message", _set("actions", []), "block_actions without actions"),
    ("block_actions_message", _delete("actions"), "block_actions without actions"),
    (
        "block_actions_message",
        _delete("actions.0.action_id"),
        "payload.actions[0].action_id is missing",
    ),
    (
        "block_actions_message",
        _set("actions.0.block_id", 5),
        "payload.actions[0].block_id is not a string",
    ),
    ("block_actions_message", _delete("user.id"), "block_actions without a user id"),
    ("block_actions_message", _set("channel", "C0001"), "payload.channel is not an object"),
    ("block_actions_message", _set("message", []), "payload.message is not an object"),
    (
        "block_actions_view",
        _set("view.state.values", []),
        "payload.view.state.values is not an object",
    ),
    ("view_submission", _set("view", None), "payload.view is not an object"),
    ("view_submission", _delete("view.callback_id"), "payload.view.callback_id is missing"),
    (
        "view_submission",
        _set("view.state.values.impacts_P0.value.selected_options", ["outage"]),
        "payload.view.state.values.impacts_P0.value.selected_options[0] is not an object",
    ),
    (
        "view_submission",
        _set("view.state.values.title.value.value", ["Checkout"]),
        "payload.view.state.values.title.value.value is not a string",
    ),
    (
        "view_submission",
        _set("view.private_metadata", {"incident_id": 1}),
        "payload.view.private_metadata is not a string",
    ),
    ("view_submission", _set("user", "UREPORTER"), "view_submission without a user id"),
    ("view_submission", _set("response_urls", "x"), "payload.response_urls is not a list"),
    ("view_closed", _delete("view.callback_id"), "payload.view.callback_id is missing"),
    ("event_message", _set("event", "message"), "body.event is not an object"),
    ("event_message", _delete("event.type"), "body.event.type is missing"),
    ("event_message", _delete("event"), "event_callback without an event"),
    ("event_message", _set("authorizations", "x"), "body.authorizations is not a list"),
    ("event_message", _set("team", ["T0001"]), "body.team is neither an id nor an object"),
    ("event_reaction_added", _set("event.item", "1.2"), "body.event.item is not an object"),
    (
        "event_message_changed",
        _set("event.message.files", "graph.png"),
        "body.event.message.files is not a list",
    ),
    ("url_verification", _delete("type"), "body has no type"),
    ("slash_command", _set("event", "x"), "body.event is not an object"),
]


@pytest.mark.parametrize(
    ("name", "mutate", "reason"), MALFORMED, ids=[f"{n}: {r}" for n, _, r in MALFORMED]
)
def test_a_body_slack_would_not_send_is_refused_with_the_path_and_the_reason(
    name: str, mutate: Mutation, reason: str
) -> None:
    body, content_type = published(name)
    mutate(body)
    raw, sent_as = encode(body, content_type)
    with pytest.raises(MalformedPayload, match=re.escape(reason)):
        check_body(raw.encode(), sent_as)


@pytest.mark.parametrize(
    ("raw", "content_type", "reason"),
    [
        (b"\xff\xfe", JSON, "body is not UTF-8"),
        (b"{not json", JSON, "body is not valid JSON"),
        (b"[1, 2]", JSON, "body is not an object"),
        (b"payload=%7Bnot-json", FORM, "payload is not valid JSON"),
        (b"payload=%5B%5D", FORM, "payload is not an object"),
        (b"token=x&team_id=T0001", FORM, "neither a slash command nor an interaction"),
    ],
)
def test_a_body_that_cannot_be_read_is_refused_with_the_reason(
    raw: bytes, content_type: str, reason: str
) -> None:
    with pytest.raises(MalformedPayload, match=re.escape(reason)):
        check_body(raw, content_type)


def nested(levels: int) -> str:
    """A url_verification body whose JSON is `levels` deep (the body itself is level 1)."""
    inner = "[" * (levels - 1) + "]" * (levels - 1)
    return '{"type": "url_verification", "challenge": ' + inner + "}"


def test_json_nested_up_to_the_limit_passes_and_deeper_is_refused() -> None:
    check_body(nested(MAX_DEPTH).encode(), JSON)
    for levels in (MAX_DEPTH + 1, 10_000):  # 10,000 overflows Python's json: RecursionError
        with pytest.raises(MalformedPayload, match=f"nested deeper than {MAX_DEPTH} levels"):
            check_body(nested(levels).encode(), JSON)


# ------------------------------------------------------------------------------ command text


@pytest.mark.parametrize("mention", ["<@UOTHER|other>", "<@UOTHER>", " <@UOTHER|Other Person> "])
def test_a_person_is_read_from_both_of_slacks_mention_forms(mention: str) -> None:
    assert parse_user_mention(mention) == "UOTHER"


@pytest.mark.parametrize(
    "text", ["<#C0001|ops>", "<#C0001>", "<!subteam^S0001|@sre>", "<!subteam^S0001>", "@other"]
)
def test_a_channel_a_user_group_or_unresolved_text_is_not_taken_for_a_person(text: str) -> None:
    assert parse_user_mention(text) is None


@pytest.mark.parametrize("mention", ["<@UOTHER|other>", "<@UOTHER>"])
def test_an_action_item_owner_is_read_from_both_mention_forms(mention: str) -> None:
    draft = parse_action_item(
        f"Alert on webhook failures {mention} due 2026-12-05", date(2026, 1, 1)
    )
    assert draft == ActionItemDraft("Alert on webhook failures", "UOTHER", date(2026, 12, 5))


@pytest.mark.parametrize(
    "escaped", ["<#C0001|ops>", "<#C0001>", "<!subteam^S0001|@sre>", "<!subteam^S0001>"]
)
def test_a_channel_or_user_group_in_an_action_item_stays_in_its_text_without_an_owner(
    escaped: str,
) -> None:
    draft = parse_action_item(f"Page {escaped} on webhook failures", date(2026, 1, 1))
    # Kept as the person typed it (#ops, @sre), not as a link or a group mention.
    assert draft == ActionItemDraft(f"Page {plain_text(escaped)} on webhook failures")


def test_escaped_command_text_reads_as_typed_in_a_prefilled_form_field() -> None:
    escaped = (
        "<@UOTHER|other> <@ULEAD> <#C0001|ops> <#C0002> <!subteam^S0001|@sre> <!subteam^S0002> "
        "<!here> <https://status.example.com|status page> p95 &gt; 2s &amp; rising"
    )
    assert plain_text(escaped) == (
        "@other @ULEAD #ops #C0002 @sre @S0002 @here status page p95 > 2s & rising"
    )


# ------------------------------------------------------------------------------ over HTTP


async def metric(server: str, name: str) -> float:
    async with httpx.AsyncClient(timeout=10) as http:
        answer = await http.get(server + "/metrics")
    assert answer.status_code == 200
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            if sample.name == name:
                return sample.value
    raise AssertionError(f"{name} is not in /metrics")


def slack_calls(fake: FakeSlack) -> list[str]:
    """Methods the bot called, without the auth.test Bolt makes once to learn who it is."""
    return [c.method for c in fake.calls if c.method != "auth.test"]


async def timeline_count(bot: BotContext) -> int:
    async with bot.sessions() as session:
        stmt = select(func.count()).select_from(TimelineEntry)
        return int((await session.execute(stmt)).scalar_one())


async def incident_count(bot: BotContext) -> int:
    async with bot.sessions() as session:
        stmt = select(func.count()).select_from(Incident)
        return int((await session.execute(stmt)).scalar_one())


@pytest_asyncio.fixture
async def incident(slack: SlackSender, fake_slack: FakeSlack, bot: BotContext) -> Incident:
    """A declared P1 incident whose Slack setup is complete (channel, pinned summary)."""
    declared = await declare(
        bot, DeclareRequest(title="Checkout fails", reporter_id="UREPORTER", severity="P1")
    )
    result = await setup.set_up(bot, declared.id)
    await bot.tasks.drain()
    assert result.ok and result.incident.channel_id and result.incident.summary_ts
    return result.incident


async def reload(bot: BotContext, incident: Incident) -> Incident:
    async with bot.sessions() as session:
        found = await session.get(Incident, incident.id)
    assert found is not None
    return found


async def test_app_rate_limited_is_answered_200_logged_and_counted_in_metrics(
    slack: SlackSender, server: str, fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    before = await metric(server, "incident_bot_slack_app_rate_limited_total")
    body, content_type = published("app_rate_limited")
    response = await send(slack, body, content_type)
    assert response.status_code == 200
    assert await metric(server, "incident_bot_slack_app_rate_limited_total") == before + 1
    assert any(
        r.levelname == "WARNING" and "rate-limited" in r.getMessage() for r in caplog.records
    )
    assert slack_calls(fake_slack) == []


async def test_url_verification_is_answered_with_its_challenge(slack: SlackSender) -> None:
    body, content_type = published("url_verification")
    response = await send(slack, body, content_type)
    assert response.status_code == 200
    assert response.json() == {"challenge": body["challenge"]}


async def test_ssl_check_is_answered_200_with_an_empty_body(
    slack: SlackSender, fake_slack: FakeSlack
) -> None:
    body, content_type = published("ssl_check")
    response = await send(slack, body, content_type)
    assert (response.status_code, response.text) == (200, "")
    assert slack_calls(fake_slack) == []


@pytest.mark.parametrize(
    "callback_id", [DECLARE_CALLBACK, modals.RESOLVE_CALLBACK, "a_modal_of_old"]
)
async def test_view_closed_of_any_modal_is_acknowledged_and_changes_nothing(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, callback_id: str
) -> None:
    view = slack_view(
        {"type": "modal", "callback_id": callback_id, "title": plain("Declare")},
        "V0001",
        EVERY_ELEMENT_STATE,
    )
    body, content_type = published("view_closed", VIEW=view)
    response = await send(slack, body, content_type)
    await bot.tasks.drain()
    assert (response.status_code, response.text) == (200, "")
    assert slack_calls(fake_slack) == [] and await incident_count(bot) == 0


UNUSED_SUBTYPES = {
    "channel_join": {"subtype": "channel_join", "text": "<@UOTHER> has joined the channel"},
    "bot_message": {"subtype": "bot_message", "bot_id": "B0OTHER", "username": "deploys"},
    "thread_broadcast": {"subtype": "thread_broadcast", "thread_ts": "1795904000.000100"},
    "file_share": {
        "subtype": "file_share",
        "files": [{"id": "F0001", "name": "graph.png", "mode": "hosted"}],
        "upload": False,
    },
    "channel_topic": {"subtype": "channel_topic", "topic": "P1: checkout"},
    "me_message": {"subtype": "me_message"},
    "message_replied": {
        "subtype": "message_replied",
        "message": {"type": "message", "user": "UOTHER", "text": "x", "ts": TS, "reply_count": 1},
    },
    "a reply in a thread": {"thread_ts": "1795904000.000100", "parent_user_id": "UOTHER"},
}


@pytest.mark.parametrize("subtype", UNUSED_SUBTYPES)
async def test_a_message_of_a_kind_the_bot_does_not_use_is_acknowledged_and_changes_nothing(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, incident: Incident, subtype: str
) -> None:
    body, content_type = published("event_message", CHANNEL_ID=incident.channel_id)
    body["event"].update(UNUSED_SUBTYPES[subtype])
    entries, calls = await timeline_count(bot), slack_calls(fake_slack)
    response = await send(slack, body, content_type)
    await bot.tasks.drain()
    assert response.status_code == 200
    assert await timeline_count(bot) == entries and slack_calls(fake_slack) == calls


@pytest.mark.parametrize(
    "name",
    [
        "event_message",
        "event_message_changed",
        "event_message_deleted",
        "event_reaction_added",
        "event_reaction_removed",
    ],
)
async def test_an_event_from_a_channel_that_is_not_an_incident_is_acknowledged_and_ignored(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, incident: Incident, name: str
) -> None:
    body, content_type = published(name, CHANNEL_ID=ELSEWHERE)
    entries, calls = await timeline_count(bot), slack_calls(fake_slack)
    response = await send(slack, body, content_type)
    await bot.tasks.drain()
    assert response.status_code == 200
    assert await timeline_count(bot) == entries and slack_calls(fake_slack) == calls


@pytest.mark.parametrize("event_type", ["app_mention", "member_joined_channel", "pin_added"])
async def test_an_event_type_the_manifest_does_not_subscribe_to_is_acknowledged_not_404(
    slack: SlackSender, fake_slack: FakeSlack, event_type: str
) -> None:
    body, content_type = published("event_reaction_added")
    body["event"] = {"type": event_type, "user": "UOTHER", "channel": ELSEWHERE, "ts": TS}
    response = await send(slack, body, content_type)
    assert response.status_code == 200
    assert slack_calls(fake_slack) == []


async def summary_message(bot: BotContext, incident: Incident) -> dict[str, Any]:
    """The pinned summary as Slack stored it (what a block_actions body carries)."""
    history = await bot.slack.conversations_history(
        channel=incident.channel_id, latest=incident.summary_ts, inclusive=True, limit=1
    )
    [message] = history["messages"]
    assert message["ts"] == incident.summary_ts
    return message


async def test_a_click_on_acknowledge_in_the_published_shape_acknowledges_the_incident(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, incident: Incident
) -> None:
    """Built from the pinned summary the bot posted (app/sandbox/builders.py, whose output
    tests/test_slack_builders.py compares with the published block_actions body)."""
    fake_slack.channels[str(incident.channel_id)].members.add("UONCALL")
    pinned = running.summary(fake_slack, incident)
    await running.click(slack, bot, pinned, "Acknowledge", user="UONCALL")
    assert (await reload(bot, incident)).acknowledged_by == "UONCALL"


async def test_a_click_on_a_button_no_listener_knows_is_acknowledged_not_refused(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    body, content_type = published(
        "block_actions_message",
        ACTION=button("incident_button_of_an_older_version", "1", "Escalate"),
        RESPONSE_URL=f"{fake_slack.response_url_base}/{uuid.uuid4().hex}",
    )
    response = await send(slack, body, content_type)
    await bot.tasks.drain()
    assert (response.status_code, response.text) == (200, "")
    assert slack_calls(fake_slack) == [] and fake_slack.responses == []


async def test_an_impact_ticked_in_the_declare_modal_in_the_published_shape_updates_it(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    view = await open_modal(slack, fake_slack, bot, "declare Checkout fails")
    impacts = next(b for b in view["blocks"] if b.get("block_id", "").startswith("impacts_"))
    ticked = impacts["element"]["options"][0]["value"]
    response = await slack.change(view, impacts["block_id"], [ticked])
    await bot.tasks.drain()
    assert response.status_code == 200, response.text
    [update] = fake_slack.calls_to("views.update")
    assert update["view_id"] == view["id"]


async def test_a_submission_in_the_published_shape_changes_the_severity(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, incident: Incident
) -> None:
    await running.click(slack, bot, running.summary(fake_slack, incident), "Change severity")
    form = running.last_view(fake_slack)
    response = await slack.submit(form, {"severity": "P2", "reason": "Only EU cards fail"})
    await bot.tasks.drain()
    assert (response.status_code, response.text) == (200, ""), response.text
    assert (await reload(bot, incident)).severity == "P2"


async def test_a_slash_command_whose_text_says_payload_reaches_the_command(
    slack: SlackSender, fake_slack: FakeSlack
) -> None:
    # Bolt's own parser reads any form body containing "payload" as an empty interaction.
    body, content_type = published(
        "slash_command",
        TEXT="note the payload queue is stuck",
        CHANNEL_ID=ELSEWHERE,
        CHANNEL_NAME="payload-team",
        RESPONSE_URL=f"{fake_slack.response_url_base}/{uuid.uuid4().hex}",
        TRIGGER_ID=fake_slack.new_trigger_id(),
    )
    response = await send(slack, body, content_type)
    assert response.status_code == 200, response.text
    assert "not an incident channel" in response.json()["text"]


async def test_a_subcommand_name_ends_at_a_new_line_as_at_a_space(
    slack: SlackSender, fake_slack: FakeSlack
) -> None:
    body, content_type = published(
        "slash_command",
        TEXT="note\nRolled back to v42",
        RESPONSE_URL=f"{fake_slack.response_url_base}/{uuid.uuid4().hex}",
    )
    response = await send(slack, body, content_type)
    assert response.status_code == 200
    assert "not an incident channel" in response.json()["text"]


async def test_a_declare_title_with_mentions_is_prefilled_as_typed(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    body, content_type = published(
        "slash_command",
        TEXT="declare <#C0001|payments> p95 &gt; 2s for <!subteam^S0001|@sre>",
        RESPONSE_URL=f"{fake_slack.response_url_base}/{uuid.uuid4().hex}",
        TRIGGER_ID=fake_slack.new_trigger_id(),
    )
    response = await send(slack, body, content_type)
    await bot.tasks.drain()
    assert response.status_code == 200
    [opened] = fake_slack.calls_to("views.open")
    view = opened["view"] if isinstance(opened["view"], dict) else json.loads(opened["view"])
    title = next(b for b in view["blocks"] if b.get("block_id") == "title")
    assert title["element"]["initial_value"] == "#payments p95 > 2s for @sre"


@pytest.mark.parametrize("where", ["an event", "an interaction"])
async def test_json_nested_ten_thousand_levels_deep_gets_400_not_500(
    slack: SlackSender, fake_slack: FakeSlack, where: str
) -> None:
    deep = "[" * 10_000 + "]" * 10_000
    if where == "an event":
        response = await slack.post('{"type": "event_callback", "event": ' + deep + "}", JSON)
    else:
        payload = '{"type": "block_actions", "actions": ' + deep + "}"
        response = await slack.post(urlencode({"payload": payload}), FORM)
    assert response.status_code == 400
    assert f"nested deeper than {MAX_DEPTH} levels" in response.text
    assert slack_calls(fake_slack) == []


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (_delete("actions"), "block_actions without actions"),
        (_delete("user.id"), "block_actions without a user id"),
    ],
)
async def test_a_click_without_actions_or_a_user_id_gets_400_with_the_reason(
    slack: SlackSender, fake_slack: FakeSlack, mutate: Mutation, reason: str
) -> None:
    body, content_type = published(
        "block_actions_message", ACTION=button(ACK_ACTION, "INC-20261128-001", "Acknowledge")
    )
    mutate(body)
    response = await send(slack, body, content_type)
    assert response.status_code == 400
    assert response.text.startswith("malformed request: ") and reason in response.text
    assert slack_calls(fake_slack) == []

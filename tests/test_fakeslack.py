"""Tests for the fake Slack Web API, driven through slack-sdk's real AsyncWebClient."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest
import pytest_asyncio
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from app.config.policy_loader import load_policy
from app.config.runbooks import load_runbooks
from app.sandbox.fakeslack import DEFAULT_SPEC_DIR, GENERIC_ERRORS, FakeSlack, SlackSpec
from app.sandbox.fakeslack.registry import HANDLERS
from app.services.timeline import Kind
from app.store.models import ActionItem, Incident, TimelineEntry
from app.ui import escalation as eb
from app.ui import messages as bot_messages
from app.ui import modals
from app.ui import timeline as timeline_view
from app.ui.declare import declare_modal
from app.ui.runbooks import runbook_checklist
from app.ui.summary import announcement, summary_message

TOKEN = "xoxb-test"
ALICE, BOB, CAROL = "U0ALICE", "U0BOB", "U0CAROL"
needs_spec = pytest.mark.skipif(
    not (DEFAULT_SPEC_DIR / "methods").is_dir(),
    reason=f"Slack reference not found at {DEFAULT_SPEC_DIR}; strictness checks need it",
)


@pytest_asyncio.fixture(loop_scope="session")
async def fake() -> AsyncIterator[FakeSlack]:
    server = FakeSlack(token=TOKEN)
    server.add_user(ALICE, name="alice", email="alice@example.com", tz="Europe/Paris")
    server.add_user(BOB, name="bob", email="bob@example.com")
    server.add_user(CAROL, name="carol")
    await server.start()
    yield server
    await server.stop()
    assert server.violations == [], "the fake broke its own contract"


@pytest.fixture
def client(fake: FakeSlack) -> AsyncWebClient:
    return AsyncWebClient(token=TOKEN, base_url=fake.base_url)


async def raw_post(
    fake: FakeSlack, method: str, *, auth: bool = True, data: dict[str, str] | None = None
) -> tuple[int, str, str]:
    """POST without slack-sdk, to see exactly what went over the wire: (status, type, body)."""
    headers = {"Authorization": f"Bearer {TOKEN}"} if auth else {}
    async with (
        aiohttp.ClientSession() as session,
        session.post(fake.base_url + method, headers=headers, data=data) as resp,
    ):
        return resp.status, resp.content_type, await resp.text()


async def error_of(call: Awaitable[Any]) -> str:
    """Await a client call expected to fail; return Slack's error code."""
    with pytest.raises(SlackApiError) as info:
        await call
    return str(info.value.response["error"])


# --- transport, auth, spec strictness -------------------------------------------------------------


@needs_spec
def test_spec_is_loaded_from_shared_folder() -> None:
    assert FakeSlack().spec_loaded


async def test_auth_test_reports_bot_identity(client: AsyncWebClient, fake: FakeSlack) -> None:
    resp = await client.auth_test()
    assert resp["user_id"] == fake.bot_user_id == "UBOT0001"
    assert (resp["team_id"], resp["bot_id"]) == ("T0001", "B0001")
    assert resp.headers["content-type"].startswith("application/json")


async def test_missing_token_is_not_authed(fake: FakeSlack) -> None:
    assert await error_of(AsyncWebClient(base_url=fake.base_url).auth_test()) == "not_authed"


async def test_wrong_token_is_invalid_auth(fake: FakeSlack) -> None:
    bad = AsyncWebClient(token="xoxb-wrong", base_url=fake.base_url)
    assert await error_of(bad.auth_test()) == "invalid_auth"


async def test_token_may_be_sent_as_form_arg(fake: FakeSlack) -> None:
    status, _, body = await raw_post(fake, "auth.test", auth=False, data={"token": TOKEN})
    assert status == 200 and json.loads(body)["ok"] is True


async def test_unknown_method_is_http_404(fake: FakeSlack) -> None:
    status, content_type, body = await raw_post(fake, "chat.sendTelegram")
    assert (status, content_type) == (404, "application/json")
    assert json.loads(body) == {"ok": False, "error": "unknown_method"}


async def test_read_methods_accept_get_with_query_args(
    client: AsyncWebClient, fake: FakeSlack
) -> None:
    channel = fake.add_channel("general")
    resp = await client.conversations_info(channel=channel)  # slack-sdk sends this as GET
    assert resp["channel"]["name"] == "general"
    assert fake.calls_to("conversations.info") == [{"channel": channel}]


@needs_spec
async def test_missing_required_arg_uses_the_specific_documented_error(
    client: AsyncWebClient,
) -> None:
    assert await error_of(client.api_call("chat.postMessage", json={"text": "x"})) == (
        "channel_not_found"
    )
    assert await error_of(client.api_call("conversations.create", json={})) == (
        "invalid_name_required"
    )
    assert await error_of(client.api_call("views.open", json={"trigger_id": "1.2.3"})) == (
        "missing_argument"
    )


@needs_spec
async def test_missing_scope_when_not_granted(fake: FakeSlack) -> None:
    fake.granted_scopes = {"chat:write", "users:read"}
    channel = fake.add_channel("incidents")
    client = AsyncWebClient(token=TOKEN, base_url=fake.base_url)
    with pytest.raises(SlackApiError) as info:
        await client.pins_add(channel=channel, timestamp="1.0")
    assert info.value.response.data == {
        "ok": False,
        "error": "missing_scope",
        "needed": "pins:write",
        "provided": "chat:write,users:read",
    }


@needs_spec
async def test_any_one_listed_bot_scope_suffices(fake: FakeSlack) -> None:
    fake.granted_scopes = {"channels:manage"}  # conversations.create lists several
    client = AsyncWebClient(token=TOKEN, base_url=fake.base_url)
    assert (await client.conversations_create(name="inc-1"))["ok"]


@needs_spec
def test_every_error_the_fake_can_return_is_documented() -> None:
    spec = SlackSpec()
    for name, entry in sorted(HANDLERS.items()):
        method = spec.method(name)
        assert method is not None, f"{name} is not in Slack's reference"
        undocumented = entry.errors - method.errors - GENERIC_ERRORS
        assert not undocumented, f"{name} can return undocumented {sorted(undocumented)}"
        for arg in method.required:
            assert spec.allows_error(name, method.missing_arg_error(arg))


async def test_fake_works_without_spec_but_says_so(tmp_path: Path) -> None:
    fake = FakeSlack(token=TOKEN, spec_dir=tmp_path / "nowhere")
    assert fake.spec_loaded is False
    await fake.start()
    try:
        client = AsyncWebClient(token=TOKEN, base_url=fake.base_url)
        channel = (await client.conversations_create(name="no-spec"))["channel"]["id"]
        assert (await client.chat_postMessage(channel=channel, text="hi"))["ok"]
    finally:
        await fake.stop()


# --- conversations --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("Incident-42", "invalid_name_specials"),
        ("inc 42", "invalid_name_specials"),
        ("inc.42", "invalid_name_specials"),
        ("---", "invalid_name_punctuation"),
        ("x" * 81, "invalid_name_maxlength"),
    ],
)
async def test_conversations_create_rejects_bad_names(
    client: AsyncWebClient, name: str, error: str
) -> None:
    assert await error_of(client.conversations_create(name=name)) == error


async def test_conversations_create_rejects_uppercase_names(client: AsyncWebClient) -> None:
    assert await error_of(client.conversations_create(name="INC-1")) == "invalid_name_specials"


async def test_conversations_create_returns_channel_and_bot_joins(
    client: AsyncWebClient, fake: FakeSlack
) -> None:
    resp = await client.conversations_create(name="inc-2024-001_db", is_private=True)
    channel = resp["channel"]
    assert channel["name"] == "inc-2024-001_db" and channel["id"].startswith("C")
    assert channel["is_private"] is True and channel["is_member"] is True
    assert channel["topic"] == {"value": "", "creator": "", "last_set": 0}
    assert fake.bot_user_id in fake.channels[channel["id"]].members
    assert fake.channel_by_name("inc-2024-001_db") is fake.channels[channel["id"]]


async def test_name_taken_when_channel_exists(client: AsyncWebClient, fake: FakeSlack) -> None:
    fake.add_channel("inc-1")
    archived = fake.add_channel("inc-old")
    fake.channels[archived].archived = True
    assert await error_of(client.conversations_create(name="inc-1")) == "name_taken"
    assert await error_of(client.conversations_create(name="inc-old")) == "name_taken"


async def test_conversations_info_hides_private_channels_without_bot(
    client: AsyncWebClient, fake: FakeSlack
) -> None:
    secret = fake.add_channel("secret", is_private=True, bot_member=False)
    assert await error_of(client.conversations_info(channel=secret)) == "channel_not_found"
    assert await error_of(client.conversations_info(channel="C404")) == "channel_not_found"


async def test_invite_adds_users_and_checks_each(client: AsyncWebClient, fake: FakeSlack) -> None:
    channel = fake.add_channel("inc-3", members=[ALICE])
    assert await error_of(client.conversations_invite(channel=channel, users=ALICE)) == (
        "already_in_channel"
    )
    await client.conversations_invite(channel=channel, users=[ALICE, BOB])  # mix: adds Bob
    assert fake.channels[channel].members == {fake.bot_user_id, ALICE, BOB}
    assert await error_of(client.conversations_invite(channel=channel, users="U0NOBODY")) == (
        "user_not_found"
    )
    assert (
        await error_of(client.conversations_invite(channel=channel, users=fake.bot_user_id))
        == "cant_invite_self"
    )


async def test_invite_force_skips_invalid_users(client: AsyncWebClient, fake: FakeSlack) -> None:
    channel = fake.add_channel("inc-4")
    with pytest.raises(SlackApiError) as info:
        await client.conversations_invite(channel=channel, users=[CAROL, "U0NOBODY"])
    assert info.value.response["errors"] == [
        {"user": "U0NOBODY", "ok": False, "error": "user_not_found"}
    ]
    assert CAROL not in fake.channels[channel].members  # nothing happens without force
    await client.conversations_invite(channel=channel, users=[CAROL, "U0NOBODY"], force=True)
    assert CAROL in fake.channels[channel].members


async def test_invite_requires_bot_membership_and_limits_batch(
    client: AsyncWebClient, fake: FakeSlack
) -> None:
    outside = fake.add_channel("watercooler", bot_member=False)
    assert await error_of(client.conversations_invite(channel=outside, users=ALICE)) == (
        "not_in_channel"
    )
    channel = fake.add_channel("inc-5")
    many = [f"U{i:05d}" for i in range(101)]
    for user in many:
        fake.add_user(user)
    assert await error_of(client.conversations_invite(channel=channel, users=many)) == (
        "invalid_arguments"
    )


async def test_join_is_for_public_channels_only(client: AsyncWebClient, fake: FakeSlack) -> None:
    public = fake.add_channel("announcements", bot_member=False)
    assert (await client.conversations_join(channel=public))["channel"]["is_member"] is True
    private = fake.add_channel("private", is_private=True)
    assert await error_of(client.conversations_join(channel=private)) == (
        "method_not_supported_for_channel_type"
    )


async def test_set_topic_enforces_length_and_membership(
    client: AsyncWebClient, fake: FakeSlack
) -> None:
    channel = fake.add_channel("inc-6")
    resp = await client.conversations_setTopic(channel=channel, topic="SEV1: db down")
    assert resp["channel"]["topic"]["value"] == "SEV1: db down"
    assert fake.channels[channel].topic == "SEV1: db down"
    assert await error_of(client.conversations_setTopic(channel=channel, topic="x" * 251)) == (
        "too_long"
    )
    outside = fake.add_channel("elsewhere", bot_member=False)
    assert await error_of(client.conversations_setPurpose(channel=outside, purpose="p")) == (
        "not_in_channel"
    )


async def test_members_lists_channel_members(client: AsyncWebClient, fake: FakeSlack) -> None:
    channel = fake.add_channel("inc-7", members=[ALICE, BOB])
    first = await client.conversations_members(channel=channel, limit=2)
    cursor = first["response_metadata"]["next_cursor"]
    second = await client.conversations_members(channel=channel, limit=2, cursor=cursor)
    assert set(first["members"] + second["members"]) == {fake.bot_user_id, ALICE, BOB}
    assert second["response_metadata"]["next_cursor"] == ""


async def test_history_is_newest_first_without_thread_replies(
    client: AsyncWebClient, fake: FakeSlack
) -> None:
    channel = fake.add_channel("inc-8", members=[ALICE])
    first = fake.add_message(channel, "first", user=ALICE)
    fake.add_message(channel, "reply", user=BOB, thread_ts=first)
    fake.add_message(channel, "second", user=ALICE)
    resp = await client.conversations_history(channel=channel)
    assert [m["text"] for m in resp["messages"]] == ["second", "first"]
    parent = resp["messages"][1]
    assert parent["type"] == "message" and parent["user"] == ALICE
    assert (parent["thread_ts"], parent["reply_count"]) == (first, 1)


async def test_history_latest_inclusive_limit_one_returns_that_message(
    client: AsyncWebClient, fake: FakeSlack
) -> None:
    channel = fake.add_channel("inc-9")
    tss = [fake.add_message(channel, f"m{i}", user=ALICE) for i in range(3)]
    resp = await client.conversations_history(
        channel=channel, latest=tss[1], inclusive=True, limit=1
    )
    assert [m["ts"] for m in resp["messages"]] == [tss[1]]
    resp = await client.conversations_history(channel=channel, latest=tss[1], limit=1)
    assert [m["ts"] for m in resp["messages"]] == [tss[0]]
    resp = await client.conversations_history(channel=channel, oldest=tss[0])
    assert [m["ts"] for m in resp["messages"]] == [tss[2], tss[1]]


async def test_history_paginates_with_cursor(client: AsyncWebClient, fake: FakeSlack) -> None:
    channel = fake.add_channel("inc-10")
    tss = [fake.add_message(channel, f"m{i}", user=ALICE) for i in range(5)]
    seen: list[str] = []
    cursor = None
    while True:
        resp = await client.conversations_history(channel=channel, limit=2, cursor=cursor)
        seen += [m["ts"] for m in resp["messages"]]
        cursor = resp["response_metadata"]["next_cursor"]
        if not resp["has_more"]:
            break
    assert seen == list(reversed(tss))


async def test_history_requires_membership(client: AsyncWebClient, fake: FakeSlack) -> None:
    outside = fake.add_channel("random", bot_member=False)
    assert await error_of(client.conversations_history(channel=outside)) == "not_in_channel"


async def test_replies_returns_thread(client: AsyncWebClient, fake: FakeSlack) -> None:
    channel = fake.add_channel("inc-11", members=[ALICE])
    parent = fake.add_message(channel, "db is down", user=ALICE)
    fake.add_message(channel, "looking", user=BOB, thread_ts=parent)
    fake.add_message(channel, "unrelated", user=ALICE)
    posted = await client.chat_postMessage(channel=channel, thread_ts=parent, text="ack")
    resp = await client.conversations_replies(channel=channel, ts=parent)
    assert [m["text"] for m in resp["messages"]] == ["db is down", "looking", "ack"]
    assert resp["messages"][2]["ts"] == posted["ts"]
    assert await error_of(client.conversations_replies(channel=channel, ts="1.000001")) == (
        "thread_not_found"
    )


async def test_conversations_open_is_idempotent_per_user(
    client: AsyncWebClient, fake: FakeSlack
) -> None:
    first = await client.conversations_open(users=ALICE)
    again = await client.conversations_open(users=[ALICE])
    assert first["channel"]["id"] == again["channel"]["id"]
    assert first["channel"]["id"].startswith("D") and again["already_open"] is True
    assert await error_of(client.conversations_open(users="U0NOBODY")) == "user_not_found"


async def test_archive_marks_channel(client: AsyncWebClient, fake: FakeSlack) -> None:
    channel = fake.add_channel("inc-12")
    await client.conversations_archive(channel=channel)
    assert fake.channels[channel].archived
    assert await error_of(client.conversations_archive(channel=channel)) == "already_archived"
    assert await error_of(client.chat_postMessage(channel=channel, text="x")) == "is_archived"


# --- chat -----------------------------------------------------------------------------------------


async def test_post_message_requires_bot_membership(
    client: AsyncWebClient, fake: FakeSlack
) -> None:
    outside = fake.add_channel("general", bot_member=False)
    assert await error_of(client.chat_postMessage(channel=outside, text="hi")) == ("not_in_channel")
    assert await error_of(client.chat_postMessage(channel="C404", text="hi")) == (
        "channel_not_found"
    )


async def test_post_message_returns_message_and_records_it(
    client: AsyncWebClient, fake: FakeSlack
) -> None:
    channel = fake.add_channel("inc-13")
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*SEV1*"}}]
    resp = await client.chat_postMessage(channel=channel, text="SEV1", blocks=blocks)
    assert resp["channel"] == channel
    assert resp["message"]["ts"] == resp["ts"] and resp["message"]["bot_id"] == fake.bot_id
    assert fake.messages[channel][-1]["blocks"] == blocks
    assert fake.calls_to("chat.postMessage") == [
        {"channel": channel, "text": "SEV1", "blocks": blocks}
    ]


async def test_post_message_ts_are_unique_and_increasing(
    client: AsyncWebClient, fake: FakeSlack
) -> None:
    channel = fake.add_channel("inc-14")
    results = await asyncio.gather(
        *(client.chat_postMessage(channel=channel, text=str(i)) for i in range(10))
    )
    tss = [r["ts"] for r in results]
    assert len(set(tss)) == 10
    assert all(len(ts.split(".")[1]) == 6 for ts in tss)
    stored = [m["ts"] for m in fake.messages[channel]]
    assert stored == sorted(stored, key=float)


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
async def test_post_message_needs_text_or_blocks(client: AsyncWebClient, fake: FakeSlack) -> None:
    channel = fake.add_channel("inc-15")
    assert await error_of(client.chat_postMessage(channel=channel)) == "no_text"


@pytest.mark.parametrize(
    "blocks",
    [[{"text": "no type"}], ["not a dict"], [{"type": "divider"}] * 51],
)
async def test_post_message_rejects_invalid_blocks(
    client: AsyncWebClient, fake: FakeSlack, blocks: list[Any]
) -> None:
    channel = fake.add_channel("inc-16")
    assert await error_of(client.chat_postMessage(channel=channel, text="x", blocks=blocks)) == (
        "invalid_blocks"
    )


async def test_form_encoded_blocks_are_decoded(client: AsyncWebClient, fake: FakeSlack) -> None:
    channel = fake.add_channel("inc-17")
    blocks = [{"type": "divider"}]
    await client.api_call(
        "chat.postMessage", data={"channel": channel, "blocks": json.dumps(blocks)}
    )
    assert fake.messages[channel][0]["blocks"] == blocks
    assert (
        await error_of(
            client.api_call("chat.postMessage", data={"channel": channel, "blocks": "[not json"})
        )
        == "invalid_blocks_format"
    )


async def test_post_message_text_is_truncated_not_rejected(
    client: AsyncWebClient, fake: FakeSlack
) -> None:
    channel = fake.add_channel("inc-18")
    resp = await client.chat_postMessage(channel=channel, text="x" * 40_001)
    assert len(resp["message"]["text"]) == 40_000


async def test_post_message_to_user_id_goes_to_dm(client: AsyncWebClient, fake: FakeSlack) -> None:
    resp = await client.chat_postMessage(channel=ALICE, text="you are on call")
    assert resp["channel"].startswith("D")
    assert fake.messages[resp["channel"]][0]["text"] == "you are on call"


async def test_chat_update_edits_in_place(client: AsyncWebClient, fake: FakeSlack) -> None:
    channel = fake.add_channel("inc-19", members=[ALICE])
    ts = (await client.chat_postMessage(channel=channel, text="SEV2"))["ts"]
    resp = await client.chat_update(channel=channel, ts=ts, text="SEV1")
    assert resp["text"] == "SEV1" and fake.messages[channel][0]["text"] == "SEV1"
    assert "edited" in fake.messages[channel][0]
    human = fake.add_message(channel, "mine", user=ALICE)
    assert await error_of(client.chat_update(channel=channel, ts=human, text="x")) == (
        "cant_update_message"
    )
    assert await error_of(client.chat_update(channel=channel, ts="1.000001", text="x")) == (
        "message_not_found"
    )
    assert await error_of(client.chat_update(channel=channel, ts=ts, text="x" * 4001)) == (
        "msg_too_long"
    )


async def test_chat_delete_removes_message(client: AsyncWebClient, fake: FakeSlack) -> None:
    channel = fake.add_channel("inc-20")
    ts = (await client.chat_postMessage(channel=channel, text="oops"))["ts"]
    await client.chat_delete(channel=channel, ts=ts)
    assert fake.messages[channel] == []


async def test_post_ephemeral_requires_recipient_in_channel(
    client: AsyncWebClient, fake: FakeSlack
) -> None:
    channel = fake.add_channel("inc-21", members=[ALICE])
    resp = await client.chat_postEphemeral(channel=channel, user=ALICE, text="only you")
    assert "message_ts" in resp
    assert fake.ephemerals == [{"channel": channel, "user": ALICE, "text": "only you"}]
    assert await error_of(client.chat_postEphemeral(channel=channel, user=BOB, text="x")) == (
        "user_not_in_channel"
    )


async def test_get_permalink_format(client: AsyncWebClient, fake: FakeSlack) -> None:
    channel = fake.add_channel("inc-22")
    ts = fake.add_message(channel, "hello", user=ALICE)
    resp = await client.chat_getPermalink(channel=channel, message_ts=ts)
    assert resp["permalink"] == f"https://fake.slack.com/archives/{channel}/p{ts.replace('.', '')}"


# --- pins, reactions, bookmarks -------------------------------------------------------------------


async def test_pins_add_list_remove(client: AsyncWebClient, fake: FakeSlack) -> None:
    channel = fake.add_channel("inc-23")
    ts = fake.add_message(channel, "status: investigating", user=ALICE)
    await client.pins_add(channel=channel, timestamp=ts)
    assert fake.pins[channel] == [ts]
    assert await error_of(client.pins_add(channel=channel, timestamp=ts)) == "already_pinned"
    assert await error_of(client.pins_add(channel=channel, timestamp="1.000001")) == (
        "message_not_found"
    )
    items = (await client.pins_list(channel=channel))["items"]
    assert [i["message"]["ts"] for i in items] == [ts]
    await client.pins_remove(channel=channel, timestamp=ts)
    assert fake.pins[channel] == []


async def test_reactions_add_get_remove(client: AsyncWebClient, fake: FakeSlack) -> None:
    channel = fake.add_channel("inc-24")
    ts = fake.add_message(channel, "fixed?", user=ALICE)
    await client.reactions_add(channel=channel, timestamp=ts, name="white_check_mark")
    assert fake.reactions[(channel, ts)] == [("white_check_mark", fake.bot_user_id)]
    assert (
        await error_of(client.reactions_add(channel=channel, timestamp=ts, name="white_check_mark"))
        == "already_reacted"
    )
    assert await error_of(client.reactions_add(channel=channel, timestamp=ts, name="")) == (
        "invalid_name"
    )
    got = await client.reactions_get(channel=channel, timestamp=ts)
    assert got["message"]["reactions"] == [
        {"name": "white_check_mark", "users": [fake.bot_user_id], "count": 1}
    ]
    await client.reactions_remove(channel=channel, timestamp=ts, name="white_check_mark")
    assert (
        await error_of(
            client.reactions_remove(channel=channel, timestamp=ts, name="white_check_mark")
        )
        == "no_reaction"
    )


async def test_bookmarks_add(client: AsyncWebClient, fake: FakeSlack) -> None:
    channel = fake.add_channel("inc-25")
    resp = await client.bookmarks_add(
        channel_id=channel, title="Runbook", type="link", link="https://runbooks.example.com/db"
    )
    assert resp["bookmark"]["title"] == "Runbook"
    assert fake.bookmarks[channel][0]["link"] == "https://runbooks.example.com/db"


# --- users, usergroups, team ----------------------------------------------------------------------


async def test_users_info_and_lookup_by_email(client: AsyncWebClient) -> None:
    user = (await client.users_info(user=ALICE))["user"]
    assert (user["name"], user["tz"], user["profile"]["email"]) == (
        "alice",
        "Europe/Paris",
        "alice@example.com",
    )
    assert (await client.users_lookupByEmail(email="BOB@example.com"))["user"]["id"] == BOB
    assert await error_of(client.users_info(user="U0NOBODY")) == "user_not_found"
    assert await error_of(client.users_lookupByEmail(email="x@example.com")) == "users_not_found"


async def test_usergroups(client: AsyncWebClient, fake: FakeSlack) -> None:
    group = fake.add_usergroup("oncall-db", [ALICE, BOB])
    assert group.startswith("S")
    assert (await client.usergroups_users_list(usergroup=group))["users"] == [ALICE, BOB]
    listed = (await client.usergroups_list(include_users=True))["usergroups"]
    assert listed[0]["handle"] == "oncall-db" and listed[0]["users"] == [ALICE, BOB]
    assert await error_of(client.usergroups_users_list(usergroup="S404")) == "no_such_subteam"


async def test_team_info(client: AsyncWebClient) -> None:
    assert (await client.team_info())["team"]["id"] == "T0001"


# --- views ----------------------------------------------------------------------------------------


def modal(title: str = "Declare incident", blocks: list[Any] | None = None) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": "declare",
        "title": {"type": "plain_text", "text": title},
        "submit": {"type": "plain_text", "text": "Declare"},
        "blocks": blocks if blocks is not None else [{"type": "divider"}],
    }


async def test_views_open_returns_view_with_id_and_hash(
    client: AsyncWebClient, fake: FakeSlack
) -> None:
    resp = await client.views_open(trigger_id=fake.new_trigger_id(), view=modal())
    view = resp["view"]
    assert view["id"].startswith("V") and view["hash"] and view["callback_id"] == "declare"
    assert fake.views[view["id"]]["title"]["text"] == "Declare incident"


async def test_invalid_and_exchanged_trigger_ids(client: AsyncWebClient, fake: FakeSlack) -> None:
    assert await error_of(client.views_open(trigger_id="123.456.abc", view=modal())) == (
        "invalid_trigger_id"
    )
    trigger = fake.new_trigger_id()
    await client.views_open(trigger_id=trigger, view=modal())
    assert await error_of(client.views_open(trigger_id=trigger, view=modal())) == (
        "exchanged_trigger_id"
    )


async def test_expired_trigger_id(client: AsyncWebClient, fake: FakeSlack) -> None:
    fake.trigger_ttl = 0.01
    trigger = fake.new_trigger_id()
    await asyncio.sleep(0.05)
    assert await error_of(client.views_open(trigger_id=trigger, view=modal())) == (
        "expired_trigger_id"
    )


@pytest.mark.parametrize(
    "view",
    [
        modal(title="x" * 25),
        modal(blocks=[{"type": "divider"}] * 101),
        {**modal(), "type": "popup"},
        {**modal(), "submit": None, "blocks": [{"type": "input", "label": {}, "element": {}}]},
    ],
)
async def test_views_open_rejects_invalid_views(
    client: AsyncWebClient, fake: FakeSlack, view: dict[str, Any]
) -> None:
    view = {k: v for k, v in view.items() if v is not None}
    trigger = fake.new_trigger_id()
    assert await error_of(client.views_open(trigger_id=trigger, view=view)) == ("invalid_arguments")
    assert (await client.views_open(trigger_id=trigger, view=modal()))["ok"]  # not consumed


async def test_views_update_by_id_and_hash(client: AsyncWebClient, fake: FakeSlack) -> None:
    opened = (await client.views_open(trigger_id=fake.new_trigger_id(), view=modal()))["view"]
    updated = await client.views_update(
        view_id=opened["id"], hash=opened["hash"], view=modal(title="Updated")
    )
    assert updated["view"]["id"] == opened["id"]
    assert fake.views[opened["id"]]["title"]["text"] == "Updated"
    assert (
        await error_of(client.views_update(view_id=opened["id"], hash=opened["hash"], view=modal()))
        == "hash_conflict"
    )
    assert await error_of(client.views_update(view_id="V404", view=modal())) == "not_found"


async def test_views_push_and_publish(client: AsyncWebClient, fake: FakeSlack) -> None:
    pushed = await client.views_push(trigger_id=fake.new_trigger_id(), view=modal())
    assert pushed["view"]["type"] == "modal"
    home = {"type": "home", "blocks": [{"type": "divider"}]}
    first = await client.views_publish(user_id=ALICE, view=home)
    second = await client.views_publish(user_id=ALICE, view=home)
    assert first["view"]["id"] == second["view"]["id"]


# --- files ----------------------------------------------------------------------------------------


async def test_files_upload_v2_round_trip(client: AsyncWebClient, fake: FakeSlack) -> None:
    channel = fake.add_channel("inc-26")
    resp = await client.files_upload_v2(
        channel=channel,
        content="timeline\n10:00 page",
        filename="timeline.txt",
        title="Timeline",
        initial_comment="Postmortem draft",
    )
    assert resp["file"]["title"] == "Timeline"
    (stored,) = fake.files
    assert stored["content"] == b"timeline\n10:00 page"
    assert (stored["filename"], stored["channel_id"], stored["initial_comment"]) == (
        "timeline.txt",
        channel,
        "Postmortem draft",
    )
    history = (await client.conversations_history(channel=channel))["messages"]
    assert history[0]["files"][0]["id"] == stored["id"]


async def test_complete_upload_unknown_file_is_file_not_found(client: AsyncWebClient) -> None:
    assert (
        await error_of(client.files_completeUploadExternal(files=[{"id": "F404", "title": "x"}]))
        == "file_not_found"
    )


# --- response_url -------------------------------------------------------------------------------


async def test_response_url_posts_are_collected(fake: FakeSlack) -> None:
    webhook = AsyncWebhookClient(fake.response_url_base + "/abc123")
    resp = await webhook.send(text="That took too long, try again", response_type="ephemeral")
    assert (resp.status_code, resp.body) == (200, "ok")
    assert fake.responses == [
        {"text": "That took too long, try again", "response_type": "ephemeral"}
    ]
    assert fake.calls[-1].method == "response_url"


# --- faults, latency, recording -------------------------------------------------------------------


async def test_rate_limit_then_retry_handler_succeeds(
    fake: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("random.random", lambda: 0.0)  # drop the handler's jitter for speed
    fake.rate_limit_next("auth.test", retry_after=0)
    client = AsyncWebClient(
        token=TOKEN,
        base_url=fake.base_url,
        retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=1)],
    )
    assert (await client.auth_test())["ok"]
    attempts = fake.attempts_to("auth.test")
    assert [a.status for a in attempts] == [429, 200]
    assert attempts[0].response == {"ok": False, "error": "ratelimited"}


async def test_rate_limit_without_retry_surfaces_429(
    client: AsyncWebClient, fake: FakeSlack
) -> None:
    fake.rate_limit_next("auth.test", retry_after=7)
    with pytest.raises(SlackApiError) as info:
        await client.auth_test()
    assert info.value.response.status_code == 429
    assert info.value.response.headers["Retry-After"] == "7"


async def test_fail_next_is_consumed_in_order(client: AsyncWebClient, fake: FakeSlack) -> None:
    channel = fake.add_channel("inc-27")
    fake.fail_next("chat.postMessage", "channel_not_found", times=2, extra={"detail": "x"})
    for _ in range(2):
        with pytest.raises(SlackApiError) as info:
            await client.chat_postMessage(channel=channel, text="hi")
        assert info.value.response.data == {
            "ok": False,
            "error": "channel_not_found",
            "detail": "x",
        }
    assert (await client.chat_postMessage(channel=channel, text="hi"))["ok"]
    assert len(fake.attempts_to("chat.postMessage")) == 3
    assert len(fake.calls_to("chat.postMessage")) == 1


@needs_spec
def test_fail_next_refuses_undocumented_errors() -> None:
    with pytest.raises(ValueError, match="not a documented error"):
        FakeSlack().fail_next("chat.postMessage", "user_not_found")


async def test_server_error_next_answers_non_json(fake: FakeSlack) -> None:
    fake.server_error_next("auth.test", status=503)
    status, content_type, body = await raw_post(fake, "auth.test")
    assert status == 503 and not content_type.endswith("json") and "Server Error" in body
    assert (await raw_post(fake, "auth.test"))[0] == 200


async def test_fail_after_success_does_the_work_then_answers_a_server_error(
    fake: FakeSlack,
) -> None:
    fake.fail_after_success("conversations.create", status=502)
    status, content_type, body = await raw_post(
        fake, "conversations.create", data={"name": "made-anyway"}
    )
    assert status == 502 and not content_type.endswith("json")
    assert fake.channel_by_name("made-anyway") is not None


async def test_fail_after_success_can_drop_the_connection(fake: FakeSlack) -> None:
    fake.fail_after_success("conversations.create", drop=True)
    with pytest.raises(aiohttp.ClientError):
        await raw_post(fake, "conversations.create", data={"name": "made-silently"})
    assert fake.channel_by_name("made-silently") is not None
    assert (await raw_post(fake, "conversations.create", data={"name": "next-one"}))[0] == 200


async def test_latency_is_added_to_every_answer(client: AsyncWebClient, fake: FakeSlack) -> None:
    fake.latency = 0.1
    started = time.monotonic()
    await client.auth_test()
    assert time.monotonic() - started >= 0.1


async def test_calls_record_failures_with_status_and_response(
    client: AsyncWebClient, fake: FakeSlack
) -> None:
    await error_of(client.chat_postMessage(channel="C404", text="x"))
    (call,) = fake.calls
    assert (call.method, call.args, call.status) == (
        "chat.postMessage",
        {"channel": "C404", "text": "x"},
        200,
    )
    assert call.response == {"ok": False, "error": "channel_not_found"}
    assert call.at <= time.monotonic()
    assert fake.calls_to("chat.postMessage") == []


async def test_reset_keeps_identity_users_and_groups(
    client: AsyncWebClient, fake: FakeSlack
) -> None:
    group = fake.add_usergroup("oncall", [ALICE])
    channel = fake.add_channel("inc-28")
    await client.chat_postMessage(channel=channel, text="hi")
    fake.fail_next("auth.test", "invalid_auth")
    fake.reset()
    assert (fake.calls, fake.channels, fake.messages) == ([], {}, {})
    assert ALICE in fake.users and group in fake.usergroups
    assert (await client.auth_test())["user_id"] == fake.bot_user_id  # fault was cleared too


# --- Block Kit: exactly as strict as Slack --------------------------------------------------------


def plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text}


def mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text}


def section(text: str = "*SEV1*", **extra: Any) -> dict[str, Any]:
    return {"type": "section", "text": mrkdwn(text), **extra}


def button(text: str = "Acknowledge", **extra: Any) -> dict[str, Any]:
    return {"type": "button", "text": plain(text), "action_id": "ack", **extra}


def actions(*elements: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "actions", "elements": list(elements), **extra}


def option(text: str = "One", value: str = "one", kind: str = "plain_text") -> dict[str, Any]:
    return {"text": {"type": kind, "text": text}, "value": value}


def options(count: int, kind: str = "plain_text") -> list[dict[str, Any]]:
    return [option(f"Option {n}", f"v{n}", kind) for n in range(count)]


def select(opts: list[dict[str, Any]], kind: str = "static_select") -> dict[str, Any]:
    return {"type": kind, "action_id": "pick", "placeholder": plain("Pick"), "options": opts}


def input_block(element: dict[str, Any], label: Any = None, **extra: Any) -> dict[str, Any]:
    return {"type": "input", "label": label or plain("Label"), "element": element, **extra}


def text_input(**extra: Any) -> dict[str, Any]:
    return {"type": "plain_text_input", "action_id": "value", **extra}


@pytest.fixture
def room(fake: FakeSlack) -> str:
    return fake.add_channel("blockkit", members=[ALICE])


async def refusal(client: AsyncWebClient, channel: str, blocks: list[Any]) -> list[str]:
    """Post ``blocks``; assert Slack's invalid_blocks and return its messages."""
    with pytest.raises(SlackApiError) as info:
        await client.chat_postMessage(channel=channel, text="fallback", blocks=blocks)
    response = info.value.response
    assert response["error"] == "invalid_blocks"
    messages = response["response_metadata"]["messages"]
    assert messages and all(m.startswith("[ERROR] ") and "[json-pointer:/" in m for m in messages)
    assert response["errors"] == [m.removeprefix("[ERROR] ") for m in messages]
    return messages


async def view_refusal(client: AsyncWebClient, fake: FakeSlack, view: dict[str, Any]) -> list[str]:
    """Open ``view``; assert Slack's invalid_arguments and return its messages."""
    with pytest.raises(SlackApiError) as info:
        await client.views_open(trigger_id=fake.new_trigger_id(), view=view)
    response = info.value.response
    assert response["error"] == "invalid_arguments"
    messages = response["response_metadata"]["messages"]
    assert messages and all(
        m.startswith("[ERROR] ") and "[json-pointer:/view" in m for m in messages
    )
    return messages


def too_long(limit: int, pointer: str) -> str:
    return f"[ERROR] must be less than {limit + 1} characters [json-pointer:{pointer}]"


async def test_post_message_with_51_blocks_is_refused_as_invalid_blocks_and_50_are_accepted(
    client: AsyncWebClient, room: str
) -> None:
    messages = await refusal(client, room, [{"type": "divider"}] * 51)
    assert messages == ["[ERROR] no more than 50 items allowed [json-pointer:/blocks]"]
    assert (await client.chat_postMessage(channel=room, text="x", blocks=[section()] * 50))["ok"]


async def test_post_message_with_a_section_text_over_3000_characters_is_refused_as_invalid_blocks(
    client: AsyncWebClient, room: str
) -> None:
    messages = await refusal(client, room, [section("x" * 3001)])
    assert too_long(3000, "/blocks/0/text/text") in messages


async def test_post_message_with_more_than_10_section_fields_is_refused_as_invalid_blocks(
    client: AsyncWebClient, room: str
) -> None:
    block = {"type": "section", "fields": [mrkdwn(f"*{n}*") for n in range(11)]}
    messages = await refusal(client, room, [block])
    assert "[ERROR] no more than 10 items allowed [json-pointer:/blocks/0/fields]" in messages


async def test_post_message_with_a_section_field_over_2000_characters_is_refused_as_invalid_blocks(
    client: AsyncWebClient, room: str
) -> None:
    block = {"type": "section", "fields": [mrkdwn("ok"), plain("x" * 2001)]}
    messages = await refusal(client, room, [block])
    assert messages == [too_long(2000, "/blocks/0/fields/1/text")]  # slack_sdk does not check


async def test_post_message_with_a_header_text_over_150_characters_is_refused_as_invalid_blocks(
    client: AsyncWebClient, room: str
) -> None:
    messages = await refusal(client, room, [{"type": "header", "text": plain("x" * 151)}])
    assert too_long(150, "/blocks/0/text/text") in messages
    # slack_sdk's own validator says so too, at the block it belongs to.
    assert (
        "[ERROR] text attribute cannot exceed 150 characters [json-pointer:/blocks/0]" in messages
    )


async def test_post_message_with_a_mrkdwn_header_is_refused_as_invalid_blocks(
    client: AsyncWebClient, room: str
) -> None:
    messages = await refusal(client, room, [{"type": "header", "text": mrkdwn("*INC-1*")}])
    assert messages == ["[ERROR] must be plain_text [json-pointer:/blocks/0/text/type]"]


async def test_post_message_with_a_button_text_over_75_characters_is_refused_as_invalid_blocks(
    client: AsyncWebClient, room: str
) -> None:
    messages = await refusal(client, room, [actions(button("x" * 76))])
    assert too_long(75, "/blocks/0/elements/0/text/text") in messages


async def test_post_message_with_a_mrkdwn_button_text_is_refused_as_invalid_blocks(
    client: AsyncWebClient, room: str
) -> None:
    block = actions({**button(), "text": mrkdwn("*Ack*")})
    messages = await refusal(client, room, [block])
    assert messages == ["[ERROR] must be plain_text [json-pointer:/blocks/0/elements/0/text/type]"]


async def test_post_message_with_a_button_value_over_2000_characters_is_refused_as_invalid_blocks(
    client: AsyncWebClient, room: str
) -> None:
    messages = await refusal(client, room, [actions(button(value="v" * 2001))])
    assert too_long(2000, "/blocks/0/elements/0/value") in messages


async def test_post_message_with_an_action_id_over_255_characters_is_refused_as_invalid_blocks(
    client: AsyncWebClient, room: str
) -> None:
    messages = await refusal(client, room, [section(accessory=button(action_id="a" * 256))])
    assert too_long(255, "/blocks/0/accessory/action_id") in messages


async def test_post_message_with_a_block_id_over_255_characters_is_refused_as_invalid_blocks(
    client: AsyncWebClient, room: str
) -> None:
    messages = await refusal(client, room, [section(block_id="b" * 256)])
    assert too_long(255, "/blocks/0/block_id") in messages


async def test_post_message_with_a_block_id_used_twice_is_refused_as_invalid_blocks(
    client: AsyncWebClient, room: str
) -> None:
    blocks = [section(block_id="summary"), {"type": "divider"}, section(block_id="summary")]
    messages = await refusal(client, room, blocks)
    assert messages == ["[ERROR] duplicate block_id: summary [json-pointer:/blocks/2/block_id]"]


async def test_post_message_with_26_elements_in_an_actions_block_is_refused_as_invalid_blocks(
    client: AsyncWebClient, room: str
) -> None:
    buttons = [button(f"B{n}", action_id=f"b{n}") for n in range(26)]
    messages = await refusal(client, room, [actions(*buttons)])
    assert "[ERROR] no more than 25 items allowed [json-pointer:/blocks/0/elements]" in messages
    ok = await client.chat_postMessage(channel=room, text="x", blocks=[actions(*buttons[:25])])
    assert ok["ok"]


async def test_post_message_with_11_context_elements_is_refused_as_invalid_blocks(
    client: AsyncWebClient, room: str
) -> None:
    block = {"type": "context", "elements": [mrkdwn(f"{n}") for n in range(11)]}
    messages = await refusal(client, room, [block])
    assert "[ERROR] no more than 10 items allowed [json-pointer:/blocks/0/elements]" in messages


async def test_post_message_with_a_button_in_a_context_block_is_refused_as_invalid_blocks(
    client: AsyncWebClient, room: str
) -> None:
    messages = await refusal(client, room, [{"type": "context", "elements": [button()]}])
    assert messages == [
        "[ERROR] must be an image element or a text object [json-pointer:/blocks/0/elements/0/type]"
    ]


async def test_post_message_with_11_checkbox_options_is_refused_as_invalid_blocks(
    client: AsyncWebClient, room: str
) -> None:
    boxes = {"type": "checkboxes", "action_id": "tick", "options": options(11)}
    messages = await refusal(client, room, [section(accessory=boxes)])
    assert messages == [
        "[ERROR] no more than 10 items allowed [json-pointer:/blocks/0/accessory/options]"
    ]


async def test_post_message_with_11_radio_button_options_is_refused_as_invalid_blocks(
    client: AsyncWebClient, room: str
) -> None:
    radios = {"type": "radio_buttons", "action_id": "pick", "options": options(11)}
    messages = await refusal(client, room, [actions(radios)])
    assert messages == [
        "[ERROR] no more than 10 items allowed [json-pointer:/blocks/0/elements/0/options]"
    ]


async def test_post_message_with_101_select_options_is_refused_as_invalid_blocks(
    client: AsyncWebClient, room: str
) -> None:
    messages = await refusal(client, room, [actions(select(options(101)))])
    assert "[ERROR] no more than 100 items allowed [json-pointer:/blocks/0/elements/0/options]" in (
        messages
    )
    ok = await client.chat_postMessage(
        channel=room, text="x", blocks=[actions(select(options(100)))]
    )
    assert ok["ok"]


async def test_post_message_with_an_option_text_over_75_characters_is_refused_as_invalid_blocks(
    client: AsyncWebClient, room: str
) -> None:
    # slack_sdk keeps a static select's options as raw dicts and never validates them.
    messages = await refusal(client, room, [actions(select([option("x" * 76)]))])
    assert messages == [too_long(75, "/blocks/0/elements/0/options/0/text/text")]


async def test_post_message_with_an_option_value_over_150_characters_is_refused_as_invalid_blocks(
    client: AsyncWebClient, room: str
) -> None:
    boxes = {"type": "checkboxes", "action_id": "tick", "options": [option(value="v" * 151)]}
    messages = await refusal(client, room, [actions(boxes)])
    assert too_long(150, "/blocks/0/elements/0/options/0/value") in messages


async def test_post_message_with_mrkdwn_select_options_is_refused_but_checkboxes_may_use_mrkdwn(
    client: AsyncWebClient, room: str
) -> None:
    messages = await refusal(client, room, [actions(select(options(2, "mrkdwn")))])
    assert "[ERROR] must be plain_text [json-pointer:/blocks/0/elements/0/options/1/text/type]" in (
        messages
    )
    boxes = {"type": "checkboxes", "action_id": "tick", "options": options(2, "mrkdwn")}
    assert (await client.chat_postMessage(channel=room, text="x", blocks=[actions(boxes)]))["ok"]


async def test_post_message_with_a_text_object_of_another_type_is_refused_as_invalid_blocks(
    client: AsyncWebClient, room: str
) -> None:
    block = {"type": "section", "text": {"type": "markdown", "text": "**x**"}}
    messages = await refusal(client, room, [block])
    assert "[ERROR] must be one of: plain_text, mrkdwn [json-pointer:/blocks/0/text/type]" in (
        messages
    )


async def test_post_message_with_emoji_on_mrkdwn_text_is_refused_as_invalid_blocks(
    client: AsyncWebClient, room: str
) -> None:
    block = {"type": "section", "text": {**mrkdwn("x"), "emoji": True}}
    messages = await refusal(client, room, [block])
    assert "[ERROR] invalid additional property: emoji [json-pointer:/blocks/0/text]" in messages


async def test_post_message_with_an_empty_section_text_is_refused_as_invalid_blocks(
    client: AsyncWebClient, room: str
) -> None:
    messages = await refusal(client, room, [section("")])
    assert "[ERROR] must be more than 0 characters [json-pointer:/blocks/0/text/text]" in messages


async def test_post_message_with_an_unknown_block_type_is_refused_as_invalid_blocks(
    client: AsyncWebClient, room: str
) -> None:
    messages = await refusal(client, room, [section(), {"type": "banner", "text": plain("x")}])
    assert messages == ["[ERROR] unsupported block type: banner [json-pointer:/blocks/1/type]"]


async def test_post_message_with_an_unknown_element_type_is_refused_as_invalid_blocks(
    client: AsyncWebClient, room: str
) -> None:
    messages = await refusal(client, room, [actions({"type": "slider", "action_id": "s"})])
    assert messages == [
        "[ERROR] unsupported element type: slider [json-pointer:/blocks/0/elements/0/type]"
    ]


async def test_post_message_runs_slack_sdks_validators_on_nested_elements(
    client: AsyncWebClient, room: str
) -> None:
    # validate_json() on a block checks only the block itself; the fake walks into elements.
    picker = {"type": "datepicker", "action_id": "due", "initial_date": "tomorrow"}
    messages = await refusal(client, room, [actions(picker)])
    assert messages == [
        "[ERROR] initial_date attribute must be in format 'YYYY-MM-DD' "
        "[json-pointer:/blocks/0/elements/0]"
    ]


async def test_post_message_at_every_limit_is_accepted(client: AsyncWebClient, room: str) -> None:
    blocks = [
        {"type": "header", "text": plain("h" * 150), "block_id": "b" * 255},
        section("s" * 3000, accessory=button("t" * 75, value="v" * 2000, action_id="a" * 255)),
        {"type": "section", "fields": [mrkdwn("f" * 2000)] * 10},
        {"type": "context", "elements": [mrkdwn("c")] * 10},
        actions(*(button(f"B{n}", action_id=f"b{n}") for n in range(24)), select(options(100))),
        actions(
            {"type": "checkboxes", "action_id": "c", "options": options(10, "mrkdwn")},
            {"type": "radio_buttons", "action_id": "r", "options": options(10)},
            select([option("o" * 75, "v" * 150)]),
        ),
        input_block(text_input(max_length=3000), label=plain("l" * 2000)),
    ]
    assert (await client.chat_postMessage(channel=room, text="x", blocks=blocks))["ok"]


async def test_chat_update_and_post_ephemeral_refuse_invalid_blocks_like_post_message(
    client: AsyncWebClient, fake: FakeSlack, room: str
) -> None:
    ts = (await client.chat_postMessage(channel=room, text="SEV2", blocks=[section()]))["ts"]
    bad = [{"type": "header", "text": plain("x" * 151)}]
    for call in (
        client.chat_update(channel=room, ts=ts, text="SEV1", blocks=bad),
        client.chat_postEphemeral(channel=room, user=ALICE, text="only you", blocks=bad),
    ):
        with pytest.raises(SlackApiError) as info:
            await call
        assert info.value.response["error"] == "invalid_blocks"
        assert (
            too_long(150, "/blocks/0/text/text")
            in (info.value.response["response_metadata"]["messages"])
        )
    assert fake.messages[room][0]["blocks"] == [section()]  # the refused update changed nothing
    assert fake.ephemerals == []


async def test_views_open_with_101_blocks_is_refused_as_invalid_arguments_and_100_are_shown(
    client: AsyncWebClient, fake: FakeSlack
) -> None:
    messages = await view_refusal(client, fake, modal(blocks=[section()] * 101))
    assert "[ERROR] no more than 100 items allowed [json-pointer:/view/blocks]" in messages
    opened = await client.views_open(
        trigger_id=fake.new_trigger_id(), view=modal(blocks=[section()] * 100)
    )
    assert opened["ok"]


@pytest.mark.parametrize("key", ["title", "submit", "close"])
async def test_views_open_with_a_title_submit_or_close_over_24_characters_is_refused(
    client: AsyncWebClient, fake: FakeSlack, key: str
) -> None:
    messages = await view_refusal(client, fake, {**modal(), key: plain("x" * 25)})
    assert too_long(24, f"/view/{key}/text") in messages


async def test_views_open_with_a_mrkdwn_title_is_refused_as_invalid_arguments(
    client: AsyncWebClient, fake: FakeSlack
) -> None:
    messages = await view_refusal(client, fake, {**modal(), "title": mrkdwn("*Declare*")})
    assert messages == ["[ERROR] must be plain_text [json-pointer:/view/title/type]"]


async def test_views_open_with_private_metadata_over_3000_characters_is_refused(
    client: AsyncWebClient, fake: FakeSlack
) -> None:
    messages = await view_refusal(client, fake, {**modal(), "private_metadata": "m" * 3001})
    assert too_long(3000, "/view/private_metadata") in messages


async def test_views_open_with_an_input_label_over_2000_characters_or_in_mrkdwn_is_refused(
    client: AsyncWebClient, fake: FakeSlack
) -> None:
    long_label = input_block(text_input(), label=plain("l" * 2001))
    messages = await view_refusal(client, fake, modal(blocks=[long_label]))
    assert too_long(2000, "/view/blocks/0/label/text") in messages
    mrkdwn_label = input_block(text_input(), label=mrkdwn("*Title*"))
    messages = await view_refusal(client, fake, modal(blocks=[mrkdwn_label]))
    assert "[ERROR] must be plain_text [json-pointer:/view/blocks/0/label/type]" in messages


async def test_views_open_with_a_plain_text_input_max_length_over_3000_is_refused(
    client: AsyncWebClient, fake: FakeSlack
) -> None:
    messages = await view_refusal(
        client, fake, modal(blocks=[input_block(text_input(max_length=3001))])
    )
    assert messages == [
        "[ERROR] must be less than 3001 [json-pointer:/view/blocks/0/element/max_length]"
    ]


async def test_views_open_with_a_block_id_used_twice_is_refused_as_invalid_arguments(
    client: AsyncWebClient, fake: FakeSlack
) -> None:
    blocks = [
        input_block(text_input(), block_id="title"),
        input_block(text_input(), block_id="title"),
    ]
    messages = await view_refusal(client, fake, modal(blocks=blocks))
    assert messages == ["[ERROR] duplicate block_id: title [json-pointer:/view/blocks/1/block_id]"]


@pytest.mark.parametrize(
    "method",
    [
        "chat.postMessage",
        "chat.update",
        "chat.postEphemeral",
        "views.open",
        "views.push",
        "views.update",
        "views.publish",
    ],
)
async def test_every_block_kit_method_refuses_a_header_over_150_with_its_documented_error(
    client: AsyncWebClient, fake: FakeSlack, room: str, method: str
) -> None:
    header = {"type": "header", "text": plain("x" * 151)}
    args: dict[str, Any]
    if method.startswith("chat."):
        args = {"channel": room, "text": "x", "blocks": [header]}
        if method == "chat.update":
            args["ts"] = (await client.chat_postMessage(channel=room, text="x"))["ts"]
        if method == "chat.postEphemeral":
            args["user"] = ALICE
        error, pointer = "invalid_blocks", "/blocks/0/text/text"
    else:
        view = (
            {"type": "home", "blocks": [header]}
            if method == "views.publish"
            else modal(blocks=[header])
        )
        args = {"view": view}
        if method in {"views.open", "views.push"}:
            args["trigger_id"] = fake.new_trigger_id()
        if method == "views.update":
            opened = await client.views_open(trigger_id=fake.new_trigger_id(), view=modal())
            args["view_id"] = opened["view"]["id"]
        if method == "views.publish":
            args["user_id"] = ALICE
        error, pointer = "invalid_arguments", "/view/blocks/0/text/text"
    with pytest.raises(SlackApiError) as info:
        await client.api_call(method, json=args)
    assert info.value.response["error"] == error
    assert too_long(150, pointer) in info.value.response["response_metadata"]["messages"]
    assert fake.spec.allows_error(method, error)


# --- the bot's own messages and views pass those checks ------------------------------------------

PARIS = ZoneInfo("Europe/Paris")
DECLARED_AT = datetime(2026, 3, 2, 9, 5, tzinfo=UTC)


def worst_case_incident(**overrides: Any) -> Incident:
    """An incident with every user-given field as long as the bot stores it."""
    fields: dict[str, Any] = {
        "id": 7,
        "public_id": "INC-20260302-001",
        "title": "T" * 255,
        "description": "d" * 10_000,
        "severity": "P0",
        "status": "mitigating",
        "private": False,
        "reporter_id": "UREPORTER",
        "lead_id": "ULEAD",
        "channel_id": "C0INCIDENT",
        "started_at": DECLARED_AT,
        "acknowledged_at": DECLARED_AT + timedelta(minutes=4),
        "acknowledged_by": "UONCALL",
        "resolution": "r" * 5000,
        "root_cause": "c" * 5000,
        "affected_services": "s" * 5000,
        "affected_users": "u" * 5000,
        "revenue_impact": "v" * 5000,
        "data_loss": False,
    }
    return Incident(**{**fields, **overrides})


async def test_messages_and_views_the_bot_posts_are_accepted(
    client: AsyncWebClient, fake: FakeSlack, room: str
) -> None:
    policy = load_policy(None)
    incident = worst_case_incident()
    items = [
        ActionItem(id=n, text="i" * 5000, owner_id="ULEAD", due_on=date(2026, 3, 9), done=n < 3)
        for n in range(15)
    ]
    runbooks = load_runbooks()
    later = DECLARED_AT + timedelta(hours=1)
    posted = [
        summary_message(incident, policy, PARIS, items),
        announcement(incident, policy),
        runbook_checklist(next(iter(runbooks)), {0: "ULEAD"}),
        eb.with_ack_button("p" * 5000, incident),
        eb.update_reminder(incident, policy, since=DECLARED_AT, since_update=False, now=later),
        bot_messages.review_reminder(incident, now=later, due=later + timedelta(days=2), tz=PARIS),
        bot_messages.action_item_reminder(items[-1], incident),
        bot_messages.status_update(incident, "u" * 5000, "ULEAD", broadcast=True),
    ]
    for message in posted:
        await client.chat_postMessage(channel=room, text=message.text, blocks=message.blocks)
    shown = [
        declare_modal(
            policy,
            title="T" * 5000,
            origin_channel=room,
            suggested="P1",
            incident_types=runbooks.choices(),
        ),
        modals.severity_modal(incident, policy),
        modals.status_modal(incident),
        modals.resolve_modal(incident),
    ]
    for view in shown:
        await client.views_open(trigger_id=fake.new_trigger_id(), view=view)
    assert len(fake.calls_to("chat.postMessage")) == len(posted)
    assert len(fake.calls_to("views.open")) == len(shown)


async def test_a_timeline_entry_with_many_long_file_names_stays_within_slacks_section_limit(
    client: AsyncWebClient, room: str
) -> None:
    # Ten attachments named with Slack's longest file names made a 2,700-character line; a
    # page of them put a section over Slack's 3,000 (slack_sdk raised before sending).
    entries = [
        TimelineEntry(
            id=n,
            kind=Kind.MESSAGE,
            occurred_at=DECLARED_AT + timedelta(days=n),
            actor_id="ULEAD",
            text="see the graphs",
            data={
                "files": [f"{n}{'f' * 250}.png" for _ in range(10)],
                "permalink": f"https://fake.slack.com/archives/C0INCIDENT/p17000000000{n:05d}",
            },
        )
        for n in range(3)
    ]
    line = timeline_view.entry_line(entries[0], PARIS)
    assert len(line) <= timeline_view.LINE_MAX
    assert ":paperclip: 0fff" in line and "…" in line and line.endswith("|message>")
    message = timeline_view.timeline_message(worst_case_incident(), entries, PARIS)
    assert (await client.chat_postMessage(channel=room, text=message.text, blocks=message.blocks))[
        "ok"
    ]

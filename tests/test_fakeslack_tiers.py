"""The fake Slack enforces Slack's rate tiers, as its reference states them.

A plain slack-sdk client (no retry handlers, no pacing) against a fake with shrunk windows:
past a method's tier the fake answers 429 with a whole-second Retry-After and Slack's body,
chat.postMessage is limited per channel, and a call made while a Retry-After runs is recorded.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from app.sandbox.fakeslack import DEFAULT_SPEC_DIR, FakeSlack
from app.sandbox.fakeslack.tiers import SPECIAL_RULES, TIER_RULES

TOKEN = "xoxb-tiers"
SCALE = 0.01  # Tier 2: 20 calls in 0.6 s
METHODS_DIR = DEFAULT_SPEC_DIR / "methods"

pytestmark = pytest.mark.skipif(
    not METHODS_DIR.is_dir(),
    reason=f"Slack reference not found at {METHODS_DIR}: the tiers come from its rate_limits",
)


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    server = FakeSlack(token=TOKEN, tier_scale=SCALE)
    server.add_user("UALICE", name="alice", email="alice@example.com")
    await server.start()
    yield server
    await server.stop()
    assert server.violations == []


@pytest.fixture
def client(fake: FakeSlack) -> AsyncWebClient:
    return AsyncWebClient(token=TOKEN, base_url=fake.base_url, retry_handlers=[])


async def refusal(call: object) -> SlackApiError:
    with pytest.raises(SlackApiError) as raised:
        await call  # type: ignore[misc]
    return raised.value


def spec_tier(method: str) -> str:
    return str(json.loads((METHODS_DIR / f"{method}.json").read_text())["rate_limits"])


async def test_a_tier_2_method_takes_20_calls_then_answers_429_like_slack(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    assert spec_tier("conversations.create") == "t2"
    for n in range(20):
        await client.conversations_create(name=f"ok-{n}")
    error = await refusal(client.conversations_create(name="one-too-many"))

    assert error.response.status_code == 429
    assert error.response.data == {"ok": False, "error": "ratelimited"}
    retry_after = error.response.headers["Retry-After"]
    assert retry_after.isdigit() and int(retry_after) >= 1
    assert fake.channel_by_name("one-too-many") is None  # refused calls do nothing
    assert fake.tiers.refused == [("conversations.create", "")]
    # Another method has its own budget.
    await client.conversations_list()


async def test_tier_3_and_tier_4_methods_take_50_and_100_calls(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    channel = fake.add_channel("ops")
    assert (spec_tier("conversations.history"), spec_tier("users.info")) == ("t3", "t4")
    for _ in range(50):
        await client.conversations_history(channel=channel)
    refused = await refusal(client.conversations_history(channel=channel))
    assert refused.response.status_code == 429
    for _ in range(100):
        await client.users_info(user="UALICE")
    assert (await refusal(client.users_info(user="UALICE"))).response.status_code == 429


async def test_post_message_is_limited_per_channel(fake: FakeSlack, client: AsyncWebClient) -> None:
    busy, other = fake.add_channel("busy"), fake.add_channel("other")
    rule = SPECIAL_RULES["chat.postMessage"]
    for n in range(rule.calls):
        await client.chat_postMessage(channel=busy, text=f"{n}")
    error = await refusal(client.chat_postMessage(channel=busy, text="burst over"))
    assert error.response.status_code == 429
    await client.chat_postMessage(channel=other, text="another channel is not held")
    assert fake.tiers.refused == [("chat.postMessage", busy)]
    assert [m["text"] for m in fake.messages[busy]] == [str(n) for n in range(rule.calls)]


async def test_the_window_slides_so_calls_are_accepted_again_after_it(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    fake.tiers.scale = 0.001  # Tier 2: 20 calls in 60 ms
    for n in range(20):
        await client.conversations_create(name=f"first-{n}")
    await asyncio.sleep(60 * 0.001 + 0.05)  # waiting out the window, not measuring it
    for n in range(20):
        await client.conversations_create(name=f"second-{n}")
    assert fake.tiers.refused == []


async def test_a_call_made_while_a_retry_after_runs_is_recorded(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    channel = fake.add_channel("ops")
    fake.rate_limit_next("conversations.setTopic", retry_after=30)
    await refusal(client.conversations_setTopic(channel=channel, topic="refused"))
    assert fake.tiers.retry_after_violations == []
    await client.conversations_setTopic(channel=channel, topic="too soon")
    [violation] = fake.tiers.retry_after_violations
    assert violation.startswith("conversations.setTopic: called")
    # Another method is not held by it.
    await client.conversations_info(channel=channel)
    assert len(fake.tiers.retry_after_violations) == 1


async def test_a_retry_after_on_post_message_holds_only_its_channel(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    held, free = fake.add_channel("held"), fake.add_channel("free")
    fake.rate_limit_next("chat.postMessage", retry_after=30, when={"channel": held})
    await refusal(client.chat_postMessage(channel=held, text="refused"))
    await client.chat_postMessage(channel=free, text="fine")
    assert fake.tiers.retry_after_violations == []
    await client.chat_postMessage(channel=held, text="too soon")
    [violation] = fake.tiers.retry_after_violations
    assert violation.startswith(f"chat.postMessage in {held}: called")


async def test_without_a_scale_the_tiers_are_not_enforced() -> None:
    fake = FakeSlack(token=TOKEN)
    assert fake.tiers.scale is None
    await fake.start()
    try:
        plain = AsyncWebClient(token=TOKEN, base_url=fake.base_url, retry_handlers=[])
        await asyncio.gather(*(plain.conversations_create(name=f"free-{n}") for n in range(30)))
        assert fake.tiers.refused == [] and len(fake.channels) == 30
    finally:
        await fake.stop()


def spec_methods() -> list[str]:
    if not METHODS_DIR.is_dir():
        return []
    return sorted(path.stem for path in METHODS_DIR.glob("*.json"))


@pytest.mark.parametrize("method", spec_methods())
def test_every_method_gets_the_rule_of_its_documented_tier(method: str) -> None:
    tier = spec_tier(method)
    assert tier in {"t1", "t2", "t3", "t4", "t5"}, f"{method}: unknown tier {tier!r}"
    rule = FakeSlack().tiers.rule(method)
    assert rule == (SPECIAL_RULES.get(method) if tier == "t5" else TIER_RULES[tier])


def test_the_tiers_are_slacks_published_floors() -> None:
    per_minute = {tier: rule.calls * 60 / rule.seconds for tier, rule in TIER_RULES.items()}
    assert per_minute == {"t1": 1, "t2": 20, "t3": 50, "t4": 100}
    post = SPECIAL_RULES["chat.postMessage"]
    assert post.per_channel and post.calls / post.seconds == 1

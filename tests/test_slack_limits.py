"""The bot's Slack client lives within Slack's tiers and never re-sends a creating call blindly.

Every test talks to the suite's fake Slack through the client the bot builds
(`wiring.make_slack_client`), with the fake enforcing Slack's tiers on shrunk windows and the
client pacing itself on the same scale. Orders and counts are asserted, never durations.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Callable
from pathlib import Path

import aiohttp
import pytest
from prometheus_client import REGISTRY
from slack_sdk.errors import SlackApiError

from app import wiring
from app.runtime.slack_client import InstrumentedWebClient
from app.runtime.slack_limits import (
    METHOD_TIERS,
    RETRY_SAFE_METHODS,
    Priority,
    SlackLimits,
    limit_of,
    priority_of,
    slack_priority,
)
from app.sandbox.fakeslack import DEFAULT_SPEC_DIR, FakeSlack
from app.sandbox.fakeslack.tiers import SPECIAL_RULES, TIER_RULES
from app.services.slack_errors import is_transient, slack_error
from tests.conftest import make_settings

ROOT = Path(__file__).resolve().parents[1]
METHODS_DIR = DEFAULT_SPEC_DIR / "methods"
needs_spec = pytest.mark.skipif(
    not METHODS_DIR.is_dir(),
    reason=f"Slack reference not found at {METHODS_DIR}: the tier table is checked against it",
)


def client_for(fake: FakeSlack, scale: float) -> InstrumentedWebClient:
    """The bot's own client (retry handlers and all), pacing on `scale`; the fake enforces
    Slack's tiers on the same scale."""
    fake.tiers.scale = scale
    client = wiring.make_slack_client(
        make_settings(fake, "sqlite://", slack_rate_limit_scale=scale)
    )
    assert isinstance(client, InstrumentedWebClient)
    return client


def statuses(fake: FakeSlack, method: str) -> list[int]:
    return [c.status for c in fake.attempts_to(method)]


async def eventually(condition: Callable[[], bool]) -> None:
    """Wait (at most 5 s) until `condition` holds."""
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the condition never held")


def rate_limited_total(method: str) -> float:
    value = REGISTRY.get_sample_value(
        "incident_bot_slack_api_rate_limited_total", {"method": method}
    )
    return value or 0.0


# ------------------------------------------------------------------------------ pacing


async def test_a_burst_past_the_tier_queues_instead_of_collecting_429s(
    fake_slack: FakeSlack,
) -> None:
    slack = client_for(fake_slack, scale=0.005)  # Tier 2: 20 calls in 0.3 s
    await asyncio.gather(*(slack.conversations_create(name=f"burst-{n}") for n in range(45)))

    assert statuses(fake_slack, "conversations.create") == [200] * 45
    assert fake_slack.tiers.refused == [] and fake_slack.tiers.retry_after_violations == []
    assert len(fake_slack.channels) == 45


@pytest.mark.skipif(
    not METHODS_DIR.is_dir(),
    reason=f"Slack reference not found at {METHODS_DIR}: the fake takes each method's tier from it",
)
async def test_the_same_burst_without_the_limiter_is_refused_by_the_fake(
    fake_slack: FakeSlack,
) -> None:
    slack = client_for(fake_slack, scale=0.005)
    slack.limits = SlackLimits(scale=0.005, enabled=False)  # SLACK_RATE_LIMIT_SCALE=0
    results = await asyncio.gather(
        *(slack.conversations_create(name=f"storm-{n}") for n in range(25)),
        return_exceptions=True,
    )

    assert 429 in statuses(fake_slack, "conversations.create")
    # Still nothing lost: each 429 is waited out and tried again.
    assert not [r for r in results if isinstance(r, BaseException)]
    assert len(fake_slack.channels) == 25


async def test_post_message_is_paced_per_channel_so_one_busy_channel_delays_no_other(
    fake_slack: FakeSlack,
) -> None:
    busy = fake_slack.add_channel("busy")
    quiet = fake_slack.add_channel("quiet")
    slack = client_for(fake_slack, scale=0.05)  # 3 messages per channel in 0.15 s
    posts = [slack.chat_postMessage(channel=busy, text=f"busy {n}") for n in range(9)]
    posts.append(slack.chat_postMessage(channel=quiet, text="quiet"))
    await asyncio.gather(*posts)

    assert statuses(fake_slack, "chat.postMessage") == [200] * 10
    assert fake_slack.tiers.refused == []
    arrived = [c.args["channel"] for c in fake_slack.attempts_to("chat.postMessage")]
    # The quiet channel's message did not wait behind the busy one's queue.
    assert arrived.index(quiet) <= 3
    assert [m["text"] for m in fake_slack.messages[busy]] == [f"busy {n}" for n in range(9)]


async def test_queued_calls_go_by_priority_then_in_arrival_order(fake_slack: FakeSlack) -> None:
    channel = fake_slack.add_channel("contended")
    slack = client_for(fake_slack, scale=0.1)  # 3 messages per 0.3 s in the channel
    for n in range(3):  # the burst is used up, its slots freed 50 ms apart
        await slack.chat_postMessage(channel=channel, text=f"before {n}")
        await asyncio.sleep(0.05)

    queued = []
    for text, priority in [
        ("cosmetic 1", Priority.COSMETIC),
        ("normal 1", Priority.NORMAL),
        ("urgent 1", Priority.URGENT),
        ("cosmetic 2", Priority.COSMETIC),
        ("urgent 2", Priority.URGENT),
        ("normal 2", Priority.NORMAL),
    ]:
        with slack_priority(priority):
            queued.append(asyncio.create_task(slack.chat_postMessage(channel=channel, text=text)))
    await asyncio.gather(*queued)

    texts = [m["text"] for m in fake_slack.messages[channel]][3:]
    assert texts == ["urgent 1", "urgent 2", "normal 1", "normal 2", "cosmetic 1", "cosmetic 2"]
    assert fake_slack.tiers.refused == []


def test_cosmetic_methods_default_last_and_a_priority_block_overrides_them() -> None:
    assert priority_of("conversations.setTopic") is Priority.COSMETIC
    assert priority_of("chat.update") is Priority.COSMETIC
    assert priority_of("pins.add") is Priority.COSMETIC
    assert priority_of("chat.postMessage") is Priority.NORMAL
    with slack_priority(Priority.URGENT):
        assert priority_of("chat.update") is Priority.URGENT
        with slack_priority(None):
            assert priority_of("chat.update") is Priority.COSMETIC
    assert priority_of("chat.update") is Priority.COSMETIC


# ------------------------------------------------------------------------------ Retry-After


async def test_a_retry_after_holds_every_caller_of_the_method_not_only_the_one_refused(
    fake_slack: FakeSlack,
) -> None:
    channels = [fake_slack.add_channel(f"topic-{n}") for n in range(5)]
    slack = client_for(fake_slack, scale=0.001)
    before = rate_limited_total("conversations.setTopic")
    fake_slack.rate_limit_next("conversations.setTopic", retry_after=1)
    first = asyncio.create_task(slack.conversations_setTopic(channel=channels[0], topic="first"))
    gate = slack.limits.gate("conversations.setTopic")
    await eventually(lambda: gate.held_until > time.monotonic())  # the 429 came back
    others = [
        slack.conversations_setTopic(channel=channel, topic="later") for channel in channels[1:]
    ]
    await asyncio.gather(first, *others)

    # Nobody called during the hold: one 429, then every call (the refused one again) went.
    assert statuses(fake_slack, "conversations.setTopic") == [429] + [200] * 5
    assert fake_slack.tiers.retry_after_violations == []
    assert {c.topic for c in fake_slack.channels.values() if c.id in channels} == {"first", "later"}
    assert rate_limited_total("conversations.setTopic") == before + 1


async def test_a_retry_after_on_one_channels_messages_does_not_hold_another_channel(
    fake_slack: FakeSlack,
) -> None:
    held, free = fake_slack.add_channel("held"), fake_slack.add_channel("free")
    slack = client_for(fake_slack, scale=0.001)
    fake_slack.rate_limit_next("chat.postMessage", retry_after=1, when={"channel": held})
    first = asyncio.create_task(slack.chat_postMessage(channel=held, text="held"))
    gate = slack.limits.gate("chat.postMessage", held)
    await eventually(lambda: gate.held_until > time.monotonic())
    await slack.chat_postMessage(channel=free, text="free")
    await first

    arrived = [(c.args["channel"], c.status) for c in fake_slack.attempts_to("chat.postMessage")]
    assert arrived == [(held, 429), (free, 200), (held, 200)]
    assert fake_slack.tiers.retry_after_violations == []


async def test_a_call_refused_with_429_again_and_again_gives_up_as_transient(
    fake_slack: FakeSlack,
) -> None:
    slack = client_for(fake_slack, scale=0.001)
    fake_slack.rate_limit_next("conversations.create", retry_after=0, times=5)
    with pytest.raises(SlackApiError) as raised:
        await slack.conversations_create(name="never")
    assert statuses(fake_slack, "conversations.create") == [429] * 5
    assert slack_error(raised.value) == "ratelimited" and is_transient(raised.value)

    fake_slack.rate_limit_next("conversations.create", retry_after=0, times=4)
    await slack.conversations_create(name="at-last")
    assert statuses(fake_slack, "conversations.create")[5:] == [429] * 4 + [200]


# ------------------------------------------------------------------------------ ambiguous failures


@pytest.mark.parametrize("status", [503, 500])
@pytest.mark.parametrize("after", [False, True], ids=["refused", "done-then-lost"])
@pytest.mark.parametrize("method", ["conversations.create", "chat.postMessage"])
async def test_a_creating_call_is_sent_once_and_refused_cleanly_after_a_5xx(
    fake_slack: FakeSlack, method: str, after: bool, status: int
) -> None:
    channel = fake_slack.add_channel("ops")
    slack = client_for(fake_slack, scale=0.001)
    if after:  # Slack did the work, then the answer was a proxy's HTML page
        fake_slack.fail_after_success(method, status=status)
    else:
        fake_slack.server_error_next(method, status=status)
    with pytest.raises(SlackApiError) as raised:
        await create(slack, method, channel)

    assert len(fake_slack.attempts_to(method)) == 1  # not re-sent: the caller looks first
    error = raised.value
    assert error.response.status_code == status
    assert error.response.data == {"ok": False, "error": f"http_{status}"}
    assert slack_error(error) == f"http_{status}" and is_transient(error)


@pytest.mark.parametrize("method", ["conversations.create", "chat.postMessage"])
async def test_a_creating_call_whose_connection_dropped_is_sent_once(
    fake_slack: FakeSlack, method: str
) -> None:
    channel = fake_slack.add_channel("ops")
    slack = client_for(fake_slack, scale=0.001)
    fake_slack.fail_after_success(method, drop=True)
    with pytest.raises(aiohttp.ClientError) as raised:
        await create(slack, method, channel)

    assert len(fake_slack.attempts_to(method)) == 1
    assert is_transient(raised.value)
    assert slack_error(raised.value) == type(raised.value).__name__


async def create(slack: InstrumentedWebClient, method: str, channel: str) -> object:
    if method == "conversations.create":
        return await slack.conversations_create(name="made-maybe")
    return await slack.chat_postMessage(channel=channel, text="posted maybe")


@pytest.mark.parametrize("content_type", ["text/plain", "text/html"])
async def test_a_5xx_page_that_is_not_json_is_read_without_an_attribute_error(
    fake_slack: FakeSlack, content_type: str
) -> None:
    """slack-sdk keeps a text/plain body as a str (`.get` on it was the AttributeError)."""
    slack = client_for(fake_slack, scale=0.001)
    fake_slack.server_error_next("conversations.create", status=503, content_type=content_type)
    with pytest.raises(SlackApiError) as raised:
        await slack.conversations_create(name="behind-a-proxy")
    assert raised.value.response.get("error") == "http_503"
    assert slack_error(raised.value) == "http_503" and is_transient(raised.value)


async def test_reads_and_idempotent_calls_are_still_retried_after_a_5xx_or_a_drop(
    fake_slack: FakeSlack,
) -> None:
    channel = fake_slack.add_channel("ops")
    slack = client_for(fake_slack, scale=0.001)
    fake_slack.server_error_next("conversations.info", status=503, times=2)
    assert (await slack.conversations_info(channel=channel))["channel"]["id"] == channel
    assert statuses(fake_slack, "conversations.info") == [503, 503, 200]

    fake_slack.fail_after_success("conversations.history", drop=True)
    await slack.conversations_history(channel=channel)
    assert len(fake_slack.attempts_to("conversations.history")) == 2

    fake_slack.server_error_next("conversations.setTopic", status=500)
    await slack.conversations_setTopic(channel=channel, topic="calm")
    assert statuses(fake_slack, "conversations.setTopic") == [500, 200]


def test_only_methods_that_change_nothing_when_sent_twice_are_retried_blindly() -> None:
    creating = {
        "conversations.create",
        "chat.postMessage",
        "chat.postEphemeral",
        "views.open",
        "views.push",
        "views.update",
        "files.completeUploadExternal",
        "files.getUploadURLExternal",
        "bookmarks.add",
    }
    assert not creating & RETRY_SAFE_METHODS


# ------------------------------------------------------------------------------ the tier table


def bot_methods() -> set[str]:
    """Every Web API method the bot's code calls (`slack.<family>_<method>(`), dotted."""
    called: set[str] = set()
    for path in (ROOT / "app").rglob("*.py"):
        for name in re.findall(r"slack\.([a-z]+_[a-zA-Z0-9_]+)\(", path.read_text()):
            called.add(name.replace("_", "."))
    called.discard("files.upload.v2")  # its two Web API calls are listed below
    # Sign in with Slack: once per person signing in, with the app's credentials, not the bot
    # token whose tiers are paced here (and not in the reference folder).
    called.discard("openid.connect.token")
    return called | {"files.getUploadURLExternal", "files.completeUploadExternal", "auth.test"}


def test_every_method_the_bot_calls_has_a_tier() -> None:
    assert bot_methods() - METHOD_TIERS.keys() == set()


@needs_spec
def test_the_tier_table_agrees_with_slacks_reference() -> None:
    wrong = {}
    for method, tier in METHOD_TIERS.items():
        path = METHODS_DIR / f"{method}.json"
        assert path.is_file(), f"{method} is not in Slack's reference"
        documented = json.loads(path.read_text())["rate_limits"]
        if documented != tier:
            wrong[method] = (tier, documented)
    assert wrong == {}


def test_the_bot_is_never_looser_than_the_fake_slack() -> None:
    """Pacing on the fake's own rules (or stricter) is what keeps the storm test at zero 429s."""
    for method, tier in METHOD_TIERS.items():
        ours = limit_of(method)
        theirs = SPECIAL_RULES.get(method) if tier == "t5" else TIER_RULES[tier]
        if theirs is None:
            continue
        assert ours.per_channel == theirs.per_channel, method
        assert ours.calls / ours.seconds <= theirs.calls / theirs.seconds, method
        assert ours.calls <= theirs.calls, method


def test_reservations_for_deferred_work_are_one_slot_apart_not_all_at_the_next_free_slot() -> None:
    now = [100.0]
    limits = SlackLimits(scale=1.0, now=lambda: now[0])
    gate = limits.gate("conversations.invite")  # Tier 3: 50 a minute, one slot per 1.2 s
    gate.hold(30)  # Slack said Retry-After: 30
    times = [limits.reserve("conversations.invite") for _ in range(4)]
    assert times == pytest.approx([30.0, 31.2, 32.4, 33.6])
    now[0] += 40  # the hold is over and the reservations are past: the next one is now
    assert limits.reserve("conversations.invite") == pytest.approx(0.0)

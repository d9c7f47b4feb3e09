"""Socket Mode: with SLACK_APP_TOKEN the bot connects out over a websocket and handles the same
requests, logged and measured like HTTP ones. The fake Slack serves apps.connections.open and
the websocket, so this runs the real slack-sdk Socket Mode client without a network."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from app.context import BotContext
from app.sandbox import builders as build
from app.sandbox.fakeslack import FakeSlack
from app.server import ObservedSocketModeHandler, socket_mode_handler
from app.web import create_web_app
from tests.conftest import APP_TOKEN

pytestmark = pytest.mark.settings(slack_app_token=APP_TOKEN)


@pytest_asyncio.fixture
async def connected(bot: BotContext) -> AsyncIterator[ObservedSocketModeHandler]:
    handler = socket_mode_handler(bot, create_web_app(bot).state.bolt)
    assert handler is not None
    await handler.connect_async()
    yield handler
    await handler.close_async()


def command(fake: FakeSlack, text: str, channel: str = "CGENERAL") -> dict[str, str]:
    """The slash command's fields, as Slack puts them in a `slash_commands` envelope."""
    return build.slash_command(fake, text, user_id="UREPORTER", channel_id=channel)


@pytest.mark.settings(slack_app_token=None)
def test_without_an_app_token_the_bot_serves_http_only(bot: BotContext) -> None:
    assert socket_mode_handler(bot, create_web_app(bot).state.bolt) is None


async def test_with_an_app_token_serve_picks_socket_mode(bot: BotContext) -> None:
    bolt = create_web_app(bot).state.bolt
    handler = socket_mode_handler(bot, bolt)
    assert isinstance(handler, ObservedSocketModeHandler)
    assert handler.app is bolt and handler.app_token == APP_TOKEN
    assert handler.client.web_client is bot.slack


async def test_a_slash_command_over_the_websocket_is_acked_and_handled(
    connected: ObservedSocketModeHandler, fake_slack: FakeSlack, bot: BotContext
) -> None:
    from prometheus_client import REGISTRY

    def answered() -> float:
        return (
            REGISTRY.get_sample_value(
                "incident_bot_slack_request_seconds_count", {"kind": "command"}
            )
            or 0.0
        )

    before = answered()
    opened = fake_slack.attempts_to("apps.connections.open")
    assert len(opened) == 1 and opened[0].ok

    help_id = await fake_slack.socket_send("slash_commands", command(fake_slack, "help"))
    ack = await fake_slack.socket_ack(help_id)
    assert "/incident declare" in ack["payload"]["text"]

    started = time.perf_counter()
    declare_id = await fake_slack.socket_send(
        "slash_commands", command(fake_slack, "declare Search is slow")
    )
    await fake_slack.socket_ack(declare_id)
    assert time.perf_counter() - started < 3  # Slack's deadline for the ack
    await bot.tasks.drain()
    [opened_view] = fake_slack.calls_to("views.open")
    assert "Search is slow" in str(opened_view["view"])
    assert answered() - before == 2


async def test_the_websocket_url_needs_the_app_token(
    bot: BotContext, fake_slack: FakeSlack
) -> None:
    """slack-sdk retries a failed connect forever, so ask for the URL the way it does, once."""
    from slack_sdk.errors import SlackApiError

    handler = socket_mode_handler(bot, create_web_app(bot).state.bolt)
    assert handler is not None
    assert (await handler.client.issue_new_wss_url()).startswith("ws://127.0.0.1:")
    fake_slack.app_token = "xapp-1-A0001-another"
    with pytest.raises(SlackApiError) as caught:
        await handler.client.issue_new_wss_url()
    assert caught.value.response["error"] == "invalid_auth"
    await handler.close_async()


async def test_a_declaration_and_a_button_click_over_the_websocket_work_as_over_http(
    connected: ObservedSocketModeHandler, fake_slack: FakeSlack, bot: BotContext
) -> None:
    """The same bodies Slack posts over HTTP, in Socket Mode's `interactive` envelopes."""
    from sqlalchemy import select

    from app.store.models import Incident

    async def send(kind: str, payload: dict) -> dict:
        ack = await fake_slack.socket_ack(await fake_slack.socket_send(kind, payload))
        await bot.tasks.drain()
        return ack

    await send("slash_commands", command(fake_slack, "declare Search is slow"))
    [opened] = [c.response["view"] for c in fake_slack.attempts_to("views.open") if c.ok]
    answers = {"title": "Search is slow", "severity": "P1"}
    await send(
        "interactive", build.view_submission(fake_slack, opened, answers, user_id="UREPORTER")
    )
    async with bot.sessions() as session:
        [incident] = (await session.execute(select(Incident))).scalars()
    assert incident.setup_complete and incident.channel_id and incident.summary_ts

    pinned = fake_slack.state.find_message(incident.channel_id, incident.summary_ts)
    assert pinned is not None
    fake_slack.channels[incident.channel_id].members.add("UONCALL")
    click = build.block_actions_on_message(fake_slack, pinned, "Acknowledge", user_id="UONCALL")
    await send("interactive", click)
    async with bot.sessions() as session:
        acknowledged = await session.get(Incident, incident.id)
    assert acknowledged is not None and acknowledged.acknowledged_by == "UONCALL"


async def test_a_malformed_body_over_the_websocket_is_acked_and_changes_nothing(
    connected: ObservedSocketModeHandler, fake_slack: FakeSlack, bot: BotContext
) -> None:
    """The same shape check as over HTTP: a click without a user never reaches Bolt."""
    incident_calls = len(fake_slack.calls)
    envelope = await fake_slack.socket_send(
        "interactive", {"type": "block_actions", "actions": [{"action_id": "escalation_ack"}]}
    )
    ack = await fake_slack.socket_ack(envelope)
    await bot.tasks.drain()
    assert ack["envelope_id"] == envelope and "payload" not in ack
    assert len(fake_slack.calls) == incident_calls

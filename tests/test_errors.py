"""The one error path of the Slack edge, through the real HTTP endpoint: what fails, before or
after the ack, reaches the person who acted, in words (app/slack/errors.py)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from app.context import BotContext
from app.sandbox.fakeslack import FakeSlack
from app.sandbox.sender import SlackSender
from app.store.db import make_engine, make_sessionmaker
from app.store.models import Incident
from tests.running import (
    click,
    command,
    declare,
    kinds,
    last_view,
    posts_to,
    reload,
    summary,
)

UNREACHABLE = "postgresql+asyncpg://nobody@127.0.0.1:1/none"


@contextlib.asynccontextmanager
async def database_down(bot: BotContext) -> AsyncIterator[None]:
    """Every new session of the bot fails to connect, as in an outage, until the block ends."""
    broken = make_engine(UNREACHABLE)
    sessions = bot.sessions
    bot.sessions = make_sessionmaker(broken)
    try:
        yield
    finally:
        bot.sessions = sessions
        await broken.dispose()


def in_words(text: str) -> None:
    """What a person reads never shows the internals of the failure."""
    assert "Traceback" not in text and "Error:" not in text and "internals" not in text


async def form_of(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, button: str
) -> tuple[Incident, dict[str, Any]]:
    """A new incident, and the form its summary's `button` opened."""
    incident = await declare(slack, fake_slack, bot)
    await click(slack, bot, summary(fake_slack, incident), button)
    return incident, last_view(fake_slack)


async def fail(*args: Any, **kwargs: Any) -> None:
    raise RuntimeError("secret internals")


# -------------------------------------------------------------------- after the ack: buttons


async def test_a_summary_button_failing_after_the_ack_is_told_in_the_channel(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    incident = await declare(slack, fake_slack, bot)
    opened = len(fake_slack.calls_to("views.open"))
    async with database_down(bot):
        await click(slack, bot, summary(fake_slack, incident), "Change status")
    told = fake_slack.ephemerals[-1]
    assert told["user"] == "UREPORTER" and told["channel"] == incident.channel_id
    assert told["text"] == (
        ":warning: Something went wrong while opening the form: the database is unavailable. "
        "Nothing was changed; try again."
    )
    assert len(fake_slack.calls_to("views.open")) == opened


async def test_a_button_pressed_by_someone_outside_the_channel_is_told_by_dm(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    incident = await declare(slack, fake_slack, bot)
    assert "UOTHER" not in fake_slack.channels[incident.channel_id].members
    async with database_down(bot):
        await click(slack, bot, summary(fake_slack, incident), "Change severity", user="UOTHER")
    [dm] = posts_to(fake_slack, "UOTHER")
    assert "Something went wrong while opening the form: the database is unavailable" in dm["text"]


async def test_the_acknowledge_button_failing_after_the_ack_answers_through_the_response_url(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    incident = await declare(slack, fake_slack, bot)
    async with database_down(bot):
        await click(slack, bot, summary(fake_slack, incident), "Acknowledge")
    answer = fake_slack.responses[-1]
    assert answer["response_type"] == "ephemeral" and answer["replace_original"] is False
    assert answer["text"].startswith(
        ":warning: Something went wrong while acknowledging the page: the database is unavailable"
    )
    assert (await reload(bot, incident)).acknowledged_at is None


# ------------------------------------------------------------------ after the ack: commands


async def test_a_command_failing_after_its_ack_answers_through_its_response_url(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    await declare(slack, fake_slack, bot)
    async with database_down(bot):
        answer = await command(slack, bot, "list", channel="CGENERAL")
    assert answer == ""  # the ack itself said nothing: the listing comes after it
    assert fake_slack.responses[-1]["text"] == (
        ":warning: Something went wrong while listing the open incidents: the database is "
        "unavailable. Nothing was changed; try again."
    )


async def test_what_failed_after_a_saved_change_says_the_change_is_saved(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    incident = await declare(slack, fake_slack, bot)
    monkeypatch.setattr("app.services.lifecycle.status_published", fail)
    answer = await command(slack, bot, "status mitigating", channel=incident.channel_id)
    assert answer == f"{incident.public_id} is now Mitigating."
    text = fake_slack.responses[-1]["text"]
    assert text == (
        ":warning: Something went wrong while showing the change in Slack: an unexpected error. "
        "The change itself is saved."
    )
    in_words(text)
    assert (await reload(bot, incident)).status == "mitigating"


# --------------------------------------------------------------------- after the ack: forms


async def test_a_form_whose_follow_up_fails_tells_who_submitted_it(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    incident, view = await form_of(slack, fake_slack, bot, "Change severity")
    monkeypatch.setattr("app.services.severity.severity_published", fail)
    response = await slack.submit(view, {"severity": "P3", "reason": "staff only"})
    await bot.tasks.drain()
    assert response.status_code == 200 and response.content in (b"", b"null")  # the form closed
    told = fake_slack.ephemerals[-1]
    assert told["user"] == "UREPORTER" and told["channel"] == incident.channel_id
    assert "Something went wrong while showing the new severity in Slack" in told["text"]
    assert "The change itself is saved" in told["text"]
    in_words(told["text"])
    assert (await reload(bot, incident)).severity == "P3"
    assert "severity_changed" in await kinds(bot, incident)


# ----------------------------------------------------------------------- before the ack


async def test_a_form_the_database_cannot_save_stays_open_with_the_reason(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    incident, view = await form_of(slack, fake_slack, bot, "Change severity")
    async with database_down(bot):
        answer = (await slack.submit(view, {"severity": "P0"})).json()
    assert answer["response_action"] == "errors"
    assert answer["errors"] == {
        "severity": "This form could not be saved, as it failed on our side: the database is "
        "unavailable. Nothing was changed; try again in a moment, and tell your admin if it "
        "keeps failing."
    }
    assert (await reload(bot, incident)).severity == "P1"


async def test_a_form_the_database_is_too_slow_for_is_answered_before_slack_gives_up(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    incident, view = await form_of(slack, fake_slack, bot, "Change status")

    async def hang(*args: Any, **kwargs: Any) -> None:
        await asyncio.sleep(30)

    monkeypatch.setattr("app.services.lifecycle.change_status", hang)
    started = time.monotonic()
    answer = (await slack.submit(view, {"status": "mitigating"})).json()
    assert time.monotonic() - started < 3  # Slack's limit for answering a submission
    assert "the database is unavailable" in answer["errors"]["status"]


async def test_a_command_failing_unexpectedly_is_answered_in_words(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    incident = await declare(slack, fake_slack, bot)
    monkeypatch.setattr("app.services.updates.record_update", fail)
    answer = await command(slack, bot, "update All good", channel=incident.channel_id)
    assert answer == (
        ":warning: `/incident update` failed on our side: an unexpected error. Nothing was "
        "changed; try again in a moment, and tell your admin if it keeps failing."
    )
    in_words(answer)


async def test_every_command_outside_an_incident_channel_gets_the_same_answer(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    for text in ("note x", "timeline", "status mitigating", "postmortem"):
        name = text.split()[0]
        assert await command(slack, bot, text, channel="CGENERAL") == (
            f"This is not an incident channel: `/incident {name}` works in an incident channel "
            "(#incident-…), so run it there. `/incident list` shows the open incidents and "
            "their channels."
        )
    assert await command(slack, bot, "ack", channel="CGENERAL") == (
        "This is not an incident channel: `/incident ack` works in an incident channel "
        "(#incident-…), so run it there, or give the incident's id: `/incident ack INC-…`. "
        "`/incident list` shows the open incidents and their channels."
    )

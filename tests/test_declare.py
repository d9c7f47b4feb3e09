"""Declaring an incident end to end: the real app over signed HTTP against the fake Slack."""

from __future__ import annotations

import asyncio
import json
import re
import time
from typing import Any

import pytest
from sqlalchemy import func, select

from app.context import BotContext
from app.sandbox.fakeslack import FakeSlack
from app.sandbox.sender import SlackSender, modal_values
from app.store.models import Incident, TimelineEntry


def not_startup(calls: list) -> list:
    """Calls other than the bot's start-up auth.test."""
    return [c for c in calls if c.method != "auth.test"]


async def open_modal(
    slack: SlackSender, fake: FakeSlack, bot: BotContext, text: str = "declare"
) -> dict[str, Any]:
    before = len(fake.attempts_to("views.open"))
    response = await slack.command(text)
    assert response.status_code == 200
    await bot.tasks.drain()
    attempts = fake.attempts_to("views.open")
    assert len(attempts) == before + 1, "views.open was not called"
    assert attempts[-1].ok, attempts[-1].response
    return attempts[-1].response["view"]


async def submit(slack: SlackSender, bot: BotContext, view: dict[str, Any], **values: Any) -> Any:
    """Fill the declare modal (see `modal_values`) and press Declare."""
    response = await slack.submit(view, modal_values(**values))
    await bot.tasks.drain()
    return response


async def incidents(bot: BotContext) -> list[Incident]:
    async with bot.sessions() as session:
        return list((await session.execute(select(Incident).order_by(Incident.id))).scalars())


async def entries(bot: BotContext) -> list[TimelineEntry]:
    """In the order they happened (PostgreSQL returns unordered rows in any order)."""
    stmt = select(TimelineEntry).order_by(TimelineEntry.occurred_at, TimelineEntry.id)
    async with bot.sessions() as session:
        return list((await session.execute(stmt)).scalars())


# ------------------------------------------------------------------- signature and input checks


async def test_unsigned_wrongly_signed_and_stale_requests_get_401_and_change_nothing(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    body = "command=%2Fincident&text=declare&user_id=UREPORTER&trigger_id=t"
    form = "application/x-www-form-urlencoded"
    unsigned = await slack.http.post(slack.url, content=body, headers={"content-type": form})
    forged = await slack.post(body, form, headers={"x-slack-signature": "v0=" + "0" * 64})
    stale = await slack.post(body, form, timestamp=int(time.time()) - 6 * 60)
    assert [unsigned.status_code, forged.status_code, stale.status_code] == [401, 401, 401]
    assert not_startup(fake_slack.calls) == []
    assert await incidents(bot) == []


async def test_help_and_bare_command_list_the_subcommands(slack: SlackSender) -> None:
    for text in ("", "help"):
        response = await slack.command(text)
        answer = response.json()
        assert answer["response_type"] == "ephemeral"
        assert "/incident declare" in answer["text"]
        assert "retry-setup" in answer["text"]


async def test_help_lists_the_subcommands_in_the_order_of_the_procedure(
    slack: SlackSender,
) -> None:
    text = (await slack.command("help")).json()["text"]
    names = re.findall(r"^• `/incident ([a-z-]+)", text, re.MULTILINE)
    assert names[:5] == ["declare", "ack", "lead", "severity", "status"]
    assert names.index("resolve") < names.index("postmortem") < names.index("list")
    assert names[-1] == "help" and len(names) == len(set(names)) == 21


async def test_unknown_subcommand_answers_with_help_not_silence(slack: SlackSender) -> None:
    answer = (await slack.command("frobnicate now")).json()
    assert "I don't know `/incident frobnicate`" in answer["text"]
    assert "/incident declare" in answer["text"]


async def test_oversized_command_text_is_refused_and_changes_nothing(
    slack: SlackSender, fake_slack: FakeSlack
) -> None:
    answer = (await slack.command("declare " + "x" * 5000)).json()
    assert "at most 4000" in answer["text"]
    assert fake_slack.calls_to("views.open") == []


async def test_request_body_over_one_mebibyte_is_refused(
    slack: SlackSender, fake_slack: FakeSlack
) -> None:
    response = await slack.post(
        "text=" + "a" * (1024 * 1024 + 10), "application/x-www-form-urlencoded"
    )
    assert response.status_code == 413
    assert not_startup(fake_slack.calls) == []


# ------------------------------------------------------------------------------ the modal


async def test_declare_opens_the_modal_with_the_title_prefilled(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    view = await open_modal(slack, fake_slack, bot, "declare Checkout returns 500")
    title_block = next(b for b in view["blocks"] if b.get("block_id") == "title")
    assert title_block["element"]["initial_value"] == "Checkout returns 500"
    labels = [
        o["text"]["text"]
        for b in view["blocks"]
        if b.get("block_id", "").startswith("impacts_")
        for o in b["element"]["options"]
    ]
    assert "Complete service outage" in labels and "Database corruption" in labels
    assert len(labels) == 13
    severity = next(b for b in view["blocks"] if b.get("block_id") == "severity")
    assert [o["value"] for o in severity["element"]["options"]] == ["P0", "P1", "P2", "P3"]
    assert "15 minutes" in severity["element"]["options"][0]["text"]["text"]


async def test_expired_trigger_id_tells_the_user_to_try_again(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    fake_slack.fail_next("views.open", "expired_trigger_id")
    await slack.command("declare")
    await bot.tasks.drain()
    assert "took too long" in fake_slack.responses[-1]["text"]
    assert await incidents(bot) == []


async def test_ticking_impacts_shows_the_highest_suggested_severity(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    view = await open_modal(slack, fake_slack, bot)
    await slack.change(view, "impacts_P1", ["error_rate"])
    await slack.change(view, "impacts_P0", ["db_corruption"])
    await bot.tasks.drain()
    updated = fake_slack.calls_to("views.update")[-1]["view"]
    if isinstance(updated, str):
        updated = json.loads(updated)
    suggestion = next(b for b in updated["blocks"] if b.get("block_id") == "suggestion")
    assert "*P0 Critical*" in suggestion["text"]["text"]


# ------------------------------------------------------------------------------ declaring


async def test_full_declare_saves_then_creates_channel_topic_invite_summary_and_pin(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    view = await open_modal(slack, fake_slack, bot, "declare Payments are down!")
    response = await submit(
        slack,
        bot,
        view,
        title="Payments are down!",
        description="Stripe webhooks fail",
        impacts={"P0": ["payments_down"]},
    )
    assert response.status_code == 200 and response.content in (b"", b"null")

    [incident] = await incidents(bot)
    assert incident.public_id == "INC-20261128-001"
    assert (incident.severity, incident.status, incident.private) == ("P0", "investigating", False)
    assert incident.reporter_id == "UREPORTER"
    assert incident.started_at.tzinfo is not None
    assert incident.setup_complete and incident.setup_error is None

    channel = fake_slack.channel_by_name("incident-20261128-payments-are-down")
    assert channel is not None and not channel.is_private
    assert incident.channel_id == channel.id
    assert "UREPORTER" in channel.members
    assert channel.topic.startswith("INC-20261128-001 | P0 Critical | Investigating")

    [summary] = [m for m in fake_slack.messages[channel.id] if m["ts"] == incident.summary_ts]
    rendered = json.dumps(summary["blocks"])
    assert "INC-20261128-001: Payments are down!" in rendered
    assert "Page on-call engineer immediately" in rendered  # the severity's required actions
    assert "15 minutes" in rendered and "<@UREPORTER>" in rendered
    assert fake_slack.pins[channel.id] == [incident.summary_ts]

    [declared] = [e for e in await entries(bot) if e.kind == "declared"]
    assert declared.actor_id == "UREPORTER"


async def test_explicit_severity_wins_over_the_suggestion(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    view = await open_modal(slack, fake_slack, bot)
    await submit(slack, bot, view, title="Slow search", impacts={"P0": ["outage"]}, severity="P2")
    [incident] = await incidents(bot)
    assert incident.severity == "P2"


async def test_data_breach_makes_the_incident_private_without_title_in_announcement(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    announce = fake_slack.add_channel("incidents", members=["UOTHER"])
    bot.settings.incidents_channel = announce
    view = await open_modal(slack, fake_slack, bot)
    await submit(slack, bot, view, title="Leaked customer table", impacts={"P0": ["data_breach"]})
    [incident] = await incidents(bot)
    assert incident.private
    assert fake_slack.channels[incident.channel_id].is_private
    [post] = [m for m in fake_slack.messages[announce]]
    assert "Leaked" not in json.dumps(post) and "INC-20261128-001" in post["text"]


async def test_public_incident_is_announced_with_a_link(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    announce = fake_slack.add_channel("incidents", members=["UOTHER"], bot_member=False)
    bot.settings.incidents_channel = announce
    view = await open_modal(slack, fake_slack, bot)
    await submit(slack, bot, view, title="Login broken", impacts={"P1": ["critical_feature"]})
    [incident] = await incidents(bot)
    [post] = fake_slack.messages[announce]
    assert "Login broken" in post["text"] and f"<#{incident.channel_id}>" in post["text"]
    assert incident.announcement_ts == post["ts"]
    assert fake_slack.calls_to("conversations.join")  # it joined the channel it was not in


@pytest.mark.parametrize(
    ("title", "error"),
    [("   ", "Give the incident a title."), ("x" * 121, "keep it to 120")],
)
async def test_bad_title_is_shown_in_the_modal_and_nothing_is_saved(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, title: str, error: str
) -> None:
    view = await open_modal(slack, fake_slack, bot)
    response = await submit(slack, bot, view, title=title, severity="P1")
    answer = response.json()
    assert answer["response_action"] == "errors"
    assert error in answer["errors"]["title"]
    assert await incidents(bot) == []
    assert fake_slack.calls_to("conversations.create") == []


async def test_no_severity_and_no_impact_asks_for_a_severity(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    view = await open_modal(slack, fake_slack, bot)
    answer = (await submit(slack, bot, view, title="Something odd")).json()
    assert "Pick a severity" in answer["errors"]["severity"]


async def test_the_same_submission_delivered_twice_creates_one_incident(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    view = await open_modal(slack, fake_slack, bot)
    await submit(slack, bot, view, title="Twice", severity="P3")
    await submit(slack, bot, view, title="Twice", severity="P3")
    assert len(await incidents(bot)) == 1
    assert len(fake_slack.calls_to("conversations.create")) == 1


async def test_channel_name_collision_takes_the_next_suffix(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    fake_slack.add_channel("incident-20261128-api-down")
    fake_slack.add_channel("incident-20261128-api-down-2")
    view = await open_modal(slack, fake_slack, bot)
    await submit(slack, bot, view, title="API down", severity="P1")
    [incident] = await incidents(bot)
    assert incident.channel_name == "incident-20261128-api-down-3"


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("База данных упала", "incident-20261128-incident"),
        ("!!! ??? ...", "incident-20261128-incident"),
        ("Crème brûlée API: 50% errors", "incident-20261128-creme-brulee-api-50-errors"),
    ],
)
async def test_channel_names_follow_slack_rules_for_any_title(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, title: str, expected: str
) -> None:
    view = await open_modal(slack, fake_slack, bot)
    await submit(slack, bot, view, title=title, severity="P2")
    [incident] = await incidents(bot)
    assert incident.channel_name == expected


async def test_long_title_keeps_the_date_in_an_80_character_name(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    view = await open_modal(slack, fake_slack, bot)
    await submit(slack, bot, view, title="very long words " * 7, severity="P2")
    [incident] = await incidents(bot)
    assert incident.channel_name.startswith("incident-20261128-very-long-words")
    assert len(incident.channel_name) <= 80


async def test_two_concurrent_declares_get_distinct_sequential_ids(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    first = await open_modal(slack, fake_slack, bot)
    second = await open_modal(slack, fake_slack, bot)
    await asyncio.gather(
        slack.submit(first, modal_values(title="A", severity="P1")),
        slack.submit(second, modal_values(title="A", severity="P1")),
    )
    await bot.tasks.drain()
    found = await incidents(bot)
    assert sorted(i.public_id for i in found) == ["INC-20261128-001", "INC-20261128-002"]
    assert sorted(i.channel_name for i in found) == ["incident-20261128-a", "incident-20261128-a-2"]


async def test_the_day_sequence_follows_the_configured_time_zone(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: Any
) -> None:
    bot.settings.timezone = "Pacific/Auckland"  # 09:00 UTC is 22:00 the same day there
    clock.advance(3 * 3600)  # 12:00 UTC is 01:00 on the 29th in Auckland
    view = await open_modal(slack, fake_slack, bot)
    await submit(slack, bot, view, title="Late", severity="P3")
    [incident] = await incidents(bot)
    assert incident.public_id == "INC-20261129-001"
    assert incident.channel_name == "incident-20261129-late"


# ------------------------------------------------------------------------------ failures


async def test_rate_limited_summary_is_delayed_not_lost(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    fake_slack.rate_limit_next("chat.postMessage", retry_after=1)
    view = await open_modal(slack, fake_slack, bot)
    await submit(slack, bot, view, title="Queue backlog", severity="P1")
    [incident] = await incidents(bot)
    attempts = fake_slack.attempts_to("chat.postMessage")
    summaries = [a for a in attempts if a.args.get("text", "").startswith(incident.public_id)]
    assert [a.status for a in summaries] == [429, 200]
    assert incident.summary_ts and incident.setup_complete
    assert fake_slack.pins[incident.channel_id] == [incident.summary_ts]


async def test_failed_channel_creation_keeps_the_incident_and_retry_completes_it_once(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    fake_slack.fail_next("conversations.create", "restricted_action")
    view = await open_modal(slack, fake_slack, bot)
    await submit(slack, bot, view, title="Cache cold", severity="P2")

    [incident] = await incidents(bot)
    assert not incident.setup_complete and incident.channel_id is None
    assert "restricted_action" in (incident.setup_error or "")
    [dm] = fake_slack.calls_to("chat.postMessage")
    assert dm["channel"] == "UREPORTER" and "retry-setup INC-20261128-001" in dm["text"]
    kinds = [e.kind for e in await entries(bot) if not e.kind.startswith("escalation")]
    assert kinds == ["declared", "setup_failed"]

    answer = (await slack.command("retry-setup INC-20261128-001")).json()
    assert "Retrying" in answer["text"]
    await bot.tasks.drain()
    [incident] = await incidents(bot)
    assert incident.setup_complete and incident.channel_id
    assert len(fake_slack.calls_to("conversations.create")) == 1
    assert len(fake_slack.calls_to("pins.add")) == 1

    again = (await slack.command("retry-setup INC-20261128-001")).json()
    assert "already fully set up" in again["text"]
    assert len(fake_slack.calls_to("conversations.create")) == 1


async def test_a_step_that_failed_midway_is_retried_without_redoing_the_others(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    fake_slack.fail_next("pins.add", "not_in_channel")
    view = await open_modal(slack, fake_slack, bot)
    await submit(slack, bot, view, title="Pin fails", severity="P3")
    [incident] = await incidents(bot)
    assert not incident.setup_complete and incident.summary_ts

    await slack.command("retry-setup", channel=incident.channel_id)
    await bot.tasks.drain()
    [incident] = await incidents(bot)
    assert incident.setup_complete
    assert len(fake_slack.calls_to("conversations.create")) == 1
    assert (
        len(
            [
                m
                for m in fake_slack.calls_to("chat.postMessage")
                if m["channel"] == incident.channel_id and m["text"].startswith("INC-")
            ]
        )
        == 1
    )
    assert fake_slack.pins[incident.channel_id] == [incident.summary_ts]


async def test_database_failure_is_shown_in_the_modal_and_nothing_reaches_slack(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    view = await open_modal(slack, fake_slack, bot)
    calls_before = len(fake_slack.calls)
    from app.store.db import make_engine, make_sessionmaker

    broken = make_engine("postgresql+asyncpg://nobody@127.0.0.1:1/none")
    good_sessions = bot.sessions
    bot.sessions = make_sessionmaker(broken)
    try:
        answer = (await submit(slack, bot, view, title="No DB", severity="P0")).json()
    finally:
        bot.sessions = good_sessions
        await broken.dispose()
    assert answer["response_action"] == "errors"
    assert "could not be saved" in answer["errors"]["title"]
    assert len(fake_slack.calls) == calls_before


async def test_health_reports_database_and_version(server: str, slack: SlackSender) -> None:
    answer = await slack.http.get(server + "/health")
    assert answer.status_code == 200
    body = answer.json()
    assert body["checks"]["database"]["ok"] is True and body["version"]


async def test_incident_count_query_is_scoped_per_day(bot: BotContext) -> None:
    """Sequence numbers restart each day (the id carries the date)."""
    from datetime import date

    from app.store.incidents import next_sequence

    async with bot.sessions.begin() as session:
        first = [await next_sequence(session, date(2026, 11, 28)) for _ in range(3)]
        other = await next_sequence(session, date(2026, 11, 29))
    assert first == [1, 2, 3] and other == 1
    async with bot.sessions() as session:
        count = (await session.execute(select(func.count()).select_from(Incident))).scalar()
    assert count == 0

"""Helpers for tests that run an incident: declare one through the real app, then poke it the
way people do (slash commands typed in its channel, buttons, modal submissions)."""

from __future__ import annotations

import json
from typing import Any

import httpx
from sqlalchemy import select

from app.context import BotContext
from app.sandbox.fakeslack import FakeSlack
from app.sandbox.sender import SlackSender
from app.store.models import ActionItem, Incident, TimelineEntry
from tests.test_declare import open_modal, submit


async def declare(
    slack: SlackSender,
    fake: FakeSlack,
    bot: BotContext,
    *,
    title: str = "Payments are down",
    severity: str = "P1",
    visibility: str | None = None,
) -> Incident:
    """An incident declared and set up exactly as a person would do it."""
    view = await open_modal(slack, fake, bot)
    await submit(slack, bot, view, title=title, severity=severity, visibility=visibility)
    async with bot.sessions() as session:
        incident = (
            await session.execute(select(Incident).order_by(Incident.id.desc()).limit(1))
        ).scalar_one()
    assert incident.setup_complete, incident.setup_error
    return incident


async def reload(bot: BotContext, incident: Incident) -> Incident:
    async with bot.sessions() as session:
        fresh = await session.get(Incident, incident.id)
    assert fresh is not None
    return fresh


async def entries(bot: BotContext, incident: Incident) -> list[TimelineEntry]:
    async with bot.sessions() as session:
        stmt = (
            select(TimelineEntry)
            .where(TimelineEntry.incident_id == incident.id)
            .order_by(TimelineEntry.occurred_at, TimelineEntry.id)
        )
        return list((await session.execute(stmt)).scalars())


# What the escalation engine records on its own at declaration (the default policy pages
# nobody, so L1 is skipped): not what these tests are about.
ESCALATION_KINDS = {"escalation_skipped", "paged"}


async def kinds(bot: BotContext, incident: Incident) -> list[str]:
    """The timeline's entry kinds in order, leaving out the escalation engine's own."""
    return [e.kind for e in await entries(bot, incident) if e.kind not in ESCALATION_KINDS]


async def items(bot: BotContext, incident: Incident) -> list[ActionItem]:
    async with bot.sessions() as session:
        stmt = select(ActionItem).where(ActionItem.incident_id == incident.id)
        return list((await session.execute(stmt.order_by(ActionItem.id))).scalars())


async def command(
    slack: SlackSender,
    bot: BotContext,
    text: str,
    *,
    channel: str | None,
    user: str = "UREPORTER",
    trigger_id: str | None = None,
) -> str:
    """Run `/incident <text>` in `channel`; return the ephemeral answer ("" if none)."""
    response = await slack.command(
        text, channel=channel or "CGENERAL", user=user, trigger_id=trigger_id
    )
    assert response.status_code == 200
    await bot.tasks.drain()
    if not response.content or response.content == b"null":
        return ""
    answer = response.json()
    assert answer["response_type"] == "ephemeral"
    return answer["text"]


def join(fake: FakeSlack, incident: Incident, *users: str) -> None:
    """People join the incident's channel (to help), so they may act on it from anywhere."""
    assert incident.channel_id
    fake.channels[incident.channel_id].members.update(users)


def posts_to(fake: FakeSlack, channel: str) -> list[dict[str, Any]]:
    """chat.postMessage calls that reached `channel` (a user id for a DM)."""
    return [c for c in fake.calls_to("chat.postMessage") if c["channel"] == channel]


def summary(fake: FakeSlack, incident: Incident) -> dict[str, Any]:
    message = fake.state.find_message(incident.channel_id, incident.summary_ts)
    assert message is not None
    return message


def summary_text(fake: FakeSlack, incident: Incident) -> str:
    return json.dumps(summary(fake, incident)["blocks"], ensure_ascii=False)


def buttons(message: dict[str, Any]) -> dict[str, str]:
    """action_id -> value of every button in a message."""
    found = {}
    for block in message.get("blocks", []):
        for element in [*block.get("elements", []), block.get("accessory") or {}]:
            if element.get("type") == "button":
                found[element["action_id"]] = element.get("value", "")
    return found


async def click(
    slack: SlackSender,
    bot: BotContext,
    message: dict[str, Any],
    name: str,
    *,
    user: str = "UREPORTER",
    selected: Any = None,
    block_id: str | None = None,
    near: str | None = None,
) -> httpx.Response:
    """Press button `name` (its label or action id) of a message the bot posted, as Slack
    reports it, then wait for the work it spawned."""
    response = await slack.click(
        message, name, user=user, selected=selected, block_id=block_id, near=near
    )
    assert response.status_code == 200, response.text
    await bot.tasks.drain()
    return response


def last_view(fake: FakeSlack) -> dict[str, Any]:
    attempt = fake.attempts_to("views.open")[-1]
    assert attempt.ok, attempt.response
    return attempt.response["view"]


def resolve_values(
    *,
    resolution: str = "Rolled back the deploy.",
    data_loss: str | None = "no",
    root_cause: str = "",
    affected_services: str = "",
    affected_users: str = "",
    revenue_impact: str = "",
) -> dict[str, Any]:
    """What a person enters in the resolve form (block id -> answer)."""
    return {
        "resolution": resolution,
        "root_cause": root_cause or None,
        "affected_services": affected_services or None,
        "affected_users": affected_users or None,
        "revenue_impact": revenue_impact or None,
        "data_loss": data_loss,
    }


async def resolve(
    slack: SlackSender,
    fake: FakeSlack,
    bot: BotContext,
    incident: Incident,
    user: str = "UREPORTER",
    **values: Any,
) -> Any:
    """`/incident resolve` in the channel, then submit the form."""
    await command(slack, bot, "resolve", channel=incident.channel_id, user=user)
    view = last_view(fake)
    response = await slack.submit(view, resolve_values(**values), user=user)
    await bot.tasks.drain()
    return response


def message_at(fake: FakeSlack, channel: str | None, ts: str | None) -> dict[str, Any]:
    """The message `ts` of `channel` as the fake Slack holds it now."""
    assert channel and ts
    message = fake.state.find_message(channel, ts)
    assert message is not None, f"no message {ts} in {channel}"
    return message

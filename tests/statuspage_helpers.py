"""What the status page tests share: an incident declared with impacts through the modal,
`/incident statuspage` run in its channel (the preview as its author sees it), and a press on
the preview's buttons built from that ephemeral message."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlencode

import httpx
from sqlalchemy import select

from app.context import BotContext
from app.sandbox.ephemeral import Ephemeral, block_actions_on_ephemeral, replaced, shown
from app.sandbox.fakeslack import FakeSlack
from app.sandbox.sender import SlackSender
from app.store.models import Incident, StatusPost
from tests.test_declare import open_modal, submit

POLICY = "tests/policies/status_page.yml"
PUBLIC_URL = "https://bot.example.com"


async def declare(
    slack: SlackSender,
    fake: FakeSlack,
    bot: BotContext,
    *,
    title: str = "Checkout returns 500",
    severity: str = "P0",
    impacts: dict[str, list[str]] | None = None,
    visibility: str | None = None,
) -> Incident:
    """An incident declared through the modal with the impacts ticked (severity -> keys)."""
    view = await open_modal(slack, fake, bot)
    await submit(
        slack,
        bot,
        view,
        title=title,
        severity=severity,
        impacts=impacts if impacts is not None else {"P0": ["outage"]},
        visibility=visibility,
    )
    async with bot.sessions() as session:
        stmt = select(Incident).order_by(Incident.id.desc()).limit(1)
        incident = (await session.execute(stmt)).scalar_one()
    assert incident.setup_complete, incident.setup_error
    return incident


async def statuspage(
    slack: SlackSender,
    fake: FakeSlack,
    bot: BotContext,
    incident: Incident,
    text: str,
    *,
    user: str = "UREPORTER",
) -> Ephemeral:
    """`/incident statuspage <text>` in the incident's channel: its ephemeral answer."""
    assert incident.channel_id
    response = await slack.command(f"statuspage {text}", channel=incident.channel_id, user=user)
    assert response.status_code == 200
    await bot.tasks.drain()
    return shown(fake, response.json(), channel_id=incident.channel_id, user_id=user)


def payload(fake: FakeSlack, preview: Ephemeral, name: str) -> dict[str, Any]:
    return block_actions_on_ephemeral(fake, preview, name)


async def press(
    slack: SlackSender, bot: BotContext, body: dict[str, Any], *, retry: int = 0
) -> httpx.Response:
    """Slack delivers a click (`retry`: its n-th redelivery, signed anew)."""
    form = urlencode({"payload": json.dumps(body)})
    headers = {"x-slack-retry-num": str(retry), "x-slack-retry-reason": "http_timeout"}
    response = await slack.post(
        form,
        "application/x-www-form-urlencoded",
        headers=headers if retry else None,
        timestamp=int(time.time()) + retry,
    )
    assert response.status_code == 200, response.text
    return response


async def click(
    slack: SlackSender, fake: FakeSlack, bot: BotContext, preview: Ephemeral, name: str
) -> dict[str, Any]:
    """Press `name` on the preview; what replaced it (the response_url post, its blocks ones
    Slack would show)."""
    before = len(fake.responses)
    await press(slack, bot, payload(fake, preview, name))
    await bot.tasks.drain()
    assert len(fake.responses) == before + 1, fake.responses[before:]
    replaced(preview, fake.responses[-1])  # NotShown if Slack would refuse it
    return fake.responses[-1]


def blocks_text(message: dict[str, Any] | Ephemeral) -> str:
    blocks = message.blocks if isinstance(message, Ephemeral) else message.get("blocks", [])
    return json.dumps(blocks, ensure_ascii=False)


def post_id(preview: Ephemeral) -> int:
    values = {
        e["action_id"]: e["value"]
        for b in preview.blocks
        for e in b.get("elements", [])
        if e.get("type") == "button"
    }
    assert values["statuspage_publish"] == values["statuspage_cancel"]
    return int(values["statuspage_publish"])


async def status_posts(bot: BotContext) -> list[StatusPost]:
    async with bot.sessions() as session:
        stmt = select(StatusPost).order_by(StatusPost.id)
        return list((await session.execute(stmt)).scalars())

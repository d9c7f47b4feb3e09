"""Deployments from Vercel and GitHub, over the real endpoints with real signatures; and what
an incident declared after one shows: its channel's "Deployed in the last 2 hours" and the
post-mortem's "Recent deployments"."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from app.clock import ManualClock
from app.context import BotContext
from app.domain.documents import render_postmortem
from app.sandbox.fakeslack import FakeSlack
from app.services.documents import incident_record
from app.services.setup import slack_steps
from app.store.deployment_model import Deployment
from tests.test_alerts import TOKEN, channel_texts, incidents, uptimerobot

VERCEL_SECRET = "vercel-secret-0123456789"
GITHUB_SECRET = "github-secret-0123456789"
pytestmark = pytest.mark.settings(
    vercel_webhook_secret=VERCEL_SECRET,
    github_webhook_secret=GITHUB_SECRET,
    alert_webhook_token=TOKEN,
)


def vercel_body(
    kind: str, when: datetime, *, deployment_id: str = "dpl_2qDqrE6nbE5kRCzvQhJv8xj5gs4P"
) -> dict[str, Any]:
    """A Vercel webhook delivery, in the shape of Vercel's Webhooks API reference."""
    return {
        "id": "uev_8UhcYk8sMuvbjk0Z6N1k2Yqv",
        "type": kind,
        "createdAt": int(when.timestamp() * 1000),
        "region": "iad1",
        "payload": {
            "team": {"id": "team_1a2b3c"},
            "user": {"id": "user_4d5e6f"},
            "deployment": {
                "id": deployment_id,
                "meta": {
                    "githubCommitSha": "9f8e7d6c5b4a39281706f5e4d3c2b1a098765432",
                    "githubCommitRef": "main",
                    "githubCommitRepo": "checkout",
                    "githubCommitOrg": "acme",
                },
                "url": "checkout-k2j3h4.vercel.app",
                "name": "checkout",
            },
            "links": {
                "deployment": "https://vercel.com/acme/checkout/2qDqrE6nbE5kRCzvQhJv8xj5gs4P",
                "project": "https://vercel.com/acme/checkout",
            },
            "target": "production",
            "project": {"id": "prj_7g8h9i"},
            "plan": "pro",
            "regions": ["iad1"],
        },
    }


def github_status_body(
    state: str, when: datetime, *, deployment_id: int = 145988746
) -> dict[str, Any]:
    """A GitHub `deployment_status` event (webhook payload of the REST description)."""
    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "action": "created",
        "deployment_status": {
            "id": 2_000_000_001,
            "state": state,
            "environment": "production",
            "target_url": "https://ci.example.com/runs/77",
            "environment_url": "https://checkout.example.com",
            "created_at": stamp,
        },
        "deployment": {
            "id": deployment_id,
            "sha": "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678",
            "ref": "release-42",
            "task": "deploy",
            "environment": "production",
            "created_at": stamp,
            "updated_at": stamp,
        },
        "repository": {
            "id": 1296269,
            "full_name": "acme/payments",
            "html_url": "https://github.com/acme/payments",
        },
        "sender": {"login": "octocat", "id": 1},
    }


async def send_vercel(server: str, body: dict[str, Any], secret: str = VERCEL_SECRET) -> int:
    raw = json.dumps(body).encode()
    signature = hmac.new(secret.encode(), raw, hashlib.sha1).hexdigest()
    async with httpx.AsyncClient() as http:
        response = await http.post(
            f"{server}/webhooks/deployments/vercel",
            content=raw,
            headers={"content-type": "application/json", "x-vercel-signature": signature},
        )
    return response.status_code


async def send_github(
    server: str, event: str, body: dict[str, Any], secret: str = GITHUB_SECRET
) -> int:
    raw = json.dumps(body).encode()
    signature = "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    async with httpx.AsyncClient() as http:
        response = await http.post(
            f"{server}/webhooks/deployments/github",
            content=raw,
            headers={
                "content-type": "application/json",
                "x-github-event": event,
                "x-github-delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958",
                "x-hub-signature-256": signature,
            },
        )
    return response.status_code


async def stored(bot: BotContext) -> list[Deployment]:
    async with bot.sessions() as session:
        return list((await session.execute(select(Deployment).order_by(Deployment.id))).scalars())


# ------------------------------------------------------------------------------ intake


async def test_a_signed_vercel_delivery_is_stored_and_its_next_state_updates_the_row(
    server: str, bot: BotContext, clock: ManualClock
) -> None:
    started = clock.now() - timedelta(minutes=30)
    assert await send_vercel(server, vercel_body("deployment.created", started)) == 200
    later = started + timedelta(minutes=2)
    assert await send_vercel(server, vercel_body("deployment.succeeded", later)) == 200
    # A late redelivery of "created" does not take the deployment back.
    assert await send_vercel(server, vercel_body("deployment.created", started)) == 200

    [row] = await stored(bot)
    assert (row.source, row.external_id, row.project) == (
        "vercel",
        "dpl_2qDqrE6nbE5kRCzvQhJv8xj5gs4P",
        "checkout",
    )
    assert (row.environment, row.ref, row.sha[:7]) == ("production", "main", "9f8e7d6")
    assert row.state == "succeeded" and row.created_at == started.replace(microsecond=0)
    assert row.url == "https://vercel.com/acme/checkout/2qDqrE6nbE5kRCzvQhJv8xj5gs4P"


async def test_a_vercel_delivery_with_a_bad_signature_is_401_and_stores_nothing(
    server: str, bot: BotContext, clock: ManualClock
) -> None:
    body = vercel_body("deployment.error", clock.now())
    assert await send_vercel(server, body, secret="another-secret-0123456789") == 401
    assert await stored(bot) == []


async def test_a_signed_github_deployment_status_is_stored(
    server: str, bot: BotContext, clock: ManualClock
) -> None:
    when = clock.now() - timedelta(minutes=10)
    body = github_status_body("success", when)
    assert await send_github(server, "deployment_status", body) == 200
    [row] = await stored(bot)
    assert (row.source, row.external_id, row.project) == ("github", "145988746", "acme/payments")
    assert (row.state, row.ref, row.environment) == ("success", "release-42", "production")
    assert row.url == "https://checkout.example.com"


async def test_a_github_delivery_with_a_bad_signature_is_401_and_stores_nothing(
    server: str, bot: BotContext, clock: ManualClock
) -> None:
    body = github_status_body("success", clock.now())
    assert await send_github(server, "deployment_status", body, secret="wrong-0123456789") == 401
    assert await stored(bot) == []


async def test_a_github_ping_or_other_event_is_acknowledged_and_stores_nothing(
    server: str, bot: BotContext, clock: ManualClock
) -> None:
    assert await send_github(server, "ping", {"zen": "Keep it logically awesome."}) == 200
    assert await send_github(server, "issues", {"action": "closed"}) == 200
    assert await stored(bot) == []


@pytest.mark.settings(vercel_webhook_secret=None, github_webhook_secret=None)
async def test_without_secrets_the_deployment_endpoints_do_not_exist(
    server: str, bot: BotContext, clock: ManualClock
) -> None:
    assert await send_vercel(server, vercel_body("deployment.created", clock.now())) == 404
    body = github_status_body("success", clock.now())
    assert await send_github(server, "deployment_status", body) == 404


# ------------------------------------------------------------------------------ an incident


async def declare_p1(server: str, bot: BotContext) -> None:
    async with httpx.AsyncClient() as http:
        response = await http.post(
            f"{server}/webhooks/alerts/generic",
            json={"fingerprint": "checkout-5xx", "title": "Checkout 5xx", "severity": "P1"},
            headers={"authorization": f"Bearer {TOKEN}"},
        )
    assert response.json()["results"][0]["action"] == "declared"
    await bot.tasks.drain()


async def test_a_p1_after_a_deploy_shows_it_in_its_channel_and_post_mortem(
    server: str, bot: BotContext, fake_slack: FakeSlack, clock: ManualClock
) -> None:
    recent = clock.now() - timedelta(minutes=40)
    await send_vercel(server, vercel_body("deployment.succeeded", recent))
    old = vercel_body("deployment.succeeded", clock.now() - timedelta(hours=3), deployment_id="x")
    await send_vercel(server, old)
    await send_github(server, "deployment_status", github_status_body("failure", recent))

    await declare_p1(server, bot)
    [incident] = await incidents(bot)
    [posted] = [t for t in channel_texts(fake_slack, incident) if "Deployed in the last" in t]
    assert posted == "Deployed in the last 2 hours: 2"  # not the one of 3 hours ago
    message = next(
        m for m in fake_slack.messages[incident.channel_id or ""] if m.get("text") == posted
    )
    shown = json.dumps(message["blocks"])
    assert "<https://vercel.com/acme/checkout/2qDqrE6nbE5kRCzvQhJv8xj5gs4P|checkout>" in shown
    assert "<https://checkout.example.com|acme/payments>" in shown and "failure" in shown

    async with bot.sessions() as session:
        record = await incident_record(session, incident)
    text = render_postmortem(record, bot.settings.tz)
    section = text.split("## Recent deployments\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert len(section) == 2
    assert "[checkout](https://vercel.com/acme/checkout/2qDqrE6nbE5kRCzvQhJv8xj5gs4P)" in text
    assert any("(production, release-42, a1b2c3d) - failure" in line for line in section)


async def test_the_deployments_post_is_made_once_even_when_setup_runs_it_again(
    server: str, bot: BotContext, fake_slack: FakeSlack, clock: ManualClock
) -> None:
    await send_vercel(server, vercel_body("deployment.succeeded", clock.now()))
    await declare_p1(server, bot)
    [incident] = await incidents(bot)
    await slack_steps.post_deployments(bot, incident, look=True)
    await slack_steps.post_deployments(bot, incident, look=False)
    posts = [t for t in channel_texts(fake_slack, incident) if "Deployed in" in t]
    assert posts == ["Deployed in the last 2 hours: 1"]


async def test_words_from_the_sender_are_escaped_and_odd_links_dropped(
    server: str, bot: BotContext, fake_slack: FakeSlack, clock: ManualClock
) -> None:
    body = vercel_body("deployment.succeeded", clock.now())
    body["payload"]["deployment"]["name"] = "<!channel> *boom*"
    body["payload"]["links"]["deployment"] = "javascript:alert(1)"
    body["payload"]["deployment"]["url"] = "ftp://files.example.com"
    await send_vercel(server, body)
    await declare_p1(server, bot)
    [incident] = await incidents(bot)
    message = next(
        m
        for m in fake_slack.messages[incident.channel_id or ""]
        if "Deployed in" in m.get("text", "")
    )
    shown = json.dumps(message["blocks"])
    assert "&lt;!channel&gt;" in shown and "<!channel>" not in shown
    assert "javascript" not in shown and "ftp://" not in shown


async def test_without_deployments_nothing_is_posted_and_the_post_mortem_has_no_section(
    server: str, bot: BotContext, fake_slack: FakeSlack
) -> None:
    await declare_p1(server, bot)
    [incident] = await incidents(bot)
    assert not [t for t in channel_texts(fake_slack, incident) if "Deployed in" in t]
    async with bot.sessions() as session:
        record = await incident_record(session, incident)
    assert "Recent deployments" not in render_postmortem(record, bot.settings.tz)


# ------------------------------------------------------------------------------ failures


async def test_a_failed_production_deployment_on_vercel_is_a_p2_alert_once(
    server: str, bot: BotContext, clock: ManualClock
) -> None:
    failed = vercel_body("deployment.error", clock.now())
    assert await send_vercel(server, failed) == 200
    assert await send_vercel(server, failed) == 200  # redelivered: the same alert
    await bot.tasks.drain()
    [incident] = await incidents(bot)
    assert incident.title == "Vercel deployment of checkout failed (production)"
    assert incident.severity == "P2"
    [row] = await stored(bot)
    assert row.state == "error"


async def test_a_failed_preview_deployment_is_stored_and_declares_nothing(
    server: str, bot: BotContext, clock: ManualClock
) -> None:
    failed = vercel_body("deployment.error", clock.now())
    failed["payload"]["target"] = None
    assert await send_vercel(server, failed) == 200
    await bot.tasks.drain()
    assert await incidents(bot) == []
    assert [row.environment for row in await stored(bot)] == ["preview"]


async def test_the_runbook_checklist_lists_the_recent_deployments_under_its_steps(
    server: str, bot: BotContext, fake_slack: FakeSlack, clock: ManualClock
) -> None:
    await send_vercel(server, vercel_body("deployment.succeeded", clock.now()))
    async with httpx.AsyncClient() as http:
        await http.post(
            f"{server}/webhooks/alerts/uptimerobot",
            json=uptimerobot("1"),
            headers={"authorization": f"Bearer {TOKEN}"},
        )
    await bot.tasks.drain()
    [incident] = await incidents(bot)
    assert incident.runbook_ts is not None
    [checklist] = [
        m for m in fake_slack.messages[incident.channel_id or ""] if m["ts"] == incident.runbook_ts
    ]
    sections = [b["text"]["text"] for b in checklist["blocks"] if b["type"] == "section"]
    assert sections[-1].startswith("*Recent deployments*\n")
    assert "|checkout>" in sections[-1]

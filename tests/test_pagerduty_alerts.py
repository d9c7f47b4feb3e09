"""PagerDuty's own incidents (custom alerts kept in PagerDuty) become alerts of source
"pagerduty", through the real, signed /webhooks/pagerduty."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import httpx
import pytest

from app.context import BotContext
from tests.test_alerts import entries, incidents

SECRET = "pd-webhook-secret-0123456789"
pytestmark = pytest.mark.settings(pagerduty_webhook_secret=SECRET)


def _ref(kind: str, id_: str, summary: str) -> dict[str, str]:
    return {
        "html_url": f"https://acme.pagerduty.com/{kind}s/{id_}",
        "id": id_,
        "self": f"https://api.pagerduty.com/{kind}s/{id_}",
        "summary": summary,
        "type": f"{kind}_reference",
    }


def delivery(
    event_type: str, *, urgency: str = "high", incident_key: str = "b5c4a1f0e3d2"
) -> dict[str, Any]:
    """A v3 webhook delivery in PagerDuty's published shape (incident data as a reference)."""
    return {
        "event": {
            "id": "01DEN4HPBQAC9ICQ6T3D2VZXDY",
            "event_type": event_type,
            "resource_type": "incident",
            "occurred_at": "2026-11-28T08:58:00.000Z",
            "agent": None,
            "client": None,
            "data": {
                "id": "Q2WSX3EDC4RFV",
                "type": "incident",
                "self": "https://api.pagerduty.com/incidents/Q2WSX3EDC4RFV",
                "html_url": "https://acme.pagerduty.com/incidents/Q2WSX3EDC4RFV",
                "number": 4711,
                "status": "triggered" if event_type.endswith("triggered") else "resolved",
                "incident_key": incident_key,
                "title": "Redis down on cache-1",
                "service": _ref("service", "PF9KMXH", "Cache"),
                "assignees": [],
                "escalation_policy": _ref("escalation_policy", "PUS0KTE", "Default"),
                "teams": [],
                "priority": _ref("priority", "PSO75BM", "P1"),
                "urgency": urgency,
                "conference_bridge": None,
                "resolve_reason": None,
            },
        }
    }


async def send(server: str, body: dict[str, Any], secret: str = SECRET) -> httpx.Response:
    raw = json.dumps(body).encode()
    signature = "v1=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    async with httpx.AsyncClient() as http:
        return await http.post(
            f"{server}/webhooks/pagerduty",
            content=raw,
            headers={"content-type": "application/json", "x-pagerduty-signature": signature},
        )


async def test_pagerduty_s_own_incident_triggered_declares_one_by_the_urgency_rule(
    server: str, bot: BotContext
) -> None:
    response = await send(server, delivery("incident.triggered"))
    assert response.status_code == 200 and response.text.endswith("declared")
    again = await send(server, delivery("incident.triggered"))  # at-least-once delivery
    assert again.text.endswith("updated")
    await bot.tasks.drain()
    [incident] = await incidents(bot)
    assert (incident.title, incident.severity) == ("Redis down on cache-1", "P1")
    [alert] = [e for e in await entries(bot, incident) if e.kind == "alert"]
    assert alert.data["labels"] == {
        "urgency": "high",
        "priority": "P1",
        "service": "Cache",
        "title": "Redis down on cache-1",
    }


async def test_a_low_urgency_incident_is_p2(server: str, bot: BotContext) -> None:
    await send(server, delivery("incident.triggered", urgency="low"))
    await bot.tasks.drain()
    assert [i.severity for i in await incidents(bot)] == ["P2"]


async def test_a_bad_signature_declares_nothing(server: str, bot: BotContext) -> None:
    response = await send(server, delivery("incident.triggered"), secret="another-0123456789")
    assert response.status_code == 401
    assert await incidents(bot) == []


async def test_the_bot_s_own_incident_triggered_in_pagerduty_is_not_an_alert_again(
    server: str, bot: BotContext
) -> None:
    await send(server, delivery("incident.triggered"))
    await bot.tasks.drain()
    [incident] = await incidents(bot)
    # The bot paging through PagerDuty keys the PagerDuty incident by its own public id.
    echo = delivery("incident.triggered", incident_key=incident.public_id)
    echo["event"]["data"]["id"] = "ANOTHERPDID1"
    response = await send(server, echo)
    assert "nothing to do" in response.text
    assert len(await incidents(bot)) == 1


async def test_resolving_it_in_pagerduty_resolves_the_alert(server: str, bot: BotContext) -> None:
    await send(server, delivery("incident.triggered"))
    await bot.tasks.drain()
    response = await send(server, delivery("incident.resolved"))
    assert response.status_code == 200 and response.text.endswith("updated")
    await bot.tasks.drain()
    [incident] = await incidents(bot)
    assert (await entries(bot, incident))[-1].text.startswith("Alert resolved: Redis down")

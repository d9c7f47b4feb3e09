"""Grafana Alerting's webhook contact point through the real endpoint, in its published shape."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from app.context import BotContext
from app.domain.alerts import Alert, PayloadError, parse
from app.sandbox.fakeslack import FakeSlack
from tests.test_alerts import TOKEN, Post, entries, incidents, post, resolving_policy

__all__ = ["post"]  # the fixture, imported for its use here
pytestmark = pytest.mark.settings(alert_webhook_token=TOKEN)

GROUP_KEY = '{}/{alertname=~"^(?:High.*)$"}:{}'


def grafana_alert(
    status: str = "firing",
    *,
    name: str = "High memory usage",
    zone: str = "us-1",
    fingerprint: str = "c6eadffa33fcdf37",
    severity: str = "critical",
) -> dict[str, Any]:
    """One alert of Grafana's webhook body, as the webhook notifier's documentation shows it."""
    return {
        "status": status,
        "labels": {"alertname": name, "team": "blue", "zone": zone, "severity": severity},
        "annotations": {
            "description": f"The system has {name.lower().removeprefix('high ')}",
            "runbook_url": "https://myrunbook.com/runbook/1234",
            "summary": f"This alert was triggered for zone {zone}",
        },
        "startsAt": "2021-10-12T09:51:03.157076+02:00",
        "endsAt": "0001-01-01T00:00:00Z" if status == "firing" else "2021-10-12T10:21:03Z",
        "generatorURL": "https://play.grafana.org/alerting/1afz29v7z/edit",
        "fingerprint": fingerprint,
        "silenceURL": "https://play.grafana.org/alerting/silence/new?alertmanager=grafana"
        f"&matchers=alertname%3DT2%2Cteam%3Dblue%2Czone%3D{zone}",
        "dashboardURL": "",
        "panelURL": "",
        "values": {"B": 44.23943737541908, "C": 1},
    }


def grafana(*alerts: dict[str, Any]) -> dict[str, Any]:
    """The whole body: Grafana's extras (orgId, title, state, message) around the alerts."""
    firing = [a for a in alerts if a["status"] == "firing"]
    status = "firing" if firing else "resolved"
    return {
        "receiver": "My Super Webhook",
        "status": status,
        "orgId": 1,
        "alerts": list(alerts),
        "groupLabels": {},
        "commonLabels": {"team": "blue"},
        "commonAnnotations": {},
        "externalURL": "https://play.grafana.org/",
        "version": "1",
        "groupKey": GROUP_KEY,
        "truncatedAlerts": 0,
        "title": f"[{status.upper()}:{len(firing)}]  (blue)",
        "state": "alerting" if firing else "ok",
        "message": "**Firing**\n\nLabels:\n - alertname = High memory usage\n",
    }


CPU = {"name": "High CPU usage", "zone": "eu-1", "fingerprint": "bc97ff14869b13e3"}


def test_the_published_body_reads_as_alerts_grouped_by_group_key() -> None:
    memory, cpu = parse("grafana", grafana(grafana_alert(), grafana_alert(**CPU)))
    assert isinstance(memory, Alert) and isinstance(cpu, Alert)
    assert memory.title == "High memory usage: This alert was triggered for zone us-1"
    assert memory.labels["severity"] == "critical" and memory.labels["team"] == "blue"
    assert memory.fingerprint == "c6eadffa33fcdf37" and memory.firing
    assert memory.group is not None and memory.group == cpu.group
    # Empty dashboard and panel URLs fall back to the rule's link.
    assert memory.url == "https://play.grafana.org/alerting/1afz29v7z/edit"


def test_the_panel_link_is_preferred_and_a_non_http_link_is_dropped() -> None:
    alert = grafana_alert()
    alert["panelURL"] = "https://play.grafana.org/d/abc?viewPanel=2"
    [read] = parse("grafana", grafana(alert))
    assert isinstance(read, Alert) and read.url == alert["panelURL"]
    alert["panelURL"] = "javascript:alert(1)"
    alert["generatorURL"] = "ftp://nope"
    [read] = parse("grafana", grafana(alert))
    assert isinstance(read, Alert) and read.url == "https://play.grafana.org/"


def test_another_version_or_no_alerts_is_refused_whole() -> None:
    body = grafana(grafana_alert())
    with pytest.raises(PayloadError, match="version"):
        parse("grafana", {**body, "version": "4"})
    with pytest.raises(PayloadError, match="alerts"):
        parse("grafana", {**body, "alerts": []})


async def test_grafana_declares_joins_its_group_and_resolves_through_the_endpoint(
    post: Post, bot: BotContext, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    bot.policy = resolving_policy(tmp_path)
    first = await post("grafana", grafana(grafana_alert()))
    assert first.status_code == 200
    assert first.json()["results"][0]["action"] == "declared"
    await bot.tasks.drain()
    [incident] = await incidents(bot)
    assert incident.severity == "P0"  # severity: critical -> P0 in the default rules
    assert incident.title == "High memory usage: This alert was triggered for zone us-1"

    # Another alert of the same Grafana notification group joins the open incident.
    both = await post("grafana", grafana(grafana_alert(), grafana_alert(**CPU)))
    assert [r["action"] for r in both.json()["results"]] == ["updated", "updated"]
    assert len(await incidents(bot)) == 1

    resolved = [grafana_alert("resolved"), grafana_alert("resolved", **CPU)]
    done = await post("grafana", grafana(*copy.deepcopy(resolved)))
    assert [r["action"] for r in done.json()["results"]][-1] == "resolved"
    await bot.tasks.drain()
    [incident] = await incidents(bot)
    assert incident.status == "resolved"
    assert any("High CPU usage" in e.text for e in await entries(bot, incident))


@pytest.mark.parametrize(
    ("severity", "expected"), [("error", "P1"), ("high", "P1"), ("warning", "P2")]
)
async def test_grafana_severity_labels_map_as_alertmanager_s(
    post: Post, bot: BotContext, severity: str, expected: str
) -> None:
    response = await post("grafana", grafana(grafana_alert(severity=severity)))
    assert response.json()["results"][0]["action"] == "declared"
    await bot.tasks.drain()
    assert [i.severity for i in await incidents(bot)] == [expected]


@pytest.mark.parametrize("token", [None, "wrong-token-0123456789abcd"])
async def test_a_bad_token_gets_401_and_declares_nothing(
    post: Post, bot: BotContext, token: str | None
) -> None:
    response = await post("grafana", grafana(grafana_alert()), token=token)
    assert response.status_code == 401
    assert await incidents(bot) == []


@pytest.mark.settings(alert_webhook_token=None, alert_webhook_token_grafana=TOKEN)
async def test_grafana_s_own_token_opens_grafana_alone(post: Post, bot: BotContext) -> None:
    assert (await post("grafana", grafana(grafana_alert()))).status_code == 200
    assert (await post("generic", {"fingerprint": "x", "title": "t"})).status_code == 404


async def test_pagerduty_has_no_alert_endpoint_of_its_own(post: Post, bot: BotContext) -> None:
    """PagerDuty's incidents come through its signed v3 webhook, not a token URL."""
    response = await post("pagerduty", {"event": {}})
    assert response.status_code == 404

"""Alert intake end to end: real payload shapes over HTTP, the database, and the fake Slack."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import select

from app.config.policy_loader import load_policy
from app.context import BotContext
from app.sandbox.fakeslack import FakeSlack
from app.store.models import AlertLink, Incident, TimelineEntry
from tests.running import ESCALATION_KINDS
from tests.test_declare import not_startup

TOKEN = "alert-token-0123456789abcdef"
pytestmark = pytest.mark.settings(alert_webhook_token=TOKEN)

Post = Callable[..., Awaitable[httpx.Response]]


@pytest_asyncio.fixture
async def post(server: str) -> AsyncIterator[Post]:
    async with poster(server) as send:
        yield send


@contextlib.asynccontextmanager
async def poster(server: str) -> AsyncIterator[Post]:
    """POST to the bot's alert endpoint as a monitoring tool does, with the token by default."""
    async with httpx.AsyncClient(timeout=10) as http:

        async def send(
            source: str,
            payload: Any = None,
            *,
            token: str | None = TOKEN,
            headers: dict[str, str] | None = None,
            content: bytes | None = None,
            params: dict[str, str] | None = None,
        ) -> httpx.Response:
            sent = {"authorization": f"Bearer {token}"} if token else {}
            sent.update(headers or {})
            if content is None:
                content = json.dumps(payload).encode()
                sent.setdefault("content-type", "application/json")
            return await http.post(
                f"{server}/webhooks/alerts/{source}", content=content, headers=sent, params=params
            )

        yield send


async def incidents(bot: BotContext) -> list[Incident]:
    async with bot.sessions() as session:
        return list((await session.execute(select(Incident).order_by(Incident.id))).scalars())


async def entries(bot: BotContext, incident: Incident) -> list[TimelineEntry]:
    async with bot.sessions() as session:
        stmt = (
            select(TimelineEntry)
            .where(TimelineEntry.incident_id == incident.id)
            .order_by(TimelineEntry.occurred_at, TimelineEntry.id)
        )
        return list((await session.execute(stmt)).scalars())


def channel_texts(fake: FakeSlack, incident: Incident) -> list[str]:
    return [m.get("text", "") for m in fake.messages.get(incident.channel_id or "", [])]


def resolving_policy(tmp_path: Path) -> Any:
    path = tmp_path / "policy.yml"
    default = (Path(__file__).parents[1] / "app" / "default_policy.yml").read_text()
    path.write_text(default.replace("  resolve: false", "  resolve: true"))
    return load_policy(path)


# ------------------------------------------------------------------------------ payloads


def am_alert(
    status: str = "firing",
    *,
    fingerprint: str = "5f3c0a1b2c3d4e5f",
    severity: str = "critical",
    name: str = "CheckoutErrors",
    summary: str = "5xx above 5% on checkout",
) -> dict[str, Any]:
    """One alert as Alertmanager's webhook (v4) sends it."""
    return {
        "status": status,
        "labels": {
            "alertname": name,
            "severity": severity,
            "service": "checkout",
            "instance": "checkout-1:8080",
        },
        "annotations": {"summary": summary, "description": "Error ratio 7.2% over 5m"},
        "startsAt": "2026-11-28T08:58:00Z",
        "endsAt": "0001-01-01T00:00:00Z" if status == "firing" else "2026-11-28T09:30:00Z",
        "generatorURL": "http://prometheus:9090/graph?g0.expr=checkout_errors",
        "fingerprint": fingerprint,
    }


def alertmanager(*alerts: dict[str, Any], group: str = "checkout") -> dict[str, Any]:
    firing = any(a["status"] == "firing" for a in alerts)
    return {
        "version": "4",
        "groupKey": f'{{}}/{{severity="critical"}}:{{service="{group}"}}',
        "truncatedAlerts": 0,
        "status": "firing" if firing else "resolved",
        "receiver": "incident-bot",
        "groupLabels": {"service": group},
        "commonLabels": {"service": group},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "alerts": list(alerts),
    }


def sentry_event_alert(issue_id: str = "1117540176", level: str = "error") -> dict[str, Any]:
    """An issue alert (Sentry-Hook-Resource: event_alert) from a Sentry internal integration."""
    return {
        "action": "triggered",
        "actor": {"id": "sentry", "name": "Sentry", "type": "application"},
        "data": {
            "event": {
                "event_id": "a3f1c9e5b7d24f0e9c8b7a6f5e4d3c2b",
                "issue_id": issue_id,
                "issue_url": f"https://sentry.io/api/0/issues/{issue_id}/",
                "title": "ReferenceError: heck is not defined",
                "culprit": "?(<anonymous>)",
                "level": level,
                "platform": "javascript",
                "project": 1,
                "environment": "production",
                "url": "https://sentry.io/api/0/projects/acme/web/events/a3f1c9/",
                "web_url": f"https://sentry.io/organizations/acme/issues/{issue_id}/events/a3f1c9/",
                "datetime": "2026-11-28T08:59:12.000000Z",
                "tags": [["level", level], ["environment", "production"]],
            },
            "triggered_rule": "Errors on checkout",
        },
        "installation": {"uuid": "7a485448-a9e2-4c85-8a3c-4f44175783c9"},
    }


def sentry_issue(action: str, issue_id: str = "1117540176") -> dict[str, Any]:
    """An issue webhook (Sentry-Hook-Resource: issue)."""
    return {
        "action": action,
        "actor": {"id": 1, "name": "Ada", "type": "user"},
        "data": {
            "issue": {
                "id": issue_id,
                "shortId": "WEB-1A",
                "title": "ReferenceError: heck is not defined",
                "culprit": "?(<anonymous>)",
                "level": "error",
                "status": "resolved" if action == "resolved" else "unresolved",
                "web_url": f"https://sentry.io/organizations/acme/issues/{issue_id}/",
                "project": {"id": "1", "name": "web", "slug": "web"},
            }
        },
        "installation": {"uuid": "7a485448-a9e2-4c85-8a3c-4f44175783c9"},
    }


def sentry_metric_alert(action: str) -> dict[str, Any]:
    """A metric alert (Sentry-Hook-Resource: metric_alert): critical, warning or resolved."""
    title = {"critical": "Critical", "warning": "Warning", "resolved": "Resolved"}[action]
    return {
        "action": action,
        "actor": {"id": "sentry", "name": "Sentry", "type": "application"},
        "data": {
            "description_text": "1000 events in the last 10 minutes\nFilter: level:error",
            "description_title": f"{title}: Too many errors",
            "metric_alert": {
                "id": "7",
                "identifier": "7",
                "title": "Too many errors",
                "alert_rule": {"id": "48", "name": "Too many errors", "aggregate": "count()"},
            },
            "web_url": "https://sentry.io/organizations/acme/alerts/rules/details/48/",
        },
        "installation": {"uuid": "7a485448-a9e2-4c85-8a3c-4f44175783c9"},
    }


def uptimerobot(alert_type: str, **extra: str) -> dict[str, str]:
    """The variables of an UptimeRobot webhook alert contact, as its JSON POST value sends them.

    Variables that do not apply to the alert arrive unreplaced, e.g. "*sslExpiryDate*".
    """
    friendly = {"1": "Down", "2": "Up", "3": "SSL Expiry"}.get(alert_type, "Paused")
    return {
        "monitorID": "778899",
        "monitorURL": "https://app.example.com",
        "monitorFriendlyName": "Main site",
        "alertType": alert_type,
        "alertTypeFriendlyName": friendly,
        "alertDetails": "Connection Timeout" if alert_type == "1" else "*alertDetails*",
        "alertDuration": "*alertDuration*" if alert_type == "1" else "420",
        "alertDateTime": "1795856400",
        "sslExpiryDate": "*sslExpiryDate*",
        "sslExpiryDaysLeft": "*sslExpiryDaysLeft*",
        **extra,
    }


# ------------------------------------------------------------------------------ access


@pytest.mark.settings(alert_webhook_token=None)
async def test_without_a_token_configured_the_endpoint_does_not_exist(
    post: Post, bot: BotContext
) -> None:
    response = await post("generic", {"fingerprint": "x", "title": "t"})
    assert response.status_code == 404
    assert await incidents(bot) == []


@pytest.mark.parametrize("token", [None, "wrong-token-0123456789abcd", TOKEN[:-1]])
async def test_missing_or_wrong_token_gets_401_and_changes_nothing(
    post: Post, bot: BotContext, fake_slack: FakeSlack, token: str | None
) -> None:
    response = await post("alertmanager", alertmanager(am_alert()), token=token)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert await incidents(bot) == []
    assert not_startup(fake_slack.calls) == []


async def test_token_in_the_query_string_is_accepted_for_senders_without_headers(
    post: Post, bot: BotContext
) -> None:
    response = await post(
        "generic", {"fingerprint": "q", "title": "Queue stuck", "severity": "P3"}, token=None,
        params={"token": TOKEN},
    )  # fmt: skip
    assert response.status_code == 200
    assert [i.severity for i in await incidents(bot)] == ["P3"]


async def test_unknown_source_is_404(post: Post, bot: BotContext) -> None:
    response = await post("nagios", {"fingerprint": "x"})
    assert response.status_code == 404
    assert "alertmanager" in response.json()["error"]


# ------------------------------------------------------------------------------ Alertmanager


async def test_alertmanager_firing_declares_through_the_declare_service(
    post: Post, bot: BotContext, fake_slack: FakeSlack
) -> None:
    response = await post("alertmanager", alertmanager(am_alert()))
    assert response.status_code == 200
    [result] = response.json()["results"]
    assert result == {
        "fingerprint": "5f3c0a1b2c3d4e5f",
        "status": "firing",
        "action": "declared",
        "incident": "INC-20261128-001",
    }
    await bot.tasks.drain()

    [incident] = await incidents(bot)
    assert incident.title == "CheckoutErrors: 5xx above 5% on checkout"
    assert incident.severity == "P0"  # severity: critical -> P0 in the default rules
    assert incident.reporter_id == fake_slack.bot_user_id
    assert "Error ratio 7.2%" in incident.description
    assert incident.setup_complete and incident.channel_name == (
        "incident-20261128-checkouterrors-5xx-above-5-on-checkout"
    )
    assert fake_slack.pins[incident.channel_id] == [incident.summary_ts]
    kinds = [e.kind for e in await entries(bot, incident) if e.kind not in ESCALATION_KINDS]
    assert kinds == ["declared", "alert"]


async def test_same_alert_again_updates_its_timeline_entry_not_a_second_incident(
    post: Post, bot: BotContext, fake_slack: FakeSlack
) -> None:
    await post("alertmanager", alertmanager(am_alert()))
    await bot.tasks.drain()
    posts_before = len(fake_slack.calls_to("chat.postMessage"))

    again = await post("alertmanager", alertmanager(am_alert()))
    await bot.tasks.drain()

    assert again.json()["results"][0]["action"] == "updated"
    [incident] = await incidents(bot)
    alert_entries = [e for e in await entries(bot, incident) if e.kind == "alert"]
    assert [e.text for e in alert_entries] == [
        "Declared from a alertmanager alert: CheckoutErrors: 5xx above 5% on checkout"
        " (still firing, 2 deliveries)",
    ]
    assert alert_entries[0].data["labels"]["severity"] == "critical"
    assert alert_entries[0].data["deliveries"] == 2
    assert len(fake_slack.calls_to("conversations.create")) == 1
    # A plain repeat (Alertmanager's repeat_interval) is not worth a channel message.
    assert len(fake_slack.calls_to("chat.postMessage")) == posts_before


async def test_resolved_alert_adds_an_entry_and_leaves_the_incident_open_by_default(
    post: Post, bot: BotContext, fake_slack: FakeSlack
) -> None:
    await post("alertmanager", alertmanager(am_alert()))
    await bot.tasks.drain()
    response = await post("alertmanager", alertmanager(am_alert("resolved")))
    await bot.tasks.drain()

    assert response.json()["results"][0]["action"] == "updated"
    [incident] = await incidents(bot)
    assert incident.status == "investigating" and incident.resolved_at is None
    assert (await entries(bot, incident))[-1].text.startswith("Alert resolved: CheckoutErrors")
    assert any("Alert resolved" in text for text in channel_texts(fake_slack, incident))


async def test_resolved_alert_resolves_when_the_policy_says_so_and_the_next_firing_is_new(
    post: Post, bot: BotContext, fake_slack: FakeSlack, tmp_path: Path, clock: Any
) -> None:
    bot.policy = resolving_policy(tmp_path)
    await post("alertmanager", alertmanager(am_alert()))
    await bot.tasks.drain()
    clock.advance(25 * 60)

    response = await post("alertmanager", alertmanager(am_alert("resolved")))
    await bot.tasks.drain()
    assert response.json()["results"][0]["action"] == "resolved"
    [incident] = await incidents(bot)
    assert incident.status == "resolved"
    assert (incident.resolved_at - incident.started_at).total_seconds() == 25 * 60
    assert [e.kind for e in await entries(bot, incident)][-2:] == ["alert", "resolved"]
    assert "Resolved" in fake_slack.channels[incident.channel_id].topic
    assert any("incident is now *Resolved*" in t for t in channel_texts(fake_slack, incident))

    # The same alert firing after its incident was resolved is a new incident.
    again = await post("alertmanager", alertmanager(am_alert()))
    await bot.tasks.drain()
    assert again.json()["results"][0] | {"incident": "?"} == {
        "fingerprint": "5f3c0a1b2c3d4e5f",
        "status": "firing",
        "action": "declared",
        "incident": "?",
    }
    assert [i.public_id for i in await incidents(bot)] == ["INC-20261128-001", "INC-20261128-002"]


async def test_an_incident_resolves_only_when_all_of_its_alerts_resolved(
    post: Post, bot: BotContext, tmp_path: Path
) -> None:
    bot.policy = resolving_policy(tmp_path)
    first = am_alert(fingerprint="aaaa000000000001")
    second = am_alert(fingerprint="aaaa000000000002", summary="5xx above 5% on cart")
    await post("alertmanager", alertmanager(first))
    both = await post("alertmanager", alertmanager(first, second))
    # Another alert of the same Alertmanager group joins the open incident.
    assert [r["action"] for r in both.json()["results"]] == ["updated", "updated"]
    assert len(await incidents(bot)) == 1

    one = await post(
        "alertmanager", alertmanager(am_alert("resolved", fingerprint=first["fingerprint"]), second)
    )
    assert [r["action"] for r in one.json()["results"]] == ["updated", "updated"]
    assert (await incidents(bot))[0].status == "investigating"

    done = await post(
        "alertmanager", alertmanager(am_alert("resolved", fingerprint=second["fingerprint"]))
    )
    assert done.json()["results"][0]["action"] == "resolved"
    assert (await incidents(bot))[0].status == "resolved"
    await bot.tasks.drain()


async def test_rules_choose_severity_and_unmatched_alerts_are_ignored(
    post: Post, bot: BotContext
) -> None:
    warning = am_alert(fingerprint="b000000000000001", severity="warning", name="SlowSearch")
    info = am_alert(fingerprint="b000000000000002", severity="info", name="DiskGrowing")
    declared = await post("alertmanager", alertmanager(warning, group="search"))
    ignored = await post("alertmanager", alertmanager(info, group="disks"))
    assert declared.json()["results"][0]["action"] == "declared"
    assert ignored.json()["results"][0] == {
        "fingerprint": "b000000000000002",
        "status": "firing",
        "action": "ignored",
        "reason": "no alert rule declares it",
    }
    [incident] = await incidents(bot)
    assert (incident.severity, incident.title) == ("P2", "SlowSearch: 5xx above 5% on checkout")
    await bot.tasks.drain()


async def test_resolved_alert_without_an_open_incident_is_ignored(
    post: Post, bot: BotContext
) -> None:
    response = await post("alertmanager", alertmanager(am_alert("resolved")))
    assert response.json()["results"][0]["action"] == "ignored"
    assert await incidents(bot) == []


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "not valid JSON"),
        (json.dumps({"version": "4", "alerts": []}).encode(), "alerts must be a non-empty list"),
        (json.dumps({"version": "3", "alerts": [am_alert()]}).encode(), "version '3'"),
        (
            # Every alert of the batch unreadable: nothing to handle at all.
            json.dumps(alertmanager({**am_alert(), "status": "pending"})).encode(),
            "alerts[0].status must be firing or resolved",
        ),
        (json.dumps([am_alert()]).encode(), "must be a JSON object"),
    ],
)
async def test_malformed_alertmanager_payload_gets_400_with_the_reason_and_changes_nothing(
    post: Post, bot: BotContext, fake_slack: FakeSlack, body: bytes, reason: str
) -> None:
    response = await post(
        "alertmanager", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert reason in response.json()["error"]
    assert await incidents(bot) == []
    assert not_startup(fake_slack.calls) == []


async def test_the_endpoint_answers_before_the_slack_work_is_done(
    post: Post, bot: BotContext, fake_slack: FakeSlack
) -> None:
    await bot.bot_user_id()  # learned at start-up in production (app/server.py)
    fake_slack.latency = 0.5
    started = time.perf_counter()
    response = await post("alertmanager", alertmanager(am_alert()))
    elapsed = time.perf_counter() - started
    assert response.status_code == 200 and elapsed < 0.5
    [incident] = await incidents(bot)
    assert incident.channel_id is None  # saved, Slack not touched yet
    await bot.tasks.drain()
    [incident] = await incidents(bot)
    assert incident.setup_complete


async def test_concurrent_duplicate_deliveries_declare_one_incident(
    post: Post, bot: BotContext, fake_slack: FakeSlack
) -> None:
    responses = await asyncio.gather(
        *(post("alertmanager", alertmanager(am_alert())) for _ in range(3))
    )
    assert all(r.status_code == 200 for r in responses)
    actions = sorted(r.json()["results"][0]["action"] for r in responses)
    assert actions.count("declared") == 1
    await bot.tasks.drain()
    assert len(await incidents(bot)) == 1
    assert len(fake_slack.calls_to("conversations.create")) == 1
    async with bot.sessions() as session:
        links = list((await session.execute(select(AlertLink))).scalars())
    assert len(links) == 1


async def test_unreachable_database_answers_503_so_the_sender_retries(
    post: Post, bot: BotContext
) -> None:
    from app.store.db import make_engine, make_sessionmaker

    broken = make_engine("postgresql+asyncpg://nobody@127.0.0.1:1/none")
    good = bot.sessions
    bot.sessions = make_sessionmaker(broken)
    try:
        response = await post("alertmanager", alertmanager(am_alert()))
    finally:
        bot.sessions = good
        await broken.dispose()
    assert response.status_code == 503
    assert "nothing was saved" in response.json()["error"]
    assert await incidents(bot) == []


# ------------------------------------------------------------------------------ Sentry


async def test_sentry_issue_alert_declares_with_the_error_rate_runbook(
    post: Post, bot: BotContext, fake_slack: FakeSlack
) -> None:
    response = await post(
        "sentry", sentry_event_alert(), headers={"sentry-hook-resource": "event_alert"}
    )
    assert response.json()["results"][0]["action"] == "declared"
    await bot.tasks.drain()
    [incident] = await incidents(bot)
    assert (incident.severity, incident.incident_type) == ("P2", "high_error_rate")
    assert incident.title == "ReferenceError: heck is not defined"
    assert "sentry.io/organizations/acme/issues/1117540176" in incident.description
    [checklist] = [
        m for m in fake_slack.messages[incident.channel_id] if m["ts"] == incident.runbook_ts
    ]
    assert "Runbook: High error rate" in checklist["text"]


async def test_sentry_fatal_level_is_more_severe_and_header_is_optional(
    post: Post, bot: BotContext
) -> None:
    await post("sentry", sentry_event_alert(level="fatal"))  # resource read from the body
    [incident] = await incidents(bot)
    assert incident.severity == "P1"
    await bot.tasks.drain()


async def test_sentry_issue_resolved_in_sentry_adds_an_entry_to_the_alerts_incident(
    post: Post, bot: BotContext
) -> None:
    await post("sentry", sentry_event_alert(), headers={"sentry-hook-resource": "event_alert"})
    await bot.tasks.drain()  # the incident's setup (channel, pages, runbook) is done
    response = await post(
        "sentry", sentry_issue("resolved"), headers={"sentry-hook-resource": "issue"}
    )
    assert response.json()["results"][0] == {
        "fingerprint": "issue:1117540176",
        "status": "resolved",
        "action": "updated",
        "incident": "INC-20261128-001",
    }
    await bot.tasks.drain()  # and whatever the resolved alert set going
    [incident] = await incidents(bot)
    assert (await entries(bot, incident))[-1].text == (
        "Alert resolved: ReferenceError: heck is not defined"
    )
    # A newly created Sentry issue is not an incident under the default rules.
    created = await post(
        "sentry", sentry_issue("created", "42"), headers={"sentry-hook-resource": "issue"}
    )
    assert created.json()["results"][0]["action"] == "ignored"
    await bot.tasks.drain()


async def test_sentry_metric_alert_critical_then_resolved(
    post: Post, bot: BotContext, tmp_path: Path
) -> None:
    bot.policy = resolving_policy(tmp_path)
    headers = {"sentry-hook-resource": "metric_alert"}
    first = await post("sentry", sentry_metric_alert("critical"), headers=headers)
    assert first.json()["results"][0]["fingerprint"] == "metric_alert:7"
    warning = await post("sentry", sentry_metric_alert("warning"), headers=headers)
    assert warning.json()["results"][0]["action"] == "updated"
    [incident] = await incidents(bot)
    assert (incident.severity, incident.title) == ("P1", "Too many errors")
    done = await post("sentry", sentry_metric_alert("resolved"), headers=headers)
    assert done.json()["results"][0]["action"] == "resolved"
    await bot.tasks.drain()


@pytest.mark.parametrize(
    ("payload", "headers", "reason"),
    [
        ({"action": "triggered", "data": {"event": {"title": "no issue id"}}}, {},
         "data.event.issue_id is missing"),
        ({"action": "triggered", "data": {}}, {}, "cannot tell the Sentry resource"),
    ],
)  # fmt: skip
async def test_malformed_sentry_payload_gets_400(
    post: Post, bot: BotContext, payload: Any, headers: dict[str, str], reason: str
) -> None:
    response = await post("sentry", payload, headers=headers)
    assert response.status_code == 400
    assert reason in response.json()["error"]
    assert await incidents(bot) == []


# ------------------------------------------------------------------------------ UptimeRobot


async def test_uptimerobot_down_declares_and_up_resolves(
    post: Post, bot: BotContext, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    bot.policy = resolving_policy(tmp_path)
    down = await post("uptimerobot", uptimerobot("1"))
    assert down.json()["results"][0]["fingerprint"] == "monitor:778899"
    await bot.tasks.drain()
    [incident] = await incidents(bot)
    assert incident.title == "Main site is down: Connection Timeout"
    assert (incident.severity, incident.incident_type) == ("P1", "service_downtime")
    assert incident.runbook_ts  # the service downtime checklist was posted

    up = await post("uptimerobot", uptimerobot("2"))
    assert up.json()["results"][0]["action"] == "resolved"
    await bot.tasks.drain()
    [incident] = await incidents(bot)
    assert incident.status == "resolved"


async def test_uptimerobot_variables_in_the_query_string_and_ssl_expiry(
    post: Post, bot: BotContext
) -> None:
    variables = uptimerobot("3", sslExpiryDate="2026-12-05", sslExpiryDaysLeft="7")
    response = await post("uptimerobot", content=b"", params=variables)
    assert response.status_code == 200, response.text
    [incident] = await incidents(bot)
    assert incident.title == "Main site: SSL certificate expires soon"
    assert incident.description.startswith("Expires 2026-12-05 (7 days left).")
    assert (incident.severity, incident.incident_type) == ("P2", "ssl_certificate")
    await bot.tasks.drain()


async def test_uptimerobot_form_post_without_monitor_id_gets_400(
    post: Post, bot: BotContext
) -> None:
    response = await post(
        "uptimerobot",
        content=b"alertType=1&monitorFriendlyName=Main+site",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 400
    assert "monitorID is missing" in response.json()["error"]
    assert await incidents(bot) == []


# ------------------------------------------------------------------------------ generic


async def test_generic_alert_uses_its_severity_and_labels(
    post: Post, bot: BotContext, fake_slack: FakeSlack
) -> None:
    payload = {
        "fingerprint": "checkout-5xx",
        "status": "firing",
        "title": "Checkout 5xx above 5%",
        "description": "From the synthetic checks",
        "severity": "P1",
        "labels": {"service": "checkout"},
        "url": "https://grafana.example.com/d/abc",
    }
    first = await post("generic", payload)
    second = await post("generic", payload)
    assert [first.json()["results"][0]["action"], second.json()["results"][0]["action"]] == [
        "declared",
        "updated",
    ]
    await bot.tasks.drain()
    [incident] = await incidents(bot)
    assert incident.severity == "P1"
    resolved = await post("generic", {"fingerprint": "checkout-5xx", "status": "resolved"})
    assert resolved.json()["results"][0]["action"] == "updated"
    await bot.tasks.drain()
    [incident] = await incidents(bot)
    assert any("Alert resolved: checkout-5xx" in t for t in channel_texts(fake_slack, incident))
    [summary] = [
        m for m in fake_slack.messages[incident.channel_id] if m["ts"] == incident.summary_ts
    ]
    assert "https://grafana.example.com/d/abc" in json.dumps(summary["blocks"])


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ({"title": "no fingerprint"}, "fingerprint is missing"),
        ({"fingerprint": "x"}, "title is missing"),
        ({"fingerprint": "x", "title": "t", "status": "open"}, "status must be firing or resolved"),
        ({"fingerprint": "x" * 300, "title": "t"}, "longer than 255"),
        ({"fingerprint": "x", "title": "t", "labels": ["a"]}, "labels must be an object"),
    ],
)
async def test_malformed_generic_payload_gets_400(
    post: Post, bot: BotContext, payload: dict[str, Any], reason: str
) -> None:
    response = await post("generic", payload)
    assert response.status_code == 400
    assert reason in response.json()["error"]
    assert await incidents(bot) == []

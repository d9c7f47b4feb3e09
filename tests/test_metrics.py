"""GET /metrics: what a declare, Slack's answers and the alert webhook leave behind.

Counters are process-wide (the suite shares one Prometheus registry), so tests compare a
scrape before with a scrape after.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from app import metrics
from app.clock import ManualClock
from app.config.policy_loader import load_policy
from app.context import BotContext
from app.runtime.health import SchedulerHeartbeat
from app.sandbox.fakeslack import FakeSlack
from app.sandbox.sender import SlackSender
from tests.test_declare import open_modal, submit

Scrape = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def scrape(server: str) -> Scrape:
    async with httpx.AsyncClient(timeout=10) as http:
        answer = await http.get(server + "/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    samples: Scrape = {}
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: Scrape, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_a_declare_shows_up_in_the_metrics(
    server: str, slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    before = await scrape(server)
    assert value(before, "incident_bot_incidents_open", severity="P0") == 0
    fake_slack.rate_limit_next("chat.postMessage", retry_after=1)
    fake_slack.fail_next("pins.add", "not_in_channel")

    view = await open_modal(slack, fake_slack, bot)
    await submit(slack, bot, view, title="Payments down", impacts={"P0": ["payments_down"]})
    after = await scrape(server)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("incident_bot_incidents_declared_total", severity="P0") == 1
    assert delta("incident_bot_incidents_declared_total", severity="P1") == 0
    assert value(after, "incident_bot_incidents_open", severity="P0") == 1
    assert delta("incident_bot_slack_api_calls_total", method="conversations.create") == 1
    assert delta("incident_bot_slack_api_calls_total", method="views.open") == 1
    assert delta("incident_bot_slack_api_rate_limited_total", method="chat.postMessage") == 1
    assert (
        delta("incident_bot_slack_api_errors_total", method="pins.add", error="not_in_channel") == 1
    )
    assert delta("incident_bot_slack_request_seconds_count", kind="command") == 1
    assert delta("incident_bot_slack_request_seconds_count", kind="view_submission") == 1
    assert value(after, "incident_bot_info", version="0.1.0") == 1


async def test_pages_and_response_times_are_exposed_for_the_services_that_record_them(
    server: str, clock: ManualClock
) -> None:
    before = await scrape(server)
    started = clock.now()
    metrics.page_sent("L1")
    metrics.acknowledged("P1", started, started + timedelta(minutes=7))
    metrics.resolved("P1", started, started + timedelta(hours=3))
    after = await scrape(server)
    assert (
        value(after, "incident_bot_pages_sent_total", level="L1")
        - value(before, "incident_bot_pages_sent_total", level="L1")
        == 1
    )
    # 7 minutes falls in the 10-minute bucket of time to acknowledge, not the 5-minute one.
    for bucket, expected in (("300.0", 0), ("600.0", 1)):
        name = "incident_bot_time_to_acknowledge_seconds_bucket"
        grew = value(after, name, severity="P1", le=bucket) - value(
            before, name, severity="P1", le=bucket
        )
        assert grew == expected
    name = "incident_bot_time_to_resolve_seconds_sum"
    # A float sum: earlier tests may have added fractions of a second to it.
    grown = value(after, name, severity="P1") - value(before, name, severity="P1")
    assert grown == pytest.approx(3 * 3600)
    # Every level of the policy has a series from the start, at zero if never paged.
    assert ("incident_bot_pages_sent_total", (("level", "L4"),)) in after


async def test_scheduler_gauges_follow_the_heartbeat(
    server: str, bot: BotContext, clock: ManualClock
) -> None:
    samples = await scrape(server)
    assert value(samples, "incident_bot_scheduler_running") == 0
    bot.health.scheduler = SchedulerHeartbeat(
        interval=timedelta(seconds=30), started_at=clock.now()
    )
    clock.advance(45)
    samples = await scrape(server)
    assert value(samples, "incident_bot_scheduler_running") == 1
    assert value(samples, "incident_bot_scheduler_lag_seconds") == 15


@pytest.mark.settings(alert_webhook_token="alert-token-0123456789abcdef")
async def test_alerts_and_automatic_resolution_are_counted(
    server: str, bot: BotContext, clock: ManualClock, tmp_path: Path
) -> None:
    policy = tmp_path / "policy.yml"
    policy.write_text("alerts:\n  resolve: true\n  rules:\n    - {source: generic, severity: P2}\n")
    bot.policy = load_policy(policy)
    before = await scrape(server)
    async with httpx.AsyncClient(timeout=10) as http:
        url = server + "/webhooks/alerts/generic"
        auth = {"authorization": "Bearer alert-token-0123456789abcdef"}
        await http.post(url, json={"fingerprint": "f", "title": "Slow"}, headers=auth)
        clock.advance(600)
        await http.post(url, json={"fingerprint": "f", "status": "resolved"}, headers=auth)
    await bot.tasks.drain()
    after = await scrape(server)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("incident_bot_alerts_received_total", source="generic", outcome="declared") == 1
    assert delta("incident_bot_alerts_received_total", source="generic", outcome="resolved") == 1
    assert delta("incident_bot_time_to_resolve_seconds_sum", severity="P2") == 600
    assert value(after, "incident_bot_incidents_open", severity="P2") == 0

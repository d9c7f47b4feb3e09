"""The PagerDuty bridge, both ways: the real bot over signed HTTP, the fake Slack, and a fake
PagerDuty answering in the Events API v2's published shapes and sending signed v3 webhooks.

A level with `channels: [slack, pagerduty]` triggers one PagerDuty incident keyed by the
incident's id; acknowledging or resolving in Slack is mirrored there; a responder acknowledging
or resolving in PagerDuty acknowledges or resolves the bot's incident (and stops its chain);
nothing loops, nothing doubles after a lost answer, and a bad signature changes nothing.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest_asyncio
from sqlalchemy import select

from app import wiring
from app.clock import ManualClock
from app.config.policy_loader import load_policy
from app.context import BotContext
from app.sandbox.fakeslack import FakeSlack
from app.sandbox.fakeslack.state import WORKSPACE_URL
from app.sandbox.pagerduty import DEFAULT_ROUTING_KEY, FakePagerDuty
from app.sandbox.sender import SlackSender
from app.services.engine import run_due_steps
from app.services.pagerduty_news import signed
from app.services.paging.pagerduty import KIND
from app.store.models import Incident, ScheduledStep, StepStatus
from tests.conftest import clean, make_settings
from tests.running import declare, entries, posts_to, reload, resolve

POLICY = Path(__file__).parent / "policies" / "paging_pagerduty.yml"
SECRET = "pd-webhook-secret-0123456789abcdef"
MINUTE = timedelta(minutes=1)


@pytest_asyncio.fixture
async def pagerduty(clock: ManualClock) -> AsyncIterator[FakePagerDuty]:
    fake = FakePagerDuty(clock=clock.now)
    fake.seed_user("oncall@example.com", "Ona Call")
    await fake.start()
    yield fake
    await fake.stop()
    assert fake.violations == []


@pytest_asyncio.fixture
async def bot(
    database_url: str, fake_slack: FakeSlack, clock: ManualClock, pagerduty: FakePagerDuty
) -> AsyncIterator[BotContext]:
    settings = make_settings(
        fake_slack,
        database_url,
        escalation_tick_seconds=0,
        pagerduty_routing_key=DEFAULT_ROUTING_KEY,
        pagerduty_events_url=pagerduty.base_url,
        pagerduty_webhook_secret=SECRET,
    )
    ctx = wiring.build(settings, load_policy(POLICY), clock)
    await clean(ctx)
    yield ctx
    await ctx.tasks.drain()
    await ctx.close()


@pytest_asyncio.fixture
async def subscribed(server: str, pagerduty: FakePagerDuty) -> FakePagerDuty:
    """PagerDuty with a v3 webhook subscription pointing at the bot."""
    pagerduty.subscribe(f"{server}/webhooks/pagerduty", SECRET)
    return pagerduty


async def steps(bot: BotContext, clock: ManualClock, advance: timedelta = timedelta(0)) -> None:
    clock.advance(advance)
    await run_due_steps(bot)
    await bot.tasks.drain()


async def pd_steps(bot: BotContext) -> list[ScheduledStep]:
    async with bot.sessions() as session:
        stmt = select(ScheduledStep).where(ScheduledStep.kind == KIND).order_by(ScheduledStep.id)
        return list((await session.execute(stmt)).scalars())


def actions(pagerduty: FakePagerDuty) -> list[str]:
    return [c.body["event_action"] for c in pagerduty.calls if c.status == 202]


async def paged_p0(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> Incident:
    incident = await declare(slack, fake_slack, bot, title="Checkout <b>down</b>", severity="P0")
    await steps(bot, clock)
    return incident


async def texts(bot: BotContext, incident: Incident) -> list[str]:
    return [e.text for e in await entries(bot, incident)]


async def test_a_p0_paging_l1_through_pagerduty_triggers_one_incident_keyed_by_its_id(
    slack: SlackSender,
    fake_slack: FakeSlack,
    bot: BotContext,
    clock: ManualClock,
    pagerduty: FakePagerDuty,
) -> None:
    incident = await paged_p0(slack, fake_slack, bot, clock)
    [pd] = pagerduty.incidents
    assert pd.dedup_key == incident.public_id and pd.status == "triggered"
    alert = pd.alert
    assert alert.summary == f"[P0] {incident.public_id} Checkout <b>down</b>"
    assert alert.severity == "critical" and alert.source == "incident-bot"
    link = f"{WORKSPACE_URL}archives/{incident.channel_id}"
    assert alert.custom_details["channel"] == link
    assert alert.custom_details["status"] == "Investigating"
    assert alert.custom_details["severity"].startswith("P0 - Critical")
    assert alert.links == [{"href": link, "text": f"#{incident.channel_name}"}]
    [step] = await pd_steps(bot)
    assert step.status == StepStatus.SENT and step.data["dedup_key"] == incident.public_id
    # More ticks, and L2's page (Slack only), trigger nothing more.
    await steps(bot, clock, 15 * MINUTE)
    assert actions(pagerduty) == ["trigger"] and len(pagerduty.incidents) == 1


async def test_acknowledging_and_resolving_in_slack_are_mirrored_without_a_loop(
    slack: SlackSender,
    fake_slack: FakeSlack,
    bot: BotContext,
    clock: ManualClock,
    subscribed: FakePagerDuty,
) -> None:
    incident = await paged_p0(slack, fake_slack, bot, clock)
    answer = await slack.command("ack", user="UONCALL", channel=incident.channel_id or "")
    assert "You acknowledged" in answer.json()["text"]
    await bot.tasks.drain()
    await steps(bot, clock)
    [pd] = subscribed.incidents
    assert pd.status == "acknowledged" and actions(subscribed) == ["trigger", "acknowledge"]
    before = await texts(bot, incident)
    # PagerDuty tells the bot of the acknowledgement the bot made: it changes nothing there.
    [echo] = await subscribed.deliver_pending()
    assert echo.event_type == "incident.acknowledged"
    assert echo.status == 200 and "nothing changed" in echo.answer
    await resolve(slack, fake_slack, bot, incident, resolution="Rolled back")
    await steps(bot, clock)
    assert pd.status == "resolved" and pd.resolved_by == subscribed.service.name
    [resolved_echo] = await subscribed.deliver_pending()
    assert resolved_echo.status == 200 and "nothing changed" in resolved_echo.answer
    await steps(bot, clock, MINUTE)
    assert actions(subscribed) == ["trigger", "acknowledge", "resolve"]
    new = [t for t in await texts(bot, incident) if t not in before]
    assert not any("PagerDuty" in t for t in new)
    incident = await reload(bot, incident)
    assert incident.acknowledged_by == "UONCALL" and incident.resolution == "Rolled back"


async def test_acknowledging_in_pagerduty_acknowledges_the_incident_and_stops_the_chain(
    slack: SlackSender,
    fake_slack: FakeSlack,
    bot: BotContext,
    clock: ManualClock,
    subscribed: FakePagerDuty,
) -> None:
    incident = await paged_p0(slack, fake_slack, bot, clock)
    clock.advance(4 * MINUTE)
    [delivery] = await subscribed.acknowledge(incident.public_id, "oncall@example.com")
    assert delivery.status == 200, delivery.answer
    await bot.tasks.drain()
    incident = await reload(bot, incident)
    # PagerDuty's agent names the responder but carries no e-mail: the bot acknowledges as
    # itself, and the timeline says who it was.
    bot_user = await bot.bot_user_id()
    assert incident.acknowledged_by == bot_user and incident.acknowledged_at == clock.now()
    assert "Acknowledged in PagerDuty by Ona Call" in await texts(bot, incident)
    announced = posts_to(fake_slack, incident.channel_id or "")[-1]["text"]
    assert "acknowledged" in announced and "Escalation stopped" in announced
    # L2 is never paged, and nothing is sent back to PagerDuty.
    await steps(bot, clock, 2 * 60 * MINUTE)
    assert posts_to(fake_slack, "ULEAD") == []
    assert actions(subscribed) == ["trigger"]
    # PagerDuty delivers at least once: the same delivery again changes nothing.
    again = await subscribed.redeliver(delivery)
    assert again.status == 200 and "nothing changed" in again.answer
    found = await texts(bot, incident)
    assert found.count("Acknowledged in PagerDuty by Ona Call") == 1
    assert len([e for e in await entries(bot, incident) if e.kind == "acknowledged"]) == 1


async def test_an_acknowledger_whose_email_is_given_acknowledges_as_their_slack_user(
    slack: SlackSender,
    fake_slack: FakeSlack,
    bot: BotContext,
    clock: ManualClock,
    subscribed: FakePagerDuty,
) -> None:
    incident = await paged_p0(slack, fake_slack, bot, clock)
    [delivery] = await subscribed.acknowledge(
        incident.public_id, "oncall@example.com", with_email=True
    )
    assert delivery.status == 200
    await bot.tasks.drain()
    assert (await reload(bot, incident)).acknowledged_by == "UONCALL"
    assert fake_slack.calls_to("users.lookupByEmail")[-1]["email"] == "oncall@example.com"


async def test_resolving_in_pagerduty_resolves_the_incident_without_a_resolve_back(
    slack: SlackSender,
    fake_slack: FakeSlack,
    bot: BotContext,
    clock: ManualClock,
    subscribed: FakePagerDuty,
) -> None:
    incident = await paged_p0(slack, fake_slack, bot, clock)
    [delivery] = await subscribed.resolve(incident.public_id, "oncall@example.com")
    assert delivery.status == 200, delivery.answer
    await bot.tasks.drain()
    incident = await reload(bot, incident)
    assert incident.status == "resolved"
    assert incident.resolution == "Resolved in PagerDuty by Ona Call"
    assert incident.data_loss is None  # left for a person to answer in the incident log
    await steps(bot, clock, MINUTE)
    assert actions(subscribed) == ["trigger"]
    again = await subscribed.redeliver(delivery)
    assert again.status == 200 and "already resolved" in again.answer


async def test_a_bad_signature_is_refused_and_changes_nothing(
    server: str,
    slack: SlackSender,
    fake_slack: FakeSlack,
    bot: BotContext,
    clock: ManualClock,
    pagerduty: FakePagerDuty,
) -> None:
    incident = await paged_p0(slack, fake_slack, bot, clock)
    pagerduty.subscribe(f"{server}/webhooks/pagerduty", "not-the-secret")
    [delivery] = await pagerduty.acknowledge(incident.public_id, "oncall@example.com")
    assert delivery.status == 401
    incident = await reload(bot, incident)
    assert incident.acknowledged_at is None
    assert not any("PagerDuty" in t for t in await texts(bot, incident))
    # During a secret rotation PagerDuty signs with both: one matching is enough.
    pagerduty.rotate(pagerduty.subscriptions[0], SECRET)
    [rotated] = await pagerduty.acknowledge(incident.public_id, "oncall@example.com")
    assert rotated.status == 200 and "," in rotated.headers["X-PagerDuty-Signature"]
    assert (await reload(bot, incident)).acknowledged_at is not None


async def test_without_a_webhook_secret_the_endpoint_is_not_found(
    server: str, bot: BotContext
) -> None:
    bot.settings = bot.settings.model_copy(update={"pagerduty_webhook_secret": None})
    body = webhook_sample()
    headers = {"X-PagerDuty-Signature": "v1=" + hmac.new(b"x", body, "sha256").hexdigest()}
    async with httpx.AsyncClient() as client:
        answer = await client.post(f"{server}/webhooks/pagerduty", content=body, headers=headers)
    assert answer.status_code == 404


async def test_a_delivery_about_an_incident_that_is_not_the_bots_changes_nothing(
    server: str, bot: BotContext
) -> None:
    body = webhook_sample()  # PagerDuty's own example: an incident_key that is no INC-… id
    headers = {
        "X-PagerDuty-Signature": "v1=" + hmac.new(SECRET.encode(), body, "sha256").hexdigest()
    }
    async with httpx.AsyncClient() as client:
        answer = await client.post(f"{server}/webhooks/pagerduty", content=body, headers=headers)
    assert answer.status_code == 200 and "nothing to do" in answer.text


async def test_a_500_after_pagerduty_took_the_trigger_is_retried_and_still_one_incident(
    slack: SlackSender,
    fake_slack: FakeSlack,
    bot: BotContext,
    clock: ManualClock,
    pagerduty: FakePagerDuty,
) -> None:
    pagerduty.fail_after_success(status=500)
    incident = await paged_p0(slack, fake_slack, bot, clock)
    [step] = await pd_steps(bot)
    assert step.status == StepStatus.PENDING and step.attempts == 1
    assert len(pagerduty.incidents) == 1  # PagerDuty processed it; its answer was lost
    await steps(bot, clock, 15 * MINUTE)
    [step] = await pd_steps(bot)
    assert step.status == StepStatus.SENT
    [pd] = pagerduty.incidents_for(incident.public_id)
    assert pd.alert.triggers == 2 and pd.status == "triggered"  # a log entry, not a second page
    assert len(pagerduty.incidents) == 1


async def test_a_rate_limit_or_an_outage_delays_the_trigger_and_loses_nothing(
    slack: SlackSender,
    fake_slack: FakeSlack,
    bot: BotContext,
    clock: ManualClock,
    pagerduty: FakePagerDuty,
) -> None:
    pagerduty.rate_limit_next()
    pagerduty.drop_next()
    incident = await paged_p0(slack, fake_slack, bot, clock)
    assert pagerduty.incidents == []
    for _ in range(3):
        await steps(bot, clock, MINUTE)
    [pd] = pagerduty.incidents
    assert pd.dedup_key == incident.public_id
    assert [c.status for c in pagerduty.calls] == [429, -1, 202]


async def test_a_refused_trigger_is_recorded_once_and_not_retried(
    slack: SlackSender,
    fake_slack: FakeSlack,
    bot: BotContext,
    clock: ManualClock,
    pagerduty: FakePagerDuty,
) -> None:
    bot.settings = bot.settings.model_copy(update={"pagerduty_routing_key": "too-short"})
    incident = await paged_p0(slack, fake_slack, bot, clock)
    [step] = await pd_steps(bot)
    assert step.status == StepStatus.CANCELLED and step.data["status"] == 400
    [note] = [t for t in await texts(bot, incident) if t.startswith("PagerDuty refused")]
    assert "Length of 'routing_key' is incorrect" in note and "Nobody was paged" in note
    await steps(bot, clock, 15 * MINUTE)
    assert len(pagerduty.calls) == 1 and pagerduty.incidents == []


async def test_a_trigger_after_a_slack_acknowledgement_is_cancelled_and_costs_no_call(
    slack: SlackSender,
    fake_slack: FakeSlack,
    bot: BotContext,
    clock: ManualClock,
    pagerduty: FakePagerDuty,
) -> None:
    incident = await declare(slack, fake_slack, bot, severity="P0")
    await slack.command("ack", user="UONCALL", channel=incident.channel_id or "")
    await bot.tasks.drain()
    await steps(bot, clock)
    await steps(bot, clock, MINUTE)
    assert pagerduty.calls == []
    assert {s.status for s in await pd_steps(bot)} == {StepStatus.CANCELLED}


async def test_an_incident_that_never_reached_pagerduty_plans_no_mirror(
    slack: SlackSender,
    fake_slack: FakeSlack,
    bot: BotContext,
    clock: ManualClock,
    pagerduty: FakePagerDuty,
) -> None:
    bot.settings = bot.settings.model_copy(update={"pagerduty_routing_key": None})
    incident = await declare(slack, fake_slack, bot, severity="P0")
    await steps(bot, clock)
    await slack.command("ack", user="UONCALL", channel=incident.channel_id or "")
    await resolve(slack, fake_slack, bot, incident, resolution="Fixed")
    await steps(bot, clock, MINUTE)
    assert await pd_steps(bot) == [] and pagerduty.calls == []


def _ref(kind: str, id_: str, summary: str, path: str) -> dict[str, str]:
    return {
        "html_url": f"https://acme.pagerduty.com/{path}",
        "id": id_,
        "self": f"https://api.pagerduty.com/{path}",
        "summary": summary,
        "type": f"{kind}_reference",
    }


def webhook_sample() -> bytes:
    """The v3 delivery body of PagerDuty's go-pagerduty signature test, byte for byte."""
    event = {
        "id": "01BWDWL3NYY7LUFPZCC28QUCMK",
        "event_type": "incident.priority_updated",
        "resource_type": "incident",
        "occurred_at": "2021-04-26T17:36:27.458Z",
        "agent": _ref("user", "PLH1HKV", "Tenex Engineer", "users/PLH1HKV"),
        "client": None,
        "data": {
            "id": "PGR0VU2",
            "type": "incident",
            "self": "https://api.pagerduty.com/incidents/PGR0VU2",
            "html_url": "https://acme.pagerduty.com/incidents/PGR0VU2",
            "number": 2,
            "status": "triggered",
            "title": "A little bump in the road",
            "service": _ref("service", "PF9KMXH", "API Service", "services/PF9KMXH"),
            "assignees": [_ref("user", "PTUXL6G", "User 123", "users/PTUXL6G")],
            "escalation_policy": _ref(
                "escalation_policy", "PUS0KTE", "Default", "escalation_policies/PUS0KTE"
            ),
            "teams": [_ref("team", "PFCVPS0", "Engineering", "teams/PFCVPS0")],
            "priority": {
                **_ref("priority", "PSO75BM", "P1", "priorities/PSO75BM"),
                "html_url": "https://acme.pagerduty.com/account/incident_priorities",
            },
            "urgency": "high",
            "conference_bridge": {
                "conference_number": 1000,
                "conference_url": "https://example.com",
            },
            "resolve_reason": None,
        },
    }
    return json.dumps({"event": event}, separators=(",", ":")).encode()


def test_the_signature_check_agrees_with_pagerdutys_own_published_vector() -> None:
    # PagerDuty's go-pagerduty (webhookv3/webhookv3_test.go): its secret, body and signatures.
    secret = "lDQHScfUeXUKaQRNF+8XIiDKZ7XX3itBAYzwU0TARw8lJqRnkKl2iB1anSb0Z+IK"
    body = webhook_sample()
    good = "v1=0c0b9495b893a39e70d1fea2fe11fbe0a825f88b9f67846f6cc07dd2bc5476cd"
    bad = "v1=7020c8a7ec668a9b7012bc3dd82e483394b038f4230acc6785efbf2a7d8bcaf5"
    assert signed(body, good, secret)
    assert signed(body, f"{bad}, {good}", secret)  # several signatures: any one will do
    assert not signed(body, bad, secret)
    assert not signed(body, "", secret) and not signed(body, "v0=" + good[3:], secret)
    assert not signed(body + b" ", good, secret)

"""The PagerDuty bridge, inbound: what PagerDuty's v3 webhooks tell the bot.

A delivery counts only when its `X-PagerDuty-Signature` verifies: one or more `v1=<hex>`
values, comma-separated (several while a secret rotates), each the HMAC-SHA256 of the raw body
with a subscription secret; any one matching PAGERDUTY_WEBHOOK_SECRET will do (constant-time).
Then:

- `incident.acknowledged`: the bot's incident is acknowledged as the Slack button does it, so
  the chain stops and every channel with it; as the Slack user with the acknowledger's e-mail
  if the delivery names one, else as the bot itself, with a timeline note naming who it was
  in PagerDuty;
- `incident.resolved`: the incident is resolved ("Resolved in PagerDuty by …"), the fields a
  person must answer in the incident log left for the resolver to fill in;
- `incident.triggered` of a PagerDuty incident that is not the bot's (no incident of the bot
  has its `incident_key`: PagerDuty's own alerts, e.g. "Redis down") becomes an alert of source
  "pagerduty" through `services.alerts.receive`, as a webhook alert would; the policy's rules
  decide (`app.domain.pagerduty_alerts`); its `incident.resolved` resolves that alert;
- anything else (reassigned, unacknowledged...) is answered 200 and changes nothing.

The bot's incident is found by the PagerDuty incident's `incident_key`, which for an incident
the bot triggered is the event's `dedup_key`: the incident's public id. (v3 incident data
carries no alerts; an alert merged into an incident opened by something else keeps that
incident's key, and is not the bot's to act on.)

PagerDuty's `agent` is a user reference (id and name, no e-mail): the e-mail is used when a
delivery carries one (`agent.email`), and the bot acknowledges as itself otherwise.

A redelivery (PagerDuty delivers at least once) changes nothing: the acknowledgement's
compare-and-set and the resolve's "already resolved" make the second one a no-op. What
PagerDuty told the bot is not mirrored back to it (`paging.pagerduty.told_by_pagerduty`).
PagerDuty waits 5 seconds for an answer: what Slack should show is announced after it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackApiError

from app.context import BotContext
from app.domain.alert_entries import PayloadError
from app.domain.naming import parse_incident_id
from app.domain.pagerduty_alerts import pagerduty_alert
from app.domain.timeline import Kind
from app.services import alerts, lifecycle, timeline
from app.services.escalation.acknowledge import acknowledge, announce_acknowledgement
from app.services.paging.pagerduty import told_by_pagerduty
from app.services.slack_errors import slack_error
from app.store import incidents as store
from app.store.models import Incident

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "x-pagerduty-signature"
ACKNOWLEDGED = "incident.acknowledged"
RESOLVED = "incident.resolved"
TRIGGERED = "incident.triggered"
NAME_MAX = 80


@dataclass(frozen=True)
class WebhookAnswer:
    status: int
    text: str


@dataclass(frozen=True)
class PagerDutyEvent:
    """The parts of a v3 webhook event the bot reads."""

    id: str
    event_type: str
    incident_key: str
    pd_incident: str
    agent_name: str
    agent_email: str | None


def signed(body: bytes, header: str, secret: str) -> bool:
    """Whether any `v1=` signature of the header is the body's HMAC-SHA256 with `secret`."""
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    found = False
    for part in header.split(","):
        version, _, value = part.strip().partition("=")
        if version == "v1" and value:
            # Every signature is compared, so the time taken does not say which one matched.
            found |= hmac.compare_digest(value.strip().lower().encode(), expected.encode())
    return found


def parse_event(body: bytes) -> PagerDutyEvent:
    """The event of a v3 delivery; ValueError if it is not one."""
    try:
        payload = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ValueError("the body is not JSON") from None
    event = payload.get("event") if isinstance(payload, dict) else None
    if not isinstance(event, dict) or not isinstance(event.get("event_type"), str):
        raise ValueError("the body has no event with an event_type")
    data = _object(event.get("data"))
    agent = _object(event.get("agent"))  # null for an automation, a reference otherwise
    email = agent.get("email")
    return PagerDutyEvent(
        id=str(event.get("id") or ""),
        event_type=event["event_type"],
        incident_key=_text(data.get("incident_key")),
        pd_incident=_text(data.get("id")),
        agent_name=" ".join(_text(agent.get("summary")).split())[:NAME_MAX] or "PagerDuty",
        agent_email=email if isinstance(email, str) and "@" in email else None,
    )


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _header(headers: Mapping[str, str], name: str) -> str:
    return next((v for k, v in headers.items() if k.lower() == name), "")


async def receive_webhook(
    ctx: BotContext, headers: Mapping[str, str], body: bytes
) -> WebhookAnswer:
    """One delivery: 404 when no PAGERDUTY_WEBHOOK_SECRET is set, 401 when its signature does
    not verify, 400 when it is no v3 event (PagerDuty drops it rather than retrying: it would
    be the same), else 200 once it is applied (or known to change nothing)."""
    secret = ctx.settings.pagerduty_webhook_secret
    if not secret:
        return WebhookAnswer(404, "Not Found")
    if not signed(body, _header(headers, SIGNATURE_HEADER), secret):
        log.warning("refused a PagerDuty webhook without a valid X-PagerDuty-Signature")
        return WebhookAnswer(401, "missing or wrong X-PagerDuty-Signature")
    try:
        event = parse_event(body)
    except ValueError as exc:
        log.warning("refused a PagerDuty webhook: %s", exc)
        return WebhookAnswer(400, str(exc))
    if event.event_type not in (ACKNOWLEDGED, RESOLVED, TRIGGERED):
        return WebhookAnswer(200, f"{event.event_type}: nothing to do")
    incident = await _incident_for(ctx, event.incident_key)
    if incident is None and event.event_type != ACKNOWLEDGED:
        return await _as_alert(ctx, event, body)
    if incident is not None and event.event_type == TRIGGERED:
        return WebhookAnswer(200, f"{incident.public_id} triggered by the bot: nothing to do")
    if incident is None:
        log.info(
            "PagerDuty %s of %s (key %r) is no incident of this bot",
            event.event_type,
            event.pd_incident[:32],
            event.incident_key[:64],
        )
        return WebhookAnswer(200, "not an incident of this bot")
    if event.event_type == ACKNOWLEDGED:
        return await _acknowledged(ctx, incident, event)
    return await _resolved(ctx, incident, event)


async def _as_alert(ctx: BotContext, event: PagerDutyEvent, body: bytes) -> WebhookAnswer:
    """PagerDuty's own incident, triggered or resolved there: an alert like any other."""
    data = _object(_object(json.loads(body)).get("event")).get("data")
    try:
        alert = pagerduty_alert(data, firing=event.event_type == TRIGGERED)
    except PayloadError as exc:
        return WebhookAnswer(400, str(exc))
    try:
        intake = await alerts.receive(ctx, [alert])
    except alerts.IntakeUnavailable as exc:
        log.warning("PagerDuty alert not taken: %s", exc)
        return WebhookAnswer(503, "unavailable, retry later")
    if intake.unavailable is not None:
        return WebhookAnswer(503, intake.unavailable)
    [outcome] = intake.outcomes
    return WebhookAnswer(200, f"alert {alert.fingerprint}: {outcome.action}")


async def _incident_for(ctx: BotContext, incident_key: str) -> Incident | None:
    if parse_incident_id(incident_key) is None:
        return None
    async with ctx.sessions() as session:
        return await store.by_public_id(session, incident_key)


async def _actor(ctx: BotContext, event: PagerDutyEvent) -> str:
    """The Slack user with the acknowledger's e-mail, else the bot (the action matters more
    than who: a lookup Slack refuses or fails does not hold it up)."""
    if event.agent_email:
        try:
            found = await ctx.slack.users_lookupByEmail(email=event.agent_email)
            return str(found["user"]["id"])
        except SlackApiError as exc:
            log.info("no Slack user for a PagerDuty acknowledger: %s", slack_error(exc))
    return await ctx.bot_user_id()


async def _acknowledged(
    ctx: BotContext, incident: Incident, event: PagerDutyEvent
) -> WebhookAnswer:
    actor = await _actor(ctx, event)
    with told_by_pagerduty():
        result = await acknowledge(ctx, incident, actor)
    if not result.acknowledged:
        return WebhookAnswer(200, f"nothing changed: {result.reply}")
    async with ctx.sessions.begin() as session:
        timeline.record(
            session,
            result.incident,
            Kind.NOTE,
            now=ctx.clock.now(),
            actor_id=actor,
            text=f"Acknowledged in PagerDuty by {event.agent_name}",
            data={"pagerduty_incident": event.pd_incident, "pagerduty_event": event.id},
        )
    ctx.tasks.spawn(
        announce_acknowledgement(ctx, result), name="announce a PagerDuty acknowledgement"
    )
    return WebhookAnswer(200, f"{incident.public_id} acknowledged")


async def _resolved(ctx: BotContext, incident: Incident, event: PagerDutyEvent) -> WebhookAnswer:
    actor = await _actor(ctx, event)
    resolution = lifecycle.Resolution(
        resolution=f"Resolved in PagerDuty by {event.agent_name}", data_loss=None
    )
    with told_by_pagerduty():
        outcome = await lifecycle.resolve(ctx, incident.id, resolution, actor, from_form=False)
    if not outcome.changed:
        return WebhookAnswer(200, f"nothing changed: {outcome.message}")
    ctx.tasks.spawn(
        lifecycle.resolved_published(ctx, outcome.incident), name="publish a PagerDuty resolve"
    )
    return WebhookAnswer(200, f"{incident.public_id} resolved")


__all__ = ["PagerDutyEvent", "WebhookAnswer", "parse_event", "receive_webhook", "signed"]

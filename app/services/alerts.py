"""Alert intake: monitoring alerts become incidents, timeline entries or resolutions.

A firing alert that is not attached to an open incident is matched against the policy's alert
rules and, if a rule says so, declared through the same service as the modal (the bot is the
reporter). The same alert again while its incident is open adds a timeline entry instead. A
resolved alert adds an entry and, with `alerts.resolve: true`, resolves the incident once every
alert attached to it has resolved.

Everything is saved before the sender gets its answer; Slack work (channel setup, messages)
comes back as follow-ups for the caller to run after answering.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from slack_sdk.errors import SlackApiError
from sqlalchemy.ext.asyncio import AsyncSession

from app import metrics
from app.context import BotContext
from app.domain.alerts import Alert
from app.domain.timeline import Kind
from app.logs import incident_context
from app.services import lifecycle, setup, timeline
from app.services.declare import DeclareRequest, declare_with_result
from app.store import alerts as store
from app.store.models import AlertLink, AlertStatus, Incident
from app.ui import common

log = logging.getLogger(__name__)

BOT_USER_TIMEOUT = 3.0

FollowUp = Callable[[], Awaitable[None]]


class IntakeUnavailable(Exception):
    """The alert cannot be taken now (Slack does not say who the bot is); the sender retries."""


@dataclass(frozen=True)
class Outcome:
    """What happened to one alert, as answered to the sender."""

    fingerprint: str
    status: str
    action: str  # declared | updated | resolved | ignored
    incident: str | None = None
    reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass
class Intake:
    outcomes: list[Outcome] = field(default_factory=list)
    follow_ups: list[FollowUp] = field(default_factory=list)


async def receive(ctx: BotContext, alerts: list[Alert]) -> Intake:
    """Apply each alert in order; returns the answers and the Slack work still to do."""
    intake = Intake()
    for alert in alerts:
        outcome, follow_up = await (_firing(ctx, alert) if alert.firing else _resolved(ctx, alert))
        metrics.alert_received(alert.source, outcome.action)
        log.info(
            "%s alert %s %s: %s%s",
            alert.source,
            alert.fingerprint,
            alert.status,
            outcome.action,
            f" ({outcome.reason})" if outcome.reason else "",
            extra={"incident": outcome.incident, "source": alert.source},
        )
        intake.outcomes.append(outcome)
        if follow_up is not None:
            intake.follow_ups.append(follow_up)
    return intake


async def run_follow_ups(intake: Intake) -> None:
    """The Slack side, after the sender has its answer; one failure does not stop the rest."""
    for follow_up in intake.follow_ups:
        try:
            await follow_up()
        except Exception:  # noqa: BLE001 - logged; the incident itself is saved
            log.exception("Slack follow-up of an alert failed")


def _entry_data(alert: Alert) -> dict[str, Any]:
    return {
        "source": alert.source,
        "fingerprint": alert.fingerprint,
        "status": alert.status,
        "labels": dict(alert.labels),
        "url": alert.url,
    }


def _record(
    session: AsyncSession, incident: Incident, alert: Alert, text: str, now: datetime
) -> None:
    """The alert's timeline entry, in the caller's transaction."""
    timeline.record(session, incident, Kind.ALERT, now=now, text=text, data=_entry_data(alert))


def _link(alert: Alert, incident_id: int, now: Any) -> AlertLink:
    return AlertLink(
        source=alert.source,
        fingerprint=alert.fingerprint,
        group_key=alert.group,
        incident_id=incident_id,
        status=AlertStatus.FIRING,
        received=1,
        first_seen_at=now,
        last_seen_at=now,
    )


async def _firing(ctx: BotContext, alert: Alert) -> tuple[Outcome, FollowUp | None]:
    now = ctx.clock.now()
    async with ctx.sessions.begin() as session:
        link = await store.open_link(session, alert.source, alert.fingerprint)
        joining = None
        if link is None and alert.group:
            joining = await store.open_link_in_group(session, alert.source, alert.group)
        if link is not None or joining is not None:
            attached = link or joining
            assert attached is not None
            incident = await session.get(Incident, attached.incident_id)
            assert incident is not None
            if link is None:
                session.add(_link(alert, incident.id, now))
                text, tell = f"Alert firing (same group): {alert.title}", True
            else:
                tell = link.status == AlertStatus.RESOLVED  # it had cleared and came back
                link.status = AlertStatus.FIRING
                link.received += 1
                link.last_seen_at = now
                text = f"Alert firing again: {alert.title}"
            _record(session, incident, alert, text, now)
        else:
            incident = None
            seen = await store.times_declared(session, alert.source, alert.fingerprint)
    if incident is not None:
        outcome = Outcome(alert.fingerprint, alert.status, "updated", incident.public_id)
        return outcome, (_post(ctx, incident, f":rotating_light: {text}", alert) if tell else None)
    return await _declare(ctx, alert, seen)


async def _declare(ctx: BotContext, alert: Alert, seen: int) -> tuple[Outcome, FollowUp | None]:
    rule = ctx.policy.alerts.rule_for(alert.source, alert.labels)
    if rule is None or not rule.declare:
        reason = "no alert rule declares it" if rule is None else "its rule says declare: false"
        return Outcome(alert.fingerprint, alert.status, "ignored", reason=reason), None
    try:
        async with asyncio.timeout(BOT_USER_TIMEOUT):
            reporter = await ctx.bot_user_id()
    except (SlackApiError, TimeoutError, OSError) as exc:
        raise IntakeUnavailable("Slack did not answer auth.test; retry later") from exc
    incident_type = rule.type if rule.type in ctx.runbooks else None
    if rule.type and incident_type is None:
        log.warning("alert rule type %r has no runbook; declaring without one", rule.type)
    # The n-th incident of this alert has a stable key: a concurrent duplicate delivery
    # finds the incident the first one created instead of declaring a second.
    digest = hashlib.sha256(f"{alert.source}\n{alert.fingerprint}".encode()).hexdigest()[:40]
    description = alert.description
    if alert.url:
        description = f"{description}\n\n{alert.url}".strip()
    request = DeclareRequest(
        title=alert.title,
        description=description[:3000],
        severity=rule.severity,
        incident_type=incident_type,
        reporter_id=reporter,
        request_key=f"alert:{digest}:{seen}",
    )
    now = ctx.clock.now()

    async def attach(session: AsyncSession, incident: Incident) -> None:
        session.add(_link(alert, incident.id, now))
        _record(
            session, incident, alert, f"Declared from a {alert.source} alert: {alert.title}", now
        )

    result = await declare_with_result(ctx, request, on_saved=attach)
    incident = result.incident
    if not result.created:
        outcome = Outcome(
            alert.fingerprint,
            alert.status,
            "updated",
            incident.public_id,
            reason="already declared by a concurrent delivery",
        )
        return outcome, None

    async def set_up() -> None:
        with incident_context(incident.public_id):
            await setup.set_up(ctx, incident.id)

    return Outcome(alert.fingerprint, alert.status, "declared", incident.public_id), set_up


async def _resolved(ctx: BotContext, alert: Alert) -> tuple[Outcome, FollowUp | None]:
    now = ctx.clock.now()
    all_clear = False
    async with ctx.sessions.begin() as session:
        link = await store.open_link(session, alert.source, alert.fingerprint)
        if link is None:
            outcome = Outcome(
                alert.fingerprint, alert.status, "ignored", reason="no open incident has this alert"
            )
            return outcome, None
        incident = await session.get(Incident, link.incident_id)
        assert incident is not None
        was_firing = link.status == AlertStatus.FIRING
        link.status = AlertStatus.RESOLVED
        link.received += 1
        link.last_seen_at = now
        _record(session, incident, alert, f"Alert resolved: {alert.title}", now)
        if ctx.policy.alerts.resolve:
            links = await store.links_of(session, incident.id)
            all_clear = all(other.status == AlertStatus.RESOLVED for other in links)
    resolved = False
    if all_clear:
        # The same resolve as the form's: one status change, one entry, escalation stopped.
        result = await lifecycle.resolve(
            ctx,
            incident.id,
            lifecycle.Resolution(
                resolution=f"Every alert cleared ({alert.source}: {alert.title}).",
                data_loss=None,
            ),
            await ctx.bot_user_id(),
            from_form=False,
        )
        resolved, incident = result.changed, result.incident
    action = "resolved" if resolved else "updated"
    outcome = Outcome(alert.fingerprint, alert.status, action, incident.public_id)
    if not (was_firing or resolved):
        return outcome, None
    text = f":white_check_mark: Alert resolved: {alert.title}"
    if resolved:
        text += "\nEvery alert of this incident has resolved, so the incident is now *Resolved*."
    post = _post(ctx, incident, text, alert)
    if not resolved:
        return outcome, post

    async def post_and_publish() -> None:
        await post()
        # Escalation stopped, summary, topic and announcement updated, review scheduled.
        await lifecycle.resolved_published(ctx, incident)

    return outcome, post_and_publish


def _post(ctx: BotContext, incident: Incident, text: str, alert: Alert) -> FollowUp:
    async def post() -> None:
        # Read the channel now: the incident's setup may have created it since.
        async with ctx.sessions() as session:
            current = await session.get(Incident, incident.id)
        if current is None or not current.channel_id:
            log.info("no channel yet for %s; the alert is in its timeline", incident.public_id)
            return
        with incident_context(current.public_id):
            message = text + (f"\n<{alert.url}|Open in {alert.source}>" if alert.url else "")
            await ctx.slack.chat_postMessage(
                channel=current.channel_id, text=message, blocks=common.plain(message)
            )

    return post

"""Alert intake: monitoring alerts become incidents, timeline entries or resolutions.

A firing alert that is not attached to an open incident is matched against the policy's alert
rules and, if a rule says so, declared through the same service as the modal (the bot is the
reporter). The same alert again while it is still firing updates its timeline entry ("still
firing, N deliveries") instead of adding one; firing again after it had resolved is a new entry.
A resolved alert adds an entry and, with `alerts.resolve: true`, resolves the incident once every
alert attached to it has resolved.

Each alert is handled on its own, in its own transaction: one that cannot be read or fails is
answered with its error and logged, and the others are saved and followed up as usual. Only an
unavailable database (or Slack not saying who the bot is) stops the intake: what was saved until
then is complete, its Slack work still runs, and the sender is told to retry (503), which finds
the saved alerts again instead of repeating them.

Past ALERT_STORM_LIMIT new incidents from one source within a minute (counted in the database, so
across replicas), that source's next new alerts are attached to one "alert storm" incident of the
source, declared and paged once, instead of each opening a channel.

Alerts are handled in chunks of CHUNK_SIZE; the Slack work of a chunk (setting up the incidents it
declared, one message per incident about the alerts that joined it) starts as soon as the chunk
is saved, before the sender gets its answer.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.errors import SlackApiError
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncSession

from app import metrics
from app.context import BotContext
from app.domain.alerts import Alert, Entry, Ignored, Invalid
from app.domain.text import link, mrkdwn
from app.logs import incident_context
from app.services import alert_links, alert_storms, lifecycle
from app.services.alert_followups import LISTED_MAX, FollowUp, Note, SlackWork, Work
from app.services.declare import DeclareRequest, declare_with_result
from app.services.errors import UserError
from app.services.locks import KeyedLocks
from app.store import alerts as store
from app.store.models import AlertRole, AlertStatus, Incident
from app.ui import common

__all__ = ["CHUNK_SIZE", "LISTED_MAX", "Intake", "IntakeUnavailable", "Outcome", "receive"]

log = logging.getLogger(__name__)

BOT_USER_TIMEOUT = 3.0
CHUNK_SIZE = 100


class IntakeUnavailable(Exception):
    """The alerts cannot be taken now (the database is unavailable, or Slack does not say who
    the bot is); the sender retries."""


@dataclass(frozen=True)
class Outcome:
    """What happened to one alert, as answered to the sender."""

    fingerprint: str | None
    status: str | None
    action: str  # declared | updated | resolved | ignored | failed
    incident: str | None = None
    reason: str | None = None
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass
class Intake:
    outcomes: list[Outcome] = field(default_factory=list)
    # Why the intake stopped before the end (the database went away): the sender should retry.
    unavailable: str | None = None

    @property
    def failed(self) -> list[Outcome]:
        return [outcome for outcome in self.outcomes if outcome.action == "failed"]


async def receive(ctx: BotContext, entries: Sequence[Entry]) -> Intake:
    """Handle each entry in order, chunk by chunk; returns one outcome per entry handled.

    Each chunk's Slack work is started (as background tasks) as soon as the chunk is saved.
    """
    intake = Intake()
    slack = SlackWork(ctx)
    for start in range(0, len(entries), CHUNK_SIZE):
        work = Work()
        try:
            for entry in entries[start : start + CHUNK_SIZE]:
                intake.outcomes.append(await _handle(ctx, entry, work))
        except IntakeUnavailable as exc:
            done = len(intake.outcomes)
            intake.unavailable = (
                f"{exc}; nothing was saved, retry later"
                if done == 0
                else f"{exc}; the {done} alerts answered were handled, the rest was not saved: "
                "retry later"
            )
            log.warning(
                "alert intake stopped after %d of %d alerts: %s",
                len(intake.outcomes),
                len(entries),
                exc,
            )
            return intake
        finally:
            slack.start(work)
    return intake


def _unavailable(exc: BaseException) -> bool:
    """A failure of the database itself (not of one alert's data): worth a retry later."""
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(
        exc,
        sa_exc.OperationalError
        | sa_exc.InterfaceError
        | sa_exc.DisconnectionError
        | sa_exc.TimeoutError
        | OSError
        | TimeoutError,
    )


async def _handle(ctx: BotContext, entry: Entry, work: Work) -> Outcome:
    if isinstance(entry, Ignored):
        outcome = Outcome(entry.fingerprint, entry.status, "ignored", reason=entry.reason)
    elif isinstance(entry, Invalid):
        log.warning(
            "refused a %s alert: %s", entry.source, entry.error, extra={"source": entry.source}
        )
        outcome = Outcome(entry.fingerprint, entry.status, "failed", error=entry.error)
    else:
        outcome = await _handle_alert(ctx, entry, work)
    metrics.alert_received(entry.source, outcome.action)
    if outcome.action != "failed":
        log.info(
            "%s alert %s %s: %s%s",
            entry.source,
            outcome.fingerprint,
            outcome.status,
            outcome.action,
            f" ({outcome.reason})" if outcome.reason else "",
            extra={"incident": outcome.incident, "source": entry.source},
        )
    return outcome


# A firing alert's "how many incidents did this source open in the last minute" and the
# declaration that follows must not interleave with another delivery's, or 60 concurrent
# deliveries all count 0 and the storm limit never applies. One source's alerts take turns
# (database work only: their Slack work runs after); across replicas the limit may be passed
# by at most one incident per replica.
_SOURCE_TURNS = KeyedLocks()


async def _handle_alert(ctx: BotContext, alert: Alert, work: Work) -> Outcome:
    try:
        if alert.firing:
            async with _SOURCE_TURNS.hold(alert.source):
                return await _firing(ctx, alert, work)
        return await _resolved(ctx, alert, work)
    except IntakeUnavailable:
        raise
    except Exception as exc:  # noqa: BLE001 - one alert's failure is its answer, not the batch's
        if _unavailable(exc):
            raise IntakeUnavailable("the database is unavailable") from exc
        if isinstance(exc, UserError):
            error = str(exc)
        else:
            error = f"could not be handled ({type(exc).__name__}); the bot's log has the details"
        log.exception(
            "%s alert %s could not be handled",
            alert.source,
            alert.fingerprint,
            extra={"source": alert.source},
        )
        return Outcome(alert.fingerprint, alert.status, "failed", error=error)


async def _reporter(ctx: BotContext) -> str:
    try:
        async with asyncio.timeout(BOT_USER_TIMEOUT):
            return await ctx.bot_user_id()
    except (SlackApiError, TimeoutError, OSError) as exc:
        raise IntakeUnavailable("Slack did not answer auth.test") from exc


# ------------------------------------------------------------------------------ firing


async def _firing(ctx: BotContext, alert: Alert, work: Work) -> Outcome:
    now = ctx.clock.now()
    note: Note | None = None
    async with ctx.sessions.begin() as session:
        known = await store.open_link(session, alert.source, alert.fingerprint)
        joining = None
        if known is None and alert.group:
            joining = await store.open_link_in_group(session, alert.source, alert.group)
        if known is None and joining is None:
            seen = await store.times_declared(session, alert.source, alert.fingerprint)
            since = now - alert_storms.WINDOW
            recent = await store.declared_since(session, alert.source, since)
            incident = None
        else:
            attached = known or joining
            assert attached is not None
            incident = await session.get(Incident, attached.incident_id)
            assert incident is not None
            if known is None:
                role = AlertRole.STORM if attached.role == AlertRole.STORM else AlertRole.JOINED
                text = f"Alert firing (same group): {alert.title}"
                await alert_links.attach(session, incident, alert, role, text, now)
                note = Note("Alert firing (same group)", alert)
            elif known.status == AlertStatus.RESOLVED:
                # It had cleared and came back: a new episode, a new entry.
                await alert_links.fire_again(session, incident, known, alert, now)
                note = Note("Alert firing again", alert)
            else:
                await alert_links.still_firing(session, incident, known, alert, now)
    if incident is None:
        return await _declare(ctx, alert, seen, recent, work)
    if note is not None:
        work.note(incident, note)
    return Outcome(alert.fingerprint, alert.status, "updated", incident.public_id)


async def _declare(ctx: BotContext, alert: Alert, seen: int, recent: int, work: Work) -> Outcome:
    rule = ctx.policy.alerts.rule_for(alert.source, alert.labels)
    if rule is None or not rule.declare:
        reason = "no alert rule declares it" if rule is None else "its rule says declare: false"
        return Outcome(alert.fingerprint, alert.status, "ignored", reason=reason)
    reporter = await _reporter(ctx)
    if alert_storms.in_storm(ctx, recent):
        action, storm = await alert_storms.attach_to_storm(
            ctx, alert, rule.severity, reporter, work
        )
        reason = alert_storms.reason(ctx, alert.source)
        return Outcome(alert.fingerprint, alert.status, action, storm.public_id, reason)
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
        text = f"Declared from a {alert.source} alert: {alert.title}"
        await alert_links.attach(session, incident, alert, AlertRole.DECLARED, text, now)

    result = await declare_with_result(ctx, request, on_saved=attach)
    incident = result.incident
    if not result.created:
        return Outcome(
            alert.fingerprint,
            alert.status,
            "updated",
            incident.public_id,
            reason="already declared by a concurrent delivery",
        )
    work.setups.append(incident)
    return Outcome(alert.fingerprint, alert.status, "declared", incident.public_id)


# ------------------------------------------------------------------------------ resolved


async def _resolved(ctx: BotContext, alert: Alert, work: Work) -> Outcome:
    now = ctx.clock.now()
    all_clear = False
    async with ctx.sessions.begin() as session:
        known = await store.open_link(session, alert.source, alert.fingerprint)
        if known is None:
            return Outcome(
                alert.fingerprint, alert.status, "ignored", reason="no open incident has this alert"
            )
        incident = await session.get(Incident, known.incident_id)
        assert incident is not None
        was_firing = known.status == AlertStatus.FIRING
        known.status = AlertStatus.RESOLVED
        known.received += 1
        known.last_seen_at = now
        if was_firing:
            # A repeated resolve (Alertmanager re-sends resolved alerts of a group) adds nothing.
            alert_links.record(session, incident, alert, f"Alert resolved: {alert.title}", now)
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
            await _reporter(ctx),
            from_form=False,
        )
        resolved, incident = result.changed, result.incident
    action = "resolved" if resolved else "updated"
    outcome = Outcome(alert.fingerprint, alert.status, action, incident.public_id)
    if not resolved:
        if was_firing:
            work.note(incident, Note("Alert resolved", alert, ":white_check_mark:"))
        return outcome
    text = f":white_check_mark: Alert resolved: {mrkdwn(alert.title)}"
    text += "\nEvery alert of this incident has resolved, so the incident is now *Resolved*."
    post = _post(ctx, incident, text, alert)
    resolved_incident = incident

    async def post_and_publish() -> None:
        await post()
        # Escalation stopped, summary, topic and announcement updated, review scheduled.
        await lifecycle.resolved_published(ctx, resolved_incident)

    work.after.append(post_and_publish)
    return outcome


# ------------------------------------------------------------------------------ Slack


def _post(ctx: BotContext, incident: Incident, text: str, alert: Alert) -> FollowUp:
    async def post() -> None:
        # Read the channel now: the incident's setup may have created it since.
        async with ctx.sessions() as session:
            current = await session.get(Incident, incident.id)
        if current is None or not current.channel_id:
            log.info("no channel yet for %s; the alert is in its timeline", incident.public_id)
            return
        with incident_context(current.public_id):
            message = text
            if alert.url:  # only an http(s) URL becomes a link (app.domain.text.link)
                message += "\n" + link(alert.url, f"Open in {alert.source}")
            await ctx.slack.chat_postMessage(
                channel=current.channel_id, text=message, blocks=common.plain(message)
            )

    return post

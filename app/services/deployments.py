"""What was deployed, and when: Vercel's and GitHub's deployment webhooks, stored; the ones of
the 2 hours before an incident started, for its channel, its checklist and its post-mortem.

A delivery counts only when its signature verifies (Vercel: `x-vercel-signature`, hex
HMAC-SHA1 with VERCEL_WEBHOOK_SECRET; GitHub: `X-Hub-Signature-256` with
GITHUB_WEBHOOK_SECRET): 404 while the secret is unset, 401 for a bad signature (nothing
stored), 400 for a body that is not the event, 200 otherwise. Each deployment is one row
(`store.deployments.record`: redeliveries and events in any order converge). Deployments are
stored, not alerted on: a failed Vercel deployment (`deployment.error`) is kept with its state,
and turning it into an alert is a follow-up (docs/detection/sources.md).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.context import BotContext
from app.domain.deployments import (
    DeploymentError,
    DeploymentEvent,
    github_signed,
    parse_github,
    parse_vercel,
    vercel_signed,
)
from app.store import deployments as store
from app.store.deployment_model import Deployment
from app.store.models import Incident

__all__ = ["SOURCES", "WINDOW", "before_incident", "receive_webhook"]

log = logging.getLogger(__name__)

# "What changed shortly before it broke": the deployments a new incident's channel shows.
WINDOW = timedelta(hours=2)
SOURCES = ("vercel", "github")


@dataclass(frozen=True)
class WebhookAnswer:
    status: int
    text: str


def _secret(ctx: BotContext, source: str) -> str | None:
    if source == "vercel":
        return ctx.settings.vercel_webhook_secret
    return ctx.settings.github_webhook_secret


def _verified(source: str, headers: Mapping[str, str], raw: bytes, secret: str) -> bool:
    if source == "vercel":
        return vercel_signed(raw, headers.get("x-vercel-signature", ""), secret)
    return github_signed(raw, headers.get("x-hub-signature-256", ""), secret)


async def receive_webhook(
    ctx: BotContext, source: str, headers: Mapping[str, str], raw: bytes
) -> WebhookAnswer:
    """One delivery of `source` (vercel or github), as the edge received it (raw bytes: the
    signature is over them). Database failures are raised (the edge answers 503: both senders
    redeliver)."""
    secret = _secret(ctx, source) if source in SOURCES else None
    if secret is None:
        return WebhookAnswer(404, "Not Found")
    lowered = {key.lower(): value for key, value in headers.items()}
    if not _verified(source, lowered, raw, secret):
        log.warning("refused a %s deployment webhook without a valid signature", source)
        return WebhookAnswer(401, "missing or wrong signature")
    try:
        body = json.loads(raw.decode("utf-8"))
        event = (
            parse_vercel(body)
            if source == "vercel"
            else parse_github(lowered.get("x-github-event", ""), body)
        )
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        log.warning("refused a %s deployment webhook: %s", source, exc)
        reason = str(exc) if isinstance(exc, DeploymentError) else "the body is not JSON"
        return WebhookAnswer(400, reason)
    if event is None:
        return WebhookAnswer(200, "not a deployment event: nothing to do")
    await _record(ctx, event)
    return WebhookAnswer(200, f"deployment {event.external_id}: {event.state}")


async def _record(ctx: BotContext, event: DeploymentEvent) -> None:
    async with ctx.sessions.begin() as session:
        await store.record(session, event, ctx.clock.now())
    log.info(
        "%s deployment %s of %s: %s",
        event.source,
        event.external_id,
        event.project,
        event.state,
        extra={"source": event.source},
    )


async def before_incident(session: AsyncSession, incident: Incident) -> Sequence[Deployment]:
    """Deployments started in the WINDOW before the incident started, newest first."""
    return await store.in_window(session, incident.started_at - WINDOW, incident.started_at)

"""The deployment webhooks' deliveries: Vercel's and GitHub's, verified, then stored
(`services.deployments`); a failed Vercel deployment is also an alert of source "vercel",
through the alert intake, so the policy's rules decide what it declares.

A delivery counts only when its signature verifies (Vercel: `x-vercel-signature`, hex
HMAC-SHA1 with VERCEL_WEBHOOK_SECRET; GitHub: `X-Hub-Signature-256` with
GITHUB_WEBHOOK_SECRET): 404 while the secret is unset, 401 for a bad signature (nothing
stored), 400 for a body that is not the event, 503 when the alert intake is unavailable (the
deployment is stored; the redelivery finds the same alert), 200 otherwise.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass

from app.context import BotContext
from app.domain.deployments import (
    DeploymentError,
    DeploymentEvent,
    github_signed,
    parse_github,
    parse_vercel,
    vercel_alert,
    vercel_signed,
)
from app.services import alerts, deployments

__all__ = ["WebhookAnswer", "receive_webhook"]

log = logging.getLogger(__name__)


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


def _read(source: str, headers: Mapping[str, str], raw: bytes) -> DeploymentEvent | None:
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise DeploymentError("the body is not JSON") from None
    if source == "vercel":
        return parse_vercel(body)
    return parse_github(headers.get("x-github-event", ""), body)


async def receive_webhook(
    ctx: BotContext, source: str, headers: Mapping[str, str], raw: bytes
) -> WebhookAnswer:
    """One delivery of `source` (vercel or github), as the edge received it (raw bytes: the
    signature is over them). Database failures are raised (the edge answers 503: both senders
    redeliver)."""
    secret = _secret(ctx, source) if source in deployments.SOURCES else None
    if secret is None:
        return WebhookAnswer(404, "Not Found")
    lowered = {key.lower(): value for key, value in headers.items()}
    if not _verified(source, lowered, raw, secret):
        log.warning("refused a %s deployment webhook without a valid signature", source)
        return WebhookAnswer(401, "missing or wrong signature")
    try:
        event = _read(source, lowered, raw)
    except DeploymentError as exc:
        log.warning("refused a %s deployment webhook: %s", source, exc)
        return WebhookAnswer(400, str(exc))
    if event is None:
        return WebhookAnswer(200, "not a deployment event: nothing to do")
    await deployments.record(ctx, event)
    answer = f"deployment {event.external_id}: {event.state}"
    alert = vercel_alert(event)
    if alert is None:
        return WebhookAnswer(200, answer)
    try:
        intake = await alerts.receive(ctx, [alert])
    except alerts.IntakeUnavailable as exc:
        log.warning("Vercel deployment alert not taken: %s", exc)
        return WebhookAnswer(503, "unavailable, retry later")
    if intake.unavailable is not None:
        return WebhookAnswer(503, intake.unavailable)
    return WebhookAnswer(200, f"{answer}; alert {intake.outcomes[0].action}")

"""Jira's webhook deliveries: a signed `jira:issue_updated` or `jira:issue_created` says what
state an issue is in now, so a ticket closed in Jira closes its action item without polling.

Jira Cloud (admin webhooks registered with a secret) and Data Center 10+ sign the raw body with
HMAC-SHA256 and send `X-Hub-Signature: sha256=<hex>`. A delivery without a valid signature is
refused, and so is every delivery while no secret is configured: an unsigned webhook would let
anyone who knows the URL close the bot's tickets.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from app.domain.tickets import Ticket

__all__ = ["ISSUE_EVENTS", "read_webhook", "signature"]

ISSUE_EVENTS = frozenset({"jira:issue_updated", "jira:issue_created"})
# Jira retries a failed delivery for a while; anything older than this is a replay, ignored.
MAX_AGE = timedelta(days=1)


def signature(body: bytes, secret: str) -> str:
    """The X-Hub-Signature value Jira sends for `body`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _header(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    return next((v for k, v in headers.items() if k.lower() == wanted), None)


def _check_signature(headers: Mapping[str, str], body: bytes, secret: str | None) -> None:
    if not secret:
        raise ValueError("no JIRA_WEBHOOK_SECRET is configured: Jira deliveries are refused")
    given = _header(headers, "X-Hub-Signature")
    if not given:
        raise ValueError("the delivery has no X-Hub-Signature: is the webhook's secret set?")
    if not hmac.compare_digest(given.strip().encode(), signature(body, secret).encode()):
        raise ValueError("the X-Hub-Signature does not match JIRA_WEBHOOK_SECRET")


def _site(issue: Mapping[str, Any]) -> str:
    """The site's address from the issue's `self` (".../rest/api/2/issue/10001")."""
    self_url = str(issue.get("self") or "")
    cut = self_url.find("/rest/api/")
    return self_url[:cut] if cut > 0 else ""


def _closed(fields: Mapping[str, Any]) -> bool:
    status = fields.get("status")
    if isinstance(status, dict) and isinstance(status.get("statusCategory"), dict):
        return status["statusCategory"].get("key") == "done"
    return bool(fields.get("resolution"))  # a minimal body: resolved means closed


def _stale(payload: Mapping[str, Any], now: datetime) -> bool:
    stamp = payload.get("timestamp")
    if not isinstance(stamp, int | float):
        return False
    sent = datetime.fromtimestamp(stamp / 1000, tz=UTC)
    return abs(now - sent) > MAX_AGE


def read_webhook(
    headers: Mapping[str, str], body: bytes, secret: str | None, now: datetime
) -> list[Ticket]:
    """The issues a verified delivery reports, with whether each is closed.

    Raises ValueError (with the reason) for a missing or wrong signature, no secret configured,
    or a body that is not Jira's JSON. Other events, and replays older than a day, give [].
    """
    _check_signature(headers, body, secret)
    try:
        payload = json.loads(body)
    except ValueError as exc:
        raise ValueError("the delivery's body is not JSON") from exc
    if not isinstance(payload, dict) or payload.get("webhookEvent") not in ISSUE_EVENTS:
        return []
    if _stale(payload, now):
        return []
    issue = payload.get("issue")
    if not isinstance(issue, dict) or not isinstance(issue.get("key"), str):
        raise ValueError("the delivery names no issue")
    fields = issue.get("fields")
    fields = fields if isinstance(fields, dict) else {}
    key = issue["key"]
    site = _site(issue)
    return [
        Ticket(
            key=key,
            url=f"{site}/browse/{key}" if site else "",
            remote_id=key,
            closed=_closed(fields),
            extra={"event": str(payload["webhookEvent"])},
        )
    ]

"""Linear's webhook deliveries: proved to be Linear's, fresh, and read as tickets.

Linear signs each delivery with the webhook's signing secret: `Linear-Signature` is the hex
HMAC-SHA256 of the raw body. The body's `webhookTimestamp` (epoch milliseconds; the
`Linear-Timestamp` header when the body has none, as Linear's SDK does) must be within a minute
of now, so a captured delivery cannot be replayed later. Only "Issue" data-change events
become tickets; the rest are acknowledged and ignored.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from app.domain.tickets import Ticket

MAX_SKEW_MS = 60_000
CLOSED_TYPES = ("completed", "canceled")
ISSUE_ACTIONS = ("create", "update", "remove")


def read_webhook(
    headers: Mapping[str, str], body: bytes, secret: str | None, now: datetime
) -> list[Ticket]:
    """The issues a delivery tells of; ValueError when it cannot be trusted (no secret set, a
    missing or wrong signature, a stale or missing timestamp, a body that is not JSON)."""
    if not secret:
        raise ValueError("LINEAR_WEBHOOK_SECRET is not set: Linear deliveries cannot be checked")
    lowered = {key.lower(): value for key, value in headers.items()}
    signature = lowered.get("linear-signature", "").strip().lower()
    if not signature:
        raise ValueError("no Linear-Signature header")
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        raise ValueError("the Linear-Signature does not match the body")
    try:
        payload = json.loads(body)
    except ValueError:
        raise ValueError("the delivery is not JSON") from None
    if not isinstance(payload, dict):
        raise ValueError("the delivery is not a JSON object")
    _check_fresh(payload.get("webhookTimestamp", lowered.get("linear-timestamp")), now)
    if payload.get("type") != "Issue" or payload.get("action") not in ISSUE_ACTIONS:
        return []
    data = payload.get("data")
    if not isinstance(data, dict):
        raise ValueError("an Issue delivery without data")
    return [_ticket(data, str(payload["action"]))]


def _check_fresh(stamp: Any, now: datetime) -> None:
    try:
        millis = float(stamp)
    except (TypeError, ValueError):
        raise ValueError("the delivery has no webhookTimestamp") from None
    if abs(now.timestamp() * 1000 - millis) > MAX_SKEW_MS:
        raise ValueError("the delivery's webhookTimestamp is more than a minute from now")


def _ticket(data: dict[str, Any], action: str) -> Ticket:
    try:
        key, url, remote_id = str(data["identifier"]), str(data["url"]), str(data["id"])
    except KeyError as exc:
        raise ValueError(f"an Issue delivery without {exc.args[0]}") from None
    state = data.get("state")
    extra = {"action": action}
    if isinstance(state, dict) and isinstance(state.get("type"), str):
        return Ticket(key, url, remote_id, closed=state["type"] in CLOSED_TYPES, extra=extra)
    return Ticket(key, url, remote_id, extra={**extra, "state": "unknown"})

"""One log line and one latency sample per Slack request, over HTTP or Socket Mode.

The kind is what the request was (`command`, `block_actions`, `view_submission`,
`event:reaction_added`, ...), from a small closed vocabulary so metric labels stay bounded
whatever a sender puts in a body.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from app import metrics

log = logging.getLogger("app.slack.requests")

_NAME = re.compile(r"[a-z][a-z0-9_]{0,48}")
INTERACTION_TYPES = {
    "block_actions",
    "block_suggestion",
    "view_submission",
    "view_closed",
    "shortcut",
    "message_action",
    "interactive_message",
    "dialog_submission",
}
# Requests from Slack itself rather than from a person.
CONTROL_TYPES = {"url_verification", "app_rate_limited"}


def kind_of(body: dict[str, Any]) -> str:
    """The kind of a parsed Slack request body (app.slack.payloads.parse_body over HTTP, the
    envelope's payload in Socket Mode)."""
    if "command" in body:
        return "command"
    if "ssl_check" in body:
        return "ssl_check"
    kind = body.get("type")
    if kind == "event_callback":
        event = body.get("event") or {}
        name = event.get("type") if isinstance(event, dict) else None
        return f"event:{name}" if isinstance(name, str) and _NAME.fullmatch(name) else "event"
    if isinstance(kind, str) and (kind in INTERACTION_TYPES or kind in CONTROL_TYPES):
        return kind
    return "other"


def record(kind: str, seconds: float, status: int | None = None) -> None:
    metrics.slack_request(kind, seconds)
    latency_ms = round(seconds * 1000, 1)
    log.info(
        "slack request kind=%s status=%s latency_ms=%s",
        kind,
        status if status is not None else "-",
        latency_ms,
        extra={"kind": kind, "status": status, "latency_ms": latency_ms},
    )

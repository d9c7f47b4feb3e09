"""PagerDuty's Events API v2: one POST /v2/enqueue per event, over httpx.

httpx, not PagerDuty's own python-pagerduty (formerly pdpyras): that library is synchronous
(requests, then a blocking httpx.Client), so every call would need a thread, and it retries by
itself, which the bot must not do (the durable step retries, with its backoff, and knows when a
retry is harmless). The Events API is one JSON POST with three answers worth telling apart,
which this module maps and nothing more:

- 202 Accepted: `{"status": "success", "message": "Event processed", "dedup_key": ...}`;
- 400 Bad Request (`{"status": "invalid event", "message": "Event object is invalid",
  "errors": [...]}`), and any other 4xx: a refusal for good, retrying sends the same refusal;
- 429 (too many events for the integration key), 408, 5xx, a timeout or a lost connection:
  try again later. A 5xx or a timeout may come after PagerDuty took the event.

Sending again is safe by design: every event names the incident by its `dedup_key`, so a trigger
sent twice lands on the same open alert (a log entry, not a second page) and an acknowledge or
resolve twice changes nothing more.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

TIMEOUT = httpx.Timeout(10.0, connect=5.0)
USER_AGENT = "incident-bot (+https://github.com/incident-bot)"
ACTIONS = ("trigger", "acknowledge", "resolve")
SEVERITIES = ("critical", "error", "warning", "info")
SUMMARY_MAX = 1024  # PagerDuty's limit on payload.summary
DEDUP_KEY_MAX = 255


class PagerDutyError(Exception):
    """The Events API did not take an event.

    `transient`: worth trying again later (429, 408, 5xx, the network). `maybe_done`: PagerDuty
    may have processed it anyway (a 5xx or a timeout after the request went out). `errors`:
    PagerDuty's own reasons for a refusal, as its body lists them.
    """

    def __init__(
        self,
        message: str,
        *,
        transient: bool,
        maybe_done: bool = False,
        status: int | None = None,
        errors: Sequence[str] = (),
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.transient = transient
        self.maybe_done = maybe_done
        self.status = status
        self.errors = tuple(errors)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Accepted:
    """PagerDuty's 202: the alert it applied the event to."""

    dedup_key: str
    message: str


def alert_event(
    routing_key: str,
    action: str,
    dedup_key: str,
    *,
    summary: str = "",
    severity: str = "error",
    source: str = "incident-bot",
    custom_details: Mapping[str, Any] | None = None,
    links: Sequence[tuple[str, str]] = (),
) -> dict[str, Any]:
    """An Events API v2 alert event. A trigger carries the payload PagerDuty requires (summary,
    source, severity) and links as `(href, text)`; acknowledge and resolve carry only the key."""
    if action not in ACTIONS:
        raise ValueError(f"unknown event action {action!r}")
    if not dedup_key or len(dedup_key) > DEDUP_KEY_MAX:
        raise ValueError("a dedup_key of 1 to 255 characters is required")
    event: dict[str, Any] = {
        "routing_key": routing_key,
        "event_action": action,
        "dedup_key": dedup_key,
    }
    if action != "trigger":
        return event
    if severity not in SEVERITIES:
        raise ValueError(f"unknown severity {severity!r}")
    payload: dict[str, Any] = {
        "summary": clip(summary, SUMMARY_MAX),
        "source": source,
        "severity": severity,
    }
    if custom_details:
        payload["custom_details"] = dict(custom_details)
    event["payload"] = payload
    if links:
        event["links"] = [{"href": href, "text": text} for href, text in links]
    return event


def clip(text: str, limit: int) -> str:
    """`text` on one line, at most `limit` characters (an ellipsis says it was cut)."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


async def enqueue(
    events_url: str, event: Mapping[str, Any], *, transport: httpx.AsyncBaseTransport | None = None
) -> Accepted:
    """Send one event; PagerDuty's 202, or PagerDutyError. Never retries.

    A client per event: an incident sends a handful (trigger, acknowledge, resolve), so pooling
    would save nothing worth a client held in the bot's context.
    """
    async with httpx.AsyncClient(
        timeout=TIMEOUT,
        headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
        transport=transport,
    ) as client:
        try:
            response = await client.post(f"{events_url.rstrip('/')}/v2/enqueue", json=event)
        except httpx.ConnectError as exc:
            raise PagerDutyError(f"PagerDuty unreachable: {exc}", transient=True) from exc
        except httpx.TimeoutException as exc:
            raise PagerDutyError(
                "PagerDuty did not answer in time", transient=True, maybe_done=True
            ) from exc
        except httpx.TransportError as exc:
            raise PagerDutyError(
                f"PagerDuty connection failed: {type(exc).__name__}",
                transient=True,
                maybe_done=True,
            ) from exc
    return _answer(response, str(event.get("dedup_key") or ""))


def _answer(response: httpx.Response, dedup_key: str) -> Accepted:
    status = response.status_code
    body = _json(response)
    if 200 <= status < 300:  # 202 is PagerDuty's; any 2xx means it took the event
        return Accepted(
            dedup_key=str(body.get("dedup_key") or dedup_key),
            message=str(body.get("message") or "Event processed"),
        )
    raw_errors = body.get("errors")
    errors = [str(e) for e in raw_errors] if isinstance(raw_errors, list) else []
    parts = [str(body["message"])] if body.get("message") else []
    parts += errors
    reason = f": {'; '.join(parts)[:300]}" if parts else ""
    if status == 429:
        raise PagerDutyError(
            f"PagerDuty rate limit (429){reason}",
            transient=True,
            status=status,
            retry_after=_retry_after(response),
        )
    if status == 408 or status >= 500:
        raise PagerDutyError(
            f"PagerDuty answered {status}{reason}", transient=True, maybe_done=True, status=status
        )
    raise PagerDutyError(
        f"PagerDuty refused the event ({status}){reason}",
        transient=False,
        status=status,
        errors=errors,
    )


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    try:
        return None if value is None else max(float(value), 0.0)
    except ValueError:
        return None


__all__ = ["ACTIONS", "Accepted", "PagerDutyError", "alert_event", "clip", "enqueue"]

"""FakePagerDuty's model: what the Events API v2 checks in an event, the services, users and
incidents it keeps, and the v3 webhook payloads it signs.

Checked as PagerDuty documents the event (developer-docs "Send an Alert Event", api-schema
events-v2/openapiv3.json): `routing_key` (32 characters) and `event_action` (trigger,
acknowledge, resolve) are required; `dedup_key` at most 255 characters, required unless the
action is trigger; a trigger's `payload` needs `summary` (at most 1024 characters), `source`
and `severity` (critical, error, warning, info); `custom_details` is an object; each link
needs an `href`, each image a `src`. A refusal is 400 `{"status": "invalid event", "message":
"Event object is invalid", "errors": [...]}`. Fields PagerDuty does not know are not refused
(PagerDuty ignores them) but listed as violations: the client believes they do something.

Alerts de-duplicate by `dedup_key` per routing key: a trigger on an open alert adds a trigger
log entry to it (no new incident, no new page); acknowledge and resolve apply to the open
alert and are dropped when there is none (or it came in through another routing key); once
resolved, a trigger with the same key opens a new incident.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

ACTIONS = ("trigger", "acknowledge", "resolve")
SEVERITIES = ("critical", "error", "warning", "info")
EVENT_FIELDS = {
    "routing_key",
    "event_action",
    "dedup_key",
    "payload",
    "client",
    "client_url",
    "links",
    "images",
}
PAYLOAD_FIELDS = {
    "summary",
    "source",
    "severity",
    "timestamp",
    "component",
    "group",
    "class",
    "custom_details",
}
ACCOUNT = "https://acme.pagerduty.com"
API = "https://api.pagerduty.com"
_ids = itertools.count(1)


def pd_id() -> str:
    """An id in PagerDuty's style (P and six characters), unique in the process."""
    return "P" + hashlib.sha1(str(next(_ids)).encode()).hexdigest()[:6].upper()


def iso(when: datetime) -> str:
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Service:
    id: str
    name: str
    routing_key: str

    def reference(self) -> dict[str, Any]:
        return _reference("service", self.id, self.name, f"services/{self.id}")


@dataclass
class User:
    id: str
    name: str
    email: str

    def reference(self) -> dict[str, Any]:
        return _reference("user", self.id, self.name, f"users/{self.id}")


@dataclass
class Alert:
    dedup_key: str
    summary: str
    severity: str
    source: str
    custom_details: dict[str, Any]
    links: list[dict[str, Any]]
    triggers: int = 1  # trigger events applied to this alert (the first, then repeats)


@dataclass
class Incident:
    """A PagerDuty incident with its one alert (no grouping of alerts into incidents)."""

    id: str
    number: int
    service: Service
    alert: Alert
    created_at: datetime
    status: str = "triggered"  # triggered | acknowledged | resolved
    log: list[str] = field(default_factory=list)  # "trigger", "acknowledge by …", ...
    acknowledged_by: str | None = None  # a user's e-mail, or the service for an event
    resolved_by: str | None = None

    @property
    def dedup_key(self) -> str:
        return self.alert.dedup_key

    @property
    def is_open(self) -> bool:
        return self.status != "resolved"

    def data(self) -> dict[str, Any]:
        """The incident as a v3 webhook's `event.data` (the documented `incident` type)."""
        return {
            "id": self.id,
            "type": "incident",
            "self": f"{API}/incidents/{self.id}",
            "html_url": f"{ACCOUNT}/incidents/{self.id}",
            "number": self.number,
            "status": self.status,
            "incident_key": self.dedup_key,
            "created_at": self.created_at.isoformat(timespec="seconds").replace("+00:00", "Z"),
            "title": self.alert.summary,
            "service": self.service.reference(),
            "assignees": [],
            "escalation_policy": _reference(
                "escalation_policy", "PUS0KTE", "Default", "escalation_policies/PUS0KTE"
            ),
            "teams": [],
            "priority": None,
            "urgency": "high" if self.alert.severity in ("critical", "error") else "low",
            "conference_bridge": None,
            "resolve_reason": None,
        }


def _reference(kind: str, id_: str, summary: str, path: str) -> dict[str, Any]:
    return {
        "html_url": f"{ACCOUNT}/{path}",
        "id": id_,
        "self": f"{API}/{path}",
        "summary": summary,
        "type": f"{kind}_reference",
    }


def event_errors(event: Any, known_keys: set[str]) -> list[str]:
    """What PagerDuty would refuse in an event (empty: it is valid)."""
    if not isinstance(event, dict):
        return ["Event object must be a JSON object"]
    errors: list[str] = []
    key = event.get("routing_key")
    if not isinstance(key, str) or not key:
        errors.append("'routing_key' is missing or blank")
    elif len(key) != 32:
        errors.append("Length of 'routing_key' is incorrect (should be 32 characters)")
    elif key not in known_keys:
        errors.append("Invalid routing key")
    action = event.get("event_action")
    if action not in ACTIONS:
        errors.append("'event_action' is missing or invalid")
    dedup = event.get("dedup_key")
    if dedup is not None and (not isinstance(dedup, str) or len(dedup) > 255):
        errors.append("'dedup_key' must be a string of at most 255 characters")
    if action in ("acknowledge", "resolve") and not dedup:
        errors.append("'dedup_key' is required for acknowledge and resolve events")
    if action == "trigger":
        errors += _payload_errors(event.get("payload"))
        errors += _context_errors(event.get("links"), "links", "href")
        errors += _context_errors(event.get("images"), "images", "src")
    return errors


def _payload_errors(payload: Any) -> list[str]:
    if not isinstance(payload, dict):
        return ["'payload' is missing or not an object"]
    errors = []
    summary = payload.get("summary")
    if not isinstance(summary, str) or not summary.strip():
        errors.append("'payload.summary' is missing or blank")
    elif len(summary) > 1024:
        errors.append("'payload.summary' is longer than 1024 characters")
    source = payload.get("source")
    if not isinstance(source, str) or not source.strip():
        errors.append("'payload.source' is missing or blank")
    if payload.get("severity") not in SEVERITIES:
        errors.append("'payload.severity' must be one of critical, error, warning, info")
    details = payload.get("custom_details")
    if details is not None and not isinstance(details, dict):
        errors.append("'payload.custom_details' must be an object")
    return errors


def _context_errors(items: Any, name: str, required: str) -> list[str]:
    if items is None:
        return []
    if not isinstance(items, list):
        return [f"'{name}' must be an array"]
    return [
        f"'{name}[{i}].{required}' is missing"
        for i, item in enumerate(items)
        if not isinstance(item, dict) or not isinstance(item.get(required), str)
    ]


def unknown_fields(event: dict[str, Any]) -> list[str]:
    """Fields PagerDuty ignores: a client sending them expects what will not happen."""
    found = [f"event field {k!r}" for k in event if k not in EVENT_FIELDS]
    payload = event.get("payload")
    if isinstance(payload, dict):
        found += [f"payload field {k!r}" for k in payload if k not in PAYLOAD_FIELDS]
        if event.get("event_action") != "trigger":
            found.append(
                f"a payload on an {event.get('event_action')} event (PagerDuty ignores it)"
            )
    return found


def webhook_body(
    event_type: str,
    incident: Incident,
    now: datetime,
    agent: dict[str, Any] | None,
    client: dict[str, Any] | None,
) -> bytes:
    """A v3 webhook payload: one event, its data the incident."""
    payload = {
        "event": {
            "id": uuid.uuid4().hex.upper()[:26],
            "event_type": event_type,
            "resource_type": "incident",
            "occurred_at": iso(now),
            "agent": agent,
            "client": client,
            "data": incident.data(),
        }
    }
    return json.dumps(payload, separators=(",", ":")).encode()


def signature(body: bytes, secrets: list[str]) -> str:
    """X-PagerDuty-Signature: `v1=<hex HMAC-SHA256>` per secret, comma-separated."""
    return ",".join(
        "v1=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest() for secret in secrets
    )

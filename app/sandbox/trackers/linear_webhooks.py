"""The deliveries Linear's webhooks send, for the bot's webhook endpoint tests.

The shape is Linear's `EntityWebhookPayload` (action, actor, createdAt, data, organizationId,
type, updatedFrom, url, webhookId, webhookTimestamp in epoch ms) with `data` an
`IssueWebhookPayload`; the headers are Linear-Delivery, Linear-Event and Linear-Signature, the
hex HMAC-SHA256 of the raw body with the webhook's signing secret.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from datetime import datetime
from typing import Any

from .linear_state import ORG_KEY, Issue, User


def _iso(when: datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")


def issue_data(issue: Issue, now: datetime, with_state: bool) -> dict[str, Any]:
    """The issue as an "Issue" delivery carries it (a subset of IssueWebhookPayload)."""
    team = issue.team
    data: dict[str, Any] = {
        "id": issue.id,
        "identifier": issue.identifier,
        "number": issue.number,
        "title": issue.title,
        "description": issue.description,
        "priority": issue.priority,
        "priorityLabel": issue.priorityLabel,
        "url": issue.url,
        "createdAt": issue.createdAt,
        "updatedAt": _iso(now),
        "teamId": team.id,
        "team": {"id": team.id, "key": team.key, "name": team.name},
        "stateId": issue.state.id,
        "labelIds": [x.id for x in issue.label_list],
        "labels": [{"id": x.id, "name": x.name, "color": "#bec2c8"} for x in issue.label_list],
        "subscriberIds": [],
        "previousIdentifiers": [],
    }
    if with_state:
        state = issue.state
        data["state"] = {"id": state.id, "name": state.name, "type": state.type, "color": "#5e6ad2"}
    return data


def issue_delivery(
    issue: Issue,
    actor: User,
    action: str,
    secret: str,
    now: datetime,
    updated_from: dict[str, Any] | None = None,
    with_state: bool = True,
) -> tuple[dict[str, str], bytes]:
    """A signed delivery about `issue`: (headers, raw body)."""
    payload: dict[str, Any] = {
        "action": action,
        "actor": {"id": actor.id, "name": actor.name, "type": "user"},
        "createdAt": _iso(now),
        "data": issue_data(issue, now, with_state),
        "organizationId": str(uuid.uuid5(uuid.NAMESPACE_URL, ORG_KEY)),
        "type": "Issue",
        "url": issue.url,
        "webhookId": str(uuid.uuid5(uuid.NAMESPACE_URL, secret)),
        "webhookTimestamp": int(now.timestamp() * 1000),
    }
    if updated_from is not None:
        payload["updatedFrom"] = updated_from
    body = json.dumps(payload, separators=(",", ":")).encode()
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "Linear-Delivery": str(uuid.uuid4()),
        "Linear-Event": "Issue",
        "Linear-Signature": hmac.new(secret.encode(), body, hashlib.sha256).hexdigest(),
        "User-Agent": "Linear-Webhook",
    }
    return headers, body

"""Deployment webhooks read into one shape, `DeploymentEvent`; their signatures. Pure, no I/O.

- Vercel (`/webhooks/deployments/vercel`): `{"type": "deployment.succeeded", "id": ...,
  "createdAt": <ms>, "payload": {"deployment": {"id", "url", "name", "meta"}, "target",
  "project": {"id"}, "links": {"deployment", "project"}, ...}}`, signed with
  `x-vercel-signature`, the hex HMAC-SHA1 of the raw body with the webhook's secret. The
  deployment's state is the type's last word (created, succeeded, error, canceled, ...); the
  commit is in `meta` (`githubCommitSha`, `githubCommitRef`, or GitLab's and Bitbucket's).
- GitHub (`/webhooks/deployments/github`): the `deployment` event (a deployment created) and
  `deployment_status` (its state: queued, in_progress, success, failure, error, inactive),
  named by `X-GitHub-Event`, signed with `X-Hub-Signature-256: sha256=<hex HMAC-SHA256>`.

Words from the senders (project names, refs) are kept as given; the Slack side escapes them.

A failed Vercel deployment (`deployment.error`: the plan's "build failures, deployment
failures") is also an alert of source "vercel" (`vercel_alert`), one per deployment, with the
labels `type`, `project`, `environment` (Vercel's target: production, preview...), `ref`.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from app.domain.alert_entries import TITLE_MAX, Alert, clip

__all__ = [
    "DeploymentError",
    "DeploymentEvent",
    "github_signed",
    "parse_github",
    "parse_vercel",
    "vercel_alert",
    "vercel_signed",
]

# A later event never takes a deployment back to one of these.
STARTING_STATES = frozenset({"created", "queued", "pending", "in_progress", "building"})
GITHUB_EVENTS = ("deployment", "deployment_status")


class DeploymentError(ValueError):
    """The body is not the sender's deployment event; the message says why (answered 400)."""


@dataclass(frozen=True)
class DeploymentEvent:
    source: str
    external_id: str
    project: str
    environment: str
    ref: str
    sha: str
    url: str | None
    state: str
    created_at: datetime


def vercel_signed(raw: bytes, signature: str, secret: str) -> bool:
    expected = hmac.new(secret.encode(), raw, hashlib.sha1).hexdigest()
    return hmac.compare_digest(signature.strip().lower().encode(), expected.encode())


def github_signed(raw: bytes, signature: str, secret: str) -> bool:
    if not signature.startswith("sha256="):
        return False
    expected = hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    given = signature[len("sha256=") :].strip().lower()
    return hmac.compare_digest(given.encode(), expected.encode())


def _text(value: Any, limit: int) -> str:
    if isinstance(value, bool) or value is None:
        return ""
    return str(value).strip()[:limit] if isinstance(value, str | int | float) else ""


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise DeploymentError(f"{where} must be an object")
    return value


def _optional(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _link(value: str) -> str | None:
    """Only http(s) links reach Slack; Vercel gives a deployment's host without a scheme."""
    if not value:
        return None
    if ":" not in value:  # a bare host, as Vercel's deployment.url
        value = f"https://{value}"
    return value[:1000] if value.startswith(("https://", "http://")) else None


def _time(value: Any, where: str) -> datetime:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000, UTC)  # Vercel: milliseconds
    if isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise DeploymentError(f"{where} is not a date: {value!r}") from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise DeploymentError(f"{where} is missing")


def parse_vercel(body: Any) -> DeploymentEvent | None:
    """A Vercel `deployment.*` event; None for another type (a project or domain event the
    webhook may also be subscribed to: acknowledged, not stored)."""
    event = _object(body, "the body")
    kind = _text(event.get("type"), 64)
    if not kind.startswith("deployment."):
        return None
    payload = _object(event.get("payload"), "payload")
    deployment = _object(payload.get("deployment"), "payload.deployment")
    external_id = _text(deployment.get("id"), 128)
    if not external_id:
        raise DeploymentError("payload.deployment.id is missing")
    meta = _optional(deployment.get("meta"))
    project = _optional(payload.get("project"))
    links = _optional(payload.get("links"))
    name = _text(deployment.get("name"), 255) or _text(project.get("id"), 255)
    return DeploymentEvent(
        source="vercel",
        external_id=external_id,
        project=name or "vercel",
        environment=_text(payload.get("target"), 64) or "preview",
        ref=_first(meta, ("githubCommitRef", "gitlabCommitRef", "bitbucketCommitRef"), 255),
        sha=_first(meta, ("githubCommitSha", "gitlabCommitSha", "bitbucketCommitSha"), 64),
        url=_link(_text(links.get("deployment"), 1000))
        or _link(_text(deployment.get("url"), 1000)),
        state=kind.removeprefix("deployment.")[:32],
        created_at=_time(event.get("createdAt"), "createdAt"),
    )


def _first(meta: dict[str, Any], keys: tuple[str, ...], limit: int) -> str:
    return next((text for key in keys if (text := _text(meta.get(key), limit))), "")


def parse_github(event_name: str, body: Any) -> DeploymentEvent | None:
    """A `deployment` or `deployment_status` event; None for any other event (a `ping`, or an
    event this webhook is also subscribed to)."""
    if event_name not in GITHUB_EVENTS:
        return None
    event = _object(body, "the body")
    deployment = _object(event.get("deployment"), "deployment")
    external_id = _text(deployment.get("id"), 128)
    if not external_id:
        raise DeploymentError("deployment.id is missing")
    repository = _optional(event.get("repository"))
    state, url = "created", None
    if event_name == "deployment_status":
        status = _object(event.get("deployment_status"), "deployment_status")
        state = _text(status.get("state"), 32) or "pending"
        # Where it runs, else its log (log_url replaces the deprecated target_url).
        links = ("environment_url", "log_url", "target_url")
        url = next((u for k in links if (u := _link(_text(status.get(k), 1000)))), None)
    return DeploymentEvent(
        source="github",
        external_id=external_id,
        project=_text(repository.get("full_name"), 255) or "github",
        environment=_text(deployment.get("environment"), 64),
        ref=_text(deployment.get("ref"), 255),
        sha=_text(deployment.get("sha"), 64),
        url=url or _link(_text(repository.get("html_url"), 1000)),
        state=state,
        created_at=_time(deployment.get("created_at"), "deployment.created_at"),
    )


def vercel_alert(event: DeploymentEvent) -> Alert | None:
    """The alert of a failed Vercel deployment; None for any other event."""
    if event.source != "vercel" or event.state != "error":
        return None
    title = f"Vercel deployment of {event.project} failed ({event.environment})"
    labels = {
        "type": "deployment.error",
        "project": event.project,
        "environment": event.environment,
        "ref": event.ref,
    }
    return Alert(
        source="vercel",
        fingerprint=f"deployment:{event.external_id}",
        firing=True,
        title=clip(" ".join(title.split()), TITLE_MAX),
        description=f"Commit {event.sha[:12]} on {event.ref}." if event.sha else "",
        labels={key: value for key, value in labels.items() if value},
        url=event.url,
    )

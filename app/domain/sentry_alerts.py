"""Sentry's integration-platform webhooks read into alerts: issue alerts (`event_alert`),
metric alerts and issue changes; every other documented resource and action is `Ignored`, with
the reason, so that Sentry never counts a delivery as failed. Pure functions, no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.domain.alert_entries import (
    DESCRIPTION_MAX,
    FINGERPRINT_MAX,
    Alert,
    Entry,
    Ignored,
    PayloadError,
    checked_fingerprint,
    clip,
    json_object,
    scalar,
    visible_title,
)

# resource -> action -> firing?, for the resources that are alerts. None: a documented action
# that changes nothing the bot tracks.
_SENTRY_STATES: dict[str, dict[str, bool | None]] = {
    "event_alert": {"triggered": True},
    "metric_alert": {"critical": True, "warning": True, "resolved": False},
    "issue": {
        "created": True,
        "unresolved": True,
        "resolved": False,
        # "ignored" is the older name of "archived": Sentry stops alerting on the issue.
        "ignored": False,
        "archived": False,
        "assigned": None,
    },
}
# Documented resources an integration may subscribe to that are not alerts: acknowledged, so
# Sentry does not show their deliveries as failed, and ignored.
_SENTRY_NOT_ALERTS = {
    "installation": "Sentry installation webhooks need nothing from the bot",
    "error": "Sentry error webhooks are not alerts (alert rules and issue webhooks are)",
    "comment": "Sentry comment webhooks are not alerts",
    "seer": "Sentry Seer webhooks are not alerts",
}


def _sentry_resource(body: dict[str, Any], headers: Mapping[str, str]) -> str:
    resource = headers.get("sentry-hook-resource", "").strip()
    if resource:
        return resource
    data = body.get("data")
    if isinstance(data, dict):
        for key, name in (("event", "event_alert"), ("metric_alert", "metric_alert")):
            if key in data:
                return name
        for key in ("issue", "installation", "comment", "error"):
            if key in data:
                return key
    raise PayloadError(
        "cannot tell the Sentry resource: send the Sentry-Hook-Resource header, or a body "
        "with data.event, data.metric_alert or data.issue"
    )


def _sentry_ignored(resource: str, action: str, body: dict[str, Any]) -> Ignored | None:
    """Why this delivery means nothing to the bot, or None when it is an alert to read."""
    if resource in _SENTRY_NOT_ALERTS:
        return Ignored("sentry", _SENTRY_NOT_ALERTS[resource])
    if resource not in _SENTRY_STATES:
        return Ignored(
            "sentry",
            f"Sentry resource {resource!r} is not an alert "
            f"(alerts are {', '.join(_SENTRY_STATES)})",
        )
    actions = _SENTRY_STATES[resource]
    if actions.get(action) is not None:
        return None
    data = body.get("data")
    issue = data.get("issue") if isinstance(data, dict) else None
    issue_id = scalar(issue.get("id")) if isinstance(issue, dict) else ""
    fingerprint = f"issue:{issue_id}"[:FINGERPRINT_MAX] if issue_id else None
    if action in actions:
        reason = f"a Sentry {resource} being {action} changes no alert the bot tracks"
        return Ignored("sentry", reason, fingerprint)
    acted_on = ", ".join(name for name, firing in actions.items() if firing is not None)
    return Ignored(
        "sentry",
        f"Sentry {resource} action {action!r} is not one the bot acts on ({acted_on})",
        fingerprint,
    )


def parse_sentry(payload: Any, headers: Mapping[str, str]) -> list[Entry]:
    """Sentry integration-platform webhooks: issue alerts, metric alerts and issue changes.

    Every other documented resource and action is `Ignored`, with the reason.
    """
    body = json_object(payload, "Sentry webhook")
    resource = _sentry_resource(body, headers)
    action = scalar(body.get("action"))
    ignored = _sentry_ignored(resource, action, body)
    if ignored is not None:
        return [ignored]
    firing = _SENTRY_STATES[resource][action]
    assert firing is not None
    data = body.get("data")
    if not isinstance(data, dict):
        raise PayloadError("data must be an object")
    labels = {"resource": resource, "action": action}
    if resource == "event_alert":
        event = data.get("event")
        if not isinstance(event, dict):
            raise PayloadError("data.event must be an object")
        issue_id = scalar(event.get("issue_id"))
        fingerprint = f"issue:{issue_id}" if issue_id else ""
        title = scalar(event.get("title")) or scalar(event.get("message"))
        url: str | None = scalar(event.get("web_url")) or scalar(event.get("url"))
        labels |= {
            "level": scalar(event.get("level")),
            "project": scalar(event.get("project")),
            "environment": scalar(event.get("environment")),
            "rule": scalar(data.get("triggered_rule")),
        }
        description = scalar(event.get("culprit"))
        where = "data.event.issue_id"
    elif resource == "metric_alert":
        alert = data.get("metric_alert")
        if not isinstance(alert, dict):
            raise PayloadError("data.metric_alert must be an object")
        raw_rule = alert.get("alert_rule")
        rule: dict[str, Any] = raw_rule if isinstance(raw_rule, dict) else {}
        # The Sentry incident's id: its critical, warning and resolved webhooks share it.
        alert_id = scalar(alert.get("id")) or scalar(rule.get("id"))
        fingerprint = f"metric_alert:{alert_id}" if alert_id else ""
        title = (
            scalar(rule.get("name"))
            or scalar(alert.get("title"))
            or scalar(data.get("description_title"))
        )
        url = scalar(data.get("web_url")) or None
        labels |= {"rule": scalar(rule.get("name"))}
        description = scalar(data.get("description_text"))
        where = "data.metric_alert.alert_rule.id"
    else:
        issue = data.get("issue")
        if not isinstance(issue, dict):
            raise PayloadError("data.issue must be an object")
        issue_id = scalar(issue.get("id"))
        fingerprint = f"issue:{issue_id}" if issue_id else ""
        title = scalar(issue.get("title"))
        url = scalar(issue.get("web_url")) or scalar(issue.get("permalink"))
        raw_project = issue.get("project")
        project: dict[str, Any] = raw_project if isinstance(raw_project, dict) else {}
        labels |= {"level": scalar(issue.get("level")), "project": scalar(project.get("slug"))}
        description = scalar(issue.get("culprit"))
        where = "data.issue.id"
    if not title:
        raise PayloadError(f"the Sentry {resource} has no title")
    return [
        Alert(
            source="sentry",
            fingerprint=checked_fingerprint(fingerprint, where),
            firing=firing,
            title=visible_title(title, f"the Sentry {resource}"),
            description=clip(description, DESCRIPTION_MAX),
            labels={k: v for k, v in labels.items() if v},
            url=url or None,
        )
    ]

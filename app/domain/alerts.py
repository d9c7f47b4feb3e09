"""Monitoring payloads read into one shape: `Alert`. Pure functions, no I/O.

Each source's payload is validated as a whole before anything happens, so a malformed body is
refused (400, with the reason) and changes nothing. Labels are what policy rules match on:

- alertmanager: the alert's labels (`alertname`, `severity`, ...), from the webhook v4 payload.
- sentry: `resource` (event_alert, metric_alert, issue), `action`, `level`, `project`,
  `environment`, `rule`. The resource comes from the `Sentry-Hook-Resource` header, or from the
  body's shape when the header is missing.
- uptimerobot: `alert_type` (down, up, ssl_expiry), `monitor`, `monitor_id`, `monitor_url`.
- generic: its `labels` object, plus `severity` when given.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

FINGERPRINT_MAX = 255
TITLE_MAX = 120
DESCRIPTION_MAX = 2000
LABELS_MAX = 64
LABEL_VALUE_MAX = 500
ALERTS_MAX = 100


class PayloadError(ValueError):
    """The payload cannot be read; the message says why, for the sender's delivery log."""


@dataclass(frozen=True)
class Alert:
    source: str
    fingerprint: str
    firing: bool
    title: str
    description: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    url: str | None = None
    # Alerts the sender grouped together (Alertmanager's groupKey) join the same incident.
    group: str | None = None

    @property
    def status(self) -> str:
        return "firing" if self.firing else "resolved"


def _clip(text: str, limit: int) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _title(text: str) -> str:
    """One line, short enough for an incident title."""
    return _clip(" ".join(text.split()), TITLE_MAX)


def _text(value: Any) -> str:
    """A scalar as text; UptimeRobot leaves unknown variables as `*name*`, which means absent."""
    if value is None or isinstance(value, dict | list):
        return ""
    text = str(value).strip()
    if len(text) >= 2 and text.startswith("*") and text.endswith("*"):
        return ""
    return text


def _labels(raw: Any, where: str) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise PayloadError(f"{where} must be an object of text values")
    if len(raw) > LABELS_MAX:
        raise PayloadError(f"{where} has {len(raw)} entries; at most {LABELS_MAX} are accepted")
    return {str(k): _text(v)[:LABEL_VALUE_MAX] for k, v in raw.items() if _text(v)}


def _fingerprint(value: str, where: str) -> str:
    if not value:
        raise PayloadError(f"{where} is missing")
    if len(value) > FINGERPRINT_MAX:
        raise PayloadError(f"{where} is longer than {FINGERPRINT_MAX} characters")
    return value


def _object(payload: Any, what: str) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise PayloadError(f"the body must be a JSON object ({what})")
    return payload


# ------------------------------------------------------------------------------ Alertmanager


def parse_alertmanager(payload: Any, headers: Mapping[str, str]) -> list[Alert]:
    """Alertmanager's webhook (version 4): one Alert per entry of `alerts`."""
    body = _object(payload, "Alertmanager webhook v4")
    version = body.get("version")
    if version is not None and str(version) != "4":
        raise PayloadError(f"unsupported Alertmanager webhook version {version!r} (expected 4)")
    alerts = body.get("alerts")
    if not isinstance(alerts, list) or not alerts:
        raise PayloadError("alerts must be a non-empty list")
    if len(alerts) > ALERTS_MAX:
        raise PayloadError(f"{len(alerts)} alerts in one request; at most {ALERTS_MAX}")
    group_key = _text(body.get("groupKey"))
    group = hashlib.sha256(group_key.encode()).hexdigest()[:32] if group_key else None
    common = _labels(body.get("commonAnnotations"), "commonAnnotations")
    parsed = []
    for index, alert in enumerate(alerts):
        where = f"alerts[{index}]"
        if not isinstance(alert, dict):
            raise PayloadError(f"{where} must be an object")
        status = alert.get("status")
        if status not in ("firing", "resolved"):
            raise PayloadError(f"{where}.status must be firing or resolved, got {status!r}")
        labels = _labels(alert.get("labels"), f"{where}.labels")
        annotations = _labels(alert.get("annotations"), f"{where}.annotations")
        fingerprint = _text(alert.get("fingerprint"))
        if not fingerprint:
            if not labels:
                raise PayloadError(f"{where} has neither a fingerprint nor labels")
            # Older Alertmanagers send no fingerprint; the labels identify the alert.
            fingerprint = hashlib.sha256(json.dumps(labels, sort_keys=True).encode()).hexdigest()[
                :16
            ]
        name = labels.get("alertname", "")
        summary = annotations.get("summary") or annotations.get("title") or common.get("summary")
        title = f"{name}: {summary}" if name and summary else summary or name
        if not title:
            raise PayloadError(f"{where} has no alertname label and no summary annotation")
        parsed.append(
            Alert(
                source="alertmanager",
                fingerprint=_fingerprint(fingerprint, f"{where}.fingerprint"),
                firing=status == "firing",
                title=_title(title),
                description=_clip(
                    annotations.get("description") or common.get("description", ""),
                    DESCRIPTION_MAX,
                ),
                labels=labels,
                url=_text(alert.get("generatorURL")) or _text(body.get("externalURL")) or None,
                group=group,
            )
        )
    return parsed


# ------------------------------------------------------------------------------ Sentry

_SENTRY_STATES = {
    # resource -> action -> firing?
    "event_alert": {"triggered": True},
    "metric_alert": {"critical": True, "warning": True, "resolved": False},
    "issue": {
        "created": True,
        "unresolved": True,
        "resolved": False,
        "ignored": False,
        "archived": False,
    },
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
        if "issue" in data:
            return "issue"
    raise PayloadError(
        "cannot tell the Sentry resource: send the Sentry-Hook-Resource header, or a body "
        "with data.event, data.metric_alert or data.issue"
    )


def parse_sentry(payload: Any, headers: Mapping[str, str]) -> list[Alert]:
    """Sentry integration-platform webhooks: issue alerts, metric alerts and issue changes."""
    body = _object(payload, "Sentry webhook")
    resource = _sentry_resource(body, headers)
    if resource not in _SENTRY_STATES:
        raise PayloadError(
            f"Sentry resource {resource!r} is not an alert (accepted: {', '.join(_SENTRY_STATES)})"
        )
    action = _text(body.get("action"))
    if action not in _SENTRY_STATES[resource]:
        raise PayloadError(
            f"Sentry {resource} action {action!r} is not handled "
            f"(accepted: {', '.join(_SENTRY_STATES[resource])})"
        )
    data = body.get("data")
    if not isinstance(data, dict):
        raise PayloadError("data must be an object")
    labels = {"resource": resource, "action": action}
    if resource == "event_alert":
        event = data.get("event")
        if not isinstance(event, dict):
            raise PayloadError("data.event must be an object")
        issue_id = _text(event.get("issue_id"))
        fingerprint = f"issue:{issue_id}" if issue_id else ""
        title = _text(event.get("title")) or _text(event.get("message"))
        url: str | None = _text(event.get("web_url")) or _text(event.get("url"))
        labels |= {
            "level": _text(event.get("level")),
            "project": _text(event.get("project")),
            "environment": _text(event.get("environment")),
            "rule": _text(data.get("triggered_rule")),
        }
        description = _text(event.get("culprit"))
        where = "data.event.issue_id"
    elif resource == "metric_alert":
        alert = data.get("metric_alert")
        if not isinstance(alert, dict):
            raise PayloadError("data.metric_alert must be an object")
        raw_rule = alert.get("alert_rule")
        rule: dict[str, Any] = raw_rule if isinstance(raw_rule, dict) else {}
        # The Sentry incident's id: its critical, warning and resolved webhooks share it.
        alert_id = _text(alert.get("id")) or _text(rule.get("id"))
        fingerprint = f"metric_alert:{alert_id}" if alert_id else ""
        title = (
            _text(rule.get("name"))
            or _text(alert.get("title"))
            or _text(data.get("description_title"))
        )
        url = _text(data.get("web_url")) or None
        labels |= {"rule": _text(rule.get("name"))}
        description = _text(data.get("description_text"))
        where = "data.metric_alert.alert_rule.id"
    else:
        issue = data.get("issue")
        if not isinstance(issue, dict):
            raise PayloadError("data.issue must be an object")
        issue_id = _text(issue.get("id"))
        fingerprint = f"issue:{issue_id}" if issue_id else ""
        title = _text(issue.get("title"))
        url = _text(issue.get("web_url")) or _text(issue.get("permalink"))
        raw_project = issue.get("project")
        project: dict[str, Any] = raw_project if isinstance(raw_project, dict) else {}
        labels |= {"level": _text(issue.get("level")), "project": _text(project.get("slug"))}
        description = _text(issue.get("culprit"))
        where = "data.issue.id"
    if not title:
        raise PayloadError(f"the Sentry {resource} has no title")
    return [
        Alert(
            source="sentry",
            fingerprint=_fingerprint(fingerprint, where),
            firing=_SENTRY_STATES[resource][action],
            title=_title(title),
            description=_clip(description, DESCRIPTION_MAX),
            labels={k: v for k, v in labels.items() if v},
            url=url or None,
        )
    ]


# ------------------------------------------------------------------------------ UptimeRobot

_UPTIMEROBOT_TYPES = {"1": "down", "2": "up", "3": "ssl_expiry"}


def parse_uptimerobot(payload: Any, headers: Mapping[str, str]) -> list[Alert]:
    """UptimeRobot's webhook alert contact: its variables as JSON, form fields or query string.

    alertType 1 is down, 2 is up (resolves the down alert), 3 is SSL/domain expiry.
    """
    body = _object(payload, "UptimeRobot webhook variables")
    monitor_id = _text(body.get("monitorID"))
    if not monitor_id:
        raise PayloadError("monitorID is missing (add *monitorID* to the webhook's POST value)")
    alert_type = _UPTIMEROBOT_TYPES.get(_text(body.get("alertType")))
    if alert_type is None:
        friendly = _text(body.get("alertTypeFriendlyName")).lower()
        alert_type = {"down": "down", "up": "up"}.get(friendly)
    if alert_type is None:
        raise PayloadError(
            f"alertType must be 1 (down), 2 (up) or 3 (SSL expiry), got "
            f"{_text(body.get('alertType')) or 'nothing'!r}"
        )
    monitor = _text(body.get("monitorFriendlyName")) or _text(body.get("monitorURL")) or monitor_id
    details = _text(body.get("alertDetails"))
    if alert_type == "ssl_expiry":
        title = f"{monitor}: SSL certificate expires soon"
        days = _text(body.get("sslExpiryDaysLeft"))
        expiry = _text(body.get("sslExpiryDate"))
        description = f"Expires {expiry} ({days} days left)." if expiry else details
        fingerprint = f"ssl:{monitor_id}"
    else:
        title = f"{monitor} is down" + (f": {details}" if details else "")
        description = details
        fingerprint = f"monitor:{monitor_id}"
    labels = {
        "alert_type": alert_type,
        "monitor": monitor,
        "monitor_id": monitor_id,
        "monitor_url": _text(body.get("monitorURL")),
    }
    return [
        Alert(
            source="uptimerobot",
            fingerprint=_fingerprint(fingerprint, "monitorID"),
            firing=alert_type != "up",
            title=_title(title),
            description=_clip(description, DESCRIPTION_MAX),
            labels={k: v[:LABEL_VALUE_MAX] for k, v in labels.items() if v},
            url=_text(body.get("monitorURL")) or None,
        )
    ]


# ------------------------------------------------------------------------------ generic


def parse_generic(payload: Any, headers: Mapping[str, str]) -> list[Alert]:
    """The documented generic JSON:

        {"fingerprint": "checkout-5xx", "status": "firing", "title": "Checkout 5xx above 5%",
         "description": "...", "severity": "P1", "labels": {"service": "checkout"},
         "url": "https://grafana.example.com/d/abc"}

    `status` defaults to firing; `title` is required when firing.
    """
    body = _object(payload, "generic alert")
    status = body.get("status", "firing")
    if status not in ("firing", "resolved"):
        raise PayloadError(f"status must be firing or resolved, got {status!r}")
    fingerprint = _fingerprint(_text(body.get("fingerprint")), "fingerprint")
    labels = _labels(body.get("labels"), "labels")
    severity = _text(body.get("severity"))
    if severity:
        labels["severity"] = severity[:LABEL_VALUE_MAX]
    title = _text(body.get("title"))
    if status == "firing" and not title:
        raise PayloadError("title is missing")
    url = _text(body.get("url"))
    if url and not url.startswith(("http://", "https://")):
        raise PayloadError("url must be an http(s) URL")
    return [
        Alert(
            source="generic",
            fingerprint=fingerprint,
            firing=status == "firing",
            title=_title(title or fingerprint),
            description=_clip(_text(body.get("description")), DESCRIPTION_MAX),
            labels=labels,
            url=url or None,
        )
    ]


PARSERS: dict[str, Callable[[Any, Mapping[str, str]], list[Alert]]] = {
    "alertmanager": parse_alertmanager,
    "sentry": parse_sentry,
    "uptimerobot": parse_uptimerobot,
    "generic": parse_generic,
}


def parse(source: str, payload: Any, headers: Mapping[str, str] | None = None) -> list[Alert]:
    """Read a payload from `source`; headers are matched lower-case. Raises PayloadError."""
    parser = PARSERS.get(source)
    if parser is None:
        raise KeyError(source)
    lowered = {k.lower(): v for k, v in (headers or {}).items()}
    return parser(payload, lowered)

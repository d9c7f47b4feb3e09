"""Monitoring payloads read into one shape: `Alert`. Pure functions, no I/O.

A body that cannot be read at all (not JSON, not the source's format) is refused as a whole
(`PayloadError`, 400 with the reason) and changes nothing. Inside a readable body, each entry is
read on its own: `parse` returns one entry per alert the sender sent, in order, each either

- an `Alert` to act on,
- `Ignored`: a documented delivery that means nothing to the bot (a Sentry issue being assigned,
  an installation webhook, an UptimeRobot alert type the bot does not use), answered 2xx with the
  reason so the sender does not count it as a failed delivery, or
- `Invalid`: one alert of a batch that cannot be read (its error is answered; the others of the
  batch are still handled).

Labels are what policy rules match on:

- alertmanager: the alert's labels (`alertname`, `severity`, ...), from the webhook v4 payload.
- sentry: `resource` (event_alert, metric_alert, issue), `action`, `level`, `project`,
  `environment`, `rule`. The resource comes from the `Sentry-Hook-Resource` header, or from the
  body's shape when the header is missing.
- uptimerobot: `alert_type` (down, up, ssl_expiry), `monitor`, `monitor_id`, `monitor_url`.
- generic: its `labels` object, plus `severity` when given.
- grafana: the alert's labels, as Alertmanager's (`app.domain.grafana_alerts`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from typing import Any

from app.domain.alert_entries import (
    DESCRIPTION_MAX,
    FINGERPRINT_MAX,
    LABEL_VALUE_MAX,
    TITLE_MAX,
    Alert,
    Entry,
    Ignored,
    Invalid,
    PayloadError,
    checked_fingerprint,
    clip,
    json_object,
    label_map,
    labelled_alert,
    scalar,
    visible_title,
)
from app.domain.grafana_alerts import parse_grafana
from app.domain.sentry_alerts import parse_sentry

__all__ = [
    "PARSERS",
    "Alert",
    "Entry",
    "Ignored",
    "Invalid",
    "PayloadError",
    "parse",
    "parse_alertmanager",
    "parse_generic",
    "parse_grafana",
    "parse_sentry",
    "parse_uptimerobot",
]

# ------------------------------------------------------------------------------ Alertmanager


def parse_alertmanager(payload: Any, headers: Mapping[str, str]) -> list[Entry]:
    """Alertmanager's webhook (version 4): one entry per element of `alerts`, however many.

    An element that cannot be read is `Invalid` (with its index in the error); the others are
    still alerts. Only a body that is not a v4 webhook at all is a `PayloadError`.
    """
    body = json_object(payload, "Alertmanager webhook v4")
    version = body.get("version")
    if version is not None and str(version) != "4":
        raise PayloadError(f"unsupported Alertmanager webhook version {version!r} (expected 4)")
    alerts = body.get("alerts")
    if not isinstance(alerts, list) or not alerts:
        raise PayloadError("alerts must be a non-empty list")
    group_key = scalar(body.get("groupKey"))
    group = hashlib.sha256(group_key.encode()).hexdigest()[:32] if group_key else None
    common = label_map(body.get("commonAnnotations"), "commonAnnotations")
    external = scalar(body.get("externalURL")) or None
    entries: list[Entry] = []
    for index, alert in enumerate(alerts):
        where = f"alerts[{index}]"
        try:
            entries.append(labelled_alert(alert, where, common, group, external))
        except PayloadError as exc:
            raw = alert if isinstance(alert, dict) else {}
            status = raw.get("status")
            entries.append(
                Invalid(
                    source="alertmanager",
                    error=str(exc),
                    fingerprint=scalar(raw.get("fingerprint"))[:FINGERPRINT_MAX] or None,
                    status=status if status in ("firing", "resolved") else None,
                )
            )
    return entries


# ------------------------------------------------------------------------------ UptimeRobot

_UPTIMEROBOT_TYPES = {"1": "down", "2": "up", "3": "ssl_expiry"}


def parse_uptimerobot(payload: Any, headers: Mapping[str, str]) -> list[Entry]:
    """UptimeRobot's webhook alert contact: its variables as JSON, form fields or query string.

    alertType 1 is down, 2 is up (resolves the down alert), 3 is SSL/domain expiry; any other
    type is `Ignored` with the reason.
    """
    body = json_object(payload, "UptimeRobot webhook variables")
    monitor_id = scalar(body.get("monitorID"))
    if not monitor_id:
        raise PayloadError("monitorID is missing (add *monitorID* to the webhook's POST value)")
    alert_type = _UPTIMEROBOT_TYPES.get(scalar(body.get("alertType")))
    if alert_type is None:
        friendly = scalar(body.get("alertTypeFriendlyName")).lower()
        alert_type = {"down": "down", "up": "up"}.get(friendly)
    if alert_type is None:
        given = scalar(body.get("alertType")) or scalar(body.get("alertTypeFriendlyName"))
        return [
            Ignored(
                "uptimerobot",
                f"UptimeRobot alertType {given or 'nothing'!r} is not one the bot acts on "
                "(1 down, 2 up, 3 SSL expiry)",
                f"monitor:{monitor_id}"[:FINGERPRINT_MAX],
            )
        ]
    monitor = (
        scalar(body.get("monitorFriendlyName")) or scalar(body.get("monitorURL")) or monitor_id
    )
    details = scalar(body.get("alertDetails"))
    if alert_type == "ssl_expiry":
        title = f"{monitor}: SSL certificate expires soon"
        days = scalar(body.get("sslExpiryDaysLeft"))
        expiry = scalar(body.get("sslExpiryDate"))
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
        "monitor_url": scalar(body.get("monitorURL")),
    }
    return [
        Alert(
            source="uptimerobot",
            fingerprint=checked_fingerprint(fingerprint, "monitorID"),
            firing=alert_type != "up",
            title=visible_title(title, "the UptimeRobot monitor"),
            description=clip(description, DESCRIPTION_MAX),
            labels={k: v[:LABEL_VALUE_MAX] for k, v in labels.items() if v},
            url=scalar(body.get("monitorURL")) or None,
        )
    ]


# ------------------------------------------------------------------------------ generic


def parse_generic(payload: Any, headers: Mapping[str, str]) -> list[Entry]:
    """The documented generic JSON:

        {"fingerprint": "checkout-5xx", "status": "firing", "title": "Checkout 5xx above 5%",
         "description": "...", "severity": "P1", "labels": {"service": "checkout"},
         "url": "https://grafana.example.com/d/abc"}

    `status` defaults to firing; `title` is required when firing.
    """
    body = json_object(payload, "generic alert")
    status = body.get("status", "firing")
    if status not in ("firing", "resolved"):
        raise PayloadError(f"status must be firing or resolved, got {status!r}")
    fingerprint = checked_fingerprint(scalar(body.get("fingerprint")), "fingerprint")
    labels = label_map(body.get("labels"), "labels")
    severity = scalar(body.get("severity"))
    if severity:
        labels["severity"] = severity[:LABEL_VALUE_MAX]
    title = scalar(body.get("title"))
    if status == "firing" and not title:
        raise PayloadError("title is missing")
    url = scalar(body.get("url"))
    if url and not url.startswith(("http://", "https://")):
        raise PayloadError("url must be an http(s) URL")
    return [
        Alert(
            source="generic",
            fingerprint=fingerprint,
            firing=status == "firing",
            title=visible_title(title, "the alert") if title else clip(fingerprint, TITLE_MAX),
            description=clip(scalar(body.get("description")), DESCRIPTION_MAX),
            labels=labels,
            url=url or None,
        )
    ]


PARSERS: dict[str, Callable[[Any, Mapping[str, str]], list[Entry]]] = {
    "alertmanager": parse_alertmanager,
    "sentry": parse_sentry,
    "uptimerobot": parse_uptimerobot,
    "generic": parse_generic,
    "grafana": parse_grafana,
}


def parse(source: str, payload: Any, headers: Mapping[str, str] | None = None) -> list[Entry]:
    """Read a payload from `source`, one entry per alert sent; headers are matched lower-case.

    Raises PayloadError when the body cannot be read at all, or when no entry of it can.
    """
    parser = PARSERS.get(source)
    if parser is None:
        raise KeyError(source)
    lowered = {k.lower(): v for k, v in (headers or {}).items()}
    entries = parser(payload, lowered)
    if entries and all(isinstance(entry, Invalid) for entry in entries):
        errors = [entry.error for entry in entries if isinstance(entry, Invalid)]
        shown = "; ".join(errors[:5]) + (f"; and {len(errors) - 5} more" if len(errors) > 5 else "")
        raise PayloadError(shown)
    return entries

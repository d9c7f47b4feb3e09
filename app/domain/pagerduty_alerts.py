"""A PagerDuty incident the bot did not open, read as an `Alert` of source "pagerduty". Pure.

Teams keep custom alerts in PagerDuty (connection pool exhausted, Redis down, memory above
90 %, disk below 10 %). PagerDuty's v3 webhook tells of each: `incident.triggered` fires the
alert, `incident.resolved` resolves it. The v3 incident data carries `id`, `number`, `title`,
`html_url`, `urgency` (high, low), `priority` (a reference whose `summary` is its name, or
null) and `service` (a reference). Rules match the labels `urgency`, `priority`, `service`
and `title`; the PagerDuty incident's id is the fingerprint, so a redelivery is the same alert.
"""

from __future__ import annotations

from typing import Any

from app.domain.alert_entries import (
    LABEL_VALUE_MAX,
    Alert,
    PayloadError,
    checked_fingerprint,
    visible_title,
)

__all__ = ["SOURCE", "pagerduty_alert"]

SOURCE = "pagerduty"


def _text(value: Any) -> str:
    return " ".join(value.split()) if isinstance(value, str) else ""


def _summary(value: Any) -> str:
    return _text(value.get("summary")) if isinstance(value, dict) else ""


def pagerduty_alert(data: Any, *, firing: bool) -> Alert:
    """The alert of the v3 event's `data` (an incident); PayloadError if it has no id."""
    incident = data if isinstance(data, dict) else {}
    fingerprint = checked_fingerprint(_text(incident.get("id")), "event.data.id")
    title = _text(incident.get("title")) or f"PagerDuty incident {fingerprint}"
    service = _summary(incident.get("service"))
    labels = {
        "urgency": _text(incident.get("urgency")).lower(),
        "priority": _summary(incident.get("priority")),
        "service": service,
        "title": title,
    }
    url = _text(incident.get("html_url"))
    number = incident.get("number")
    where = f" on {service}" if service else ""
    described = f"PagerDuty incident #{number}{where}" if isinstance(number, int) else ""
    try:
        shown = visible_title(title, "the PagerDuty incident")
    except PayloadError:
        shown = f"PagerDuty incident {fingerprint}"
    return Alert(
        source=SOURCE,
        fingerprint=fingerprint,
        firing=firing,
        title=shown,
        description=described,
        labels={k: v[:LABEL_VALUE_MAX] for k, v in labels.items() if v},
        url=url if url.startswith("https://") else None,
    )

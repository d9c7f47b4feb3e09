"""Grafana Alerting's webhook contact point, read into `Alert`s. Pure, no I/O.

Grafana's webhook body (version "1") is Alertmanager's v4 body with extras: each alert of
`alerts[]` has `status`, `labels`, `annotations`, `startsAt`, `endsAt`, `fingerprint`,
`generatorURL`, `silenceURL`, `dashboardURL`, `panelURL` and `values`; the body has `receiver`,
`status`, `orgId`, `groupKey`, `groupLabels`, `commonLabels`, `commonAnnotations`,
`externalURL`, `truncatedAlerts`, `title`, `state` and `message`. So alerts are read as
Alertmanager's are: the labels are what rules match (`alertname`, `severity`, `grafana_folder`,
...), the fingerprint identifies the alert, and alerts of one `groupKey` join one incident.
The link is the panel's, else the dashboard's, else the rule's (`generatorURL`): the first is
where a responder sees the graph.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from app.domain.alert_entries import (
    FINGERPRINT_MAX,
    Alert,
    Entry,
    Invalid,
    PayloadError,
    json_object,
    label_map,
    labelled_alert,
    scalar,
)

__all__ = ["parse_grafana"]

SOURCE = "grafana"


def parse_grafana(payload: Any, headers: Mapping[str, str]) -> list[Entry]:
    """One entry per element of `alerts`; an element that cannot be read is `Invalid` (its
    index in the error), the others still count. A body that is not Grafana's webhook at all
    (wrong version, no alerts) is a `PayloadError`."""
    body = json_object(payload, "Grafana webhook")
    version = body.get("version")
    if version is not None and str(version) != "1":
        raise PayloadError(f"unsupported Grafana webhook version {version!r} (expected 1)")
    alerts = body.get("alerts")
    if not isinstance(alerts, list) or not alerts:
        raise PayloadError("alerts must be a non-empty list")
    group_key = scalar(body.get("groupKey"))
    group = "grafana:" + hashlib.sha256(group_key.encode()).hexdigest()[:24] if group_key else None
    common = label_map(body.get("commonAnnotations"), "commonAnnotations")
    external = _http(scalar(body.get("externalURL")))
    entries: list[Entry] = []
    for index, alert in enumerate(alerts):
        where = f"alerts[{index}]"
        try:
            entries.append(_alert(alert, where, common, group, external))
        except PayloadError as exc:
            raw = alert if isinstance(alert, dict) else {}
            status = raw.get("status")
            entries.append(
                Invalid(
                    source=SOURCE,
                    error=str(exc),
                    fingerprint=scalar(raw.get("fingerprint"))[:FINGERPRINT_MAX] or None,
                    status=status if status in ("firing", "resolved") else None,
                )
            )
    return entries


def _http(value: str) -> str | None:
    """Only http(s) links go into Slack messages; Grafana sends "" for an unset panel URL."""
    return value if value.startswith(("http://", "https://")) else None


def _link(alert: Mapping[str, Any]) -> str | None:
    return (
        _http(scalar(alert.get("panelURL")))
        or _http(scalar(alert.get("dashboardURL")))
        or _http(scalar(alert.get("generatorURL")))
    )


def _alert(
    alert: Any, where: str, common: Mapping[str, str], group: str | None, external: str | None
) -> Alert:
    """Read as Alertmanager's are (`labelled_alert`), with Grafana's links."""
    return labelled_alert(
        alert, where, common, group, external, source=SOURCE, summary_keys=("summary",), link=_link
    )

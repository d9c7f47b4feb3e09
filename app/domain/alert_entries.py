"""What a monitoring payload is read into (`Alert`, `Ignored`, `Invalid`) and the readers of
payload values every source's parser shares. Pure functions, no I/O."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from app.domain.text import normalize_title

FINGERPRINT_MAX = 255
TITLE_MAX = 120
DESCRIPTION_MAX = 2000
LABELS_MAX = 64
LABEL_VALUE_MAX = 500


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


@dataclass(frozen=True)
class Ignored:
    """A documented delivery the bot does not act on; answered 2xx with the reason."""

    source: str
    reason: str
    fingerprint: str | None = None
    status: str | None = None


@dataclass(frozen=True)
class Invalid:
    """One alert of a batch that cannot be read; the rest of the batch is still handled."""

    source: str
    error: str
    fingerprint: str | None = None
    status: str | None = None


Entry = Alert | Ignored | Invalid


def clip(text: str, limit: int) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def visible_title(text: str, where: str = "the alert") -> str:
    """One line of visible characters, short enough for an incident title."""
    visible = normalize_title(text)
    if not visible:
        raise PayloadError(f"{where} has no visible title")
    return clip(visible, TITLE_MAX)


def scalar(value: Any) -> str:
    """A scalar as text; UptimeRobot leaves unknown variables as `*name*`, which means absent."""
    if value is None or isinstance(value, dict | list):
        return ""
    text = str(value).strip()
    if len(text) >= 2 and text.startswith("*") and text.endswith("*"):
        return ""
    return text


def label_map(raw: Any, where: str) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise PayloadError(f"{where} must be an object of text values")
    if len(raw) > LABELS_MAX:
        raise PayloadError(f"{where} has {len(raw)} entries; at most {LABELS_MAX} are accepted")
    return {str(k): scalar(v)[:LABEL_VALUE_MAX] for k, v in raw.items() if scalar(v)}


def checked_fingerprint(value: str, where: str) -> str:
    if not value:
        raise PayloadError(f"{where} is missing")
    if len(value) > FINGERPRINT_MAX:
        raise PayloadError(f"{where} is longer than {FINGERPRINT_MAX} characters")
    return value


def json_object(payload: Any, what: str) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise PayloadError(f"the body must be a JSON object ({what})")
    return payload


# --- Alertmanager-shaped alerts (Alertmanager's own, Grafana's) ---------------------------


def _generator_url(alert: Mapping[str, Any]) -> str | None:
    return scalar(alert.get("generatorURL")) or None


def labelled_alert(
    alert: Any,
    where: str,
    common: Mapping[str, str],
    group: str | None,
    external: str | None,
    *,
    source: str = "alertmanager",
    summary_keys: tuple[str, ...] = ("summary", "title"),
    link: Callable[[Mapping[str, Any]], str | None] = _generator_url,
) -> Alert:
    """One alert of an Alertmanager-shaped body (Alertmanager's own, Grafana's): labels,
    annotations, a fingerprint (else the labels' hash), a title from `alertname` and the first
    of `summary_keys`, and `link(alert)` (else `external`) as its link."""
    if not isinstance(alert, dict):
        raise PayloadError(f"{where} must be an object")
    status = alert.get("status")
    if status not in ("firing", "resolved"):
        raise PayloadError(f"{where}.status must be firing or resolved, got {status!r}")
    labels = label_map(alert.get("labels"), f"{where}.labels")
    annotations = label_map(alert.get("annotations"), f"{where}.annotations")
    fingerprint = scalar(alert.get("fingerprint"))
    if not fingerprint:
        if not labels:
            raise PayloadError(f"{where} has neither a fingerprint nor labels")
        # Older Alertmanagers send no fingerprint; the labels identify the alert.
        fingerprint = hashlib.sha256(json.dumps(labels, sort_keys=True).encode()).hexdigest()[:16]
    name = labels.get("alertname", "")
    summary = next((annotations[k] for k in summary_keys if annotations.get(k)), None)
    summary = summary or common.get("summary")
    title = f"{name}: {summary}" if name and summary else summary or name
    if not title:
        raise PayloadError(f"{where} has no alertname label and no summary annotation")
    return Alert(
        source=source,
        fingerprint=checked_fingerprint(fingerprint, f"{where}.fingerprint"),
        firing=status == "firing",
        title=visible_title(title, where),
        description=clip(
            annotations.get("description") or common.get("description", ""), DESCRIPTION_MAX
        ),
        labels=labels,
        url=link(alert) or external,
        group=group,
    )

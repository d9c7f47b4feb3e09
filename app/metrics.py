"""Prometheus metrics, served at GET /metrics.

Counters and histograms count what this process did (sum them across replicas); the gauges of
open incidents are read from the database at scrape time, so every replica reports the same
truth (take the max across replicas). Other modules record through the small functions below
rather than touching the metric objects, so names and labels stay in one place.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from app import __version__

__all__ = ["CONTENT_TYPE_LATEST", "render"]

_MINUTE = 60.0
_HOUR = 3600.0

INFO = Gauge("incident_bot_info", "The running version", ["version"])
INFO.labels(__version__).set(1)

DECLARED = Counter(
    "incident_bot_incidents_declared", "Incidents declared, by severity", ["severity"]
)
OPEN = Gauge("incident_bot_incidents_open", "Incidents not resolved, by severity", ["severity"])
PAGES = Counter("incident_bot_pages_sent", "Pages sent, by escalation level", ["level"])
TIME_TO_ACKNOWLEDGE = Histogram(
    "incident_bot_time_to_acknowledge_seconds",
    "From declaration to the first acknowledgement, by severity",
    ["severity"],
    buckets=(
        _MINUTE, 5 * _MINUTE, 10 * _MINUTE, 15 * _MINUTE, 30 * _MINUTE,
        _HOUR, 2 * _HOUR, 4 * _HOUR, 8 * _HOUR, 24 * _HOUR,
    ),
)  # fmt: skip
TIME_TO_RESOLVE = Histogram(
    "incident_bot_time_to_resolve_seconds",
    "From declaration to resolution, by severity",
    ["severity"],
    buckets=(
        5 * _MINUTE, 15 * _MINUTE, 30 * _MINUTE, _HOUR, 2 * _HOUR,
        4 * _HOUR, 8 * _HOUR, 24 * _HOUR, 48 * _HOUR, 7 * 24 * _HOUR,
    ),
)  # fmt: skip
SLACK_CALLS = Counter(
    "incident_bot_slack_api_calls", "Slack Web API calls (after retries), by method", ["method"]
)
SLACK_ERRORS = Counter(
    "incident_bot_slack_api_errors",
    "Slack Web API calls that failed, by method and Slack error (or exception type)",
    ["method", "error"],
)
SLACK_RATE_LIMITED = Counter(
    "incident_bot_slack_api_rate_limited",
    "HTTP 429 answers from Slack (each is waited out and retried), by method",
    ["method"],
)
SLACK_APP_RATE_LIMITED = Counter(
    "incident_bot_slack_app_rate_limited",
    "app_rate_limited notices from Slack: a minute of Events API deliveries it dropped",
)
SCHEDULER_RUNNING = Gauge(
    "incident_bot_scheduler_running", "1 when this process runs the scheduler"
)
SCHEDULER_LAG = Gauge(
    "incident_bot_scheduler_lag_seconds",
    "How overdue the scheduler's next tick is (0 when on time)",
)
SLACK_REQUESTS = Histogram(
    "incident_bot_slack_request_seconds",
    "Time to answer a Slack request (/slack/events or Socket Mode), by kind",
    ["kind"],
)
ALERTS = Counter(
    "incident_bot_alerts_received",
    "Monitoring alerts received, by source and what was done with them",
    ["source", "outcome"],
)

_METHOD = re.compile(r"[a-z][A-Za-z0-9.]{0,63}")


def _method_label(method: str) -> str:
    """Slack method names are a closed set; anything else is folded to keep labels bounded."""
    return method if _METHOD.fullmatch(method) else "other"


def prime(severities: Iterable[str], levels: Iterable[str]) -> None:
    """Create the labelled series at zero so dashboards see them before the first incident."""
    for severity in severities:
        DECLARED.labels(severity)
        OPEN.labels(severity)
    for level in levels:
        PAGES.labels(level)


def incident_declared(severity: str) -> None:
    DECLARED.labels(severity).inc()


def page_sent(level: str) -> None:
    """Call once per page actually delivered (the escalation service does)."""
    PAGES.labels(level).inc()


def acknowledged(severity: str, started_at: datetime, acknowledged_at: datetime) -> None:
    TIME_TO_ACKNOWLEDGE.labels(severity).observe(
        max(0.0, (acknowledged_at - started_at).total_seconds())
    )


def resolved(severity: str, started_at: datetime, resolved_at: datetime) -> None:
    TIME_TO_RESOLVE.labels(severity).observe(max(0.0, (resolved_at - started_at).total_seconds()))


def slack_call(method: str, error: str | None = None) -> None:
    label = _method_label(method)
    SLACK_CALLS.labels(label).inc()
    if error is not None:
        SLACK_ERRORS.labels(label, error[:64]).inc()


def slack_rate_limited(method: str) -> None:
    SLACK_RATE_LIMITED.labels(_method_label(method)).inc()


def slack_app_rate_limited() -> None:
    SLACK_APP_RATE_LIMITED.inc()


def slack_request(kind: str, seconds: float) -> None:
    SLACK_REQUESTS.labels(kind).observe(seconds)


def alert_received(source: str, outcome: str) -> None:
    ALERTS.labels(source, outcome).inc()


_open_labels: set[str] = set()


def set_open(counts: dict[str, int], severities: Iterable[str]) -> None:
    """Every severity of the policy, plus any an older policy left open; zero when none are."""
    _open_labels.update(severities, counts)
    for severity in _open_labels:
        OPEN.labels(severity).set(counts.get(severity, 0))


def set_scheduler(running: bool, lag_seconds: float) -> None:
    SCHEDULER_RUNNING.set(1 if running else 0)
    SCHEDULER_LAG.set(lag_seconds)


def render() -> bytes:
    return generate_latest(REGISTRY)

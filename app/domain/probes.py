"""Probes (the policy's `probes:`) and the daily report (`daily_report:`), as values, and the
pure rules that judge what a check saw. No I/O: `app.channels.probing` opens the sockets and
hands back an `Observation`; `judge` says whether it passed, and why not in words.

A probe's alert is an ordinary `Alert` of source "probe", fingerprint `probe:<name>` (the same
every time, so repeated failures join the open incident), labels {probe, kind, severity, type}.
Its rule is derived from the probe (`app.domain.policy.probes.rule_for_probe`): the policy adds
one rule per probe, before the written ones, so a probe's own severity and type decide.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from app.domain.alert_entries import Alert, clip
from app.domain.policy.probes import PROBE_SOURCE, DailyReportPolicy, Probe

__all__ = [
    "PROBE_SOURCE",
    "DailyReportPolicy",
    "Observation",
    "Probe",
    "Verdict",
    "days_left",
    "json_lookup",
    "judge",
    "percentile",
    "probe_alert",
]

_MISSING = object()


@dataclass(frozen=True)
class Observation:
    """What a check saw: an error reaching the target, or an answer and how long it took."""

    latency: float | None = None  # seconds
    error: str | None = None
    status: int | None = None
    body: bytes = b""
    cert_expires_at: datetime | None = None


@dataclass(frozen=True)
class Verdict:
    ok: bool
    detail: str
    latency_ms: float | None = None
    cert_expires_at: datetime | None = None


def json_lookup(document: Any, path: str) -> Any:
    """`a.b.0.c` in a JSON document; `_MISSING` when any step is absent."""
    current = document
    for part in path.split("."):
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return _MISSING
    return current


def _json_problem(probe: Probe, body: bytes) -> str | None:
    try:
        document = json.loads(body)
    except ValueError:
        return "the answer is not JSON"
    assert probe.json_path is not None
    value = json_lookup(document, probe.json_path)
    if value is _MISSING:
        return f"no {probe.json_path} in the answer"
    wanted = probe.json_equals
    if wanted is not None and not (value == wanted or str(value) == str(wanted)):
        return f"{probe.json_path} is {clip(str(value), 60)!r}, expected {wanted!r}"
    return None


def _answer_problem(probe: Probe, seen: Observation, now: datetime) -> str | None:
    if probe.kind == "http":
        if seen.status != probe.expect_status:
            return f"HTTP {seen.status} (expected {probe.expect_status})"
        if probe.json_path:
            return _json_problem(probe, seen.body)
    if probe.kind == "tls" and seen.cert_expires_at is not None:
        left = seen.cert_expires_at - now
        if left < timedelta(days=probe.warn_days):
            return f"certificate expires in {days_left(seen.cert_expires_at, now)} days"
    return None


def judge(probe: Probe, seen: Observation, now: datetime) -> Verdict:
    """Pass or fail, with the reason a person reads in the alert and the report."""
    latency_ms = None if seen.latency is None else round(seen.latency * 1000, 1)
    if seen.error is not None:
        return Verdict(False, clip(seen.error, 200), latency_ms, seen.cert_expires_at)
    problem = _answer_problem(probe, seen, now)
    limit = probe.max_latency.total_seconds()
    if problem is None and seen.latency is not None and seen.latency > limit:
        problem = f"answered in {seen.latency:.2f}s (max {limit:g}s)"
    if problem is not None:
        return Verdict(False, problem, latency_ms, seen.cert_expires_at)
    detail = "ok"
    if seen.cert_expires_at is not None:
        detail = f"ok, certificate valid {days_left(seen.cert_expires_at, now)} more days"
    return Verdict(True, detail, latency_ms, seen.cert_expires_at)


def days_left(expires_at: datetime, now: datetime) -> int:
    return max(0, math.floor((expires_at - now) / timedelta(days=1)))


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """The nearest-rank percentile (p50: fraction 0.5); None without values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def probe_alert(probe: Probe, firing: bool, detail: str) -> Alert:
    """The alert a probe sends through the same intake as the webhooks."""
    state = "failing" if firing else "recovered"
    return Alert(
        source=PROBE_SOURCE,
        fingerprint=f"probe:{probe.name}",
        firing=firing,
        title=clip(f"Probe {probe.name} {state}: {detail}", 120),
        description=f"{probe.kind} probe of {probe.target}: {detail}",
        labels={
            "probe": probe.name,
            "kind": probe.kind,
            "severity": probe.severity,
            "type": probe.incident_type,
        },
    )

"""The policy's `probes:` (named checks) and `daily_report:` (the morning message), as
values. What a check saw is judged in `app.domain.probes`; the sockets are in
`app.channels.probing`.

A probe implies its alert rule (`rule_for_probe`): `Policy` puts one rule per probe before the
written ones, so a probe's own severity and type decide its incidents and no rule has to be
written for it.
"""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import field_validator, model_validator

from app.domain.policy.errors import PathError
from app.domain.policy.fields import TYPE_KEY, Duration, Model
from app.domain.policy.models import AlertRule
from app.domain.policy.oncall import _clock, _zone

__all__ = [
    "DEFAULT_TYPES",
    "PROBE_NAME",
    "PROBE_SOURCE",
    "DailyReportPolicy",
    "Probe",
    "rule_for_probe",
]

PROBE_SOURCE = "probe"
PROBE_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")
DEFAULT_TYPES = {"http": "service_downtime", "tcp": "service_downtime", "tls": "ssl_certificate"}


class Probe(Model):
    """One named check: `http` (a URL answers with a status, maybe a JSON value, in time),
    `tls` (a certificate that is valid and not expiring within `warn_days`), `tcp` (a port
    that accepts a connection)."""

    name: str
    kind: Literal["http", "tls", "tcp"]
    url: str | None = None
    method: str = "GET"
    expect_status: int = 200
    json_path: str | None = None
    json_equals: str | int | float | bool | None = None
    host: str | None = None
    port: int | None = None
    warn_days: int = 14
    max_latency: Duration = timedelta(seconds=5)
    interval: Duration = timedelta(minutes=1)
    failures: int = 3
    severity: str = "P1"
    type: str | None = None

    @field_validator("name")
    @classmethod
    def _check_name(cls, value: str) -> str:
        if not PROBE_NAME.fullmatch(value):
            raise ValueError(f"probe name {value!r}: lower case letters, digits, - and _")
        return value

    @field_validator("failures", "warn_days")
    @classmethod
    def _positive(cls, value: int) -> int:
        if value < 1:
            raise ValueError("must be at least 1")
        return value

    @model_validator(mode="after")
    def _check_kind(self) -> Probe:
        if self.kind == "http" and not (self.url or "").startswith(("http://", "https://")):
            raise PathError(("url",), "an http probe needs url: http(s)://…")
        if self.kind in ("tls", "tcp") and not self.host:
            raise PathError(("host",), f"a {self.kind} probe needs host")
        if self.kind == "tcp" and self.port is None:
            raise PathError(("port",), "a tcp probe needs port")
        if self.type is not None and not TYPE_KEY.fullmatch(self.type):
            raise PathError(("type",), f"incident type {self.type!r} must be snake_case")
        return self

    @property
    def incident_type(self) -> str:
        return self.type or DEFAULT_TYPES[self.kind]

    @property
    def target(self) -> str:
        if self.kind == "http":
            return f"{self.method} {self.url}"
        return f"{self.host}:{self.port_or_default}"

    @property
    def port_or_default(self) -> int:
        return self.port if self.port is not None else 443


class DailyReportPolicy(Model):
    """`daily_report:` — the morning message: posted once a day at `at` in `time_zone`."""

    at: time = time(9, 0)
    time_zone: str = "UTC"
    channel: str

    @field_validator("at", mode="before")
    @classmethod
    def _check_at(cls, value: Any) -> time:
        return _clock(value)

    @field_validator("time_zone")
    @classmethod
    def _check_zone(cls, value: str) -> str:
        return _zone(value)

    @field_validator("channel")
    @classmethod
    def _check_channel(cls, value: str) -> str:
        if not re.fullmatch(r"[CG][A-Z0-9]{2,}", value):
            raise ValueError(f"{value!r} is not a Slack channel id (C…)")
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def due_day(self, now: datetime) -> str | None:
        """The local date (ISO) whose report is due at `now`, or None before `at`."""
        local = now.astimezone(self.tz)
        return local.date().isoformat() if local.time() >= self.at else None


def rule_for_probe(probe: Probe) -> AlertRule:
    """The alert rule a probe implies: its own alerts, at its severity, with its type."""
    return AlertRule(
        source=PROBE_SOURCE,
        match={"probe": (probe.name,)},
        severity=probe.severity,
        type=probe.incident_type,
    )

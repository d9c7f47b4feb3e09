"""The policy's field types, key patterns and limits, shared by its models."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, PlainSerializer

from app.domain.durations import HINT, parse_duration

__all__ = [
    "ALERT_SOURCES",
    "Duration",
    "OptionalDuration",
    "SLACK_CHECKBOX_OPTIONS_MAX",
    "SLACK_OPTION_LABEL_MAX",
    "Strings",
]

SLACK_OPTION_LABEL_MAX = 75  # plain_text option labels in Slack checkboxes/selects
SLACK_CHECKBOX_OPTIONS_MAX = 10  # options per checkboxes element; the modal groups by severity

SEVERITY_KEY = re.compile(r"P(\d+)")
LEVEL_KEY = re.compile(r"L(\d+)")
IMPACT_KEY = re.compile(r"[a-z][a-z0-9_]*")
USER_ID = re.compile(r"[UW][A-Z0-9]{2,}")
HANDLE = re.compile(r"@[a-z0-9][a-z0-9._-]*", re.IGNORECASE)
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
EMOJI = re.compile(r"[a-z0-9_+'-]+")
TYPE_KEY = re.compile(r"[a-z][a-z0-9_]*")

# Where alerts may come from (POST /webhooks/alerts/{source}); "*" in a rule means any of them.
ALERT_SOURCES = (
    "alertmanager",
    "sentry",
    "uptimerobot",
    "generic",
    "grafana",
    "pagerduty",
    "vercel",
    "probe",  # the bot's own probes (app.services.probes): a rule source, not a webhook
)


def _to_duration(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        if value <= timedelta(0):
            raise ValueError(f"duration must be greater than zero, got {value}")
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        if value <= 0:
            raise ValueError(f"invalid duration {value!r}: must be greater than zero {HINT}")
        return timedelta(seconds=value)
    if isinstance(value, str):
        return parse_duration(value)
    raise ValueError(f"invalid duration {value!r} {HINT}")


def _to_optional_duration(value: Any) -> timedelta | None:
    return None if value is None else _to_duration(value)


def _seconds(value: timedelta | None) -> int | None:
    return None if value is None else int(value.total_seconds())


def _none_as_empty(value: Any) -> Any:
    """``notify:`` with nothing after it is YAML null; treat it as an empty list."""
    return () if value is None else value


Duration = Annotated[
    timedelta, BeforeValidator(_to_duration), PlainSerializer(_seconds, when_used="json")
]
OptionalDuration = Annotated[
    timedelta | None,
    BeforeValidator(_to_optional_duration),
    PlainSerializer(_seconds, when_used="json"),
]
Strings = Annotated[tuple[str, ...], BeforeValidator(_none_as_empty)]


class Model(BaseModel):
    """Every policy model: immutable, and unknown keys are errors (a typo must not pass)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

"""The policy's on-call sections: rotation schedules (`oncall:`) and the working-hours calendar
(`working_hours:`), as values. Who is on call at an instant is `app.domain.rotation`.

    oncall:
      schedules:
        primary:
          name: Primary on-call
          time_zone: Europe/Paris
          layers:
            - members: [U01AAA, U01BBB, U01CCC]   # user ids or e-mails, in rotation order
              rotation: weekly                   # daily, weekly, or a duration such as 3d, 12h
              handoff: "09:00"                    # local time of the hand-off
              handoff_day: monday                 # weekly only
              start: 2026-11-30                   # the first member's first shift begins then
          backup: next                            # the next member, or another schedule's key

A later layer that has someone on call wins over an earlier one (a weekend layer over the
weekly rotation). Overrides (`/incident oncall override`) are stored in the database and win
over every layer.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import field_validator, model_validator

from app.domain.durations import parse_duration
from app.domain.policy.errors import PathError
from app.domain.policy.fields import EMAIL, USER_ID, Model, Strings

__all__ = [
    "DAYS",
    "Layer",
    "OnCallPolicy",
    "Schedule",
    "WorkingHours",
    "SCHEDULE_KEY",
]

DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
SCHEDULE_KEY = re.compile(r"[a-z][a-z0-9_-]*")
# "09:00" as written; "09:00:00" as an incident's policy snapshot (JSON) stores it.
_CLOCK = re.compile(r"([01]\d|2[0-3]):([0-5]\d)(?::00)?")


def _clock(value: Any) -> time:
    if isinstance(value, time):
        return value
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 24 * 60:
        # YAML reads an unquoted 09:00 as the sexagesimal integer 540.
        return time(value // 60, value % 60)
    if isinstance(value, str) and (match := _CLOCK.fullmatch(value.strip())):
        return time(int(match.group(1)), int(match.group(2)))
    raise ValueError(f'{value!r} is not a time of day such as "09:00" (24-hour, quoted)')


def _zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {value!r} (an IANA name such as Europe/Paris)"
        ) from None
    return value


def _day(value: Any) -> str:
    text = str(value).strip().lower()
    for day in DAYS:
        if text in (day, day[:3]):
            return day
    raise ValueError(f"{value!r} is not a day of the week (monday … sunday, or mon … sun)")


class Layer(Model):
    """One rotation: its members take turns, each for `rotation`, handing off at `handoff`."""

    members: Strings
    rotation: str = "weekly"  # "daily", "weekly", or a duration ("3d", "12h")
    handoff: time = time(9, 0)
    handoff_day: str | None = None  # weekly rotations: the day of the hand-off
    start: date

    @field_validator("members")
    @classmethod
    def _check_members(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("a layer needs at least one member")
        for index, entry in enumerate(value):
            if not (USER_ID.fullmatch(entry) or EMAIL.fullmatch(entry)):
                raise PathError((index,), f"{entry!r} is not a Slack user id (U…/W…) or an e-mail")
        return value

    @field_validator("rotation")
    @classmethod
    def _check_rotation(cls, value: str) -> str:
        if value not in ("daily", "weekly"):
            parse_duration(value)  # raises with the durations' hint
        return value

    @field_validator("handoff", mode="before")
    @classmethod
    def _check_handoff(cls, value: Any) -> time:
        return _clock(value)

    @field_validator("handoff_day", mode="before")
    @classmethod
    def _check_day(cls, value: Any) -> str | None:
        return None if value is None else _day(value)

    @property
    def shift(self) -> timedelta:
        if self.rotation == "daily":
            return timedelta(days=1)
        if self.rotation == "weekly":
            return timedelta(weeks=1)
        return parse_duration(self.rotation)


class Schedule(Model):
    """A named rotation (`schedule:<key>` in a level's `notify`), with its backup."""

    key: str = ""  # filled in from the mapping key
    name: str = ""
    time_zone: str = "UTC"
    layers: tuple[Layer, ...]
    # Who backs the person on call up: "next" (the next member of the layer on call), another
    # schedule's key, or nobody.
    backup: str | None = "next"

    @field_validator("time_zone")
    @classmethod
    def _check_zone(cls, value: str) -> str:
        return _zone(value)

    @field_validator("layers")
    @classmethod
    def _check_layers(cls, value: tuple[Layer, ...]) -> tuple[Layer, ...]:
        if not value:
            raise ValueError("a schedule needs at least one layer")
        return value

    @property
    def title(self) -> str:
        return self.name or self.key

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)


class OnCallPolicy(Model):
    """``oncall:`` in the policy: the schedules levels may page."""

    schedules: dict[str, Schedule] = {}

    @field_validator("schedules", mode="before")
    @classmethod
    def _key_schedules(cls, value: Any) -> Any:
        if not isinstance(value, Mapping):
            return value
        stamped: dict[str, Any] = {}
        for key, schedule in value.items():
            if not (isinstance(key, str) and SCHEDULE_KEY.fullmatch(key)):
                raise PathError((str(key),), f"schedule keys are lower-case words; got {key!r}")
            stamped[key] = {**schedule, "key": key} if isinstance(schedule, Mapping) else schedule
        return stamped

    @model_validator(mode="after")
    def _check_backups(self) -> OnCallPolicy:
        for key, schedule in self.schedules.items():
            backup = schedule.backup
            if backup not in (None, "next") and backup not in self.schedules:
                raise PathError(
                    ("schedules", key, "backup"),
                    f"backup {backup!r} is neither 'next' nor a schedule "
                    f"(known: {', '.join(self.schedules) or 'none'})",
                )
        return self


class WorkingHours(Model):
    """``working_hours:``: when the team works. Outside them, each severity's `outside_hours`
    says whether it pages now, at the next start of working hours, or not at all."""

    time_zone: str = "UTC"
    days: tuple[str, ...] = DAYS[:5]
    start: time = time(9, 0)
    end: time = time(17, 0)
    holidays: tuple[date, ...] = ()

    @field_validator("time_zone")
    @classmethod
    def _check_zone(cls, value: str) -> str:
        return _zone(value)

    @field_validator("days", mode="before")
    @classmethod
    def _check_days(cls, value: Any) -> tuple[str, ...]:
        if not isinstance(value, list | tuple) or not value:
            raise ValueError("days must list at least one day, e.g. [mon, tue, wed, thu, fri]")
        return tuple(dict.fromkeys(_day(day) for day in value))

    @field_validator("start", "end", mode="before")
    @classmethod
    def _check_clock(cls, value: Any) -> time:
        return _clock(value)

    @model_validator(mode="after")
    def _check_span(self) -> WorkingHours:
        if self.end <= self.start:
            raise PathError(
                ("end",), f"end ({self.end:%H:%M}) must be after start ({self.start:%H:%M})"
            )
        return self

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)


OutsideHours = Literal["page", "next_working_hours", "none"]
CHANNELS = ("slack", "email", "sms", "voice", "pagerduty")

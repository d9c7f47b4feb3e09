"""Who is on call when: the schedules' rotations, their overrides and backups, and the
working-hours calendar. Pure: the same answer for `/incident oncall`, `simulate` and a page.

Daily and weekly rotations hand off at the same local time every day or week, whatever the
daylight-saving changes in between (09:00 stays 09:00 in the schedule's time zone); a custom
length ("12h", "3d") counts real hours from the first shift.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from app.domain.policy.oncall import DAYS, Layer, OnCallPolicy, Schedule, WorkingHours

__all__ = [
    "Override",
    "Shift",
    "backup_of",
    "handoffs",
    "is_working",
    "next_shift",
    "next_working_start",
    "on_call",
]

# How far ahead a hand-off or the next working day is looked for.
HORIZON = timedelta(days=400)


@dataclass(frozen=True)
class Override:
    """Someone on call instead of the rotation, from `starts_at` until `ends_at` (stored)."""

    user: str
    starts_at: datetime
    ends_at: datetime
    created_at: datetime | None = None


@dataclass(frozen=True)
class Shift:
    """A stretch of one person on call: `ends_at` is the next hand-off (None: none ahead)."""

    user: str
    starts_at: datetime
    ends_at: datetime | None
    override: bool = False
    layer: int | None = None  # which layer of the schedule (None for an override)
    index: int = 0  # the shift's number in its layer (its member is members[index % n])


def _local(day: date, at: time, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)


def _anchor(layer: Layer) -> date:
    """The date of the first shift: `start`, moved to the hand-off day of a weekly rotation."""
    if layer.rotation == "weekly" and layer.handoff_day is not None:
        ahead = (DAYS.index(layer.handoff_day) - layer.start.weekday()) % 7
        return layer.start + timedelta(days=ahead)
    return layer.start


def _shift_start(layer: Layer, tz: ZoneInfo, index: int) -> datetime:
    anchor = _anchor(layer)
    if layer.rotation in ("daily", "weekly"):
        days = 1 if layer.rotation == "daily" else 7
        return _local(anchor + timedelta(days=index * days), layer.handoff, tz)
    return _local(anchor, layer.handoff, tz) + index * layer.shift


def _index(layer: Layer, tz: ZoneInfo, at: datetime) -> int | None:
    """The number of the layer's shift running at `at` (None before the first)."""
    first = _shift_start(layer, tz, 0)
    if at < first:
        return None
    if layer.rotation in ("daily", "weekly"):
        days = 1 if layer.rotation == "daily" else 7
        local = at.astimezone(tz)
        guess = (local.date() - _anchor(layer)).days // days
        # A hand-off not yet reached today (or a DST-shifted one) belongs to the previous shift.
        while guess > 0 and _shift_start(layer, tz, guess) > at:
            guess -= 1
        while _shift_start(layer, tz, guess + 1) <= at:
            guess += 1
        return guess
    return (at - first) // layer.shift  # integer arithmetic: exact at every hand-off


def _layer_shift(schedule: Schedule, number: int, at: datetime) -> Shift | None:
    layer = schedule.layers[number]
    index = _index(layer, schedule.tz, at)
    if index is None:
        return None
    return Shift(
        user=layer.members[index % len(layer.members)],
        starts_at=_shift_start(layer, schedule.tz, index),
        ends_at=_shift_start(layer, schedule.tz, index + 1),
        layer=number,
        index=index,
    )


def _override_at(overrides: Iterable[Override], at: datetime) -> Override | None:
    """The override in force at `at`; of several, the one made last."""
    found = [o for o in overrides if o.starts_at <= at < o.ends_at]
    if not found:
        return None
    epoch = datetime.min.replace(tzinfo=UTC)
    return max(found, key=lambda o: (o.created_at or epoch, o.starts_at))


def on_call(schedule: Schedule, at: datetime, overrides: Sequence[Override] = ()) -> Shift | None:
    """Who `schedule` says is on call at `at`: an override, else the last layer that has
    started. `ends_at` is when that changes (the next hand-off, override or layer)."""
    override = _override_at(overrides, at)
    if override is not None:
        # Another override beginning before this one ends may win from its start (made later).
        ends = [o.starts_at for o in overrides if at < o.starts_at < override.ends_at]
        ends_at = min([override.ends_at, *ends])
        return Shift(override.user, override.starts_at, ends_at, override=True)
    for number in reversed(range(len(schedule.layers))):
        shift = _layer_shift(schedule, number, at)
        if shift is None:
            continue
        ends = [shift.ends_at] if shift.ends_at else []
        ends += [o.starts_at for o in overrides if at < o.starts_at]
        ends += [
            first
            for later in range(number + 1, len(schedule.layers))
            if at < (first := _shift_start(schedule.layers[later], schedule.tz, 0))
        ]
        return Shift(
            shift.user,
            shift.starts_at,
            min(ends) if ends else None,
            layer=number,
            index=shift.index,
        )
    return None


def next_shift(
    schedule: Schedule, at: datetime, overrides: Sequence[Override] = ()
) -> Shift | None:
    """The first shift after the one running at `at` with someone else (or the same person
    again after a gap), i.e. who is on call next."""
    current = on_call(schedule, at, overrides)
    moment = current.ends_at if current else _first_start(schedule, at)
    while moment is not None and moment - at < HORIZON:
        following = on_call(schedule, moment, overrides)
        if following is None:
            return None
        if current is None or following.user != current.user:
            return replace(following, starts_at=moment)
        moment = following.ends_at
    return None


def _first_start(schedule: Schedule, at: datetime) -> datetime | None:
    starts = [_shift_start(layer, schedule.tz, 0) for layer in schedule.layers]
    later = [s for s in starts if s > at]
    return min(later) if later else None


def handoffs(
    schedule: Schedule, since: datetime, until: datetime, overrides: Sequence[Override] = ()
) -> list[Shift]:
    """The shifts that begin in (since, until], with a different person than before each."""
    found: list[Shift] = []
    current = on_call(schedule, since, overrides)
    moment = current.ends_at if current else _first_start(schedule, since)
    while moment is not None and moment <= until:
        shift = on_call(schedule, moment, overrides)
        if shift is None:
            break
        if current is None or shift.user != current.user:
            # Begins now, even where a rotation's shift resumes after an override.
            found.append(replace(shift, starts_at=moment))
        current, moment = shift, shift.ends_at
    return found


def backup_of(
    oncall: OnCallPolicy,
    schedule: Schedule,
    at: datetime,
    overrides: Mapping[str, Sequence[Override]] | None = None,
) -> Shift | None:
    """Who backs `schedule`'s person on call up at `at`: the next member of the layer on call
    ("next"), whoever another schedule has on call, or nobody. Never the primary themself."""
    overrides = overrides or {}
    primary = on_call(schedule, at, overrides.get(schedule.key, ()))
    if schedule.backup is None or primary is None:
        return None
    if schedule.backup == "next":
        # The member after the rotation's own person (under an override too: the one the
        # override stands in for is off, so the next member backs the override up).
        rotation = primary if not primary.override else on_call(schedule, at)
        if rotation is None or rotation.layer is None:
            return None
        layer = schedule.layers[rotation.layer]
        for step in range(1, len(layer.members) + 1):
            user = layer.members[(rotation.index + step) % len(layer.members)]
            if user != primary.user:
                return Shift(
                    user,
                    primary.starts_at,
                    primary.ends_at,
                    layer=rotation.layer,
                    index=rotation.index,
                )
        return None
    other = oncall.schedules[schedule.backup]
    shift = on_call(other, at, overrides.get(other.key, ()))
    return shift if shift is not None and shift.user != primary.user else None


# --- working hours -----------------------------------------------------------------------------


def is_working(hours: WorkingHours, at: datetime) -> bool:
    local = at.astimezone(hours.tz)
    if local.date() in hours.holidays or DAYS[local.weekday()] not in hours.days:
        return False
    return hours.start <= local.time().replace(tzinfo=None) < hours.end


def next_working_start(hours: WorkingHours, at: datetime) -> datetime:
    """`at` itself during working hours, else the next start of working hours."""
    if is_working(hours, at):
        return at
    day = at.astimezone(hours.tz).date()
    for _ in range(HORIZON.days):
        if day not in hours.holidays and DAYS[day.weekday()] in hours.days:
            start = _local(day, hours.start, hours.tz)
            if start > at:
                return start
        day += timedelta(days=1)
    raise ValueError("no working day within a year: check working_hours.days and holidays")

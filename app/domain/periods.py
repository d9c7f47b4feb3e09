"""The periods a report covers: calendar quarters in the bot's time zone, or days given.

A period is half-open, [since, until): an incident declared exactly at `until` belongs to the
next one. Quarters start on 1 January, 1 April, 1 July and 1 October at midnight in the bot's
time zone (TIMEZONE), so "2026Q3" means the team's own July to September.

What `parse_period` accepts (case and spaces do not matter):

- ``"2026Q3"`` or ``"2026-Q3"``: that quarter;
- ``"Q3"``: this year's third quarter, or last year's if this year's has not started yet;
- ``""``, None or ``"last"``: the last full quarter (the default of `incident-bot report` and
  `/incident report`);
- ``"this"``: this quarter so far (until now).

Anything else is a ValueError whose message says what to type.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

__all__ = [
    "Period",
    "days_period",
    "month_start",
    "parse_period",
    "previous_quarter",
    "quarter_of",
]

_QUARTER = re.compile(r"(?:(\d{4})\s*-?\s*)?q([1-4])")
HELP = 'a quarter such as 2026Q3, 2026-Q3 or Q3, or "last" (the last full quarter) or "this"'


@dataclass(frozen=True)
class Period:
    """[since, until), both aware datetimes in the bot's time zone; `label` names it for
    people ("2026Q3", "2026Q4 to date", "2026-07-01 to 2026-07-31")."""

    label: str
    since: datetime
    until: datetime

    @property
    def length(self) -> timedelta:
        return self.until - self.since


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=tz)


def month_start(year: int, month: int, tz: ZoneInfo) -> datetime:
    """Midnight of the 1st of `month` (1-12; 13 is January of the next year) in `tz`."""
    year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
    return _midnight(date(year, month, 1), tz)


def _quarter(year: int, number: int, tz: ZoneInfo) -> Period:
    first = 3 * (number - 1) + 1
    return Period(
        f"{year}Q{number}", month_start(year, first, tz), month_start(year, first + 3, tz)
    )


def quarter_of(moment: datetime, tz: ZoneInfo) -> Period:
    """The whole quarter `moment` falls in (in `tz`)."""
    local = moment.astimezone(tz)
    return _quarter(local.year, (local.month - 1) // 3 + 1, tz)


def previous_quarter(now: datetime, tz: ZoneInfo) -> Period:
    """The last full quarter before `now`."""
    current = quarter_of(now, tz)
    return quarter_of(current.since - timedelta(days=1), tz)


def parse_period(text: str | None, now: datetime, tz: ZoneInfo) -> Period:
    """The period `text` names (see the module's docstring); ValueError otherwise."""
    value = (text or "").strip().lower()
    if value in ("", "last"):
        return previous_quarter(now, tz)
    if value == "this":
        current = quarter_of(now, tz)
        return Period(f"{current.label} to date", current.since, now.astimezone(tz))
    match = _QUARTER.fullmatch(value)
    if match is None:
        raise ValueError(f"{(text or '').strip()!r} is not a period: give {HELP}.")
    number = int(match.group(2))
    if match.group(1) is not None:
        year = int(match.group(1))
        if not 1970 <= year <= 9998:
            raise ValueError(f"{year} is not a year a report can cover: give {HELP}.")
        return _quarter(year, number, tz)
    this_year = _quarter(now.astimezone(tz).year, number, tz)
    if this_year.since <= now:
        return this_year
    return _quarter(this_year.since.year - 1, number, tz)


def days_period(since: date | None, until: date | None, now: datetime, tz: ZoneInfo) -> Period:
    """The days from `since` through `until`, both included (`--since 2026-07-01 --until
    2026-07-31` is July). `since` alone runs until now; `until` alone starts with the quarter
    of that day; neither is the last full quarter."""
    if since is None and until is None:
        return previous_quarter(now, tz)
    end = _midnight(until + timedelta(days=1), tz) if until is not None else now.astimezone(tz)
    if since is not None:
        start = _midnight(since, tz)
    else:
        start = quarter_of(end - timedelta(microseconds=1), tz).since
    if end <= start and until is None:
        raise ValueError(
            f"--since {start.date().isoformat()} is after today "
            f"({end.date().isoformat()}): the period would be empty."
        )
    if end <= start:
        raise ValueError(
            f"the period ends before it starts ({start.date().isoformat()} to "
            f"{(end - timedelta(days=1)).date().isoformat()}): --until is the last day included."
        )
    last = (end - timedelta(microseconds=1)).date()
    label = f"{start.date().isoformat()} to {last.isoformat()}"
    return Period(label, start, end)

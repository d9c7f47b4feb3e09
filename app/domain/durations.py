"""Human-friendly durations.

The policy file, slash commands and Slack messages all talk about time in the
plan's own terms ("15 minutes", "1 hour"), so parsing and formatting live in
one place and round-trip with each other.
"""

from __future__ import annotations

import re
from datetime import timedelta

__all__ = ["format_duration", "format_elapsed", "parse_duration"]

_UNITS: dict[str, int] = {"d": 86400, "h": 3600, "m": 60, "s": 1}
_UNIT_ORDER = "dhms"
_PART = re.compile(r"(\d+)\s*([dhms])", re.ASCII)
_COMPOUND = re.compile(r"(?:\d+\s*[dhms]\s*)+", re.ASCII)
HINT = "(use 30s, 15m, 1h)"


def parse_duration(text: str) -> timedelta:
    """Parse ``30s``, ``15m``, ``1h``, ``2d``, ``1h30m`` or plain seconds (``90``).

    Units must appear at most once, largest first, so ``30m1h`` (probably a
    typo) is rejected rather than silently read as 90 minutes. Zero and negative
    durations are rejected because every duration in the policy is a wait.
    """
    if not isinstance(text, str):
        raise ValueError(f"invalid duration {text!r} {HINT}")
    raw = text.strip().lower()
    if raw.isascii() and raw.isdigit():
        seconds = int(raw)
    elif raw and _COMPOUND.fullmatch(raw):
        seconds = 0
        last = -1
        for number, unit in _PART.findall(raw):
            position = _UNIT_ORDER.index(unit)
            if position <= last:
                raise ValueError(
                    f"invalid duration {text!r}: units must be given once, largest first "
                    f"(e.g. 1h30m) {HINT}"
                )
            last = position
            seconds += int(number) * _UNITS[unit]
    else:
        raise ValueError(f"invalid duration {text!r} {HINT}")
    if seconds <= 0:
        raise ValueError(f"invalid duration {text!r}: must be greater than zero {HINT}")
    return timedelta(seconds=seconds)


def _plural(count: int, unit: str) -> str:
    return f"{count} {unit}" if count == 1 else f"{count} {unit}s"


def format_duration(td: timedelta) -> str:
    """Render a duration for people: ``"1 hour 30 minutes"``, ``"24 hours"``.

    Hours are never rolled up into days because the plan states targets as
    "24 hours". Zero-valued parts are omitted; sub-second remainders are
    dropped. Negative durations (e.g. an overdue deadline computed the other way
    round) get a leading ``-`` instead of raising, so a message is never lost.
    """
    total = int(td.total_seconds())
    sign = "-" if total < 0 else ""
    total = abs(total)
    if total == 0:
        return "0 seconds"
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [
        _plural(value, unit)
        for value, unit in ((hours, "hour"), (minutes, "minute"), (seconds, "second"))
        if value
    ]
    return sign + " ".join(parts)


def format_elapsed(td: timedelta) -> str:
    """How long something took, for people: ``"12 minutes"``, ``"1 hour 5 minutes"``,
    ``"2 hours"``, ``"under a minute"``.

    Minutes are the precision (seconds are dropped), zero parts are left out, and hours are
    never rolled up into days ("26 hours 59 minutes"), as the plan counts in hours. A negative
    duration (a clock set back) reads as "under a minute" rather than losing the message.
    """
    minutes = max(int(td.total_seconds()), 0) // 60
    if minutes == 0:
        return "under a minute"
    hours, minutes = divmod(minutes, 60)
    return " ".join(
        _plural(value, unit) for value, unit in ((hours, "hour"), (minutes, "minute")) if value
    )

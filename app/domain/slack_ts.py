"""Slack message timestamps (`"1764320400.123456"`): ids that are also instants."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def is_slack_ts(value: object) -> bool:
    """True for the `seconds.micros` strings Slack uses as message ids."""
    if not isinstance(value, str) or "." not in value:
        return False
    seconds, _, micros = value.partition(".")
    return seconds.isdigit() and micros.isdigit() and len(micros) <= 6


def ts_to_datetime(ts: str) -> datetime:
    """The instant a message was posted, timezone-aware UTC, to the microsecond.

    Decimal arithmetic, because a float loses the last microsecond digits of current epochs.
    """
    try:
        value = Decimal(ts)
    except (InvalidOperation, TypeError, ValueError):
        raise ValueError(f"not a Slack timestamp: {ts!r}") from None
    if not value.is_finite() or value < 0:
        raise ValueError(f"not a Slack timestamp: {ts!r}")
    seconds = int(value)
    micros = int((value - seconds) * 1_000_000)
    return _EPOCH + timedelta(seconds=seconds, microseconds=micros)

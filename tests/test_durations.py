from datetime import timedelta

import pytest

from app.domain.durations import format_duration, format_elapsed, parse_duration
from app.domain.formatting import human_minutes


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30s", timedelta(seconds=30)),
        ("15m", timedelta(minutes=15)),
        ("1h", timedelta(hours=1)),
        ("2d", timedelta(days=2)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("1d2h3m4s", timedelta(days=1, hours=2, minutes=3, seconds=4)),
        ("90", timedelta(seconds=90)),
        (" 4H ", timedelta(hours=4)),
    ],
)
def test_parse_duration_accepts_units_compounds_and_plain_seconds(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["soon", "", "1.5h", "h", "15 minutes", "1w", "-5", "-5m", "²"])
def test_parse_duration_rejects_garbage_with_a_hint(text):
    with pytest.raises(ValueError, match=r"invalid duration .*\(use 30s, 15m, 1h\)"):
        parse_duration(text)


@pytest.mark.parametrize("text", ["0", "0m", "0h0m"])
def test_parse_duration_rejects_zero(text):
    with pytest.raises(ValueError, match="greater than zero"):
        parse_duration(text)


def test_parse_duration_rejects_units_out_of_order_or_repeated():
    with pytest.raises(ValueError, match="largest first"):
        parse_duration("30m1h")
    with pytest.raises(ValueError, match="largest first"):
        parse_duration("1h1h")


@pytest.mark.parametrize(
    ("td", "expected"),
    [
        (timedelta(minutes=15), "15 minutes"),
        (timedelta(hours=1), "1 hour"),
        (timedelta(hours=4), "4 hours"),
        (timedelta(hours=24), "24 hours"),
        (timedelta(hours=1, minutes=30), "1 hour 30 minutes"),
        (timedelta(seconds=45), "45 seconds"),
        (timedelta(minutes=1, seconds=1), "1 minute 1 second"),
        (timedelta(0), "0 seconds"),
        (timedelta(minutes=-5), "-5 minutes"),
    ],
)
def test_format_duration_reads_like_the_plan(td, expected):
    assert format_duration(td) == expected


@pytest.mark.parametrize(
    ("td", "expected"),
    [
        (timedelta(0), "under a minute"),
        (timedelta(seconds=59), "under a minute"),
        (timedelta(minutes=1), "1 minute"),
        (timedelta(minutes=12, seconds=40), "12 minutes"),
        (timedelta(hours=1), "1 hour"),
        (timedelta(hours=1, minutes=5), "1 hour 5 minutes"),
        (timedelta(hours=2), "2 hours"),
        (timedelta(hours=26, minutes=59, seconds=59), "26 hours 59 minutes"),
        (timedelta(minutes=-3), "under a minute"),
    ],
)
def test_elapsed_times_read_naturally_never_as_zero_hours(td, expected):
    assert format_elapsed(td) == expected


@pytest.mark.parametrize(
    ("td", "expected"),
    [
        (timedelta(0), "under a second"),
        (timedelta(milliseconds=400), "under a second"),
        (timedelta(seconds=12), "12 seconds"),
        (timedelta(minutes=15, seconds=59), "15 minutes"),
    ],
)
def test_waits_and_lateness_read_in_whole_minutes_and_never_as_0_seconds(td, expected):
    assert human_minutes(td) == expected

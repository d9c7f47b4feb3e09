"""Who is on call when (app.domain.rotation), pure: rotations daily, weekly and custom, hand-offs
at their exact instant and across daylight-saving changes, overrides, layers, backups, and the
working-hours calendar. Every instant is given; nothing reads the clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from app.config.policy_loader import load_policy
from app.domain.policy import Policy
from app.domain.policy.oncall import OnCallPolicy, Schedule, WorkingHours
from app.domain.rotation import (
    Override,
    backup_of,
    handoffs,
    is_working,
    next_shift,
    next_working_start,
    on_call,
)

PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")
TICK = timedelta(microseconds=1)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def local(
    tz: ZoneInfo, year: int, month: int, day: int, hour: int = 0, minute: int = 0
) -> datetime:
    """A wall-clock time in `tz`, as the UTC instant it is."""
    return datetime(year, month, day, hour, minute, tzinfo=tz).astimezone(UTC)


def oncall_policy(**schedules: dict[str, Any]) -> OnCallPolicy:
    return OnCallPolicy.model_validate({"schedules": schedules})


def schedule(*layers: dict[str, Any], tz: str = "UTC", backup: str | None = "next") -> Schedule:
    policy = oncall_policy(primary={"time_zone": tz, "layers": list(layers), "backup": backup})
    return policy.schedules["primary"]


def daily(*members: str, start: str = "2026-03-02", handoff: str = "09:00") -> dict[str, Any]:
    return {"members": list(members), "rotation": "daily", "handoff": handoff, "start": start}


ABC = daily("UADA", "UBOB", "UCAT")


def who(sched: Schedule, at: datetime, overrides: tuple[Override, ...] = ()) -> str | None:
    shift = on_call(sched, at, overrides)
    return shift.user if shift else None


# ------------------------------------------------------------------------------- rotations


def test_daily_rotation_takes_turns_in_member_order_and_wraps_around() -> None:
    sched = schedule(ABC)
    assert who(sched, utc(2026, 3, 2, 8, 59)) is None  # before the first shift
    first = on_call(sched, utc(2026, 3, 2, 9))
    assert first is not None and first.user == "UADA"
    assert (first.starts_at, first.ends_at) == (utc(2026, 3, 2, 9), utc(2026, 3, 3, 9))
    assert [who(sched, utc(2026, 3, day, 12)) for day in range(2, 8)] == [
        "UADA",
        "UBOB",
        "UCAT",
        "UADA",
        "UBOB",
        "UCAT",
    ]


def test_the_hand_off_instant_belongs_to_the_incoming_person() -> None:
    sched = schedule(ABC)
    handoff = utc(2026, 3, 3, 9)
    assert who(sched, handoff - TICK) == "UADA"
    assert who(sched, handoff) == "UBOB"
    shift = on_call(sched, handoff)
    assert shift is not None and shift.starts_at == handoff


def test_weekly_rotation_hands_off_on_its_day_from_the_first_such_day_after_start() -> None:
    # Start on a Wednesday; the hand-off day is Monday: the first shift begins Monday 9 March.
    layer = {
        "members": ["UADA", "UBOB"],
        "rotation": "weekly",
        "handoff_day": "mon",
        "handoff": "10:30",
        "start": "2026-03-04",
    }
    sched = schedule(layer)
    assert who(sched, utc(2026, 3, 9, 10, 29)) is None
    first = on_call(sched, utc(2026, 3, 9, 10, 30))
    assert first is not None and first.user == "UADA"
    assert first.ends_at == utc(2026, 3, 16, 10, 30)
    assert who(sched, utc(2026, 3, 15, 23)) == "UADA"  # Sunday night: still the same week
    assert who(sched, utc(2026, 3, 16, 10, 30)) == "UBOB"
    assert who(sched, utc(2026, 3, 23, 10, 30)) == "UADA"


def test_custom_rotation_counts_its_length_from_the_first_shift() -> None:
    sched = schedule({"members": ["UADA", "UBOB", "UCAT"], "rotation": "12h", "handoff": "08:00",
                      "start": "2026-03-02"})  # fmt: skip
    assert who(sched, utc(2026, 3, 2, 19, 59)) == "UADA"
    assert who(sched, utc(2026, 3, 2, 20)) == "UBOB"
    assert who(sched, utc(2026, 3, 3, 8)) == "UCAT"
    assert who(sched, utc(2026, 3, 3, 20)) == "UADA"
    shift = on_call(sched, utc(2026, 3, 3, 8))
    assert shift is not None and shift.ends_at == utc(2026, 3, 3, 20)


def test_custom_rotation_counts_real_hours_across_a_dst_change() -> None:
    # "3d" is 72 hours: from Friday 09:00 CET, the next hand-off is Monday 10:00 CEST.
    layer = {
        "members": ["UADA", "UBOB"],
        "rotation": "3d",
        "handoff": "09:00",
        "start": "2026-03-27",
    }
    sched = schedule(layer, tz="Europe/Paris")
    shift = on_call(sched, local(PARIS, 2026, 3, 28, 12))
    assert shift is not None and shift.ends_at == local(PARIS, 2026, 3, 30, 10)
    assert shift.ends_at - shift.starts_at == timedelta(hours=72)


# ---------------------------------------------------------------------- daylight saving


DST_CHANGES = [
    # zone, the day before the change, the day of the change, that shift's length
    pytest.param(PARIS, date(2026, 3, 28), date(2026, 3, 29), 23, id="paris-spring"),
    pytest.param(PARIS, date(2026, 10, 24), date(2026, 10, 25), 25, id="paris-fall"),
    pytest.param(NEW_YORK, date(2026, 3, 7), date(2026, 3, 8), 23, id="ny-spring"),
    pytest.param(NEW_YORK, date(2026, 10, 31), date(2026, 11, 1), 25, id="ny-fall"),
]


@pytest.mark.parametrize(("tz", "before", "change", "hours"), DST_CHANGES)
def test_daily_hand_off_stays_at_nine_local_across_dst(
    tz: ZoneInfo, before: date, change: date, hours: int
) -> None:
    length = timedelta(hours=hours)
    sched = schedule(daily("UADA", "UBOB", start="2026-01-05"), tz=str(tz))
    nine_before = datetime.combine(before, time(9), tz).astimezone(UTC)
    nine_on_change = datetime.combine(change, time(9), tz).astimezone(UTC)
    shift = on_call(sched, nine_before)
    assert shift is not None and shift.ends_at == nine_on_change
    assert shift.ends_at - shift.starts_at == length  # the day is shorter or longer, not 9:00
    assert who(sched, nine_on_change - TICK) == shift.user
    assert who(sched, nine_on_change) != shift.user

    since = datetime.combine(before - timedelta(days=2), time(0), tz).astimezone(UTC)
    until = datetime.combine(change + timedelta(days=3), time(0), tz).astimezone(UTC)
    found = handoffs(sched, since, until)
    assert len(found) == 6  # one a day, at 09:00 local, before and after the change
    assert {s.starts_at.astimezone(tz).time() for s in found} == {time(9)}


@pytest.mark.parametrize(("tz", "before", "change", "hours"), DST_CHANGES)
def test_weekly_hand_off_stays_at_nine_local_across_dst(
    tz: ZoneInfo, before: date, change: date, hours: int
) -> None:
    length = timedelta(hours=hours)
    weekly = {"members": ["UADA", "UBOB"], "rotation": "weekly", "handoff_day": "sunday",
              "start": "2026-01-04"}  # fmt: skip
    sched = schedule(weekly, tz=str(tz))
    nine_on_change = datetime.combine(change, time(9), tz).astimezone(UTC)  # a Sunday
    shift = on_call(sched, nine_on_change - TICK)
    assert shift is not None and shift.ends_at == nine_on_change
    assert shift.ends_at - shift.starts_at == timedelta(days=7) - timedelta(hours=24) + length
    assert shift.starts_at.astimezone(tz).time() == time(9)


# ------------------------------------------------------------------------ overrides, layers


def test_an_override_wins_over_the_rotation_for_its_span_only() -> None:
    sched = schedule(ABC)
    cover = Override("UXAV", utc(2026, 3, 2, 10), utc(2026, 3, 2, 12), utc(2026, 3, 1))
    before = on_call(sched, utc(2026, 3, 2, 9, 30), (cover,))
    assert before is not None and before.user == "UADA" and before.ends_at == utc(2026, 3, 2, 10)
    during = on_call(sched, utc(2026, 3, 2, 11), (cover,))
    assert during is not None and during.user == "UXAV" and during.override
    assert during.ends_at == utc(2026, 3, 2, 12)
    assert who(sched, utc(2026, 3, 2, 12), (cover,)) == "UADA"


def test_of_overlapping_overrides_the_latest_made_wins() -> None:
    sched = schedule(ABC)
    long = Override("UXAV", utc(2026, 3, 2, 10), utc(2026, 3, 2, 14), created_at=utc(2026, 2, 1))
    short = Override("UYAN", utc(2026, 3, 2, 11), utc(2026, 3, 2, 13), created_at=utc(2026, 2, 2))
    both = (long, short)
    first = on_call(sched, utc(2026, 3, 2, 10, 30), both)
    assert first is not None and first.user == "UXAV"
    assert first.ends_at == utc(2026, 3, 2, 11)  # the later-made one takes over then
    assert who(sched, utc(2026, 3, 2, 12), both) == "UYAN"
    assert who(sched, utc(2026, 3, 2, 13, 30), both) == "UXAV"
    found = handoffs(sched, utc(2026, 3, 2, 9, 30), utc(2026, 3, 2, 15), both)
    assert [(s.user, s.starts_at.hour) for s in found] == [
        ("UXAV", 10),
        ("UYAN", 11),
        ("UXAV", 13),
        ("UADA", 14),
    ]
    # Made in the other order, the long one covers the short one entirely.
    older_short = Override("UYAN", short.starts_at, short.ends_at, created_at=utc(2026, 1, 1))
    assert who(sched, utc(2026, 3, 2, 12), (long, older_short)) == "UXAV"


def test_a_later_layer_wins_from_its_start() -> None:
    weekly = {"members": ["UADA", "UBOB"], "rotation": "weekly", "start": "2026-03-02"}
    sched = schedule(weekly, daily("UCAT", "UDAN", start="2026-03-10"))
    shift = on_call(sched, utc(2026, 3, 10, 8, 59))
    assert shift is not None and shift.user == "UBOB" and shift.layer == 0
    assert shift.ends_at == utc(2026, 3, 10, 9)  # not the weekly hand-off of the 16th
    later = on_call(sched, utc(2026, 3, 10, 9))
    assert later is not None and later.user == "UCAT" and later.layer == 1
    assert who(sched, utc(2026, 3, 17, 12)) == "UDAN"  # the weekly layer never comes back


# ----------------------------------------------------------------------- next and hand-offs


def test_next_shift_is_the_next_different_person() -> None:
    sched = schedule(daily("UADA", "UADA", "UBOB"))
    upcoming = next_shift(sched, utc(2026, 3, 2, 12))
    assert upcoming is not None and upcoming.user == "UBOB"
    assert upcoming.starts_at == utc(2026, 3, 4, 9)  # UA's two shifts in a row are one


def test_next_shift_before_the_rotation_starts_is_its_first_shift() -> None:
    upcoming = next_shift(schedule(ABC), utc(2026, 2, 20))
    assert upcoming is not None and (upcoming.user, upcoming.starts_at) == (
        "UADA",
        utc(2026, 3, 2, 9),
    )


def test_next_shift_may_be_an_override() -> None:
    cover = Override("UXAV", utc(2026, 3, 2, 15), utc(2026, 3, 2, 16))
    upcoming = next_shift(schedule(ABC), utc(2026, 3, 2, 12), (cover,))
    assert upcoming is not None and upcoming.user == "UXAV" and upcoming.override
    assert upcoming.starts_at == utc(2026, 3, 2, 15)


def test_handoffs_over_a_window_list_each_incoming_person_once() -> None:
    sched = schedule(ABC)
    found = handoffs(sched, utc(2026, 3, 3, 9), utc(2026, 3, 5, 9))
    # (since, until]: the hand-off at `since` is not in it, the one at `until` is.
    assert [(s.user, s.starts_at) for s in found] == [
        ("UCAT", utc(2026, 3, 4, 9)),
        ("UADA", utc(2026, 3, 5, 9)),
    ]


def test_a_shift_resuming_after_an_override_is_a_hand_off_at_the_override_end() -> None:
    cover = Override("UXAV", utc(2026, 3, 3, 12), utc(2026, 3, 3, 15))
    found = handoffs(schedule(ABC), utc(2026, 3, 3, 10), utc(2026, 3, 3, 16), (cover,))
    assert [(s.user, s.starts_at) for s in found] == [
        ("UXAV", utc(2026, 3, 3, 12)),
        ("UBOB", utc(2026, 3, 3, 15)),
    ]


# -------------------------------------------------------------------------------- backups


def test_backup_next_is_the_following_member_and_wraps() -> None:
    policy = oncall_policy(primary={"layers": [ABC]})
    sched = policy.schedules["primary"]
    first = backup_of(policy, sched, utc(2026, 3, 2, 12))
    last = backup_of(policy, sched, utc(2026, 3, 4, 12))
    assert first is not None and first.user == "UBOB"
    assert last is not None and last.user == "UADA"


def test_backup_next_is_never_the_primary() -> None:
    policy = oncall_policy(primary={"layers": [daily("UADA", "UBOB")]})
    sched = policy.schedules["primary"]
    # UBOB stands in for UADA: the member after UADA is UBOB, the primary: UADA backs up.
    cover = Override("UBOB", utc(2026, 3, 2, 10), utc(2026, 3, 2, 20))
    backup = backup_of(policy, sched, utc(2026, 3, 2, 12), {"primary": [cover]})
    assert backup is not None and backup.user == "UADA"
    # A one-person rotation has no backup.
    alone = oncall_policy(primary={"layers": [daily("UADA")]})
    assert backup_of(alone, alone.schedules["primary"], utc(2026, 3, 2, 12)) is None


def test_backup_under_an_override_is_the_member_after_the_one_stood_in_for() -> None:
    policy = oncall_policy(primary={"layers": [ABC]})
    cover = Override("UXAV", utc(2026, 3, 2, 10), utc(2026, 3, 2, 20))
    backup = backup_of(
        policy, policy.schedules["primary"], utc(2026, 3, 2, 12), {"primary": [cover]}
    )
    assert backup is not None and backup.user == "UBOB"


def test_backup_under_an_override_comes_from_the_layer_running_then() -> None:
    # The weekend layer has not started yet: the backup is from the weekly layer on call.
    weekly = {"members": ["UADA", "UBOB"], "rotation": "weekly", "start": "2026-03-02"}
    policy = oncall_policy(primary={"layers": [weekly, daily("UCAT", "UDAN", start="2026-04-01")]})
    cover = Override("UXAV", utc(2026, 3, 3, 10), utc(2026, 3, 3, 20))
    at = utc(2026, 3, 3, 12)
    backup = backup_of(policy, policy.schedules["primary"], at, {"primary": [cover]})
    assert backup is not None and backup.user == "UBOB"


def test_no_backup_when_none_is_configured_or_before_the_rotation() -> None:
    policy = oncall_policy(primary={"layers": [ABC], "backup": None})
    assert backup_of(policy, policy.schedules["primary"], utc(2026, 3, 2, 12)) is None
    policy = oncall_policy(primary={"layers": [ABC]})
    assert backup_of(policy, policy.schedules["primary"], utc(2026, 3, 1)) is None


def test_backup_may_be_another_schedules_person_on_call_overrides_included() -> None:
    policy = oncall_policy(
        primary={"layers": [ABC], "backup": "secondary"},
        secondary={"layers": [daily("UXAV", "UYAN", "UADA")], "backup": None},
    )
    sched = policy.schedules["primary"]
    backup = backup_of(policy, sched, utc(2026, 3, 3, 12))
    assert backup is not None and backup.user == "UYAN"
    cover = Override("UZOE", utc(2026, 3, 3, 10), utc(2026, 3, 3, 14))
    backup = backup_of(policy, sched, utc(2026, 3, 3, 12), {"secondary": [cover]})
    assert backup is not None and backup.user == "UZOE"
    # The other schedule's person is the primary themself: no backup.
    same = Override("UBOB", utc(2026, 3, 3, 10), utc(2026, 3, 3, 14))
    assert backup_of(policy, sched, utc(2026, 3, 3, 12), {"secondary": [same]}) is None


def test_an_unknown_backup_schedule_is_a_policy_error() -> None:
    with pytest.raises(ValueError, match="neither 'next' nor a schedule"):
        oncall_policy(primary={"layers": [ABC], "backup": "nobody"})


# -------------------------------------------------------------------------- working hours


HOURS = WorkingHours.model_validate(
    {
        "time_zone": "Europe/Paris",
        "days": ["mon", "tue", "wed", "thu", "fri"],
        "start": "09:00",
        "end": "17:00",
        "holidays": ["2026-12-25"],
    }
)


def test_is_working_inside_the_hours_of_a_working_day_only() -> None:
    assert is_working(HOURS, local(PARIS, 2026, 12, 2, 9))  # Wednesday, at the start
    assert is_working(HOURS, local(PARIS, 2026, 12, 2, 16, 59))
    assert not is_working(HOURS, local(PARIS, 2026, 12, 2, 17))  # the end is not in them
    assert not is_working(HOURS, local(PARIS, 2026, 12, 2, 8, 59))
    assert not is_working(HOURS, local(PARIS, 2026, 12, 5, 11))  # Saturday
    assert not is_working(HOURS, local(PARIS, 2026, 12, 25, 11))  # a Friday holiday
    # 08:30 UTC is 09:30 in Paris: the calendar's time zone decides.
    assert is_working(HOURS, utc(2026, 12, 2, 8, 30))


def test_next_working_start_is_now_during_hours() -> None:
    at = local(PARIS, 2026, 12, 2, 11)
    assert next_working_start(HOURS, at) == at


def test_next_working_start_in_an_evening_or_early_morning() -> None:
    assert next_working_start(HOURS, local(PARIS, 2026, 12, 1, 20)) == local(PARIS, 2026, 12, 2, 9)
    assert next_working_start(HOURS, local(PARIS, 2026, 12, 2, 3)) == local(PARIS, 2026, 12, 2, 9)


def test_next_working_start_skips_the_weekend() -> None:
    monday = local(PARIS, 2026, 12, 7, 9)
    assert next_working_start(HOURS, local(PARIS, 2026, 12, 4, 18)) == monday  # Friday evening
    assert next_working_start(HOURS, local(PARIS, 2026, 12, 6, 12)) == monday  # Sunday


def test_next_working_start_skips_a_holiday_and_the_weekend_after_it() -> None:
    thursday_evening = local(PARIS, 2026, 12, 24, 18)
    assert next_working_start(HOURS, thursday_evening) == local(PARIS, 2026, 12, 28, 9)


def test_next_working_start_is_nine_local_after_a_dst_change() -> None:
    start = next_working_start(HOURS, local(PARIS, 2026, 3, 27, 18))
    assert start == utc(2026, 3, 30, 7)  # 09:00 CEST, no longer 08:00 UTC


def test_schedules_and_working_hours_survive_an_incidents_policy_snapshot() -> None:
    # Every incident stores its policy as JSON, where a time of day is "09:00:00".
    policy = load_policy(None).model_copy(
        update={"oncall": oncall_policy(primary={"layers": [ABC]}), "working_hours": HOURS}
    )
    again = Policy.from_snapshot(policy.to_snapshot())
    assert again.oncall == policy.oncall and again.working_hours == HOURS
    assert who(again.oncall.schedules["primary"], utc(2026, 3, 3, 9)) == "UBOB"

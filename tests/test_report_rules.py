"""The report's rules where a team lead could be misled: the response target and the update
cadence follow the severity in force at each moment (as the bot's warning and reminder do), a
status page publication is no status update, an incident without a channel has no review to
hold, the percentiles on few values, and the period's edges in the bot's time zone across
summer time."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.domain.periods import days_period, parse_period
from app.domain.report import Share
from app.domain.report_compute import buckets, compute, median, p90
from app.domain.report_facts import Entry, IncidentFacts, measure
from app.domain.report_render import render
from tests.test_report_domain import MIN, PARIS, POLICY, T0, facts

HOUR = timedelta(hours=1)
LATER = T0 + timedelta(days=30)


def severity(at: datetime, old: str, new: str) -> Entry:
    return Entry("severity_changed", at, {"from": old, "to": new})


def update(at: datetime) -> Entry:
    return Entry("update", at, {"update": "still on it"})


def statuspage(at: datetime) -> Entry:
    return Entry("update", at, {"statuspage": 7, "phase": "investigating", "impact": "major"})


def closed(severity: str, after: timedelta, *timeline: Entry, **more: object) -> IncidentFacts:
    """An incident of `severity` resolved `after` its declaration, with `timeline` before."""
    start = more.pop("started_at", T0)
    assert isinstance(start, datetime)
    done = Entry("resolved", start + after, {"from": "investigating"})
    return facts(
        severity=severity,
        started_at=start,
        status="resolved",
        resolved_at=start + after,
        timeline=(*timeline, done),
        **more,
    )


# ------------------------------------------------------------------- the response target


def test_a_target_run_out_before_the_severity_was_lowered_stays_missed() -> None:
    # P0 (15 min) for an hour, nobody answering; lowered to P3 (24 h), acknowledged at 2 h.
    lowered = facts(
        severity="P3",
        acknowledged_at=T0 + 2 * HOUR,
        timeline=(severity(T0 + HOUR, "P0", "P3"),),
    )
    assert measure(lowered, LATER, LATER.date()).ack_within_target is False
    # Lowered within the 15 minutes: then judged by P3's 24 h.
    early = facts(
        severity="P3",
        acknowledged_at=T0 + 2 * HOUR,
        timeline=(severity(T0 + 10 * MIN, "P0", "P3"),),
    )
    assert measure(early, LATER, LATER.date()).ack_within_target is True
    # Still unanswered, lowered after P0's target ran out: missed already, not "not yet".
    unanswered = facts(severity="P3", timeline=(severity(T0 + HOUR, "P0", "P3"),))
    assert measure(unanswered, T0 + 90 * MIN, T0.date()).ack_within_target is False


def test_raised_past_the_new_target_is_missed_at_once() -> None:
    # P3 for 2 h, raised to P0 (15 min): the bot warns at once; acknowledged 5 minutes later.
    raised = facts(
        severity="P0",
        acknowledged_at=T0 + 2 * HOUR + 5 * MIN,
        timeline=(severity(T0 + 2 * HOUR, "P3", "P0"),),
    )
    assert measure(raised, LATER, LATER.date()).ack_within_target is False


# ------------------------------------------------------------------- the update cadence


def test_a_status_page_publication_is_no_status_update() -> None:
    # P0 updates every 30 minutes. Only status page posts at 10, 25 and 50 minutes.
    public_only = closed(
        "P0", HOUR, statuspage(T0 + 10 * MIN), statuspage(T0 + 25 * MIN), statuspage(T0 + 50 * MIN)
    )
    m = measure(public_only, LATER, LATER.date())
    assert m.updates_kept is False  # 60 minutes without a status update
    phases = {pm.phase.key: pm for pm in m.phases}
    assert phases["response"].reached is None and phases["response"].met is False
    # The same with /incident update: kept, and the response phase reached at 10 minutes.
    told = closed(
        "P0", HOUR, statuspage(T0 + 5 * MIN), update(T0 + 10 * MIN), update(T0 + 35 * MIN)
    )
    m = measure(told, LATER, LATER.date())
    assert m.updates_kept is True
    assert {pm.phase.key: pm.reached for pm in m.phases}["response"] == 10 * MIN


def test_a_status_change_restarts_the_cadence_as_the_bots_reminder_does() -> None:
    # P0: update at 25 minutes, Mitigating at 50, resolved at 75: no gap over 30 minutes.
    mitigating = Entry(
        "status_changed", T0 + 50 * MIN, {"from": "investigating", "to": "mitigating"}
    )
    incident = closed("P0", 75 * MIN, update(T0 + 25 * MIN), mitigating)
    assert measure(incident, LATER, LATER.date()).updates_kept is True


def test_the_cadence_is_the_one_of_the_severity_in_force_at_each_moment() -> None:
    # P0 (every 30 min) for 50 minutes without an update, then lowered to P2 (every 4 h) and
    # updated every 3 h: the first 50 minutes broke P0's cadence.
    lowered = closed("P2", 6 * HOUR, severity(T0 + 50 * MIN, "P0", "P2"), update(T0 + 3 * HOUR))
    assert measure(lowered, LATER, LATER.date()).updates_kept is False
    # P3 (no cadence) for two days, raised to P1 (every hour) just after an update, then
    # hourly: kept (P3's gap is no gap).
    raised = closed(
        "P1",
        50 * HOUR,
        update(T0 + 48 * HOUR),
        severity(T0 + 48 * HOUR + MIN, "P3", "P1"),
        update(T0 + 49 * HOUR),
    )
    assert measure(raised, LATER, LATER.date()).updates_kept is True
    # Never under a severity with a cadence: not counted.
    assert measure(facts(severity="P3"), LATER, LATER.date()).updates_kept is None


def test_a_deferred_incidents_cadence_counts_from_l1s_page() -> None:
    # P2 (every 4 h) declared Friday 20:00 outside working hours, L1 paged Monday 09:00, an
    # update at 12:00 (or 14:00), resolved at 15:00.
    friday = datetime(2026, 12, 4, 19, 0, tzinfo=UTC)
    monday = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
    skipped = Entry(
        "escalation_skipped",
        friday,
        {"level": "L1", "outside_hours": "next_working_hours", "paged_at": monday.isoformat()},
    )
    after = monday + timedelta(days=7)
    for hours, kept in ((3, True), (5, False)):
        incident = closed(
            "P2",
            monday + 6 * HOUR - friday,
            skipped,
            update(monday + hours * HOUR),
            started_at=friday,
        )
        assert measure(incident, after, after.date()).updates_kept is kept


# ------------------------------------------------------------------- the review


def test_an_incident_without_a_channel_has_no_review_to_hold_nor_cadence_to_keep() -> None:
    with_channel = measure(closed("P1", 3 * HOUR), LATER, LATER.date())
    assert (with_channel.review_within, with_channel.updates_kept) == (False, False)
    without = measure(closed("P1", 3 * HOUR, has_channel=False), LATER, LATER.date())
    assert (without.review_within, without.updates_kept) == (None, None)


# ------------------------------------------------------------------- percentiles


@pytest.mark.parametrize(
    ("values", "middle", "ninetieth"),
    [
        ([7], 7, 7),
        ([10, 40], 25, 40),  # p90: ceil(1.8) = 2nd
        ([30, 10, 20], 20, 30),  # ceil(2.7) = 3rd
        ([5, 1, 9, 3, 7, 2, 10, 4, 8, 6], 5.5, 9),  # the mean of the 5th and 6th; the 9th
    ],
)
def test_median_and_p90_on_one_two_three_and_ten_values(
    values: list[int], middle: float, ninetieth: int
) -> None:
    assert median([v * MIN for v in values]) == middle * MIN
    assert p90([v * MIN for v in values]) == ninetieth * MIN


# ------------------------------------------------------------------- the period


def test_the_last_second_of_the_last_day_is_in_and_the_next_midnight_is_not() -> None:
    november = days_period(date(2026, 11, 1), date(2026, 11, 30), T0, PARIS)
    last = datetime(2026, 11, 30, 23, 59, 59, tzinfo=PARIS)
    inside = facts(id=1, started_at=last.astimezone(UTC))
    after = facts(id=2, started_at=(last + timedelta(seconds=1)).astimezone(UTC))
    before = facts(id=3, started_at=datetime(2026, 10, 31, 23, 59, 59, tzinfo=PARIS))
    report = compute(
        [inside, after, before],
        since=november.since,
        until=november.until,
        now=LATER,
        tz=PARIS,
        policy=POLICY,
    )
    assert report.overall.incidents == 1
    [week] = [point for point in report.trend if point.incidents]
    assert week.label == "2026-11-30"


@pytest.mark.parametrize("zone", ["Europe/Paris", "America/New_York", "Australia/Sydney"])
def test_every_quarter_has_weekly_buckets_across_summer_time_in_any_zone(zone: str) -> None:
    tz = ZoneInfo(zone)
    for name in ("2026Q1", "2026Q2", "2026Q3", "2026Q4"):
        quarter = parse_period(name, LATER, tz)
        local = buckets(quarter.since, quarter.until, tz)
        # The same period given in UTC: the same weeks, each from a Monday midnight in `tz`.
        in_utc = buckets(quarter.since.astimezone(UTC), quarter.until.astimezone(UTC), tz)
        assert [b[0] for b in in_utc] == [b[0] for b in local] and len(local) in (13, 14)
        assert all(low.astimezone(tz).hour == 0 for _, low, _ in in_utc)
        assert local[-1][2] == quarter.until


def test_an_empty_period_reads_n_a_and_never_nan_in_every_format() -> None:
    quarter = parse_period("this", T0, PARIS)
    report = compute([], since=quarter.since, until=quarter.until, now=T0, tz=PARIS, policy=POLICY)
    assert report.overall.ack_within_target == Share() and report.overall.updates_kept == Share()
    for fmt in ("md", "json", "csv"):
        text = render(report, fmt, PARIS)
        assert "nan" not in text.lower().replace("n/a", "") and "inf" not in text.lower()
    markdown = render(report, "md", PARIS)
    assert "| Reviews within 48 h | n/a | n/a | n/a | n/a | n/a |" in markdown
    assert "| MTTA median | n/a |" in markdown
    assert render(report, "csv", PARIS).count("scope,metric,value,unit") == 1

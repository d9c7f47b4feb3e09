"""The report's pure parts: periods, percentiles, buckets, and the edge cases of one incident's
measures (nothing to measure, reopened, severity changed, a window not yet run out)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.config.policy_loader import load_policy
from app.domain.periods import days_period, parse_period, previous_quarter, quarter_of
from app.domain.policy import Policy
from app.domain.report import Share, Spread
from app.domain.report_compute import buckets, compute, median, p90
from app.domain.report_facts import Entry, IncidentFacts, ItemFacts, measure

PARIS = ZoneInfo("Europe/Paris")
UTC_ZONE = ZoneInfo("UTC")
POLICY = load_policy(None)
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)


def minutes(*values: int) -> list[timedelta]:
    return [v * MIN for v in values]


def facts(**fields: object) -> IncidentFacts:
    values: dict[str, object] = {
        "id": 1,
        "public_id": "INC-20261102-001",
        "severity": "P1",
        "status": "investigating",
        "started_at": T0,
        "policy": POLICY,
    }
    values.update(fields)
    return IncidentFacts(**values)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------ periods


def test_quarters_are_named_in_several_ways_and_start_at_midnight_in_the_bots_zone() -> None:
    now = datetime(2026, 12, 1, 16, 0, tzinfo=UTC)
    q3 = parse_period("2026Q3", now, PARIS)
    assert (q3.label, q3.since, q3.until) == (
        "2026Q3",
        datetime(2026, 7, 1, tzinfo=PARIS),
        datetime(2026, 10, 1, tzinfo=PARIS),
    )
    assert q3.since.astimezone(UTC) == datetime(2026, 6, 30, 22, 0, tzinfo=UTC)
    for text in ("2026-Q3", " 2026q3 ", "Q3", "last", "", None):
        assert parse_period(text, now, PARIS) == q3
    assert parse_period("Q1", now, PARIS).label == "2026Q1"
    this = parse_period("this", now, PARIS)
    assert (this.label, this.since, this.until) == (
        "2026Q4 to date",
        datetime(2026, 10, 1, tzinfo=PARIS),
        now,
    )


def test_a_quarter_not_started_this_year_is_last_years() -> None:
    february = datetime(2027, 2, 10, tzinfo=UTC)
    assert parse_period("Q3", february, PARIS).label == "2026Q3"
    assert parse_period("Q1", february, PARIS).label == "2027Q1"
    assert previous_quarter(february, PARIS).label == "2026Q4"
    # Midnight of 1 January in Paris is still 31 December in UTC.
    assert quarter_of(datetime(2026, 12, 31, 23, 30, tzinfo=UTC), PARIS).label == "2027Q1"


@pytest.mark.parametrize("text", ["2026Q5", "Q0", "third", "2026", "last quarter", "26Q3"])
def test_anything_else_is_refused_saying_what_to_type(text: str) -> None:
    with pytest.raises(ValueError, match="is not a period: give a quarter such as 2026Q3"):
        parse_period(text, T0, PARIS)


def test_days_include_the_last_day_and_the_default_is_the_last_full_quarter() -> None:
    july = days_period(date(2026, 7, 1), date(2026, 7, 31), T0, PARIS)
    assert (july.label, july.since, july.until) == (
        "2026-07-01 to 2026-07-31",
        datetime(2026, 7, 1, tzinfo=PARIS),
        datetime(2026, 8, 1, tzinfo=PARIS),
    )
    assert days_period(None, None, T0, PARIS) == previous_quarter(T0, PARIS)
    assert days_period(date(2026, 10, 5), None, T0, PARIS).until == T0
    assert days_period(None, date(2026, 8, 15), T0, PARIS).since == datetime(
        2026, 7, 1, tzinfo=PARIS
    )
    with pytest.raises(ValueError, match="ends before it starts"):
        days_period(date(2026, 7, 2), date(2026, 7, 1), T0, PARIS)
    with pytest.raises(ValueError, match=r"--since 2026-11-03 is after today \(2026-11-02\)"):
        days_period(date(2026, 11, 3), None, T0, PARIS)
    # Today alone: from midnight until now.
    today = days_period(date(2026, 11, 2), None, T0, PARIS)
    assert (today.since, today.until) == (datetime(2026, 11, 2, tzinfo=PARIS), T0)


# ------------------------------------------------------------------------------------ figures


def test_median_is_the_middle_or_the_mean_of_two_and_p90_the_nearest_rank() -> None:
    assert median([]) is None and p90([]) is None
    assert median(minutes(7)) == p90(minutes(7)) == 7 * MIN
    assert median(minutes(30, 10, 20)) == 20 * MIN
    assert median(minutes(10, 40)) == 25 * MIN
    assert p90(minutes(*range(1, 11))) == 9 * MIN  # ceil(0.9 * 10) = 9th
    assert p90(minutes(*range(1, 12))) == 10 * MIN  # ceil(9.9) = 10th of 11
    assert p90(minutes(*range(1, 21))) == 18 * MIN


def test_weekly_buckets_start_on_mondays_and_months_beyond_92_days() -> None:
    weeks = buckets(datetime(2026, 7, 1, tzinfo=PARIS), datetime(2026, 7, 20, tzinfo=PARIS), PARIS)
    assert [label for label, _, _ in weeks] == ["2026-07-01", "2026-07-06", "2026-07-13"]
    assert weeks[-1][2] == datetime(2026, 7, 20, tzinfo=PARIS)  # clipped to the period
    # Across the end of summer time a week is still Monday to Monday at midnight.
    autumn = buckets(
        datetime(2026, 10, 19, tzinfo=PARIS), datetime(2026, 11, 2, tzinfo=PARIS), PARIS
    )
    assert [b[1] for b in autumn] == [
        datetime(2026, 10, 19, tzinfo=PARIS),
        datetime(2026, 10, 26, tzinfo=PARIS),
    ]
    year = buckets(datetime(2026, 1, 1, tzinfo=PARIS), datetime(2027, 1, 1, tzinfo=PARIS), PARIS)
    assert len(year) == 12 and year[0][0] == "2026-01" and year[-1][0] == "2026-12"


def test_no_incidents_leaves_everything_to_measure_empty() -> None:
    report = compute([], since=T0, until=T0 + timedelta(days=7), now=T0, tz=UTC_ZONE, policy=POLICY)
    overall = report.overall
    assert overall.incidents == 0 and overall.mtta == Spread() and overall.mttr == Spread()
    assert overall.ack_within_target.ratio is None and overall.phases == ()
    assert list(report.by_severity) == ["P0", "P1", "P2", "P3"]
    assert report.types == () and report.sources == ()
    assert report.review_within == timedelta(hours=48)  # the current policy's, for the heading
    assert [p.incidents for p in report.trend] == [0, 0]  # Monday 09:00 to Monday 09:00


def test_incidents_declared_outside_the_period_are_left_out() -> None:
    inside = facts(id=1)
    before = facts(id=2, started_at=T0 - timedelta(seconds=1))
    at_the_end = facts(id=3, started_at=T0 + timedelta(days=1))
    report = compute(
        [inside, before, at_the_end],
        since=T0,
        until=T0 + timedelta(days=1),
        now=T0 + timedelta(days=2),
        tz=UTC_ZONE,
        policy=POLICY,
    )
    assert report.overall.incidents == 1


def test_a_reopened_incident_counts_its_final_resolution_and_no_time_while_resolved() -> None:
    incident = facts(
        status="resolved",
        resolved_at=T0 + 90 * MIN,
        timeline=(
            Entry("status_changed", T0 + 10 * MIN, {"from": "investigating", "to": "mitigating"}),
            Entry("resolved", T0 + 20 * MIN, {"from": "mitigating"}),
            Entry("reopened", T0 + 60 * MIN, {}),
            Entry("update", T0 + 70 * MIN, {"update": "back"}),
            Entry("resolved", T0 + 90 * MIN, {"from": "investigating"}),
        ),
    )
    m = measure(incident, T0 + timedelta(days=1), T0.date())
    assert m.mttr == 90 * MIN and m.mtta is None
    assert m.status_time == {"investigating": 40 * MIN, "mitigating": 10 * MIN}
    assert m.ack_within_target is True  # answered by its first resolution, at 20 minutes
    # P1 updates every hour: declaration to resolution (20 min), reopening to update to
    # resolution (10 and 20 min); the 40 minutes resolved are no gap.
    assert m.updates_kept is True
    reached = {pm.phase.key: pm.reached for pm in m.phases}
    assert reached["investigation"] == 10 * MIN and reached["mitigation"] == 90 * MIN
    assert m.review_within is None  # the window of 48 h has not run out


def test_the_response_target_is_the_severity_the_incident_had_when_answered() -> None:
    raised = (Entry("severity_changed", T0 + 30 * MIN, {"from": "P2", "to": "P1"}),)
    late_raise = facts(severity="P1", acknowledged_at=T0 + 90 * MIN, timeline=raised)
    # Raised to P1 (1 h) at 30 minutes, acknowledged at 90: missed.
    assert measure(late_raise, T0 + timedelta(days=1), T0.date()).ack_within_target is False
    # Acknowledged at 20 minutes, as P2 (4 h), then raised: met.
    early_ack = facts(severity="P1", acknowledged_at=T0 + 20 * MIN, timeline=raised)
    assert measure(early_ack, T0 + timedelta(days=1), T0.date()).ack_within_target is True


def test_unanswered_counts_as_missed_only_once_the_window_has_run_out() -> None:
    open_p1 = facts(severity="P1")
    assert measure(open_p1, T0 + 59 * MIN, T0.date()).ack_within_target is None
    assert measure(open_p1, T0 + 61 * MIN, T0.date()).ack_within_target is False
    resolved = facts(status="resolved", resolved_at=T0 + 30 * MIN)
    assert measure(resolved, T0 + 47 * 60 * MIN, T0.date()).review_within is None
    assert measure(resolved, T0 + 49 * 60 * MIN, T0.date()).review_within is False
    held_late = facts(
        status="resolved", resolved_at=T0 + 30 * MIN, review_held_at=T0 + timedelta(hours=60)
    )
    assert measure(held_late, T0 + timedelta(days=9), T0.date()).review_within is False


def test_cadence_is_broken_by_a_gap_still_running_and_kept_without_update_every() -> None:
    # P0 updates every 30 minutes: declared, update at 25, then nothing for 35 minutes so far.
    p0 = facts(severity="P0", timeline=(Entry("update", T0 + 25 * MIN, {}),))
    assert measure(p0, T0 + 50 * MIN, T0.date()).updates_kept is True
    assert measure(p0, T0 + 60 * MIN, T0.date()).updates_kept is False
    assert measure(facts(severity="P3"), T0 + timedelta(days=3), T0.date()).updates_kept is None


def test_action_items_are_open_overdue_before_today_and_done() -> None:
    incident = facts(
        action_items=(
            ItemFacts(date(2026, 11, 1), False),
            ItemFacts(date(2026, 11, 2), False),  # due today: not overdue yet
            ItemFacts(None, False),
            ItemFacts(date(2026, 10, 1), True),
        )
    )
    m = measure(incident, T0, date(2026, 11, 2))
    assert (m.items_open, m.items_overdue, m.items_done) == (3, 1, 1)


def test_pages_count_each_level_once_per_page_not_its_email_record() -> None:
    incident = facts(
        timeline=(
            Entry("paged", T0, {"level": "L1", "targets": ["U1"]}),
            Entry("paged", T0, {"level": "L1", "channel": "email", "sent": ["a@b.c"]}),
            Entry("paged", T0 + 5 * MIN, {"level": "L1", "backup": True}),
            Entry("paged", T0 + 15 * MIN, {"level": "L2", "targets": ["U2"]}),
        )
    )
    assert measure(incident, T0 + MIN, T0.date()).pages == {"L1": 2, "L2": 1}


def test_each_incident_is_measured_against_its_own_snapshot() -> None:
    snapshot = POLICY.to_snapshot()
    snapshot["severities"]["P1"]["response_target"] = 300
    snapshot["phases"] = [
        {"key": "triage", "name": "Triage", "ends": "acknowledged", "within": 600}
    ]
    strict = Policy.from_snapshot(snapshot)
    old = facts(id=1, acknowledged_at=T0 + 20 * MIN)  # default plan: P1 within 1 h
    new = facts(id=2, started_at=T0 + MIN, policy=strict, acknowledged_at=T0 + 21 * MIN)
    report = compute(
        [old, new],
        since=T0,
        until=T0 + timedelta(days=1),
        now=T0 + timedelta(days=1),
        tz=UTC_ZONE,
        policy=strict,
    )
    assert report.overall.ack_within_target == Share(1, 2)
    phases = {p.key: p for p in report.overall.phases}
    assert list(phases)[0] == "triage" and phases["triage"].met == Share(0, 1)
    assert phases["detection"].met == Share(0, 1)  # only the old incident had it
    assert "response" in phases  # the old snapshot's other phases follow

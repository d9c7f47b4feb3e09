"""The report as Markdown, JSON and CSV: each parses back to the same numbers, nothing to
measure reads n/a (null, empty), and words from outside cannot break a table."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.config.policy_loader import load_policy
from app.domain.report import Report
from app.domain.report_compute import compute
from app.domain.report_facts import Entry, IncidentFacts, ItemFacts
from app.domain.report_render import duration, render, summary_lines

POLICY = load_policy(None)
T0 = datetime(2026, 7, 6, 9, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)
PARIS = ZoneInfo("Europe/Paris")


def report() -> Report:
    a = IncidentFacts(
        id=1,
        public_id="INC-20260706-001",
        severity="P1",
        status="resolved",
        started_at=T0,
        policy=POLICY,
        acknowledged_at=T0 + 4 * MIN + 30 * timedelta(seconds=1),
        resolved_at=T0 + 65 * MIN,
        review_held_at=T0 + timedelta(hours=3),
        incident_type="db|<b>bold</b>",
        timeline=(
            Entry("paged", T0, {"level": "L1"}),
            Entry("update", T0 + 10 * MIN, {}),
            Entry("resolved", T0 + 65 * MIN, {}),
        ),
        action_items=(ItemFacts(date(2026, 7, 1), False), ItemFacts(None, True)),
        alert_sources=("alertmanager",),
    )
    b = IncidentFacts(
        id=2,
        public_id="INC-20260720-001",
        severity="P3",
        status="investigating",
        started_at=T0 + timedelta(days=14),
        policy=POLICY,
    )
    return compute(
        [a, b],
        since=datetime(2026, 7, 1, tzinfo=PARIS),
        until=datetime(2026, 10, 1, tzinfo=PARIS),
        now=datetime(2026, 10, 1, 9, 0, tzinfo=UTC),
        tz=PARIS,
        policy=POLICY,
        label="2026Q3",
    )


def test_durations_read_in_seconds_minutes_and_hours_never_days() -> None:
    assert [duration(timedelta(seconds=s)) for s in (0, 45, 60, 270, 3600, 3900, 97200)] == [
        "0 s",
        "45 s",
        "1 min",
        "4 min 30 s",
        "1 h",
        "1 h 05 min",
        "27 h",
    ]
    assert duration(None) == "n/a"


def test_markdown_has_readable_tables_named_phases_and_n_a() -> None:
    text = render(report(), "md", PARIS)
    assert text.startswith("# Report against the plan: 2026Q3\n")
    assert "from 2026-07-01 00:00 until 2026-10-01 00:00 (Europe/Paris)" in text
    assert "| Incidents | 2 | 0 | 1 | 0 | 1 |" in text
    assert "| MTTA median | 4 min 30 s | n/a | 4 min 30 s | n/a | n/a |" in text
    assert "| Acknowledged within target | 1 of 2 (50%) |" in text  # P3's 24 h ran out
    assert "| Reviews within 48 h | 1 of 1 (100%) |" in text
    assert "| Action items overdue | 1 | 0 | 1 | 0 | 0 |" in text
    assert (
        "| Detection | acknowledged | 5 min | 4 min 30 s (p90 4 min 30 s) | 1 of 2 (50%) |" in text
    )
    assert "| Response | first update | 15 min | 10 min (p90 10 min) | 1 of 2 (50%) |" in text
    assert "| L1 | 1 | 1 |" in text
    assert "| Mitigating | 0 s | 0 | n/a |" in text  # as JSON's 0; n/a only without incidents
    # The type cannot add a column nor markup.
    assert "| db\\|&lt;b&gt;bold&lt;/b&gt; | 1 |" in text
    for line in text.splitlines():
        if line.startswith("| Status"):
            assert line.count(" | ") == 3
    assert "| 2026-07-06 | 1 | 4 min 30 s | 1 h 05 min | 1 of 1 (100%) |" in text
    assert "| 2026-07-13 | 0 | n/a | n/a | n/a |" in text


def test_json_has_stable_keys_and_durations_in_seconds() -> None:
    data = json.loads(render(report(), "json"))
    assert list(data) == [
        "period",
        "generated_at",
        "today",
        "review_within_seconds",
        "overall",
        "by_severity",
        "types",
        "sources",
        "trend",
    ]
    overall = data["overall"]
    assert overall["mtta"] == {"count": 1, "median_seconds": 270, "p90_seconds": 270}
    assert overall["mttr"] == {"count": 1, "median_seconds": 3900, "p90_seconds": 3900}
    assert overall["ack_within_target"] == {"met": 1, "of": 2, "ratio": 0.5}
    assert data["by_severity"]["P0"]["mtta"]["median_seconds"] is None
    assert overall["time_in_status"]["mitigating"]["total_seconds"] == 0
    assert overall["phases"][0] == {
        "key": "detection",
        "name": "Detection",
        "ends": "acknowledged",
        "within_seconds": 300,
        "reached": {"count": 1, "median_seconds": 270, "p90_seconds": 270},
        "within_box": {"met": 1, "of": 2, "ratio": 0.5},
    }
    assert overall["action_items"] == {"open": 1, "overdue": 1, "done": 1}
    assert data["sources"] == [{"source": "alertmanager", "incidents": 1}]
    assert data["period"]["since"] == "2026-07-01T00:00:00+02:00"
    assert data["trend"][0]["label"] == "2026-07-01" and len(data["trend"]) == 14


def test_csv_is_one_row_per_scope_and_metric_and_parses_back() -> None:
    rows = list(csv.DictReader(io.StringIO(render(report(), "csv"))))
    assert all(list(row) == ["scope", "metric", "value", "unit"] for row in rows)
    found = {(row["scope"], row["metric"]): (row["value"], row["unit"]) for row in rows}
    assert found["all", "incidents"] == ("2", "count")
    assert found["P1", "mttr.median"] == ("3900", "seconds")
    assert found["P0", "mttr.median"] == ("", "seconds")
    assert found["all", "phase.detection.within_box.ratio"] == ("0.5", "ratio")
    assert found["all", "pages.L1"] == ("1", "count")
    assert found["all", "type.db|<b>bold</b>"] == ("1", "count")
    assert found["trend 2026-07-06", "mttr.median"] == ("3900", "seconds")
    assert len(found) == len(rows)  # no (scope, metric) twice


def test_summary_lines_are_plain_text_for_slack_and_the_plan_review() -> None:
    assert summary_lines(report()) == [
        "2026Q3: 2 incidents declared (1 still open).",
        "MTTA median 4 min 30 s, MTTR median 1 h 05 min.",
        "Acknowledged within the response target: 1 of 2 (50%).",
        "Reviews within 48 h of resolution: 1 of 1 (100%).",
    ]
    empty = compute([], since=T0, until=T0 + MIN, now=T0, tz=PARIS, policy=POLICY, label="2026Q4")
    assert summary_lines(empty) == ["2026Q4: 0 incidents declared."]


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown report format 'pdf'"):
        render(report(), "pdf")

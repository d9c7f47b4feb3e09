"""`incident-bot report`: the report printed from the database alone, in Markdown, JSON and
CSV, for the days or the quarter asked; a wrong period is one line and exit 2."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from app.clock import ManualClock
from app.context import BotContext
from app.domain.periods import previous_quarter
from app.sandbox.fakeslack import FakeSlack
from app.sandbox.sender import SlackSender
from tests.running import command, declare, resolve
from tests.test_cli import run_cli
from tests.test_export import _env

DAYS = ("--since", "2026-11-01", "--until", "2026-11-30")


async def two_incidents(
    slack: SlackSender, fake: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    """P1 acknowledged after 10 minutes and resolved after 50; P2 acknowledged after 30 minutes
    and resolved after 2 hours (28 November 2026, 09:00 and 12:00 UTC)."""
    for severity, start, ack, done in (("P1", 9, 10, 50), ("P2", 12, 30, 120)):
        clock.set(datetime(2026, 11, 28, start, tzinfo=UTC))
        incident = await declare(slack, fake, bot, severity=severity)
        clock.advance(timedelta(minutes=ack))
        await command(slack, bot, "ack", channel=incident.channel_id, user="UONCALL")
        clock.set(incident.started_at + timedelta(minutes=done))
        await resolve(slack, fake, bot, incident)


async def test_report_prints_the_period_in_markdown_json_and_csv(
    slack: SlackSender,
    fake_slack: FakeSlack,
    bot: BotContext,
    clock: ManualClock,
    database_url: str,
    tmp_path: Path,
) -> None:
    await two_incidents(slack, fake_slack, bot, clock)
    env = _env(database_url)  # TIMEZONE=Europe/Paris

    code, raw, err = await run_cli(tmp_path, "report", *DAYS, "--format", "json", **env)
    assert code == 0, err
    report = json.loads(raw)
    assert report["period"] == {
        "label": "2026-11-01 to 2026-11-30",
        "since": "2026-11-01T00:00:00+01:00",
        "until": "2026-12-01T00:00:00+01:00",
    }
    overall = report["overall"]
    assert overall["incidents"] == 2 and overall["open"] == 0
    assert overall["mtta"] == {"count": 2, "median_seconds": 1200, "p90_seconds": 1800}
    assert overall["mttr"] == {"count": 2, "median_seconds": 5100, "p90_seconds": 7200}
    assert overall["ack_within_target"] == {"met": 2, "of": 2, "ratio": 1.0}
    assert report["by_severity"]["P1"]["mttr"]["median_seconds"] == 3000
    assert [p["key"] for p in overall["phases"]][:2] == ["detection", "response"]
    assert overall["phases"][0]["within_box"] == {"met": 0, "of": 2, "ratio": 0.0}

    code, markdown, err = await run_cli(tmp_path, "report", *DAYS, **env)
    assert code == 0, err
    assert markdown.startswith("# Report against the plan: 2026-11-01 to 2026-11-30\n")
    assert "| MTTA median | 20 min | n/a | 10 min | 30 min | n/a |" in markdown
    assert "| Detection | acknowledged | 5 min | 20 min (p90 30 min) | 0 of 2 (0%) |" in markdown

    code, table, err = await run_cli(tmp_path, "report", *DAYS, "--format", "csv", **env)
    assert code == 0, err
    rows = {(r["scope"], r["metric"]): r for r in csv.DictReader(io.StringIO(table))}
    assert rows["all", "mttr.median"]["value"] == "5100"
    assert rows["all", "mttr.median"]["unit"] == "seconds"
    assert rows["P2", "ack_within_target.ratio"]["value"] == "1.0"
    assert rows["P0", "mtta.median"]["value"] == ""  # nothing to measure

    # The same incidents in their quarter; none in the default one (the last full quarter).
    code, raw, err = await run_cli(
        tmp_path, "report", "--quarter", "2026-q4", "--format", "json", **env
    )
    assert code == 0, err
    assert json.loads(raw)["overall"]["incidents"] == 2
    code, markdown, err = await run_cli(tmp_path, "report", **env)
    assert code == 0, err
    last = previous_quarter(datetime.now(UTC), ZoneInfo("Europe/Paris")).label
    assert markdown.startswith(f"# Report against the plan: {last}\n")


async def test_a_wrong_period_is_one_line_and_exit_2(
    bot: BotContext, database_url: str, tmp_path: Path
) -> None:
    env = _env(database_url)
    for args, words in (
        (("--quarter", "2026Q5"), "is not a period: give a quarter such as 2026Q3"),
        (("--quarter", "Q3", "--since", "2026-07-01"), "give --quarter or --since/--until"),
        (("--since", "2026-07-02", "--until", "2026-07-01"), "the period ends before it starts"),
        (("--since", "2999-01-01"), "--since 2999-01-01 is after today"),
        (("--since", "July"), "--since 'July' is not a day like 2026-07-01"),
        (("--until", "2026-02-30"), "--until '2026-02-30' is not a day like 2026-07-01"),
        (("--format", "pdf"), "--format 'pdf' is not one of md, json, csv"),
    ):
        code, out, err = await run_cli(tmp_path, "report", *args, **env)
        assert (code, out) == (2, ""), err
        assert err.startswith("incident-bot: report: ") and words in err
        assert err.strip().count("\n") == 0


async def test_the_last_second_of_the_last_day_in_timezone_is_in_the_period(
    slack: SlackSender,
    fake_slack: FakeSlack,
    bot: BotContext,
    clock: ManualClock,
    database_url: str,
    tmp_path: Path,
) -> None:
    # 23:59:59 on 30 November in Paris, then midnight on 1 December (UTC+1).
    for moment in (
        datetime(2026, 11, 30, 22, 59, 59, tzinfo=UTC),
        datetime(2026, 11, 30, 23, 0, tzinfo=UTC),
    ):
        clock.set(moment)
        await declare(slack, fake_slack, bot, severity="P2")
    env = _env(database_url)
    for day in ("2026-11-30", "2026-12-01"):
        code, table, err = await run_cli(
            tmp_path, "report", "--since", day, "--until", day, "--format", "csv", **env
        )
        assert code == 0, err
        assert table.count("scope,metric,value,unit") == 1
        rows = {(r["scope"], r["metric"]): r["value"] for r in csv.DictReader(io.StringIO(table))}
        assert rows["all", "incidents"] == "1" and rows["P2", "incidents"] == "1"


async def test_an_empty_period_is_n_a_everywhere_with_stable_keys(
    bot: BotContext, database_url: str, tmp_path: Path
) -> None:
    env = _env(database_url)
    code, markdown, err = await run_cli(tmp_path, "report", "--quarter", "2020Q1", **env)
    assert code == 0, err
    assert "| Incidents | 0 | 0 | 0 | 0 | 0 |" in markdown
    assert "| Acknowledged within target | n/a | n/a | n/a | n/a | n/a |" in markdown
    assert "| Reviews within 48 h | n/a |" in markdown and "nan" not in markdown
    code, raw, err = await run_cli(
        tmp_path, "report", "--quarter", "2020Q1", "--format", "json", **env
    )
    assert code == 0, err
    report = json.loads(raw)
    assert report["review_within_seconds"] == 48 * 3600
    overall = report["overall"]
    assert list(overall) == [
        "incidents",
        "open",
        "mtta",
        "mttr",
        "ack_within_target",
        "time_in_status",
        "phases",
        "updates_kept",
        "reviews_within",
        "action_items",
        "pages_per_level",
        "reached_level",
    ]
    assert list(report["by_severity"]) == ["P0", "P1", "P2", "P3"]
    assert report["by_severity"]["P0"] == overall
    assert overall["mtta"] == {"count": 0, "median_seconds": None, "p90_seconds": None}
    assert overall["ack_within_target"] == {"met": 0, "of": 0, "ratio": None}
    # From Wednesday 1 January 2020, then 13 Mondays; nothing in any of them.
    assert len(report["trend"]) == 14 and report["trend"][1]["label"] == "2020-01-06"
    assert {(p["incidents"], p["mtta_median_seconds"]) for p in report["trend"]} == {(0, None)}

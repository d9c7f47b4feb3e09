"""The report's rules on incidents played through the real flow (the real app over signed
HTTP, the fake Slack, the ManualClock): a policy file changed and loaded again does not rewrite
history, status page publications are no status updates, an incident without a channel has no
review to hold, a deferred incident's cadence counts from L1's page; and the report's reads do
not grow with the number of incidents."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from app import wiring
from app.clock import ManualClock
from app.config.policy_loader import load_policy
from app.context import BotContext
from app.domain.report import Share, Spread
from app.sandbox.fakeslack import FakeSlack
from app.sandbox.sender import SlackSender
from app.services import lifecycle
from app.services.engine import run_due_steps
from app.services.lifecycle import Resolution
from app.services.reports import build_report
from bench.report import fill
from tests.conftest import ROOT, SIGNING_SECRET, serve_bot
from tests.running import command, declare, resolve
from tests.statuspage_helpers import PUBLIC_URL, click, statuspage
from tests.statuspage_helpers import declare as declare_public
from tests.test_cli import run_cli
from tests.test_export import _env

MIN = timedelta(minutes=1)
HOUR = timedelta(hours=1)
START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # Monday 2 November 2026
DAY = ("--since", "2026-11-02", "--until", "2026-11-02")


async def report_of(bot: BotContext, since: datetime, days: int = 1) -> Any:
    return await build_report(bot, since, since + timedelta(days=days))


async def test_a_policy_file_changed_and_loaded_again_does_not_rewrite_history(
    slack: SlackSender,
    fake_slack: FakeSlack,
    bot: BotContext,
    clock: ManualClock,
    database_url: str,
    tmp_path: Path,
) -> None:
    # Declared under the default plan: P0 answered within 15 minutes, Detection in 5.
    clock.set(START)
    first = await declare(slack, fake_slack, bot, severity="P0")
    clock.set(START + 10 * MIN)
    await command(slack, bot, "ack", channel=first.channel_id, user="UONCALL")

    # The file now asks P0 within 5 minutes and gives Detection 15; the bot restarts with it.
    default = (ROOT / "app" / "default_policy.yml").read_text()
    stricter = default.replace("response_target: 15m", "response_target: 5m", 1).replace(
        "ends: acknowledged, within: 5m}", "ends: acknowledged, within: 15m}"
    )
    policy_file = tmp_path / "policy.yml"
    policy_file.write_text(stricter)
    changed = load_policy(policy_file)
    assert changed.severities["P0"].response_target == 5 * MIN
    assert changed.phases[0].within == 15 * MIN
    restarted = wiring.build(bot.settings, changed, clock)
    async with serve_bot(restarted) as url:
        sender = SlackSender(url, SIGNING_SECRET, fake_slack)
        clock.set(START + 2 * HOUR)
        second = await declare(sender, fake_slack, restarted, severity="P0")
        clock.set(second.started_at + 10 * MIN)
        await command(sender, restarted, "ack", channel=second.channel_id, user="UONCALL")
        await sender.close()
    await restarted.tasks.drain()
    await restarted.engine.dispose()

    # `incident-bot report` reads the changed file: each incident against its own plan.
    env = {**_env(database_url), "POLICY_FILE": str(policy_file)}
    code, raw, err = await run_cli(tmp_path, "report", *DAY, "--format", "json", **env)
    assert code == 0, err
    overall = json.loads(raw)["overall"]
    assert overall["mtta"]["median_seconds"] == 600
    # The first met its 15 minutes; the second missed its 5.
    assert overall["ack_within_target"] == {"met": 1, "of": 2, "ratio": 0.5}
    detection = overall["phases"][0]
    assert detection["within_seconds"] == 15 * 60  # the box shown is the current policy's
    # The first missed its 5 minutes, the second met its 15.
    assert detection["within_box"] == {"met": 1, "of": 2, "ratio": 0.5}


@pytest.mark.policy(str(ROOT / "tests" / "policies" / "status_page.yml"))
@pytest.mark.settings(status_page=True, public_url=PUBLIC_URL)
async def test_status_page_publications_are_not_status_updates(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    # Two P0s (an update every 30 minutes), each resolved after an hour. The first only
    # publishes to the status page (at 10, 25 and 50 minutes); the second posts
    # `/incident update` at 10 and 35 minutes.
    clock.set(START)
    public = await declare_public(slack, fake_slack, bot)
    for minutes in (10, 25, 50):
        clock.set(START + minutes * MIN)
        preview = await statuspage(slack, fake_slack, bot, public, f"Still failing ({minutes})")
        await click(slack, fake_slack, bot, preview, "Publish")
    clock.set(START + HOUR)
    await resolve(slack, fake_slack, bot, public)

    clock.set(START + 2 * HOUR)
    told = await declare_public(slack, fake_slack, bot)
    for minutes in (10, 35):
        clock.set(told.started_at + minutes * MIN)
        await command(slack, bot, "update Checkouts still fail", channel=told.channel_id)
    clock.set(told.started_at + HOUR)
    await resolve(slack, fake_slack, bot, told)

    report = await report_of(bot, START)
    assert report.overall.updates_kept == Share(1, 2)
    response = next(p for p in report.overall.phases if p.key == "response")
    assert response.reached == Spread(1, 10 * MIN, 10 * MIN)  # the second's first update
    assert response.met == Share(1, 2)


@pytest.mark.policy(str(ROOT / "tests" / "policies" / "report_no_channel.yml"))
async def test_an_incident_without_a_channel_has_no_review_to_hold(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    clock.set(START)
    with_channel = await declare(slack, fake_slack, bot, severity="P1")
    ticket_only = await declare(slack, fake_slack, bot, severity="P3", title="Typo on pricing")
    assert with_channel.channel_id and ticket_only.channel_id is None
    clock.set(START + HOUR)
    await resolve(slack, fake_slack, bot, with_channel)
    # `/incident resolve` takes no id (only ack, ticket and retry-setup do): the service that
    # resolves it, as an alert's clearing does.
    resolution = Resolution("Fixed the typo.", data_loss=False)
    assert (await lifecycle.resolve(bot, ticket_only.id, resolution, "UREPORTER")).changed

    clock.set(START + timedelta(days=3))  # both 48-hour windows have run out
    report = await report_of(bot, START)
    assert report.overall.mttr.count == 2
    # No reminder and no "Mark review held" button without a channel: only the P1 counts.
    assert report.overall.reviews_within == Share(0, 1)
    assert report.by_severity["P3"].reviews_within == Share()


@pytest.mark.policy(str(ROOT / "tests" / "policies" / "business_hours.yml"))
@pytest.mark.settings(timezone="Europe/Paris")
async def test_a_deferred_incidents_cadence_counts_from_l1s_page(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    # P2 (an update every 4 h) declared Friday 4 December 20:00 Paris; Monday is a holiday,
    # so L1 is paged Tuesday 09:00. An update at 12:00, resolved at 15:00.
    friday = datetime(2026, 12, 4, 19, 0, tzinfo=UTC)
    tuesday = datetime(2026, 12, 8, 8, 0, tzinfo=UTC)
    clock.set(friday)
    incident = await declare(slack, fake_slack, bot, severity="P2")
    clock.set(tuesday)
    await run_due_steps(bot)
    await bot.tasks.drain()
    clock.set(tuesday + 3 * HOUR)
    await command(slack, bot, "update Found the bad template", channel=incident.channel_id)
    clock.set(tuesday + 6 * HOUR)
    await resolve(slack, fake_slack, bot, incident)

    report = await report_of(bot, friday, days=7)
    assert report.overall.updates_kept == Share(1, 1)
    assert report.overall.pages_per_level == {"L1": 1}


async def test_the_reports_reads_are_four_statements_whatever_the_number_of_incidents(
    bot: BotContext, database_url: str
) -> None:
    statements: list[str] = []

    @event.listens_for(bot.engine.sync_engine, "before_cursor_execute")
    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    since, until = datetime(2026, 7, 1, tzinfo=UTC), datetime(2026, 10, 1, tzinfo=UTC)
    ran = {}
    for incidents in (3, 60):
        await fill(database_url, incidents)  # bench/report.py's quarter of stored incidents
        statements.clear()
        report = await build_report(bot, since, until)
        assert report.overall.incidents == incidents
        ran[incidents] = len(statements)
    assert ran == {3: 4, 60: 4}

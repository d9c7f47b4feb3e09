"""The report against the plan, computed from incidents played through the real flow (the
real app over signed HTTP, the fake Slack, the ManualClock) and checked number by number.

Five incidents in 2026Q4 (UTC), under tests/policies/escalation.yml (L1 UONCALL, L2 ULEAD, L3
UCTO, each level's window 15 min, 30 min, 1 h) and the default plan (P0 target 15 min and an
update every 30 min, P1 1 h and 1 h, P2 4 h and 4 h, P3 24 h and none; review within 48 h):

- A, P1 database_connection, 28 Nov 09:00: L1 paged, acknowledged at 10 min, update at 20,
  Mitigating at 30, resolved at 50; two action items (one done, one due 30 Nov); review held
  the next day.
- B, P0 high_error_rate, 10:00: L1, L2 at 15 min, L3 at 45; update at 40; acknowledged by the
  CTO at 50; Mitigating at 60; resolved at 3 h. No review.
- C, P2, 14:00: L1, L2 at 15 min; acknowledged at 2 h (within P2's 4 h), then raised to P1
  (whose target is 1 h): still met, judged at the severity it had when answered. Left open.
- D, P3 database_connection, 17:00: L1; resolved at 20 min without an acknowledgement
  (answered by the resolution), reopened at 30, resolved again at 60.
- E, P0 from an Alertmanager alert, 29 Nov 09:00: L1 paged; never acknowledged, left open.
- F, declared 2 Jan 2027: outside the period.

The report is made on 4 Jan 2027 09:00.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select, update

from app.clock import ManualClock
from app.context import BotContext
from app.domain.periods import parse_period
from app.domain.policy import Policy
from app.domain.report import Report, Share, Spread
from app.domain.report_render import as_json
from app.sandbox.fakeslack import FakeSlack
from app.sandbox.sender import SlackSender
from app.services.engine import run_due_steps
from app.services.reports import build_period_report
from app.store.models import Incident
from tests.conftest import ROOT
from tests.running import click, command, items, join, reload, resolve, summary
from tests.test_alerts import TOKEN, alertmanager, am_alert, poster
from tests.test_declare import open_modal, submit
from tests.test_escalation import dms

pytestmark = [
    pytest.mark.policy(str(ROOT / "tests" / "policies" / "escalation.yml")),
    pytest.mark.settings(alert_webhook_token=TOKEN),
]

MIN = timedelta(minutes=1)
START = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
NOW = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)


async def tick(bot: BotContext) -> None:
    await run_due_steps(bot)
    await bot.tasks.drain()


async def declared(
    slack: SlackSender,
    fake: FakeSlack,
    bot: BotContext,
    severity: str,
    incident_type: str | None = None,
    *,
    paged: bool = True,
) -> Incident:
    view = await open_modal(slack, fake, bot)
    await submit(
        slack, bot, view, title="Something broke", severity=severity, incident_type=incident_type
    )
    async with bot.sessions() as session:
        incident = (
            await session.execute(select(Incident).order_by(Incident.id.desc()).limit(1))
        ).scalar_one()
    assert incident.setup_complete, incident.setup_error
    if paged:
        await tick(bot)  # L1's page
    return incident


async def play(
    slack: SlackSender, fake: FakeSlack, bot: BotContext, clock: ManualClock, server: str
) -> dict[str, Incident]:
    async def at(when: datetime, text: str, incident: Incident, user: str = "UREPORTER") -> None:
        clock.set(when)
        await command(slack, bot, text, channel=incident.channel_id, user=user)

    clock.set(START)
    a = await declared(slack, fake, bot, "P1", "database_connection")
    await at(START + 10 * MIN, "ack", a, "UONCALL")
    await at(START + 20 * MIN, "update Rolled back the pool change", a)
    await at(START + 30 * MIN, "status mitigating", a)
    await at(START + 35 * MIN, "action Check the replicas due 2026-11-30", a)
    await at(START + 36 * MIN, "action Alert on pool exhaustion", a)
    second = (await items(bot, a))[1]
    await click(slack, bot, summary(fake, a), "Done", near=second.text)
    clock.set(START + 50 * MIN)
    await resolve(slack, fake, bot, a)

    b_start = START + timedelta(hours=1)
    clock.set(b_start)
    b = await declared(slack, fake, bot, "P0", "high_error_rate")
    for minutes in (15, 40, 45):
        clock.set(b_start + minutes * MIN)
        if minutes == 40:
            await command(slack, bot, "update Error rate still 7%", channel=b.channel_id)
        await tick(bot)  # L2 at 15 minutes, L3 at 45
    clock.set(b_start + 50 * MIN)
    join(fake, b, "UCTO")
    [page] = dms(fake, "UCTO")
    await click(slack, bot, page, "Acknowledge", user="UCTO")
    await at(b_start + 60 * MIN, "status mitigating", b)
    clock.set(b_start + timedelta(hours=3))
    await resolve(slack, fake, bot, b)

    clock.set(START + timedelta(hours=5))
    c = await declared(slack, fake, bot, "P2")
    clock.advance(15 * MIN)
    await tick(bot)  # L2
    await at(c.started_at + timedelta(hours=2), "ack", c, "ULEAD")
    await at(c.started_at + timedelta(hours=2, minutes=30), "severity P1 worse than thought", c)

    clock.set(START + timedelta(hours=8))
    d = await declared(slack, fake, bot, "P3", "database_connection")
    clock.set(d.started_at + 20 * MIN)
    await resolve(slack, fake, bot, d)
    await at(d.started_at + 30 * MIN, "reopen it came back", d)
    clock.set(d.started_at + 60 * MIN)
    await resolve(slack, fake, bot, d)

    clock.set(START + timedelta(days=1))
    held = summary(fake, a)
    await click(slack, bot, held, "Mark review held")
    async with poster(server) as post:
        assert (await post("alertmanager", alertmanager(am_alert()))).status_code == 200
    await bot.tasks.drain()
    async with bot.sessions() as session:
        e = (await session.execute(select(Incident).order_by(Incident.id.desc()))).scalars().first()
    assert e is not None and e.severity == "P0"

    clock.set(datetime(2027, 1, 2, 9, 0, tzinfo=UTC))
    f = await declared(slack, fake, bot, "P2", paged=False)  # no tick: E's L2 stays unsent
    clock.set(NOW)
    return {"A": a, "B": b, "C": c, "D": d, "E": e, "F": f}


async def q4(bot: BotContext) -> Report:
    return await build_period_report(bot, parse_period("2026Q4", bot.clock.now(), bot.settings.tz))


def spread(count: int, median: float | None, p90: float | None) -> Spread:
    """Minutes."""
    return Spread(
        count,
        None if median is None else timedelta(minutes=median),
        None if p90 is None else timedelta(minutes=p90),
    )


async def test_the_report_measures_each_incident_against_its_own_plan_number_by_number(
    slack: SlackSender,
    fake_slack: FakeSlack,
    bot: BotContext,
    clock: ManualClock,
    server: str,
) -> None:
    played = await play(slack, fake_slack, bot, clock, server)
    report = await q4(bot)

    assert report.label == "2026Q4" and report.today == date(2027, 1, 4)
    overall = report.overall
    assert (overall.incidents, overall.open) == (5, 2)  # F is in 2027Q1
    assert overall.mtta == spread(3, 50, 120)  # 10 min, 50 min, 2 h
    assert overall.mttr == spread(3, 60, 180)  # 50 min, 1 h (D's final resolution), 3 h
    # A, C (at P2, its severity when acknowledged) and D (resolved in 20 min) met; B and E not.
    assert overall.ack_within_target == Share(3, 5)
    assert overall.updates_kept == Share(1, 4)  # A kept 1 h; B (40 min > 30), C, E not; D none
    assert overall.reviews_within == Share(1, 3)  # A held the next day; B and D past 48 h
    assert report.review_within == timedelta(hours=48)
    assert (overall.action_items.open, overall.action_items.overdue) == (1, 1)
    assert overall.action_items.done == 1
    assert overall.pages_per_level == {"L1": 5, "L2": 2, "L3": 1}  # L2 and L3: B; L2: C
    assert overall.reached_level == {"L1": 5, "L2": 2, "L3": 1}

    c_open = NOW - played["C"].started_at
    e_open = NOW - played["E"].started_at
    assert overall.time_in_status == {
        "investigating": 30 * MIN + 60 * MIN + c_open + 50 * MIN + e_open,  # D: 20 + 30
        "mitigating": 20 * MIN + 120 * MIN,
    }
    assert overall.status_time["investigating"].count == 5
    assert overall.status_time["mitigating"] == spread(2, 70, 120)

    phases = {p.key: p for p in overall.phases}
    assert list(phases) == ["detection", "response", "investigation", "mitigation", "recovery"]
    assert phases["detection"].reached == spread(4, 35, 120)  # 10, 20 (D), 50, 120
    assert phases["detection"].met == Share(0, 5)
    assert phases["response"].reached == spread(2, 30, 40)
    assert phases["response"].met == Share(0, 5)
    assert phases["investigation"].reached == spread(3, 30, 60)  # D: resolved at 20
    assert phases["investigation"].met == Share(2, 5)
    assert phases["mitigation"].reached == spread(3, 60, 180)
    assert phases["mitigation"].met == Share(2, 5)
    assert phases["recovery"].met == Share(2, 5)
    assert (phases["recovery"].within, phases["recovery"].ends) == (timedelta(hours=2), "resolved")

    p0, p1, p2, p3 = (report.by_severity[key] for key in ("P0", "P1", "P2", "P3"))
    assert list(report.by_severity) == ["P0", "P1", "P2", "P3"]
    assert (p0.incidents, p1.incidents, p2.incidents, p3.incidents) == (2, 2, 0, 1)
    assert p0.mtta == spread(1, 50, 50) and p0.ack_within_target == Share(0, 2)
    assert p1.mtta == spread(2, 65, 120) and p1.ack_within_target == Share(2, 2)  # C counts as P1
    assert p1.mttr == spread(1, 50, 50) and p1.open == 1
    assert p3.mttr == spread(1, 60, 60) and p3.mtta == Spread()
    assert p3.updates_kept == Share() and p2.ack_within_target.ratio is None
    assert p0.pages_per_level == {"L1": 2, "L2": 1, "L3": 1}
    assert p1.pages_per_level == {"L1": 2, "L2": 1}

    assert report.types == (("database_connection", 2), ("high_error_rate", 1))
    assert report.sources == (("alertmanager", 1),)
    # Weekly (Q4 is 92 days): from Thursday 1 October, then each Monday; all five in one week.
    assert len(report.trend) == 14 and report.trend[0].label == "2026-10-01"
    assert report.trend[1].since == datetime(2026, 10, 5, tzinfo=UTC)
    [week] = [point for point in report.trend if point.incidents]
    assert (week.label, week.incidents) == ("2026-11-23", 5)
    assert (week.mtta_median, week.mttr_median) == (50 * MIN, 60 * MIN)
    assert week.ack_within_target == Share(3, 5)
    assert report.trend[-1].until == datetime(2027, 1, 1, tzinfo=UTC)

    # A changed policy does not rewrite history: stricter targets and other phases now, the
    # same report of what happened under the old ones.
    snapshot = bot.policy.to_snapshot()
    snapshot["severities"]["P1"]["response_target"] = 300
    snapshot["phases"] = [{"key": "triage", "name": "Triage", "ends": "acknowledged", "within": 60}]
    bot.policy = Policy.from_snapshot(snapshot)
    again = await q4(bot)
    assert as_json(again) == as_json(report)


async def test_an_old_snapshot_without_phases_reads_the_plans_default_phases(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    clock.set(START)
    incident = await declared(slack, fake_slack, bot, "P2")
    snapshot = dict(incident.policy_snapshot)
    del snapshot["phases"]
    async with bot.sessions.begin() as session:
        await session.execute(
            update(Incident).where(Incident.id == incident.id).values(policy_snapshot=snapshot)
        )
    clock.set(START + 10 * MIN)
    await command(slack, bot, "ack", channel=incident.channel_id, user="UONCALL")
    assert (await reload(bot, incident)).acknowledged_at == START + 10 * MIN

    report = await q4(bot)

    detection = report.overall.phases[0]
    assert (detection.key, detection.within) == ("detection", timedelta(minutes=5))
    assert detection.reached == spread(1, 10, 10) and detection.met == Share(0, 1)
    # Not reached, their boxes not yet run out at 10 minutes: not counted.
    response = report.overall.phases[1]
    assert response.reached == Spread() and response.met == Share()

"""Escalation under load: 10,000 open incidents in PostgreSQL, 1,000 pages due within a minute.

    python bench/escalation.py [--database-url postgresql://postgres@127.0.0.1:5432/test_escalation]
                               [--workers 1] [--tick SECONDS] [--idle 60] [--latency 0]

The database is emptied and migrated first: give it a database of its own. Every incident
has the rows a real one has while L1 waits for an answer (L1's page sent; L2's page, the
response-target warning and the next update reminder pending), so the scheduler's queries
run over 30,000 pending rows. 1,000 of the L2 pages fall due spread over one minute; the rest
are hours away. The real scheduler (APScheduler, real clock, the default settings unless
`--tick` is given: it wakes at each due time, ESCALATION_TICK_SECONDS is only its fallback)
runs in `--workers` bot contexts against the fake Slack (in this process, so it competes for
the same CPU). First nothing is due for `--idle` seconds: the scheduler's process CPU is
measured then (heartbeats, fallback ticks, the LISTEN connection). Then the pages fall due,
until every one of the 1,000 is sent.

Prints the lateness of pages against their due time (p50, p99, max), the idle CPU in CPU
seconds per minute, the time of a tick (idle, and with work), and checks that no page
reached Slack twice. Aim: p99 lateness under 250 ms, an idle tick under 20 ms, no duplicates.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import random
import statistics
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402
from sqlalchemy import func, insert, select, text  # noqa: E402

from app import wiring  # noqa: E402
from app.clock import SystemClock  # noqa: E402
from app.config.policy_loader import load_policy  # noqa: E402
from app.config.settings import Settings, normalize_database_url  # noqa: E402
from app.context import BotContext  # noqa: E402
from app.domain.escalation import PAGE  # noqa: E402
from app.sandbox.fakeslack import FakeSlack  # noqa: E402
from app.scheduler import StepScheduler  # noqa: E402
from app.services.engine import TickReport, run_due_steps  # noqa: E402
from app.store.models import Incident, ScheduledStep  # noqa: E402
from tests.conftest import reset_schema  # noqa: E402

TOKEN = "xoxb-bench-token"
POLICY = ROOT / "tests" / "policies" / "escalation.yml"
USERS = ("UREPORTER", "UONCALL", "ULEAD", "UCTO", "UCEO")
DEFAULT_DB = "postgresql://postgres@127.0.0.1:5432/test_escalation"


def lead_of(n: int) -> str:
    """The L2 of paged incident `n`."""
    return f"ULEAD{n:05d}"


def delivered(fake: FakeSlack, n: int) -> dict[str, Any] | None:
    """The first DM paged incident `n`'s L2 received, if any."""
    channel = fake.state.ims.get(lead_of(n))
    messages = fake.messages.get(channel, []) if channel else []
    return messages[0] if messages else None


async def recorded(bot: BotContext) -> int:
    """L2 page steps recorded as sent."""
    async with bot.sessions() as session:
        stmt = select(func.count()).where(
            ScheduledStep.kind == PAGE, ScheduledStep.level == "L2", ScheduledStep.status == "sent"
        )
        return int((await session.execute(stmt)).scalar_one())


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))
    return ordered[index]


def describe(values: list[float], unit: str = "s", scale: float = 1.0) -> str:
    shown = [v * scale for v in values]
    return (
        f"p50 {percentile(shown, 50):8.3f} {unit}  p99 {percentile(shown, 99):8.3f} {unit}  "
        f"max {max(shown):8.3f} {unit}  mean {statistics.fmean(shown):8.3f} {unit}"
    )


class RecordingScheduler(StepScheduler):
    """The real scheduler, keeping every pass's report for the figures."""

    def __init__(self, bot: BotContext, interval: float, reports: list[TickReport]) -> None:
        super().__init__(bot, interval)
        self.reports = reports
        self.sent = 0

    async def _run_due(self) -> TickReport:
        report = await super()._run_due()
        self.reports.append(report)
        self.sent += report.sent
        return report


async def seed(
    bot: BotContext, fake: FakeSlack, incidents: int, due: int, window: float, lead: float
) -> list[datetime]:
    """Insert the incidents and their steps; returns when each paged incident's L2 is due."""
    now = datetime.now(UTC)
    snapshot = bot.policy.to_snapshot()
    day = now.date()
    start = now + timedelta(seconds=lead)
    rng = random.Random(4)
    due_times = sorted(start + timedelta(seconds=rng.uniform(0, window)) for _ in range(due))
    incident_rows = []
    for n in range(incidents):
        paged = n < due
        channel = fake.add_channel(f"incident-bench-{n}") if paged else f"CIDLE{n:07d}"
        policy_snapshot = snapshot
        if paged:
            # Each paged incident's L2 is its own team's lead: Slack takes about one message a
            # second per channel, so a thousand pages a minute cannot all DM one person.
            lead = lead_of(n)
            fake.add_user(lead, email=f"{lead.lower()}@example.com")
            policy_snapshot = copy.deepcopy(snapshot)
            for level in policy_snapshot["escalation"]["levels"]:
                if level["key"] == "L2":
                    level["notify"] = [lead]
        l2_due = due_times[n] if paged else now + timedelta(hours=2, seconds=n)
        started = l2_due - timedelta(minutes=15)
        incident_rows.append(
            {
                "public_id": f"INC-{day:%Y%m%d}-{n + 1:05d}",
                "day": day,
                "seq": n + 1,
                "title": f"Bench incident {n}",
                "description": "",
                "severity": "P0",
                "status": "investigating",
                "private": False,
                "impacts": [],
                "reporter_id": "UREPORTER",
                "policy_snapshot": policy_snapshot,
                "started_at": started,
                "channel_id": channel,
                "channel_name": f"incident-bench-{n}",
                "topic_set": True,
                "members_invited": True,
                "summary_pinned": True,
                "setup_complete": True,
                "created_at": started,
                "updated_at": started,
            }
        )
    async with bot.engine.begin() as conn:
        for chunk in range(0, incidents, 1000):
            await conn.execute(insert(Incident), incident_rows[chunk : chunk + 1000])
        ids = {
            row[0]: row[1] for row in await conn.execute(select(Incident.public_id, Incident.id))
        }
        step_rows = []
        for row in incident_rows:
            incident_id = ids[row["public_id"]]
            started = row["started_at"]
            base = {
                "incident_id": incident_id,
                "attempts": 0,
                "late": False,
                "data": {},
                "created_at": started,
                "updated_at": started,
            }
            step_rows += [
                {
                    **base,
                    "kind": "page",
                    "dedupe_key": "page:L1",
                    "level": "L1",
                    "status": "sent",
                    "due_at": started,
                    "next_attempt_at": started,
                    "sent_at": started,
                    "data": {"targets": ["UONCALL"]},
                },
                {
                    **base,
                    "kind": "page",
                    "dedupe_key": "page:L2",
                    "level": "L2",
                    "status": "pending",
                    "due_at": started + timedelta(minutes=15),
                    "next_attempt_at": started + timedelta(minutes=15),
                    "sent_at": None,
                },
                {
                    **base,
                    "kind": "target_warning",
                    "dedupe_key": "target_warning",
                    "level": None,
                    "status": "pending",
                    # Far enough that the bench measures pages, not warnings.
                    "due_at": started + timedelta(hours=3),
                    "next_attempt_at": started + timedelta(hours=3),
                    "sent_at": None,
                },
                {
                    **base,
                    "kind": "update_reminder",
                    "dedupe_key": "update_reminder:1",
                    "level": None,
                    "status": "pending",
                    "due_at": started + timedelta(hours=3),
                    "next_attempt_at": started + timedelta(hours=3),
                    "sent_at": None,
                    "data": {"seq": 1, "since": started.isoformat(), "since_update": False},
                },
            ]
        for chunk in range(0, len(step_rows), 2000):
            await conn.execute(insert(ScheduledStep), step_rows[chunk : chunk + 2000])
        await conn.execute(text("ANALYZE scheduled_steps"))
    return due_times


# The claim's row selection as `store.steps.claim_due` spells it (due, or held by a worker
# known dead within the lease horizon), and the scheduler's "when next" query.
CLAIM_QUERY = (
    "SELECT id FROM scheduled_steps WHERE status = 'pending' "
    "AND next_attempt_at <= now() + interval '300 seconds' AND (next_attempt_at <= now() "
    "OR (claimed_by IS NOT NULL AND claimed_by NOT IN (SELECT id FROM workers "
    "WHERE stopped_at IS NULL AND heartbeat_at >= now() - interval '6 seconds') "
    "AND claimed_at <= now() - interval '6 seconds')) "
    "ORDER BY next_attempt_at, id LIMIT 50 FOR UPDATE SKIP LOCKED"
)
NEXT_DUE_QUERY = "SELECT min(next_attempt_at) FROM scheduled_steps WHERE status = 'pending'"


async def explain(bot: BotContext, query: str) -> str:
    async with bot.engine.connect() as conn:
        rows = await conn.execute(text("EXPLAIN ANALYZE " + query))
        return "\n".join("    " + r[0] for r in rows)


async def idle_cpu(seconds: float) -> float:
    """Process CPU seconds per minute over `seconds` of wall time (nothing due meanwhile)."""
    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.sleep(seconds)
    return (time.process_time() - cpu) / (time.perf_counter() - wall) * 60


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_DB)
    parser.add_argument("--incidents", type=int, default=10_000)
    parser.add_argument("--pages", type=int, default=1_000)
    parser.add_argument("--window", type=float, default=60.0, help="seconds the pages spread over")
    parser.add_argument(
        "--tick", type=float, default=None, help="ESCALATION_TICK_SECONDS (default: the default)"
    )
    parser.add_argument(
        "--rate-limit-scale",
        type=float,
        default=None,
        help="SLACK_RATE_LIMIT_SCALE (default: the default, Slack's own tiers; 0: no pacing)",
    )
    parser.add_argument(
        "--idle", type=float, default=60.0, help="seconds of nothing due, for the idle CPU"
    )
    parser.add_argument("--workers", type=int, default=1, help="scheduler replicas")
    parser.add_argument("--latency", type=float, default=0.0, help="fake Slack latency, seconds")
    args = parser.parse_args()
    url = normalize_database_url(args.database_url)
    if not url.startswith("postgresql"):
        print("this benchmark is about PostgreSQL; give a postgresql:// URL", file=sys.stderr)
        return 2

    await asyncio.to_thread(reset_schema, url)
    scopes = set(
        yaml.safe_load((ROOT / "manifest.yml").read_text())["oauth_config"]["scopes"]["bot"]
    )
    fake = FakeSlack(token=TOKEN, granted_scopes=scopes, latency=args.latency)
    for user in USERS:
        fake.add_user(user, email=f"{user.lower()}@example.com")
    await fake.start()
    overrides: dict[str, float] = {}
    if args.tick is not None:
        overrides["escalation_tick_seconds"] = args.tick
    if args.rate_limit_scale is not None:
        overrides["slack_rate_limit_scale"] = args.rate_limit_scale
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        slack_bot_token=TOKEN,
        slack_signing_secret="bench",
        slack_api_url=fake.base_url,
        database_url=url,
        **overrides,  # type: ignore[arg-type]
    )
    tick = settings.escalation_tick_seconds
    policy = load_policy(POLICY)
    bots = [wiring.build(settings, policy, SystemClock()) for _ in range(args.workers)]
    for bot in bots:
        await bot.open_http_session()  # as the web app's lifespan does
    try:
        seeded = time.perf_counter()
        # The first page falls due once the idle measure is over (and its set-up time).
        due_times = await seed(
            bots[0], fake, args.incidents, args.pages, args.window, lead=args.idle + 60
        )
        first_due = due_times[0]
        print(
            f"seeded {args.incidents} open incidents, {args.incidents * 4} steps "
            f"({args.incidents * 3} pending) in {time.perf_counter() - seeded:.1f}s"
        )
        print("the claim's query plan:\n" + await explain(bots[0], CLAIM_QUERY))
        print("the next-due query plan:\n" + await explain(bots[0], NEXT_DUE_QUERY))

        idle = [(await run_due_steps(bots[0])).seconds for _ in range(50)]
        print(f"idle tick (nothing due), 50 runs:   {describe(idle, 'ms', 1000)}")

        reports: list[TickReport] = []
        schedulers = [RecordingScheduler(bot, tick, reports) for bot in bots]
        for scheduler in schedulers:
            scheduler.start()
        await asyncio.sleep(5)  # the first tick, the LISTEN connection, the first heartbeats
        idle_reports = len(reports)
        cpu_per_minute = await idle_cpu(args.idle)
        idle_passes = len(reports) - idle_reports
        print(
            f"idle scheduler:    {cpu_per_minute:.3f} CPU s per minute "
            f"({idle_passes} passes over the due steps in {args.idle:.0f} s, nothing due)"
        )
        print(f"first page due in  {(first_due - datetime.now(UTC)).total_seconds():.1f} s")
        deadline = first_due + timedelta(seconds=args.window + 4 * tick + 30)
        while datetime.now(UTC) < deadline:
            await asyncio.sleep(1)
            if all(delivered(fake, n) for n in range(args.pages)):
                break
        # A step is recorded once all of its calls are done (the page's invitation too).
        settle = datetime.now(UTC) + timedelta(seconds=10)
        while datetime.now(UTC) < settle and await recorded(bots[0]) < args.pages:  # noqa: ASYNC110
            await asyncio.sleep(1)
        # When each L2 was paged: its DM's ts (the fake stamps the wall clock, like Slack).
        paged_late = [
            float(first_dm["ts"]) - due_times[n].timestamp()
            for n in range(args.pages)
            if (first_dm := delivered(fake, n)) is not None
        ]
        for scheduler in schedulers:
            await scheduler.stop()

        async with bots[0].sessions() as session:
            rows = (
                await session.execute(
                    select(ScheduledStep.due_at, ScheduledStep.sent_at, ScheduledStep.late).where(
                        ScheduledStep.kind == PAGE,
                        ScheduledStep.level == "L2",
                        ScheduledStep.status == "sent",
                    )
                )
            ).all()
        lateness = [(sent_at - due_at).total_seconds() for due_at, sent_at, _ in rows]
        print(f"\nL2s paged (a DM):  {len(paged_late)} of {args.pages}")
        if paged_late:
            print(f"DM lateness:       {describe(paged_late, 'ms', 1000)}")
        busy = [r.seconds for r in reports if r.claimed]
        quiet = [r.seconds for r in reports if not r.claimed]
        per_channel = Counter(
            channel
            for channel, messages in fake.messages.items()
            for message in messages
            if message["text"].startswith(":rotating_light:") and channel.startswith("C")
        )
        dm_counts = [
            len(fake.messages.get(fake.state.ims.get(lead_of(n)) or "", []))
            for n in range(args.pages)
        ]
        dms_to_lead = sum(dm_counts)
        dm_duplicates = sum(count - 1 for count in dm_counts if count > 1)
        duplicates = sum(count - 1 for count in per_channel.values() if count > 1) + dm_duplicates
        late_flagged = sum(1 for *_, late in rows if late)

        print(
            f"\nworkers {args.workers}, fallback tick {tick}s, heartbeat "
            f"{settings.worker_heartbeat_seconds}s, Slack pacing scale "
            f"{settings.slack_rate_limit_scale}, fake Slack latency {args.latency * 1000:.0f} ms"
        )
        print(f"page steps done:   {len(rows)} of {args.pages}  (flagged late: {late_flagged})")
        if lateness:
            print(f"step recorded:     {describe(lateness, 'ms', 1000)}  (after the due time)")
        if busy:
            print(
                f"tick with work:    {describe(busy, 'ms', 1000)}  "
                f"({len(busy)} ticks, {sum(r.sent for r in reports)} steps sent)"
            )
        if quiet:
            print(f"tick, nothing due: {describe(quiet, 'ms', 1000)}  ({len(quiet)} ticks)")
        print(f"steps per worker:  {', '.join(str(s.sent) for s in schedulers)}")
        methods = Counter(call.method for call in fake.calls)
        print("Slack calls:       " + ", ".join(f"{m} {n}" for m, n in methods.most_common()))
        print(
            f"duplicates:        {duplicates} pages sent twice (channels and DMs); "
            f"{len(per_channel)} channels paged once or more; {dms_to_lead} DMs to the L2s"
        )
        aim_late = 0.250
        ok = (
            len(rows) == args.pages
            and duplicates == 0
            and dms_to_lead == args.pages
            and bool(paged_late)
            and percentile(paged_late, 99) < aim_late
            and percentile(idle, 99) < 0.020
        )
        print(
            f"aim (p99 DM lateness < {aim_late * 1000:.0f} ms, idle tick p99 < 20 ms, "
            "no duplicates): " + ("met" if ok else "NOT met")
        )
        return 0 if ok else 1
    finally:
        for bot in bots:
            await bot.close()
        await fake.stop()


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))

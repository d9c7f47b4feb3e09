"""Escalation under load: 10,000 open incidents in PostgreSQL, 1,000 pages due within a minute.

    python bench/escalation.py [--database-url postgresql://postgres@127.0.0.1:5432/test_escalation]
                               [--workers 1] [--tick 5] [--latency 0]

The database is emptied and migrated first: give it a database of its own. Every incident
has the rows a real one has while L1 waits for an answer (L1's page sent; L2's page, the
response-target warning and the next update reminder pending), so the scheduler's due query
runs over 30,000 pending rows. 1,000 of the L2 pages fall due spread over one minute; the rest
are hours away. The real scheduler (APScheduler, real clock) runs in `--workers` bot contexts
against the fake Slack (in this process, so it competes for the same CPU), until every one of
the 1,000 pages is sent.

Prints the lateness of pages against their due time (p50, p99, max), the time of a tick (idle,
and with work), and checks that no page reached Slack twice. Aim: p99 lateness within one tick
interval plus 1 s, an idle tick under 20 ms, no duplicates.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402
from sqlalchemy import func, insert, select, text  # noqa: E402

from app import wiring  # noqa: E402
from app.clock import SystemClock  # noqa: E402
from app.config.policy_loader import load_policy  # noqa: E402
from app.config.settings import Settings, normalize_database_url  # noqa: E402
from app.context import BotContext  # noqa: E402
from app.scheduler import StepScheduler  # noqa: E402
from app.services.engine import TickReport, run_due_steps  # noqa: E402
from app.store.models import Incident, ScheduledStep  # noqa: E402
from tests.conftest import reset_schema  # noqa: E402
from tests.fakeslack import FakeSlack  # noqa: E402

TOKEN = "xoxb-bench-token"
POLICY = ROOT / "tests" / "policies" / "escalation.yml"
USERS = ("UREPORTER", "UONCALL", "ULEAD", "UCTO", "UCEO")
DEFAULT_DB = "postgresql://postgres@127.0.0.1:5432/test_escalation"


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
    """The real scheduler, keeping every tick's report for the figures."""

    def __init__(self, bot: BotContext, interval: float, reports: list[TickReport]) -> None:
        super().__init__(bot, interval)
        self.reports = reports
        self.sent = 0

    async def _tick(self) -> None:
        if self._current is not None:
            return
        self._current = asyncio.current_task()
        try:
            report = await run_due_steps(self.bot, worker=self.worker)
            self.reports.append(report)
            self.sent += report.sent
        finally:
            self.ticks += 1
            self._current = None


async def seed(
    bot: BotContext, fake: FakeSlack, incidents: int, due: int, window: float, lead: float
) -> datetime:
    """Insert the incidents and their steps; returns when the first due page falls due."""
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
                "policy_snapshot": snapshot,
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
    return due_times[0]


async def explain_claim(bot: BotContext) -> str:
    async with bot.engine.connect() as conn:
        rows = await conn.execute(
            text(
                "EXPLAIN ANALYZE SELECT id FROM scheduled_steps WHERE status = 'pending' "
                "AND next_attempt_at <= now() ORDER BY next_attempt_at, id LIMIT 50 "
                "FOR UPDATE SKIP LOCKED"
            )
        )
        return "\n".join("    " + r[0] for r in rows)


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_DB)
    parser.add_argument("--incidents", type=int, default=10_000)
    parser.add_argument("--pages", type=int, default=1_000)
    parser.add_argument("--window", type=float, default=60.0, help="seconds the pages spread over")
    parser.add_argument("--tick", type=float, default=5.0, help="ESCALATION_TICK_SECONDS")
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
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        slack_bot_token=TOKEN,
        slack_signing_secret="bench",
        slack_api_url=fake.base_url,
        database_url=url,
        escalation_tick_seconds=args.tick,
    )
    policy = load_policy(POLICY)
    bots = [wiring.build(settings, policy, SystemClock()) for _ in range(args.workers)]
    for bot in bots:
        await bot.open_http_session()  # as the web app's lifespan does
    try:
        seeded = time.perf_counter()
        first_due = await seed(
            bots[0], fake, args.incidents, args.pages, args.window, lead=args.tick + 30
        )
        print(
            f"seeded {args.incidents} open incidents, {args.incidents * 4} steps "
            f"({args.incidents * 3} pending) in {time.perf_counter() - seeded:.1f}s"
        )
        print("the due query's plan:\n" + await explain_claim(bots[0]))

        idle = [(await run_due_steps(bots[0])).seconds for _ in range(50)]
        print(f"idle tick (nothing due), 50 runs:   {describe(idle, 'ms', 1000)}")

        reports: list[TickReport] = []
        schedulers = [RecordingScheduler(bot, args.tick, reports) for bot in bots]
        for scheduler in schedulers:
            scheduler.start()
        deadline = first_due + timedelta(seconds=args.window + 4 * args.tick + 30)
        sent = 0
        while datetime.now(UTC) < deadline:
            await asyncio.sleep(1)
            async with bots[0].sessions() as session:
                sent = (
                    await session.execute(
                        select(func.count()).where(
                            ScheduledStep.level == "L2", ScheduledStep.status == "sent"
                        )
                    )
                ).scalar_one()
            if sent >= args.pages:
                break
        for scheduler in schedulers:
            await scheduler.stop()

        async with bots[0].sessions() as session:
            rows = (
                await session.execute(
                    select(ScheduledStep.due_at, ScheduledStep.sent_at, ScheduledStep.late).where(
                        ScheduledStep.level == "L2", ScheduledStep.status == "sent"
                    )
                )
            ).all()
        lateness = [(sent_at - due_at).total_seconds() for due_at, sent_at, _ in rows]
        busy = [r.seconds for r in reports if r.claimed]
        quiet = [r.seconds for r in reports if not r.claimed]
        per_channel = Counter(
            channel
            for channel, messages in fake.messages.items()
            for message in messages
            if message["text"].startswith(":rotating_light:") and channel.startswith("C")
        )
        dm_channel = fake.state.ims.get("ULEAD")
        dms_to_lead = len(fake.messages.get(dm_channel, [])) if dm_channel else 0
        duplicates = sum(count - 1 for count in per_channel.values() if count > 1)
        late_flagged = sum(1 for *_, late in rows if late)

        print(
            f"\nworkers {args.workers}, tick {args.tick}s, fake Slack latency "
            f"{args.latency * 1000:.0f} ms"
        )
        print(f"pages sent:        {len(rows)} of {args.pages}  (flagged late: {late_flagged})")
        if lateness:
            print(f"lateness vs due:   {describe(lateness)}")
        if busy:
            print(
                f"tick with work:    {describe(busy, 'ms', 1000)}  "
                f"({len(busy)} ticks, {sum(r.sent for r in reports)} steps sent)"
            )
        if quiet:
            print(f"tick, nothing due: {describe(quiet, 'ms', 1000)}  ({len(quiet)} ticks)")
        print(f"steps per worker:  {', '.join(str(s.sent) for s in schedulers)}")
        print(
            f"duplicates:        {duplicates} channel pages sent twice; "
            f"{len(per_channel)} channels paged once or more; {dms_to_lead} DMs to L2"
        )
        aim_late = args.tick + 1
        ok = (
            len(rows) == args.pages
            and duplicates == 0
            and dms_to_lead == args.pages
            and percentile(lateness, 99) <= aim_late
            and percentile(idle, 99) < 0.020
        )
        print(
            f"aim (p99 lateness <= {aim_late:.0f} s, idle tick p99 < 20 ms, no duplicates): "
            + ("met" if ok else "NOT met")
        )
        return 0 if ok else 1
    finally:
        for bot in bots:
            await bot.close()
        await fake.stop()


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))

"""Benchmark: the report against the plan over a quarter of stored incidents.

    python -m bench.report                        # 2,000 incidents, SQLite
    python -m bench.report --incidents 200 --database-url postgresql://…/bench

Stores N incidents spread over 2026Q3 (under the default policy's snapshot), each with the
timeline a real one leaves (declared, paged L1 and often L2 and L3, acknowledged, two to four
status updates, for one in four a status page publication, for one in five a severity change,
mitigating, resolved, and notes and captured messages the report does not read), two action
items and, for one in three, an alert. Then builds the report the way
`incident-bot report` does (`app.services.reports.report_from`) and prints: the SQL statements
it ran (they must not grow with N: no query per incident), the time to read, to compute and
to render it (md, json, csv), best of --runs.

`--database-url` points at a PostgreSQL database to use instead of a fresh SQLite file: it is
emptied first. See bench/README.md for figures.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import event, insert  # noqa: E402

from app.config.policy_loader import load_policy  # noqa: E402
from app.config.settings import normalize_database_url  # noqa: E402
from app.domain.periods import parse_period  # noqa: E402
from app.domain.report_compute import compute  # noqa: E402
from app.domain.report_facts import READ_KINDS  # noqa: E402
from app.domain.report_render import render  # noqa: E402
from app.services.reports import facts_of, report_from  # noqa: E402
from app.store import reports as store  # noqa: E402
from app.store.db import make_engine, make_sessionmaker  # noqa: E402
from app.store.migrate import upgrade  # noqa: E402
from app.store.models import ActionItem, AlertLink, Base, Incident, TimelineEntry  # noqa: E402

TZ = ZoneInfo("UTC")
QUARTER = parse_period("2026Q3", datetime(2026, 11, 1, tzinfo=UTC), TZ)
NOW = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def rows(count: int, seed: int = 18) -> tuple[list[dict[str, Any]], ...]:
    """The incidents, timeline entries, action items and alert links, as insert values."""
    rng = random.Random(seed)
    snapshot = load_policy(None).to_snapshot()
    incidents, entries, items, alerts = [], [], [], []
    span = (QUARTER.until - QUARTER.since).total_seconds()
    for n in range(1, count + 1):
        start = QUARTER.since + timedelta(seconds=rng.uniform(0, span - 86400))
        severity = rng.choice(("P0", "P1", "P1", "P2", "P2", "P3"))
        ack = start + timedelta(minutes=rng.uniform(1, 90))
        mitigating = ack + timedelta(minutes=rng.uniform(5, 60))
        resolved = mitigating + timedelta(minutes=rng.uniform(10, 240))
        still_open = rng.random() < 0.05
        incidents.append(
            {
                "id": n,
                "public_id": f"INC-{start:%Y%m%d}-{n:05d}",
                "day": start.date(),
                "seq": n,
                "title": f"Incident {n}",
                "severity": severity,
                "status": "investigating" if still_open else "resolved",
                "reporter_id": "UREPORTER",
                "policy_snapshot": snapshot,
                "started_at": start,
                "acknowledged_at": ack,
                "resolved_at": None if still_open else resolved,
                "review_held_at": resolved + timedelta(hours=rng.uniform(1, 72)),
                "incident_type": rng.choice(("database_connection", "high_error_rate", None)),
                "channel_id": f"C{n:09d}",  # the review counts only where it can be held
                "created_at": start,
                "updated_at": start,
            }
        )

        def entry(kind: str, at: datetime, data: dict[str, Any], n: int = n) -> None:
            entries.append(
                {
                    "incident_id": n,
                    "kind": kind,
                    "occurred_at": at,
                    "text": kind,
                    "data": data,
                    "created_at": at,
                }
            )

        entry("declared", start, {"severity": severity})
        levels = rng.choice((1, 1, 2, 3))
        for level in range(1, levels + 1):
            entry("paged", start + timedelta(minutes=15 * (level - 1)), {"level": f"L{level}"})
        entry("acknowledged", ack, {})
        for k in range(rng.randint(2, 4)):
            entry("update", start + timedelta(minutes=20 * (k + 1)), {"update": "still on it"})
        if n % 4 == 0:  # a status page publication: an update entry, no status update
            entry("update", start + timedelta(minutes=25), {"statuspage": n, "phase": "identified"})
        if n % 5 == 0:
            entry("severity_changed", start + timedelta(minutes=30), {"from": severity, "to": "P1"})
        for k in range(rng.randint(3, 10)):
            entry("message", start + timedelta(minutes=7 * k), {"ts": str(k)})
        entry("note", start + timedelta(minutes=3), {})
        entry("status_changed", mitigating, {"from": "investigating", "to": "mitigating"})
        if not still_open:
            entry("resolved", resolved, {"from": "mitigating"})
        for k in range(2):
            items.append(
                {
                    "incident_id": n,
                    "text": f"Follow-up {k}",
                    "due_on": date(2026, 10, 1) + timedelta(days=rng.randint(0, 60)),
                    "done": rng.random() < 0.5,
                    "created_by": "ULEAD",
                    "created_at": resolved,
                }
            )
        if n % 3 == 0:
            alerts.append(
                {
                    "incident_id": n,
                    "source": rng.choice(("alertmanager", "sentry", "grafana")),
                    "fingerprint": f"fp{n}",
                    "status": "resolved",
                    "first_seen_at": start,
                    "last_seen_at": start,
                }
            )
    return incidents, entries, items, alerts


async def fill(url: str, count: int) -> int:
    engine = make_engine(url)
    async with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            await conn.execute(table.delete())
        incidents, entries, items, alerts = rows(count)
        for model, values in (
            (Incident, incidents),
            (TimelineEntry, entries),
            (ActionItem, items),
            (AlertLink, alerts),
        ):
            for chunk in range(0, len(values), 5000):
                await conn.execute(insert(model), values[chunk : chunk + 5000])
    await engine.dispose()
    return len(entries)


async def measure(url: str, runs: int) -> None:
    engine = make_engine(url)
    statements: list[str] = []

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    sessions = make_sessionmaker(engine)
    policy = load_policy(None)
    best: dict[str, float] = {}

    def keep(name: str, seconds: float) -> None:
        best[name] = min(best.get(name, seconds), seconds)

    for _ in range(runs):
        statements.clear()
        began = time.perf_counter()
        report = await report_from(sessions, policy, TZ, NOW, QUARTER.since, QUARTER.until)
        keep("report_from (read + compute)", time.perf_counter() - began)
        ran = len(statements)
        began = time.perf_counter()
        async with sessions() as session:
            found = await store.read_period(session, QUARTER.since, QUARTER.until, READ_KINDS)
        keep("  read (4 queries)", time.perf_counter() - began)
        began = time.perf_counter()
        facts = facts_of(found, policy)
        keep("  join into facts", time.perf_counter() - began)
        began = time.perf_counter()
        compute(facts, since=QUARTER.since, until=QUARTER.until, now=NOW, tz=TZ, policy=policy)
        keep("  compute", time.perf_counter() - began)
        for fmt in ("md", "json", "csv"):
            began = time.perf_counter()
            render(report, fmt, TZ)
            keep(f"render {fmt}", time.perf_counter() - began)
    await engine.dispose()
    print(f"incidents in the report: {report.overall.incidents}")
    print(f"SQL statements per report: {ran}")
    for name, seconds in best.items():
        print(f"{name:32s} {seconds * 1000:8.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--incidents", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    url = normalize_database_url(
        args.database_url or f"sqlite:///{Path(tempfile.mkdtemp(prefix='bench-')) / 'report.db'}"
    )
    upgrade(url)
    began = time.perf_counter()
    stored = asyncio.run(fill(url, args.incidents))
    print(
        f"stored {args.incidents} incidents, {stored} timeline entries in "
        f"{time.perf_counter() - began:.1f} s ({url.split(':')[0]})"
    )
    asyncio.run(measure(url, args.runs))


if __name__ == "__main__":
    main()

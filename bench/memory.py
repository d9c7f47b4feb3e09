"""Resident memory of `incident-bot serve`: idle, and with 10,000 incidents of 50 timeline
entries each in its database.

    python -m bench.memory [--incidents 10000] [--entries 50] [--database-url URL]

With no --database-url a fresh SQLite file is used; a PostgreSQL URL must point at a scratch
database (its tables are emptied).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import UTC, date, datetime, timedelta

import httpx
from sqlalchemy import delete, insert

from app.config.policy_loader import load_policy
from app.config.settings import normalize_database_url
from app.store.db import make_engine
from app.store.migrate import upgrade
from app.store.models import Base, Incident, TimelineEntry
from bench.ack_latency import Sender
from bench.common import bot_argv, bot_env, fake_slack, free_port, process, rss_mb


async def seed(url: str, incidents: int, entries: int) -> None:
    engine = make_engine(url)
    snapshot = load_policy(None).to_snapshot()
    start = datetime(2026, 1, 1, tzinfo=UTC)
    async with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            await conn.execute(delete(table))
    batch = 500
    for first in range(0, incidents, batch):
        rows, timeline = [], []
        for n in range(first, min(first + batch, incidents)):
            day = date(2026, 1, 1) + timedelta(days=n // 100)
            when = start + timedelta(minutes=n)
            rows.append(
                dict(
                    id=n + 1,
                    public_id=f"INC-{day:%Y%m%d}-{n % 100 + 1:03d}",
                    day=day,
                    seq=n % 100 + 1,
                    title=f"Seeded incident {n}",
                    description="x" * 200,
                    severity=f"P{n % 4}",
                    status="resolved" if n % 10 else "investigating",
                    private=False,
                    impacts=["outage"],
                    reporter_id="UREPORTER",
                    policy_snapshot=snapshot,
                    started_at=when,
                    channel_id=f"CSEED{n:07d}",
                    channel_name=f"incident-{day:%Y%m%d}-seeded-{n}",
                    setup_complete=True,
                    created_at=when,
                    updated_at=when,
                    topic_set=True,
                    members_invited=True,
                    summary_pinned=True,
                )
            )
            timeline += [
                dict(
                    incident_id=n + 1,
                    kind="message",
                    occurred_at=when + timedelta(seconds=e),
                    actor_id="UOTHER",
                    text="y" * 120,
                    data={"permalink": "https://example.slack.com/archives/x"},
                    source_ts=f"{1767225600 + n * 60 + e}.000100",
                    deleted=False,
                    created_at=when,
                )
                for e in range(entries)
            ]
        async with engine.begin() as conn:
            await conn.execute(insert(Incident), rows)
            await conn.execute(insert(TimelineEntry), timeline)
    await engine.dispose()


async def main(incidents: int, entries: int, database_url: str | None) -> None:
    url = normalize_database_url(
        database_url or f"sqlite:///{tempfile.mkdtemp(prefix='bench-db-')}/bench.db"
    )
    await asyncio.to_thread(upgrade, url)
    await seed(url, 0, 0)
    async with fake_slack(0.0) as fake:
        port = free_port()
        async with (
            process(bot_argv(), bot_env(fake, port, url), port) as pid,
            httpx.AsyncClient(timeout=30) as http,
        ):
            sender = Sender(http, port, fake)
            for n in range(50):
                await sender.declare(n)
            await asyncio.sleep(1)
            idle = rss_mb(pid)
            started = time.perf_counter()
            await seed(url, incidents, entries)
            seeded_in = time.perf_counter() - started
            for n in range(200):  # work against the loaded database
                await sender.declare(n)
                await http.get(f"http://127.0.0.1:{port}/health")
                await http.get(f"http://127.0.0.1:{port}/metrics")
                if n % 10 == 0:  # lists the 1,000 open incidents
                    await sender.command("list", n)
            await asyncio.sleep(1)
            loaded = rss_mb(pid)
    print(f"database: {url.split('://')[0]}")
    print(f"idle RSS:   {idle:6.1f} MB")
    print(
        f"loaded RSS: {loaded:6.1f} MB  ({incidents} incidents x {entries} entries, "
        f"seeded in {seeded_in:.1f} s)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=10_000)
    parser.add_argument("--entries", type=int, default=50)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    asyncio.run(main(args.incidents, args.entries, args.database_url))

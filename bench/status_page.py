"""Benchmark: the public status page (`/status`, `/status.json`) with a month of posts, and
whether a crowd reloading it delays the scheduler's pages.

    python -m bench.status_page                                  # SQLite
    python -m bench.status_page --database-url postgresql+asyncpg://…/bench
    python -m bench.status_page --storm 100 --flood 10           # pages beside a /status crowd

Stores, under a policy listing 10 services (bench/policy.yml plus `services:`): 200 public
incidents over the last 30 days, 3 of them still in progress, each with 5 published posts (1,000
posts), one draft and one cancelled post each (never shown), 20 private incidents with posts
(never shown), and a year before that of 1,000 resolved incidents with 5,000 posts (outside the
history: a request must not read them; `--old 10000` stores ten years). Then:

1. Requests through the real Starlette app (`create_web_app`, httpx's ASGITransport, in
   process): `--requests` GETs of /status and of /status.json at concurrency 1 and 10, as
   served (one computed page answers every request for status_board.FRESH_FOR) and computed on
   every request (its cache forgotten before each, as after every publication), with their
   p50/p99, requests per second and SQL statements per request; then where one computation's
   time goes (the statements, the rest of the board, the HTML).
2. With `--storm N` (SQLite or PostgreSQL): the bot as `serve` runs it (uvicorn, the lifespan's
   scheduler, one process), N P1s declared at once; the L1 page lateness (sent minus due)
   without, then with, a crowd in another process asking /status `--flood` times a second
   (open loop: each request on time, answered or not). That part is bench/status_storm.py.

`--database-url` is emptied first. See bench/README.md for figures.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from sqlalchemy import event, insert  # noqa: E402

from app import wiring  # noqa: E402
from app.config.policy_loader import load_policy  # noqa: E402
from app.config.settings import Settings, normalize_database_url  # noqa: E402
from app.context import BotContext  # noqa: E402
from app.dashboard import status_html  # noqa: E402
from app.services import status_board  # noqa: E402
from app.store.db import make_engine  # noqa: E402
from app.store.migrate import upgrade  # noqa: E402
from app.store.models import Base, Incident, StatusPost  # noqa: E402
from app.web import create_web_app  # noqa: E402
from bench.common import POLICY, SECRET, TOKEN, fake_slack, percentile  # noqa: E402

SERVICES = [  # key, name, the default policy's impact that affects it
    ("api", "API", "outage"),
    ("web", "Website", "ui_workflow"),
    ("mobile", "Mobile apps", "feature_broken"),
    ("payments", "Payments", "payments_down"),
    ("checkout", "Checkout", "critical_feature"),
    ("search", "Search", "performance"),
    ("email", "E-mail delivery", "email"),
    ("webhooks", "Webhooks", "error_rate"),
    ("auth", "Sign-in", "partial_degradation"),
    ("reports", "Reports", "db_performance"),
]
IMPACTS = ("degraded_performance", "partial_outage", "major_outage")
PHASES = ("investigating", "identified", "monitoring", "monitoring", "resolved")
# What `requests` measures: the page as served (an answer reused for status_board.FRESH_FOR),
# and computed on every request; each one at concurrency 1 and 10.
PLAN = [
    (path, concurrency, fresh)
    for path in ("/status", "/status.json")
    for fresh in (False, True)
    for concurrency in (1, 10)
]
MESSAGE = (
    "We are seeing elevated error rates on {name} for some customers. Our engineers are on it "
    "and we will post an update within 30 minutes. Requests retried by clients succeed."
)


def policy_file(folder: Path) -> Path:
    lines = [
        f"  - {{key: {key}, name: {name}, description: {name} for every customer, "
        f"impacts: [{impact}]}}"
        for key, name, impact in SERVICES
    ]
    path = folder / "policy.yml"
    path.write_text(POLICY.read_text() + "\nservices:\n" + "\n".join(lines) + "\n")
    return path


def rows(
    now: datetime, snapshot: dict[str, Any], old: int = 1000, seed: int = 18
) -> tuple[list[Any], list[Any]]:
    """The incidents and their status posts, as insert values (see the module docstring)."""
    rng = random.Random(seed)
    incidents: list[dict[str, Any]] = []
    posts: list[dict[str, Any]] = []

    def incident(start: datetime, *, open_: bool, private: bool) -> int:
        n = len(incidents) + 1
        incidents.append(
            {
                "id": n,
                "public_id": f"INC-{start:%Y%m%d}-{n:05d}",
                "day": start.date(),
                "seq": n,
                "title": f"Incident {n}",
                "severity": rng.choice(("P0", "P1", "P2")),
                "status": "investigating" if open_ else "resolved",
                "private": private,
                "reporter_id": "UREPORTER",
                "policy_snapshot": snapshot,
                "started_at": start,
                "resolved_at": None if open_ else start + timedelta(hours=3),
                "setup_complete": True,
                "created_at": start,
                "updated_at": start,
            }
        )
        return n

    def post(n: int, at: datetime, phase: str, state: str = "published", **extra: Any) -> None:
        key, name, _impact = rng.choice(SERVICES)
        posts.append(
            {
                "incident_id": n,
                "state": state,
                "message": MESSAGE.format(name=name),
                "services": [key] + ([rng.choice(SERVICES)[0]] if rng.random() < 0.3 else []),
                "impact": rng.choice(IMPACTS),
                "phase": phase,
                "drafted_by": "ULEAD",
                "drafted_at": at,
                "published_by": "ULEAD" if state == "published" else None,
                "published_at": at if state == "published" else None,
                "data": {},
                **extra,
            }
        )

    def story(start: datetime, *, open_: bool, private: bool = False) -> None:
        n = incident(start, open_=open_, private=private)
        # Five posts each; one in progress has not posted "resolved" yet: a third update.
        phases = (*PHASES[:4], "monitoring") if open_ else PHASES
        for k, phase in enumerate(phases):
            post(n, start + timedelta(minutes=30 * k + 5), phase)
        post(n, start + timedelta(minutes=2), "investigating", state="draft")
        post(n, start + timedelta(minutes=3), "investigating", state="cancelled")

    month = timedelta(days=30)
    for k in range(old):  # the years before the history: never shown
        story(now - month - timedelta(days=335 * (k + 1) / 1000), open_=False)
    for k in range(200):
        start = now - month + timedelta(hours=6) + (month - timedelta(hours=12)) * k / 200
        story(start, open_=k >= 197)
    for _ in range(20):
        story(now - timedelta(days=rng.uniform(1, 29)), open_=False, private=True)
    return incidents, posts


async def fill(
    url: str, now: datetime, snapshot: dict[str, Any], old: int = 1000
) -> tuple[int, int]:
    engine = make_engine(url)
    async with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            await conn.execute(table.delete())
        incidents, posts = rows(now, snapshot, old)
        for model, values in ((Incident, incidents), (StatusPost, posts)):
            for chunk in range(0, len(values), 2000):
                await conn.execute(insert(model), values[chunk : chunk + 2000])
        if engine.dialect.name == "postgresql":  # inserted ids: move the sequences past them
            for table in ("incidents", "status_posts"):
                await conn.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"
                )
    await engine.dispose()
    return len(incidents), len(posts)


def make_settings(url: str, slack_url: str, **extra: Any) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        slack_bot_token=TOKEN,
        slack_signing_secret=SECRET,
        slack_api_url=slack_url,
        database_url=url,
        status_page=True,
        slack_rate_limit_scale=0.001,
        **extra,
    )


async def timed(
    client: httpx.AsyncClient, path: str, count: int, concurrency: int, *, fresh: BotContext | None
) -> tuple[list[float], float, int]:
    """`count` GETs of `path`, `concurrency` at a time; with `fresh`, its cached page is
    forgotten before each one (every request computes the page, as after each publication)."""
    latencies: list[float] = []
    size = 0
    queue = iter(range(count))

    async def worker() -> None:
        nonlocal size
        for _ in queue:
            if fresh is not None:
                status_board.forget(fresh)
            began = time.perf_counter()
            response = await client.get(path)
            latencies.append(time.perf_counter() - began)
            if response.status_code != 200:
                raise RuntimeError(f"{path}: HTTP {response.status_code}")
            size = len(response.content)

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, time.perf_counter() - began, size


async def requests(url: str, count: int, policy: Path) -> None:
    async with fake_slack(0.0) as slack:
        bot = wiring.build(make_settings(url, slack.base_url), load_policy(policy))
        statements: list[str] = []

        @event.listens_for(bot.engine.sync_engine, "before_cursor_execute")
        def _count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            statements.append(statement)

        transport = httpx.ASGITransport(app=create_web_app(bot))
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            await client.get("/status")  # warm: the first connection, the first statements
            for path, concurrency, fresh in PLAN:
                statements.clear()
                latencies, wall, size = await timed(
                    client, path, count, concurrency, fresh=bot if fresh else None
                )
                ms = [v * 1000 for v in latencies]
                print(
                    f"{path:13s} {'computed' if fresh else 'as served':9s} c={concurrency:<2d} "
                    f"p50 {percentile(ms, 50):7.1f} ms  "
                    f"p99 {percentile(ms, 99):7.1f} ms  {count / wall:6.1f} req/s  "
                    f"{len(statements) / count:.2f} SQL/request  {size / 1024:.0f} KiB"
                )
        await breakdown(bot, count)
        await bot.engine.dispose()


async def breakdown(bot: BotContext, count: int) -> None:
    """Where one /status goes: the statements (sent and answered), turning their rows into
    objects and the board, the HTML."""
    best: dict[str, float] = {}
    in_sql = 0.0
    started: list[float] = []

    def keep(name: str, seconds: float) -> None:
        best[name] = min(best.get(name, seconds), seconds)

    @event.listens_for(bot.engine.sync_engine, "before_cursor_execute")
    def _before(*_args: Any) -> None:
        started.append(time.perf_counter())

    @event.listens_for(bot.engine.sync_engine, "after_cursor_execute")
    def _after(*_args: Any) -> None:
        nonlocal in_sql
        in_sql += time.perf_counter() - started.pop()

    runs = min(count, 20)
    for _ in range(runs):
        in_sql = 0.0
        status_board.forget(bot)
        began = time.perf_counter()
        board = await status_board.board(bot)
        total = time.perf_counter() - began
        keep("board (statements)", in_sql)
        keep("board (the rest: rows to objects, the board)", total - in_sql)
        keep("board in all", total)
        began = time.perf_counter()
        status_html.render(board, bot.settings.tz)
        keep("render HTML", time.perf_counter() - began)
    updates = sum(len(i.updates) for i in [*board.active, *board.history])
    print(
        f"shown: {len(board.active)} in progress, {len(board.history)} in the history, "
        f"{updates} updates; best of {runs}:"
    )
    for name, seconds in best.items():
        print(f"  {name:46s} {seconds * 1000:7.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument(
        "--old", type=int, default=1000, help="resolved incidents before the 30 days (1,000 a year)"
    )
    parser.add_argument("--storm", type=int, default=0, help="P1s declared at once (0: none)")
    parser.add_argument(
        "--flood", type=float, default=10, help="GETs of /status a second beside the storm"
    )
    args = parser.parse_args()
    url = normalize_database_url(
        args.database_url or f"sqlite:///{Path(tempfile.mkdtemp(prefix='bench-')) / 'status.db'}"
    )
    upgrade(url)
    policy = policy_file(Path(tempfile.mkdtemp(prefix="bench-")))
    if args.storm:
        from bench.status_storm import storm

        asyncio.run(storm(url, args.storm, 0, policy))
        asyncio.run(storm(url, args.storm, args.flood, policy))
        return
    began = time.perf_counter()
    snapshot = load_policy(policy).to_snapshot()
    incidents, posts = asyncio.run(fill(url, datetime.now(UTC), snapshot, args.old))
    print(
        f"stored {incidents} incidents, {posts} status posts in "
        f"{time.perf_counter() - began:.1f} s ({url.split(':')[0]})"
    )
    asyncio.run(requests(url, args.requests, policy))


if __name__ == "__main__":
    main()

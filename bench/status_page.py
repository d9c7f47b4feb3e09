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
   (open loop: each request on time, answered or not; `python -m bench.status_page
   --flood-url URL`, which prints what it got).

`--database-url` is emptied first. See bench/README.md for figures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import uvicorn  # noqa: E402
from sqlalchemy import event, func, insert, select  # noqa: E402

from app import wiring  # noqa: E402
from app.config.policy_loader import load_policy  # noqa: E402
from app.config.settings import Settings, normalize_database_url  # noqa: E402
from app.context import BotContext  # noqa: E402
from app.dashboard import status_html  # noqa: E402
from app.domain.escalation import PAGE  # noqa: E402
from app.services import status_board  # noqa: E402
from app.services.declare import DeclareRequest, declare_with_result  # noqa: E402
from app.services.setup import set_up  # noqa: E402
from app.store.db import make_engine  # noqa: E402
from app.store.migrate import upgrade  # noqa: E402
from app.store.models import Base, Incident, ScheduledStep, StatusPost  # noqa: E402
from app.web import create_web_app  # noqa: E402
from bench.common import POLICY, SECRET, TOKEN, fake_slack, free_port, percentile  # noqa: E402

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
WAIT = 120  # seconds the storm's pages are waited for, at most
# What `requests` measures: the page as served (an answer reused for status_board.FRESH_FOR),
# and computed on every request; each one at concurrency 1 and 10.
PLAN = [
    (path, concurrency, fresh)
    for path in ("/status", "/status.json")
    for fresh in (False, True)
    for concurrency in (1, 10)
]
FLOOD_MAX = 900  # seconds a crowd runs at most
MAX_IN_FLIGHT = 500  # the crowd's connections at most
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


# --- pages beside a flood -------------------------------------------------------------------------


async def flood(url: str, rate: float) -> None:
    """The crowd, in its own process: `rate` GETs of `url` a second, each sent on time whether
    the earlier ones were answered or not (people reloading, not a closed loop), until SIGTERM;
    then print what it got."""
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    latencies: list[float] = []
    errors = 0

    async def one(client: httpx.AsyncClient) -> None:
        nonlocal errors
        began = time.perf_counter()
        try:
            ok = (await client.get(url)).status_code == 200
        except httpx.HTTPError:
            ok = False
        latencies.append(time.perf_counter() - began)
        errors += not ok

    began = time.perf_counter()
    parent = os.getppid()  # an orphan (the benchmark killed) stops at once
    pending: set[asyncio.Task[None]] = set()
    limits = httpx.Limits(max_connections=MAX_IN_FLIGHT, max_keepalive_connections=MAX_IN_FLIGHT)
    async with httpx.AsyncClient(limits=limits, timeout=120) as client:
        sent = 0
        while not stop.is_set() and os.getppid() == parent and sent < rate * FLOOD_MAX:
            due = began + sent / rate
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            task = asyncio.create_task(one(client))
            pending.add(task)
            task.add_done_callback(pending.discard)
            sent += 1
        wall = time.perf_counter() - began
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
    ms = [v * 1000 for v in latencies] or [0.0]
    print(
        json.dumps(
            {
                "sent": sent,
                "answered": len(latencies) - errors,
                "errors": errors,
                "unanswered": sent - len(latencies),
                "per_second": (len(latencies) - errors) / wall,
                "p50_ms": percentile(ms, 50),
                "p99_ms": percentile(ms, 99),
            }
        ),
        flush=True,
    )


@contextlib.asynccontextmanager
async def served(bot: BotContext) -> Any:
    """The bot as `serve` runs it: uvicorn and the app's lifespan (its scheduler) in one loop."""
    port = free_port()
    config = uvicorn.Config(
        create_web_app(bot), host="127.0.0.1", port=port, log_config=None, access_log=False
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def storm(url: str, count: int, rate: float, policy: Path) -> None:
    now = datetime.now(UTC)
    await fill(url, now, load_policy(policy).to_snapshot())
    got: dict[str, Any] = {}
    async with fake_slack(0.02) as slack:
        settings = make_settings(url, slack.base_url, escalation_tick_seconds=1.0)
        bot = wiring.build(settings, load_policy(policy))
        async with served(bot) as base, crowd(base, rate, got):
            began = time.monotonic()
            refused = 0
            for n in range(count):
                if time.monotonic() - began > WAIT / 2:  # each declare waiting on the pool
                    refused += count - n
                    break
                request = DeclareRequest(title=f"Storm {n}", reporter_id="UREPORTER", severity="P1")
                try:
                    declared = await declare_with_result(bot, request)
                except Exception:  # the crowd may hold every pooled connection: say so
                    refused += 1
                    continue
                bot.tasks.spawn(set_up(bot, declared.incident.id), name=f"setup {n}")
            late = await lateness(url, count - refused, began)
    await bot.engine.dispose()
    crowd_text = (
        f"; /status: {got['answered']} of {got['sent']} answered ({got['per_second']:.1f}/s, "
        f"p50 {got['p50_ms']:.0f} ms, p99 {got['p99_ms']:.0f} ms, {got['errors']} errors)"
        if got
        else ""
    )
    sent = len(late)
    unsent = f", {count - refused - sent} not sent after {WAIT} s" if sent < count - refused else ""
    unsent += f", {refused} not declared (failed, or {WAIT // 2} s passed)" if refused else ""
    late = late or [float("nan")]
    print(
        f"{count} P1s, /status asked {rate:g} times a second: L1 page lateness p50 "
        f"{percentile(late, 50):.3f} s  p99 {percentile(late, 99):.3f} s  max {max(late):.3f} s "
        f"({sent} sent{unsent}){crowd_text}",
        flush=True,
    )


@contextlib.asynccontextmanager
async def crowd(base: str, rate: float, got: dict[str, Any]) -> Any:
    """`rate` GETs of /status a second from another process while the block runs (none at
    rate 0); what the crowd got lands in `got`."""
    if not rate:
        yield
        return
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.status_page",
        "--flood-url",
        f"{base}/status",
        "--flood",
        str(rate),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        await asyncio.sleep(3)  # the crowd is at full speed
        yield
        process.send_signal(signal.SIGTERM)
        out, _ = await asyncio.wait_for(process.communicate(), 60)
        got.update(json.loads(out.decode().strip().splitlines()[-1]))
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def lateness(url: str, count: int, began: float) -> list[float]:
    """Wait until the `count` L1 pages are sent (at most WAIT seconds); each one's lateness.
    Read through an engine of its own: the bot's pool may be exhausted by the crowd."""
    engine = make_engine(url)
    sent_steps = select(func.count()).where(
        ScheduledStep.kind == PAGE, ScheduledStep.level == "L1", ScheduledStep.status == "sent"
    )
    try:
        async with engine.connect() as conn:
            sent = 0
            while sent < count and time.monotonic() - began < WAIT:
                await asyncio.sleep(0.2)
                sent = (await conn.execute(sent_steps)).scalar_one()
                await conn.rollback()  # a fresh snapshot next time
            pages = select(ScheduledStep.due_at, ScheduledStep.sent_at).where(
                ScheduledStep.kind == PAGE, ScheduledStep.level == "L1"
            )
            rows = (await conn.execute(pages)).all()
    finally:
        await engine.dispose()
    return [(sent_at - due_at).total_seconds() for due_at, sent_at in rows if sent_at]


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
    parser.add_argument("--flood-url", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.flood_url:
        asyncio.run(flood(args.flood_url, args.flood))
        return
    url = normalize_database_url(
        args.database_url or f"sqlite:///{Path(tempfile.mkdtemp(prefix='bench-')) / 'status.db'}"
    )
    upgrade(url)
    policy = policy_file(Path(tempfile.mkdtemp(prefix="bench-")))
    if args.storm:
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

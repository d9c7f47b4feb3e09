"""Benchmark: N timeline captures through the full HTTP stack against a slow fake Slack.

    python bench/timeline.py                      # 2,000 events, 50 ms Slack latency, SQLite
    python bench/timeline.py --events 500 --latency 0.1 --database-url postgresql://…/bench
    python bench/timeline.py --events 300 --tier-scale 0.1    # Slack's tiers, windows / 10
    python bench/timeline.py --unheard            # messages from before the bot joined

The bot runs as it does in production, in its own process: `python -m app serve` (migrations,
uvicorn, the real Starlette + Bolt app). This process plays Slack on both sides: the fake Web API
(app/sandbox/fakeslack, every answer delayed by --latency; with --tier-scale it enforces Slack's
rate tiers, windows multiplied by the scale, and the bot paces its calls at the same scale) and the
Events API. First the bot hears N messages posted in one incident channel (`message` events; not
with --unheard, where the messages predate the bot and each capture must read Slack). Then N
signed `reaction_added` events, one per message, with at most --concurrency requests in flight.
It measures each reaction's ack latency, waits until every message is in the timeline and
confirmed with the bot's reaction, and prints:

- Slack calls per capture (all calls made while capturing, over N; aim: 1, the confirmation),
  by method, and the 429s the fake's tiers answered;
- acked events/s: N / time to ack them all (the HTTP edge alone);
- stored captures/s: N / time until all N entries are stored;
- captures/s end to end: N / time until all N are stored and confirmed;
- ack latency p50 / p90 / p99 / max;
- the CPU time of the bot and of this process, to tell a busy bot from a waiting one;
- entries stored (must be exactly N).

`--database-url` points at a PostgreSQL database to use instead of a fresh SQLite file: it is
emptied first. `BENCH_SERVER="profile_serve.py"` runs that script instead of `-m app serve`, e.g.
to profile the bot.

See bench/README.md for figures measured on the project's 2-core machine.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
import httpx  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from app import wiring  # noqa: E402
from app.config.policy_loader import load_policy  # noqa: E402
from app.config.settings import Settings, normalize_database_url  # noqa: E402
from app.sandbox import builders as slack_builders  # noqa: E402
from app.sandbox.fakeslack import FakeSlack  # noqa: E402
from app.sandbox.sender import SlackSender  # noqa: E402
from app.services.declare import DeclareRequest, declare  # noqa: E402
from app.store import incidents as store  # noqa: E402
from app.store.migrate import upgrade  # noqa: E402
from app.store.models import ChannelMessage, TimelineEntry  # noqa: E402
from tests import slack_events  # noqa: E402
from tests.conftest import manifest_bot_scopes  # noqa: E402

TOKEN = "xoxb-bench-token"
SECRET = "bench-signing-secret"
USERS = ("ULEAD", "UOTHER")


class EventSender:
    """Posts signed events like Slack. aiohttp rather than the tests' httpx client: its
    connection pool costs far less CPU per request, which this process shares with the fake."""

    def __init__(self, url: str, connections: int, fake: FakeSlack) -> None:
        self.url = url + "/slack/events"
        self.signer = SlackSender(url, SECRET, fake)
        self.http = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=connections),
            timeout=aiohttp.ClientTimeout(total=60),
        )

    async def event(self, event: dict[str, Any]) -> int:
        body = json.dumps(slack_builders.event_callback(event))
        headers = self.signer.signed_headers(body, content_type="application/json")
        async with self.http.post(self.url, data=body.encode(), headers=headers) as response:
            await response.read()
            return response.status

    async def close(self) -> None:
        await self.http.close()
        await self.signer.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux), to tell busy from waiting."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))
    return ordered[index]


async def seed(database_url: str, fake: FakeSlack, events: int) -> tuple[str, list[str]]:
    """An incident with a set-up channel, and `events` messages in it to flag."""
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        slack_bot_token=TOKEN,
        slack_signing_secret=SECRET,
        slack_api_url=fake.base_url,
        database_url=database_url,
    )
    bot = wiring.build(settings, load_policy(None))
    try:
        incident = await declare(
            bot, DeclareRequest(title="Benchmark", reporter_id="ULEAD", severity="P2")
        )
        channel = fake.add_channel("incident-bench", members=list(USERS))
        async with bot.sessions.begin() as session:
            await store.save_fields(
                session,
                incident.id,
                bot.clock.now(),
                channel_id=channel,
                channel_name="incident-bench",
                setup_complete=True,
            )
    finally:
        await bot.engine.dispose()
    messages = [
        fake.add_message(channel, f"Observation {n}: error rate {n % 7}%", user=USERS[n % 2])
        for n in range(events)
    ]
    return channel, messages


class Rows:
    """Counts rows in the bot's database while it runs (one engine for the whole run)."""

    def __init__(self, database_url: str) -> None:
        from app.store.db import make_engine

        self.engine = make_engine(database_url)

    async def entries(self) -> int:
        stmt = select(func.count()).where(TimelineEntry.kind == "message")
        return await self._count(stmt)

    async def heard(self) -> int:
        return await self._count(select(func.count()).select_from(ChannelMessage))

    async def _count(self, stmt: Any) -> int:
        async with self.engine.connect() as conn:
            return int((await conn.execute(stmt)).scalar_one())

    async def close(self) -> None:
        await self.engine.dispose()


async def send_all(sender: EventSender, events: list[dict[str, Any]], concurrency: int) -> Any:
    """Post every event with at most `concurrency` in flight; their ack latencies and statuses."""
    acks: list[float] = []
    statuses: Counter[int] = Counter()
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    for event in events:
        queue.put_nowait(event)

    async def worker() -> None:
        while not queue.empty():
            event = queue.get_nowait()
            sent = time.perf_counter()
            status = await sender.event(event)
            acks.append(time.perf_counter() - sent)
            statuses[status] += 1

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return acks, statuses


def make_fake(tier_scale: float | None) -> tuple[FakeSlack, str]:
    """The fake Web API, enforcing Slack's tiers at `tier_scale` when it can; and what it does."""
    if tier_scale is None:
        return FakeSlack(token=TOKEN, granted_scopes=manifest_bot_scopes()), "tiers off"
    if "tier_scale" not in inspect.signature(FakeSlack).parameters:
        fake = FakeSlack(token=TOKEN, granted_scopes=manifest_bot_scopes())
        return fake, "tiers NOT enforced (this fake Slack has no tier_scale)"
    fake = FakeSlack(token=TOKEN, granted_scopes=manifest_bot_scopes(), tier_scale=tier_scale)
    return fake, f"Slack's tiers enforced, windows x{tier_scale:g}"


async def wait_healthy(url: str, server: subprocess.Popen[bytes], limit: float = 30) -> None:
    deadline = time.monotonic() + limit
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            if server.poll() is not None:
                raise RuntimeError(f"the bot exited with {server.returncode}")
            try:
                if (await client.get(url + "/health")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError("the bot did not become healthy")


async def run(args: argparse.Namespace) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="bench-timeline-"))
    database_url = normalize_database_url(args.database_url or f"sqlite:///{workdir / 'bench.db'}")
    if args.database_url:
        from tests.conftest import reset_schema

        await asyncio.to_thread(reset_schema, database_url)
    else:
        await asyncio.to_thread(upgrade, database_url)

    fake, tiers = make_fake(args.tier_scale)
    for user in USERS:
        fake.add_user(user)
    await fake.start()
    channel, messages = await seed(database_url, fake, args.events)

    port = free_port()
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": fake.base_url,
        "DATABASE_URL": database_url,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "LOG_LEVEL": "WARNING",
        # Capture alone: no scheduler, so the seeded incident's escalation posts nothing.
        "ESCALATION_TICK_SECONDS": "0",
        # The bot paces its calls at the fake's scale (0: not at all, the fake does not limit).
        "SLACK_RATE_LIMIT_SCALE": str(args.tier_scale or 0),
    }
    command = (os.environ.get("BENCH_SERVER") or "-m app serve").split()
    server = subprocess.Popen([sys.executable, *command], cwd=ROOT, env=env)  # noqa: ASYNC220
    url = f"http://127.0.0.1:{port}"
    sender = EventSender(url, args.concurrency, fake)
    counter = Rows(database_url)
    warmup = fake.add_channel("warmup")
    warmup_ts = fake.add_message(warmup, "warming up", user=USERS[0])
    heard, heard_in = 0, 0.0
    try:
        await wait_healthy(url, server)
        # Bolt asks auth.test who it is on the first request; let that not count.
        await sender.event(slack_events.added(fake, warmup, warmup_ts))
        fake.latency = args.latency
        if not args.unheard:
            posted = [slack_builders.message_event(fake, channel, ts) for ts in messages]
            began = time.perf_counter()
            await send_all(sender, posted, args.concurrency)
            deadline = time.monotonic() + args.timeout
            while time.monotonic() < deadline and heard < args.events:
                heard = await counter.heard()
                await asyncio.sleep(0.02)
            heard_in = time.perf_counter() - began
        fake.calls.clear()
        refused_before = len(getattr(getattr(fake, "tiers", None), "refused", []))

        reactions = [
            slack_events.added(fake, channel, ts, user=USERS[n % 2])
            for n, ts in enumerate(messages)
        ]
        cpu_before, own_before = cpu_seconds(server.pid), time.process_time()
        started = time.perf_counter()
        acks, statuses = await send_all(sender, reactions, args.concurrency)
        acked = time.perf_counter() - started

        deadline = time.monotonic() + args.timeout
        count, stored_at = 0, None
        while time.monotonic() < deadline:
            count = await counter.entries()
            if count >= args.events and stored_at is None:
                stored_at = time.perf_counter() - started
            confirmed = len(fake.calls_to("reactions.add"))
            if count >= args.events and confirmed >= args.events:
                break
            await asyncio.sleep(0.05)
        processed = time.perf_counter() - started
        bot_cpu = cpu_seconds(server.pid) - cpu_before
        own_cpu = time.process_time() - own_before
        confirmed = len(fake.calls_to("reactions.add"))
        refused = len(getattr(getattr(fake, "tiers", None), "refused", [])) - refused_before
    finally:
        await counter.close()
        await sender.close()
        server.terminate()
        await asyncio.to_thread(server.wait, 60)
        await fake.stop()
        shutil.rmtree(workdir, ignore_errors=True)

    calls = Counter(c.method for c in fake.calls)
    db = "PostgreSQL" if database_url.startswith("postgresql") else "SQLite"
    kind = "unheard (from before the bot joined)" if args.unheard else f"heard ({heard} kept)"
    print(
        f"timeline benchmark: {args.events} captures of {kind} messages, {db}, Slack latency "
        f"{args.latency * 1000:.0f} ms, {args.concurrency} requests in flight, {tiers}"
    )
    print(f"machine: {os.cpu_count()} CPUs, Python {platform.python_version()}")
    if heard:
        print(
            f"messages kept/s:    {heard / heard_in:8.1f}  ({heard} message events, no Slack call)"
        )
    print(
        f"Slack calls/capture: {sum(calls.values()) / args.events:8.3f}  ("
        + ", ".join(f"{m} {n}" for m, n in sorted(calls.items()))
        + f"; {refused} answered 429 by the tiers)"
    )
    print(f"HTTP statuses:      {dict(statuses)}")
    print(f"acked events/s:     {args.events / acked:8.1f}  (all acked in {acked:.2f} s)")
    if stored_at is not None:
        print(
            f"stored captures/s:  {args.events / stored_at:8.1f}  (all stored in {stored_at:.2f} s)"
        )
    print(
        f"captures/s e2e:     {args.events / processed:8.1f}  "
        f"(stored and confirmed in {processed:.2f} s)"
    )
    print(
        "ack latency ms:     "
        f"p50 {percentile(acks, 50) * 1000:.1f}  p90 {percentile(acks, 90) * 1000:.1f}  "
        f"p99 {percentile(acks, 99) * 1000:.1f}  max {max(acks) * 1000:.1f}  "
        f"(mean {statistics.fmean(acks) * 1000:.1f})"
    )
    print(
        f"CPU busy:           bot {bot_cpu:.1f} s, this process (fake Slack + sender) "
        f"{own_cpu:.1f} s, over {processed:.1f} s; load average {os.getloadavg()[0]:.1f}"
    )
    print(f"entries stored:     {count} (expected {args.events})")
    print(f"confirmations:      {confirmed}")
    ok = count == args.events and confirmed == args.events and statuses == {200: args.events}
    print("result:             " + ("OK" if ok else "FAILED"))
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--latency", type=float, default=0.05, help="fake Slack latency, s")
    parser.add_argument("--concurrency", type=int, default=50, help="requests in flight")
    parser.add_argument("--timeout", type=float, default=300, help="wait for entries, s")
    parser.add_argument(
        "--database-url", help="default: a fresh SQLite file; a PostgreSQL database is reset"
    )
    parser.add_argument(
        "--tier-scale",
        type=float,
        help="the fake enforces Slack's rate tiers, windows times this (1: Slack's own)",
    )
    parser.add_argument(
        "--unheard", action="store_true", help="messages predate the bot: each capture reads Slack"
    )
    return asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())

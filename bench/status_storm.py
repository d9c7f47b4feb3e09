"""The storm half of bench/status_page.py: the bot as `serve` runs it (uvicorn and the app's
lifespan, with its scheduler, in one process) declares N P1s at once while a crowd in another
process asks /status R times a second; printed: the L1 page lateness (sent minus due), and what
the crowd got.

    python -m bench.status_page --storm 100 --flood 20     # runs this, without then with a crowd
    python -m bench.status_storm URL RATE                  # the crowd (started by the storm)

The crowd is an open loop (each request sent on time, answered or not: people reloading, not
a fixed number of clients waiting on each other), stops on SIGTERM, when its parent is gone, or
after FLOOD_MAX seconds, and prints a JSON line of what it got. The lateness is read through an
engine of the benchmark's own, since the crowd may hold every connection of the bot's pool.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import uvicorn  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from app import wiring  # noqa: E402
from app.config.policy_loader import load_policy  # noqa: E402
from app.context import BotContext  # noqa: E402
from app.domain.escalation import PAGE  # noqa: E402
from app.services.declare import DeclareRequest, declare_with_result  # noqa: E402
from app.services.setup import set_up  # noqa: E402
from app.store.db import make_engine  # noqa: E402
from app.store.models import ScheduledStep  # noqa: E402
from app.web import create_web_app  # noqa: E402
from bench.common import fake_slack, free_port, percentile  # noqa: E402
from bench.status_page import fill, make_settings  # noqa: E402

WAIT = 120  # seconds the storm's pages are waited for, at most
FLOOD_MAX = 900  # seconds a crowd runs at most
MAX_IN_FLIGHT = 500  # the crowd's connections at most


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
        "bench.status_storm",
        f"{base}/status",
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


if __name__ == "__main__":
    asyncio.run(flood(sys.argv[1], float(sys.argv[2])))

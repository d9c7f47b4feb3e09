"""Shared pieces of the benchmarks: the fake Slack, a bot in its own process, percentiles."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

from app.sandbox.fakeslack import FakeSlack

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "xoxb-bench-token"
SECRET = "bench-signing-secret"
USERS = ("UREPORTER", "UOTHER", "UONCALL", "ULEAD", "UCTO", "UCEO")
POLICY = ROOT / "bench" / "policy.yml"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))
    return ordered[index]


def summary_ms(values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return (
        f"p50 {percentile(ms, 50):7.2f} ms  p99 {percentile(ms, 99):7.2f} ms  "
        f"max {max(ms):7.2f} ms  mean {statistics.fmean(ms):7.2f} ms"
    )


@contextlib.asynccontextmanager
async def fake_slack(latency: float) -> AsyncIterator[FakeSlack]:
    fake = FakeSlack(token=TOKEN, latency=latency)
    for user in USERS:
        fake.add_user(user, name=user.lower(), email=f"{user.lower()}@example.com")
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()


@contextlib.asynccontextmanager
async def process(argv: list[str], env: dict[str, str], port: int) -> AsyncIterator[int]:
    """Run a server process until /health (or any answer on the port) responds; yield its pid."""
    proc = await asyncio.create_subprocess_exec(
        *argv,
        env={**os.environ, **env},
        cwd=tempfile.mkdtemp(prefix="bench-"),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with httpx.AsyncClient() as http:
            for _ in range(400):
                try:
                    await http.get(f"http://127.0.0.1:{port}/health")
                    break
                except httpx.TransportError:
                    if proc.returncode is not None:
                        raise RuntimeError((await proc.stderr.read()).decode()) from None
                    await asyncio.sleep(0.05)
        yield proc.pid
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(proc.wait(), 30)
        if proc.returncode is None:
            proc.kill()


def bot_env(fake: Any, port: int, database_url: str) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": fake.base_url,
        "DATABASE_URL": database_url,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
        "POLICY_FILE": str(POLICY),
    }


def bot_argv() -> list[str]:
    return [sys.executable, "-m", "app", "serve"]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


async def timed(
    concurrency: int, count: int, send: Callable[[int], Awaitable[httpx.Response]]
) -> tuple[list[float], float]:
    """Send `count` requests, `concurrency` at a time; return latencies and the wall time."""
    latencies: list[float] = []
    queue = iter(range(count))

    async def worker() -> None:
        for n in queue:
            started = time.perf_counter()
            response = await send(n)
            latencies.append(time.perf_counter() - started)
            if response.status_code != 200:
                raise RuntimeError(f"request {n}: HTTP {response.status_code} {response.text}")

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, time.perf_counter() - started

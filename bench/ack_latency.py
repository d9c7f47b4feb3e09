"""Ack latency of the bot against the floor of its own stack.

Sends signed `/incident declare` commands and `reaction_added` events over HTTP, at concurrency 1
and 20, to `incident-bot serve` and to a bare Bolt app that only acks (bench/floor_app.py), both
in their own processes, with the fake Slack answering after `--latency` seconds. Prints p50/p99
of the time to the HTTP answer for each, and their ratio.

    python -m bench.ack_latency [--count 2000] [--latency 0.05] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from urllib.parse import urlencode

import httpx
from slack_sdk.signature import SignatureVerifier

from app.sandbox.fakeslack import FakeSlack
from bench.common import (
    SECRET,
    bot_argv,
    bot_env,
    free_port,
    percentile,
    process,
    summary_ms,
    timed,
)

CONCURRENCY = (1, 20)


class RemoteFake:
    """The fake Slack running in its own process (bench/fake_process.py)."""

    def __init__(self, base_url: str, control: str) -> None:
        self.base_url = base_url
        self.control = control
        self.response_url_base = base_url.replace("/api/", "/response")
        self._triggers: list[str] = []

    async def refill(self, http: httpx.AsyncClient, count: int) -> None:
        self._triggers += (await http.get(f"{self.control}/triggers", params={"n": count})).json()

    def new_trigger_id(self) -> str:
        return self._triggers.pop()

    async def channel(self, http: httpx.AsyncClient, name: str, messages: int) -> dict:
        body = {"name": name, "members": ["UREPORTER", "UOTHER"], "messages": messages}
        return (await http.post(f"{self.control}/channel", json=body)).json()


@contextlib.asynccontextmanager
async def remote_fake(latency: float) -> AsyncIterator[RemoteFake]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.fake_process",
        str(latency),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        assert proc.stdout is not None
        base_url, control = (await proc.stdout.readline()).decode().split()
        yield RemoteFake(base_url, control)
    finally:
        proc.kill()
        await proc.wait()


class Sender:
    def __init__(self, http: httpx.AsyncClient, port: int, fake: RemoteFake | FakeSlack) -> None:
        self.http = http
        self.url = f"http://127.0.0.1:{port}/slack/events"
        self.fake = fake
        self.verifier = SignatureVerifier(SECRET)

    async def _post(self, body: str, content_type: str) -> httpx.Response:
        ts = str(int(time.time()))
        return await self.http.post(
            self.url,
            content=body,
            headers={
                "content-type": content_type,
                "x-slack-request-timestamp": ts,
                "x-slack-signature": self.verifier.generate_signature(timestamp=ts, body=body),
            },
        )

    async def command(self, text: str, n: int) -> httpx.Response:
        body = urlencode(
            {
                "command": "/incident",
                "text": text,
                "team_id": "T0001",
                "user_id": "UREPORTER",
                "channel_id": "CBENCH",
                "trigger_id": "unused",
                "response_url": f"{self.fake.response_url_base}/{n}",
            }
        )
        return await self._post(body, "application/x-www-form-urlencoded")

    async def declare(self, n: int) -> httpx.Response:
        body = urlencode(
            {
                "command": "/incident",
                "text": f"declare Bench incident {n}",
                "team_id": "T0001",
                "user_id": "UREPORTER",
                "channel_id": "CBENCH",
                "trigger_id": self.fake.new_trigger_id(),
                "response_url": f"{self.fake.response_url_base}/{n}",
            }
        )
        return await self._post(body, "application/x-www-form-urlencoded")

    async def reaction(self, n: int, channel: str, ts: str) -> httpx.Response:
        body = json.dumps(
            {
                "type": "event_callback",
                "team_id": "T0001",
                "api_app_id": "A0001",
                "event_id": f"EvBENCH{n:08d}",
                "event_time": int(time.time()),
                "event": {
                    "type": "reaction_added",
                    "user": "UOTHER",
                    "reaction": "pushpin",
                    "item": {"type": "message", "channel": channel, "ts": ts},
                    "event_ts": f"{time.time():.6f}",
                },
            }
        )
        return await self._post(body, "application/json")


async def measure(
    name: str,
    argv: list[str],
    env: dict[str, str],
    port: int,
    fake: RemoteFake,
    count: int,
    only: list[str],
) -> dict[str, list[float]]:
    results: dict[str, list[float]] = {}
    async with (
        process(argv, env, port),
        httpx.AsyncClient(
            limits=httpx.Limits(max_connections=max(CONCURRENCY)), timeout=30
        ) as http,
    ):
        seeded = await fake.channel(http, f"bench-{name}", messages=200)
        channel, message_ts = seeded["channel"], seeded["messages"]
        await fake.refill(http, 40 + count * len(CONCURRENCY))
        sender = Sender(http, port, fake)
        kinds: dict[str, Callable[[int], Awaitable[httpx.Response]]] = {
            "declare": sender.declare,
            "reaction": lambda n: sender.reaction(n, channel, message_ts[n % len(message_ts)]),
        }
        for kind, send in kinds.items():
            if kind not in only:
                continue
            await timed(4, 40, send)  # warm-up: first-request work, connection pools
            for concurrency in CONCURRENCY:
                latencies, wall = await timed(concurrency, count, send)
                results[f"{kind} c={concurrency}"] = latencies
                print(
                    f"{name:6} {kind:8} c={concurrency:<3} {summary_ms(latencies)}  "
                    f"{count / wall:7.0f} req/s",
                    flush=True,
                )
    return results


async def main(count: int, latency: float, database_url: str | None, only: list[str]) -> None:
    db = database_url or f"sqlite:///{tempfile.mkdtemp(prefix='bench-db-')}/bench.db"
    async with remote_fake(latency) as fake:
        bot_port, floor_port = free_port(), free_port()
        bot = await measure(
            "bot", bot_argv(), bot_env(fake, bot_port, db), bot_port, fake, count, only
        )
        floor = await measure(
            "floor",
            [sys.executable, "-m", "bench.floor_app", str(floor_port), fake.base_url],
            bot_env(fake, floor_port, db),
            floor_port,
            fake,
            count,
            only,
        )
    print("\nratio bot/floor (p50, p99):")
    for key in bot:
        p50 = percentile(bot[key], 50) / percentile(floor[key], 50)
        p99 = percentile(bot[key], 99) / percentile(floor[key], 99)
        print(f"  {key:14} p50 {p50:5.2f}x  p99 {p99:5.2f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--kinds", nargs="+", default=["declare", "reaction"])
    args = parser.parse_args()
    asyncio.run(main(args.count, args.latency, args.database_url, args.kinds))

"""Fault benchmark: SIGKILL the bot mid-declare and mid-page, restart it, count what came late,
what was lost and what was doubled.

`incident-bot serve` runs in its own process against the fake Slack (in this process, every
answer `--latency` late, so a kill lands while the bot waits for an answer Slack already acted
on). Each round declares a P1 through the real declare modal, kills the process with SIGKILL
the moment a chosen call reaches Slack, starts a new process at once, and waits until that
incident's L1 page has reached the on-call engineer (by DM) and its setup is complete. The kill
points alternate between the setup's calls (mid-declare) and the page's messages (mid-page).

Figures: per kill point, the lateness of the L1 page after the kill (its DM's arrival minus
the declaration, and minus the kill), pages lost (an L1 page that never arrived), pages
doubled (a step message Slack holds twice), and channels doubled.

    python -m bench.kills [--kills 20] [--latency 0.2] [--database-url postgresql://...]
                          [--env WORKER_HEARTBEAT_SECONDS=1 ...]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import select

from app.config.settings import normalize_database_url
from app.sandbox.fakeslack import FakeSlack
from app.sandbox.fakeslack.server import Call
from app.sandbox.sender import SlackSender, modal_values
from app.store.db import make_engine, make_sessionmaker
from app.store.models import Incident
from bench.common import SECRET, bot_argv, bot_env, fake_slack, free_port
from tests.conftest import reset_schema

Match = Callable[[Call], bool]


def _tag(call: Call) -> dict[str, Any]:
    metadata = call.args.get("metadata")
    return metadata if isinstance(metadata, dict) else {}


def _page(recipient: str) -> Match:
    def match(call: Call) -> bool:
        payload = _tag(call).get("event_payload") or {}
        return (
            call.method == "chat.postMessage"
            and _tag(call).get("event_type") == "incident_step"
            and payload.get("recipient") == recipient
        )

    return match


def _method(method: str, event_type: str | None = None) -> Match:
    return lambda c: (
        c.method == method and (event_type is None or _tag(c).get("event_type") == event_type)
    )


# (name, which call the process dies waiting for), taken in turn.
KILL_POINTS: list[tuple[str, Match]] = [
    ("declare: conversations.create", _method("conversations.create")),
    ("page: DM to L1", _page("UONCALL")),
    ("declare: summary", _method("chat.postMessage", "incident_summary")),
    ("page: channel message", _page("channel")),
    ("declare: pins.add", _method("pins.add")),
]


@dataclass
class Round:
    point: str
    incident: str = ""
    declared_at: float = 0.0  # wall clock
    killed_at: float = 0.0
    paged_at: float | None = None  # L1's DM arrived
    complete_at: float | None = None  # ... and L1's page is in the incident channel too


class Bot:
    """`incident-bot serve` in its own process, restartable."""

    def __init__(self, fake: FakeSlack, database_url: str, env: dict[str, str]) -> None:
        self.fake, self.database_url, self.extra = fake, database_url, env
        self.proc: asyncio.subprocess.Process | None = None
        self.port = 0

    async def start(self) -> None:
        self.port = free_port()
        env = {**os.environ, **bot_env(self.fake, self.port, self.database_url), **self.extra}
        self.proc = await asyncio.create_subprocess_exec(
            *bot_argv(),
            env=env,
            cwd=tempfile.mkdtemp(prefix="bench-kills-"),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        async with httpx.AsyncClient() as http:
            for _ in range(600):
                try:
                    await http.get(f"http://127.0.0.1:{self.port}/health")
                    return
                except httpx.TransportError:
                    if self.proc.returncode is not None:
                        raise RuntimeError("the bot exited at start") from None
                    await asyncio.sleep(0.02)
        raise RuntimeError("the bot did not answer /health")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.proc.wait(), 30)
            if self.proc.returncode is None:
                self.proc.kill()
        if self.proc is not None:
            await self.proc.wait()


def arrived(fake: FakeSlack, start: int, recipient: str, public_id: str) -> Call | None:
    """The first step message to `recipient` about this incident that Slack accepted."""
    for call in fake.calls[start:]:
        if (
            call.args
            and _page(recipient)(call)
            and call.status == 200
            and public_id in str(call.args.get("text"))
        ):
            return call
    return None


def wall(call: Call) -> float:
    """A call's arrival on the wall clock (Call.at is monotonic)."""
    return time.time() - (time.monotonic() - call.at)


async def wait_for(fake: FakeSlack, start: int, match: Match, seconds: float) -> Call | None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for call in fake.calls[start:]:
            if call.args and match(call):
                return call
        await asyncio.sleep(0.002)
    return None


@contextlib.asynccontextmanager
async def database(url: str | None) -> AsyncIterator[str]:
    raw = url or f"sqlite:///{tempfile.mkdtemp(prefix='bench-kills-db-')}/kills.db"
    normalized = normalize_database_url(raw)
    await asyncio.to_thread(reset_schema, normalized)
    yield normalized


async def incident_state(sessions: Any, public_id: str) -> Incident | None:
    async with sessions() as session:
        stmt = select(Incident).where(Incident.public_id == public_id)
        return (await session.execute(stmt)).scalar_one_or_none()


async def one_round(
    n: int, point: str, match: Match, bot: Bot, fake: FakeSlack, sessions: Any, wait: float
) -> Round:
    result = Round(point)
    slack = SlackSender(f"http://127.0.0.1:{bot.port}", SECRET, fake)
    before = len(fake.attempts_to("views.open"))
    await slack.command("declare")
    for _ in range(500):
        if len(fake.attempts_to("views.open")) > before:
            break
        await asyncio.sleep(0.01)
    view = fake.attempts_to("views.open")[-1].response["view"]
    start = len(fake.calls)
    result.declared_at = time.time()
    submission = asyncio.create_task(
        slack.submit(view, modal_values(title=f"Killed {n}", severity="P1"))
    )
    hit = await wait_for(fake, start, match, wait)
    if hit is None:
        raise RuntimeError(f"round {n}: {point} never reached Slack")
    bot.kill()
    result.killed_at = time.time()
    assert bot.proc is not None
    await bot.proc.wait()
    submission.cancel()
    with contextlib.suppress(BaseException):
        await submission
    await slack.close()
    async with sessions() as session:
        found = await session.execute(
            select(Incident.public_id, Incident.started_at).order_by(Incident.id.desc()).limit(1)
        )
        public_id, started_at = found.one()
    result.incident = public_id
    result.declared_at = started_at.timestamp()
    await bot.start()

    # The first page after the kill: L1's DM for this incident (the DM names its id), and the
    # page in the incident channel (sent there, or copied once the channel exists).
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        dm = arrived(fake, start, "UONCALL", public_id)
        channel = arrived(fake, start, "channel", public_id)
        incident = await incident_state(sessions, public_id)
        if dm and channel and incident is not None and incident.setup_complete:
            result.paged_at = wall(dm)
            result.complete_at = max(wall(dm), wall(channel))
            break
        await asyncio.sleep(0.05)
    return result


def doubled_pages(fake: FakeSlack) -> int:
    """Step messages (pages) Slack holds more than once."""
    seen: Counter[tuple[Any, Any]] = Counter()
    for messages in fake.messages.values():
        for message in messages:
            metadata = message.get("metadata") or {}
            if metadata.get("event_type") == "incident_step":
                payload = metadata["event_payload"]
                seen[(payload["step"], payload["recipient"])] += 1
    return sum(count - 1 for count in seen.values() if count > 1)


async def orphan_channels(fake: FakeSlack, sessions: Any) -> int:
    """Incident channels in Slack that no incident owns (a second channel for one incident)."""
    async with sessions() as session:
        owned = set(
            (
                await session.execute(
                    select(Incident.channel_id).where(Incident.channel_id.is_not(None))
                )
            ).scalars()
        )
    return sum(
        1 for c in fake.channels.values() if c.name.startswith("incident-") and c.id not in owned
    )


async def main(
    kills: int, latency: float, database_url: str | None, wait: float, env: dict[str, str]
) -> int:
    async with database(database_url) as url, fake_slack(latency) as fake:
        fake.add_channel("incidents", members=["UOTHER"])
        announce = next(c.id for c in fake.channels.values() if c.name == "incidents")
        engine = make_engine(url)
        sessions = make_sessionmaker(engine)
        bot = Bot(fake, url, {"INCIDENTS_CHANNEL": announce, **env})
        await bot.start()
        rounds: list[Round] = []
        started = time.perf_counter()
        try:
            for n in range(kills):
                point, match = KILL_POINTS[n % len(KILL_POINTS)]
                rounds.append(await one_round(n, point, match, bot, fake, sessions, wait))
        finally:
            await bot.stop()
            extra_channels = await orphan_channels(fake, sessions)
            await engine.dispose()
        seconds = time.perf_counter() - started
        doubled = doubled_pages(fake)

    lost = [r for r in rounds if r.complete_at is None]
    settings = " ".join(f"{k}={v}" for k, v in env.items()) or "default settings"
    print(
        f"{kills} SIGKILLs, fake Slack latency {latency * 1000:.0f} ms, {settings}, {seconds:.0f} s"
    )
    report(rounds)
    print(
        f"pages lost: {len(lost)}   pages doubled: {doubled}   channels doubled: {extra_channels}"
    )
    return 1 if lost or doubled or extra_channels else 0


def report(rounds: list[Round]) -> None:
    """Per kill point: how late L1 was paged (its DM) and complete (DM and channel message),
    counted from the declaration and from the kill."""
    print(f"{'':38}{'L1 paged (DM)':>24}{'L1 page complete':>24}")
    heads = ("late by", "after kill", "late by", "after kill")
    print(f"{'kill point':32}{'kills':>6}" + "".join(f"{h:>12}" for h in heads))
    done = [r for r in rounds if r.paged_at is not None and r.complete_at is not None]
    for point, _ in KILL_POINTS:
        mine = [r for r in done if r.point == point]
        if not mine:
            continue
        paged = [(r.paged_at or 0) - r.declared_at for r in mine]
        paged_after = [(r.paged_at or 0) - r.killed_at for r in mine]
        complete = [(r.complete_at or 0) - r.declared_at for r in mine]
        complete_after = [(r.complete_at or 0) - r.killed_at for r in mine]
        count = len([r for r in rounds if r.point == point])
        print(
            f"{point:32}{count:6d}{max(paged):11.2f}s{max(paged_after):11.2f}s"
            f"{max(complete):11.2f}s{max(complete_after):11.2f}s"
        )
    if done:
        worst = max(done, key=lambda r: (r.paged_at or 0) - r.declared_at)
        print(
            "worst lateness of the first page after a kill (L1's DM): "
            f"{(worst.paged_at or 0) - worst.declared_at:.2f} s ({worst.point})"
        )
        worst = max(done, key=lambda r: (r.complete_at or 0) - r.declared_at)
        print(
            "worst lateness of a complete L1 page (DM and channel message): "
            f"{(worst.complete_at or 0) - worst.declared_at:.2f} s ({worst.point})"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--latency", type=float, default=0.2, help="seconds per Slack answer")
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    parser.add_argument("--timeout", type=float, default=60.0, help="per wait, seconds")
    parser.add_argument("--env", action="append", default=[], help="KEY=VALUE for the bot")
    args = parser.parse_args()
    env = dict(item.split("=", 1) for item in args.env)
    sys.exit(asyncio.run(main(args.kills, args.latency, args.database_url, args.timeout, env)))

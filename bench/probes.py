"""Probes beside the pages: does a pass of slow probes delay the pages?

    python -m bench.probes                       # 200 P1s; 0, then 40 probes answering in 4 s
    python -m bench.probes --count 100 --probes 80 --slow 4.5

The real bot in one process (SQLite, the real scheduler with its step tick and its probe job),
the fake Slack (tiers paced 1000 times faster, as in the tests). `--count` P1s are declared at
once while `--probes` HTTP probes (interval 1 s, `max_latency` 5 s) check a local server that
answers after `--slow` seconds: every probe pass keeps that many checks in flight. Printed: the
L1 page lateness (sent minus due) with and without the probes, and how many checks ran.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import tempfile
import time
from pathlib import Path

from aiohttp import web
from sqlalchemy import func, select

from app import wiring
from app.config.policy_loader import load_policy
from app.config.settings import Settings
from app.domain.escalation import PAGE
from app.scheduler import StepScheduler
from app.services.declare import DeclareRequest, declare_with_result
from app.services.setup import set_up
from app.store.migrate import upgrade
from app.store.models import ScheduledStep
from app.store.probe_model import ProbeResult
from bench.common import SECRET, TOKEN, fake_slack, free_port, percentile

POLICY = Path(__file__).with_name("policy.yml")


async def slow_server(delay: float) -> tuple[web.AppRunner, str]:
    async def health(_request: web.Request) -> web.Response:
        await asyncio.sleep(delay)
        return web.json_response({"status": "ok"})

    app = web.Application()
    app.router.add_get("/health", health)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, f"http://127.0.0.1:{port}/health"


def policy_file(folder: Path, probes: int, url: str) -> Path:
    lines = [
        f'  - {{name: p{n}, kind: http, url: "{url}", interval: 1s, max_latency: 5s, '
        "failures: 3, severity: P2}"
        for n in range(probes)
    ]
    path = folder / "policy.yml"
    path.write_text(POLICY.read_text() + ("\nprobes:\n" + "\n".join(lines) + "\n" if lines else ""))
    return path


async def run(count: int, probes: int, slow: float) -> None:
    runner, url = await slow_server(slow)
    async with fake_slack(0.02) as slack:
        with tempfile.TemporaryDirectory() as folder:
            db = f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
            await asyncio.to_thread(upgrade, db)
            settings = Settings(
                _env_file=None,  # type: ignore[call-arg]
                slack_bot_token=TOKEN,
                slack_signing_secret=SECRET,
                slack_api_url=slack.base_url,
                database_url=db,
                slack_rate_limit_scale=0.001,
            )
            bot = wiring.build(settings, load_policy(policy_file(Path(folder), probes, url)))
            await bot.open_http_session()
            scheduler = StepScheduler(bot, 1.0)
            scheduler.start()
            await asyncio.sleep(2 * slow)  # the probe passes are running, checks in flight
            started = time.monotonic()
            for n in range(count):
                declared = await declare_with_result(
                    bot, DeclareRequest(title=f"Storm {n}", reporter_id="UREPORTER", severity="P1")
                )
                bot.tasks.spawn(set_up(bot, declared.incident.id), name=f"setup {n}")
            sent = 0
            while sent < count and time.monotonic() - started < 300:
                await asyncio.sleep(0.2)
                async with bot.sessions() as session:
                    sent = (
                        await session.execute(
                            select(func.count()).where(
                                ScheduledStep.kind == PAGE,
                                ScheduledStep.level == "L1",
                                ScheduledStep.status == "sent",
                            )
                        )
                    ).scalar_one()
            async with bot.sessions() as session:
                pages = (
                    await session.execute(
                        select(ScheduledStep).where(
                            ScheduledStep.kind == PAGE, ScheduledStep.level == "L1"
                        )
                    )
                ).scalars()
                late = [(p.sent_at - p.due_at).total_seconds() for p in pages if p.sent_at]
                checks = (
                    await session.execute(select(func.count()).select_from(ProbeResult))
                ).scalar_one()
            await scheduler.stop()
            with contextlib.suppress(TimeoutError):
                await bot.tasks.drain()
            await bot.close()
    await runner.cleanup()
    print(
        f"{count} P1s, {probes} probes answering in {slow:.1f} s: L1 page lateness "
        f"p50 {percentile(late, 50):.3f} s  p99 {percentile(late, 99):.3f} s  "
        f"max {max(late):.3f} s ({len(late)} sent); {checks} probe checks recorded"
    )


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--probes", type=int, default=40)
    parser.add_argument("--slow", type=float, default=4.0)
    args = parser.parse_args()
    await run(args.count, 0, args.slow)
    await run(args.count, args.probes, args.slow)


if __name__ == "__main__":
    asyncio.run(main())

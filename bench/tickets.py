"""Tickets: what one incident costs in tracker calls, and whether a slow tracker delays pages.

    python -m bench.tickets                      # 200 P1s, Jira answering at once, then in 5 s
    python -m bench.tickets --count 100 --slow 10

1. One P1's life (declare, severity P1 -> P2, resolve, the post-mortem upload) against the fake
   Jira Cloud: the tracker calls, by route, and the ticket steps it took.
2. `--count` P1s declared at once (an alert storm's worth), the real scheduler running, with
   the fake Jira answering at once, then after `--slow` seconds per request (a tracker that
   hangs close to the client's 10 s timeout): the lateness of every L1 page, and how long until
   every ticket was opened. Pages must not wait for the tracker.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import tempfile
import time
from collections import Counter
from pathlib import Path

from sqlalchemy import func, select

from app import wiring
from app.config.policy_loader import load_policy
from app.config.settings import Settings
from app.context import BotContext
from app.domain.escalation import PAGE
from app.sandbox.trackers.jira import FakeJira
from app.services import lifecycle, severity
from app.services.declare import DeclareRequest, declare_with_result
from app.services.engine import run_due_steps
from app.services.lifecycle import Resolution
from app.services.setup import set_up
from app.store.migrate import upgrade
from app.store.models import ScheduledStep, TicketRecord
from bench.common import SECRET, TOKEN, fake_slack, percentile

POLICY = Path(__file__).with_name("policy.yml")


def policy_file(folder: Path, tickets: bool) -> Path:
    text = POLICY.read_text()
    path = folder / "policy.yml"
    path.write_text(text + ("\ntickets: {provider: jira, project: OPS}\n" if tickets else ""))
    return path


async def bot_for(
    folder: Path, slack_url: str, jira: FakeJira, *, tickets: bool = True
) -> BotContext:
    url = f"sqlite+aiosqlite:///{folder / 'bench.db'}"
    await asyncio.to_thread(upgrade, url)
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        slack_bot_token=TOKEN,
        slack_signing_secret=SECRET,
        slack_api_url=slack_url,
        database_url=url,
        escalation_tick_seconds=0,
        jira_url=jira.base_url,
        jira_email=jira.email,
        jira_api_token=jira.token,
        # Slack's tiers are not what this measures: paced 1000 times faster, as in the tests.
        slack_rate_limit_scale=0.001,
    )
    return wiring.build(settings, load_policy(policy_file(folder, tickets)))


async def drain(bot: BotContext, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        report = await run_due_steps(bot)
        if not (report.sent or report.deferred or report.retried):
            async with bot.sessions() as session:
                waiting = (
                    await session.execute(
                        select(func.count()).where(ScheduledStep.status == "pending")
                    )
                ).scalar_one()
            due_soon = waiting and await _due_within(bot, 2.0)
            if not due_soon:
                return
        await asyncio.sleep(0.05)


async def _due_within(bot: BotContext, seconds: float) -> bool:
    from datetime import timedelta

    async with bot.sessions() as session:
        soon = bot.clock.now() + timedelta(seconds=seconds)
        stmt = select(func.count()).where(
            ScheduledStep.status == "pending", ScheduledStep.next_attempt_at <= soon
        )
        return bool((await session.execute(stmt)).scalar_one())


async def one_life() -> None:
    async with fake_slack(0.0) as slack:
        jira = FakeJira("cloud")
        jira.seed_project("OPS")
        await jira.start()
        with tempfile.TemporaryDirectory() as folder:
            bot = await bot_for(Path(folder), slack.base_url, jira)
            declared = await declare_with_result(
                bot, DeclareRequest(title="Checkout fails", reporter_id="UREPORTER", severity="P1")
            )
            incident = declared.incident
            await set_up(bot, incident.id)
            await drain(bot, 10)
            after_declare = len(jira.requests)
            await severity.change_severity(bot, incident.id, "P2", "UREPORTER")
            await drain(bot, 10)
            after_severity = len(jira.requests)
            outcome = await lifecycle.resolve(
                bot, incident.id, Resolution("Rolled back", data_loss=False), "UREPORTER"
            )
            await lifecycle.resolved_published(bot, outcome.incident)
            await drain(bot, 10)
            routes = Counter(call.route for call in jira.requests)
            async with bot.sessions() as session:
                steps = (
                    await session.execute(
                        select(func.count()).where(ScheduledStep.kind == "ticket")
                    )
                ).scalar_one()
            print("one P1's life against Jira Cloud:")
            print(
                f"  declare: {after_declare} calls; severity change: "
                f"{after_severity - after_declare}; resolve + post-mortem: "
                f"{len(jira.requests) - after_severity}; ticket steps: {steps}"
            )
            for route, count in sorted(routes.items()):
                print(f"    {count:3d}  {route}")
            await bot.close()
        await jira.stop()


async def storm(count: int, slow: float, *, tickets: bool = True) -> None:
    async with fake_slack(0.02) as slack:
        jira = FakeJira("cloud")
        jira.seed_project("OPS")
        jira.latency = slow
        await jira.start()
        with tempfile.TemporaryDirectory() as folder:
            bot = await bot_for(Path(folder), slack.base_url, jira, tickets=tickets)
            await bot.open_http_session()
            started = time.monotonic()
            for n in range(count):
                declared = await declare_with_result(
                    bot,
                    DeclareRequest(title=f"Storm {n}", reporter_id="UREPORTER", severity="P1"),
                )
                bot.tasks.spawn(set_up(bot, declared.incident.id), name=f"setup {n}")
            runner = asyncio.create_task(drain(bot, 600))
            pages_done: float | None = None
            while not runner.done():
                await asyncio.sleep(0.1)
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
                    opened = (
                        await session.execute(
                            select(func.count()).where(TicketRecord.key.is_not(None))
                        )
                    ).scalar_one()
                if pages_done is None and sent >= count:
                    pages_done = time.monotonic() - started
                if sent >= count and (opened >= count or not tickets):
                    break
            tickets_done = time.monotonic() - started
            runner.cancel()
            async with bot.sessions() as session:
                pages = (
                    await session.execute(
                        select(ScheduledStep).where(
                            ScheduledStep.kind == PAGE, ScheduledStep.level == "L1"
                        )
                    )
                ).scalars()
                late = [(p.sent_at - p.due_at).total_seconds() for p in pages if p.sent_at]
            what = f"Jira answering in {slow:.1f} s" if tickets else "no tickets"
            print(
                f"{count} P1s, {what}: L1 page lateness "
                f"p50 {percentile(late, 50):.3f} s  p99 {percentile(late, 99):.3f} s  "
                f"max {max(late):.3f} s ({len(late)} sent); every page out after "
                f"{pages_done or float('nan'):.1f} s"
                + (f", every ticket opened after {tickets_done:.1f} s" if tickets else "")
            )
            with contextlib.suppress(TimeoutError):
                await bot.tasks.drain()
            await bot.close()
        await jira.stop()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--slow", type=float, default=5.0)
    args = parser.parse_args()
    await one_life()
    await storm(args.count, 0.0, tickets=False)
    await storm(args.count, 0.0)
    await storm(args.count, args.slow)


if __name__ == "__main__":
    asyncio.run(main())

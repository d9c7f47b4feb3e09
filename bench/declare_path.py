"""The declare critical path: from modal submission to a ready channel.

With the fake Slack answering every call after `--latency` seconds (default 100 ms), submits
the declare modal to the real app and measures the time until the channel is created, the
reporter invited, the summary posted and pinned (and the on-call paged, once escalation is
in). Prints the Slack calls on the path and how many rounds ran one after another.

    python -m bench.declare_path [--runs 20] [--latency 0.1]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections import Counter

from app import wiring
from app.clock import SystemClock
from app.config.policy_loader import load_policy
from app.config.settings import Settings
from app.sandbox.sender import SlackSender, modal_values
from app.store.migrate import upgrade
from bench.common import POLICY, SECRET, TOKEN, fake_slack, summary_ms
from tests.conftest import serve_bot


def rounds(starts: list[float], latency: float) -> int:
    """Calls that start within half a latency of a round's first call ran concurrently."""
    count, round_start = 0, None
    for at in sorted(starts):
        if round_start is None or at - round_start > latency / 2:
            count, round_start = count + 1, at
    return count


async def main(runs: int, latency: float) -> None:
    db = f"sqlite+aiosqlite:///{tempfile.mkdtemp(prefix='bench-db-')}/bench.db"
    await asyncio.to_thread(upgrade, db)
    async with fake_slack(latency) as fake:
        settings = Settings(
            _env_file=None,
            slack_bot_token=TOKEN,
            slack_signing_secret=SECRET,
            slack_api_url=fake.base_url,
            database_url=db,
        )
        bot = wiring.build(settings, load_policy(POLICY), SystemClock())
        async with serve_bot(bot) as url:
            slack = SlackSender(url, SECRET, fake)
            durations, per_run_rounds, methods = [], [], Counter()
            for n in range(runs):
                await slack.command("declare")
                await bot.tasks.drain()
                view = fake.attempts_to("views.open")[-1].response["view"]
                first_call = len(fake.calls)
                started = time.perf_counter()
                await slack.submit(
                    view,
                    modal_values(title=f"Critical path {n}", impacts={"P0": ["outage"]}),
                )
                await bot.tasks.drain()
                durations.append(time.perf_counter() - started)
                path = fake.calls[first_call:]
                assert all(c.ok for c in path), [c.method for c in path if not c.ok]
                methods.update(c.method for c in path)
                per_run_rounds.append(rounds([c.at for c in path], latency))
            await slack.close()
        await bot.close()
    print(f"fake Slack latency {latency * 1000:.0f} ms per call, {runs} declares")
    print(f"submission -> channel ready: {summary_ms(durations)}")
    print(
        f"Slack calls per declare: {sum(methods.values()) / runs:.1f} "
        + ", ".join(f"{m} x{c // runs}" for m, c in sorted(methods.items()))
    )
    print(
        f"rounds one after another: max {max(per_run_rounds)}, "
        f"typical {Counter(per_run_rounds).most_common(1)[0][0]}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--latency", type=float, default=0.1)
    args = parser.parse_args()
    asyncio.run(main(args.runs, args.latency))

"""`incident-bot demo`: the real bot, a fake Slack and a page that plays Slack's client.

One process, one event loop, three servers on 127.0.0.1:

- the fake Slack (app.sandbox's FakeSlack, the test suite's) on a free port: the Web API the
  bot calls, holding the messages and views it posts;
- the real bot (wiring.build, app.web's Starlette app served by uvicorn with app.server's
  settings) on a free port: signed requests, SQLite with its migrations, the real scheduler;
- the page (app.demo.page) on `--port` (3000): what a visitor sees and clicks.

Nothing needs configuring and nothing leaves the machine: the token and signing secret are
made up for the run, and the environment's settings are not read (no DATABASE_URL surprise).
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import signal
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from aiohttp import web

from app import wiring
from app.config.policy_loader import load_policy
from app.config.settings import Settings, normalize_database_url
from app.context import BotContext
from app.demo.client import DemoClient
from app.demo.page import create_page_app
from app.demo.workspace import Workspace, seed
from app.logs import configure
from app.sandbox.fakeslack import FakeSlack
from app.sandbox.sender import SlackSender
from app.server import http_config
from app.store.migrate import upgrade
from app.web import create_web_app

DEMO_POLICY = Path(__file__).resolve().parent / "policy.yml"
# Not read from the environment: every setting the demo needs is given (see `demo_settings`).
ENV_PREFIX = "INCIDENT_BOT_DEMO_UNUSED_"
TICK_SECONDS = 1.0


@dataclass
class Demo:
    url: str  # the page
    bot_url: str
    database_url: str
    fake: FakeSlack
    bot: BotContext
    client: DemoClient
    workspace: Workspace


def demo_settings(fake: FakeSlack, database_url: str, incidents_channel: str) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        _env_prefix=ENV_PREFIX,
        slack_bot_token=fake.token,
        slack_signing_secret=secrets.token_hex(16),
        slack_api_url=fake.base_url,
        database_url=database_url,
        incidents_channel=incidents_channel,
        escalation_tick_seconds=TICK_SECONDS,
        host="127.0.0.1",
        log_level="WARNING",
    )


class _QuietServer(uvicorn.Server):
    """uvicorn without its own signal handlers: the demo stops all three servers together."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@contextlib.asynccontextmanager
async def running_demo(
    *, port: int = 3000, data: Path | None = None, policy_file: Path | None = None
) -> AsyncIterator[Demo]:
    """Start the fake Slack, the bot and the page; stop them on exit. `data` keeps the
    database (a temporary folder otherwise)."""
    policy = load_policy(policy_file or DEMO_POLICY)
    with contextlib.ExitStack() as stack:
        if data is None:
            data = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="incident-demo-")))
        data.mkdir(parents=True, exist_ok=True)
        database_url = normalize_database_url(f"sqlite:///{(data / 'incident-bot.db').resolve()}")
        await asyncio.to_thread(upgrade, database_url)
        fake = FakeSlack(token=f"xoxb-demo-{secrets.token_hex(8)}")
        workspace = seed(fake, policy)
        await fake.start()
        settings = demo_settings(fake, database_url, workspace.incidents)
        bot = wiring.build(settings, policy)
        server = _QuietServer(http_config(create_web_app(bot), settings, "127.0.0.1", 0))
        serving = asyncio.create_task(server.serve(), name="demo bot")
        sender: SlackSender | None = None
        runner: web.AppRunner | None = None
        try:
            while not server.started:
                if serving.done():
                    serving.result()
                    raise RuntimeError("the bot stopped before it started")
                await asyncio.sleep(0.01)
            bot_port = server.servers[0].sockets[0].getsockname()[1]
            bot_url = f"http://127.0.0.1:{bot_port}"
            sender = SlackSender(bot_url, settings.slack_signing_secret, fake)
            client = DemoClient(fake, sender)
            runner = web.AppRunner(create_page_app(client, workspace), access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", port)
            await site.start()
            page_port = runner.addresses[0][1]
            yield Demo(
                url=f"http://127.0.0.1:{page_port}/",
                bot_url=bot_url,
                database_url=database_url,
                fake=fake,
                bot=bot,
                client=client,
                workspace=workspace,
            )
        finally:
            if runner is not None:
                await runner.cleanup()
            server.should_exit = True
            await serving
            if sender is not None:
                await sender.close()
            await bot.close()
            await fake.stop()


async def serve_demo(
    port: int = 3000, data: Path | None = None, policy_file: Path | None = None
) -> None:
    """Run the demo until Ctrl-C or SIGTERM."""
    configure("WARNING")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with running_demo(port=port, data=data, policy_file=policy_file) as demo:
        where = f"database {demo.database_url.split('///', 1)[1]}"
        print(f"incident-bot demo: open {demo.url}  (Ctrl-C stops; {where})", flush=True)
        print(
            "Try: type /incident declare in #general, tick an impact and press Declare; then "
            "switch 'You are' to omar (on-call) and press Acknowledge in his DM.",
            flush=True,
        )
        await stop.wait()

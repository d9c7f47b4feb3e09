"""`incident-bot demo`: the real bot, a fake Slack, a fake Jira and a page that plays Slack's
client.

One process, one event loop, four servers on 127.0.0.1:

- the fake Slack (app.sandbox's FakeSlack, the test suite's) on a free port: the Web API the
  bot calls, holding the messages and views it posts;
- the real bot (wiring.build, app.web's Starlette app served by uvicorn with app.server's
  settings) on a free port: signed requests, SQLite with its migrations, the real scheduler;
- the fake Jira (app.sandbox's FakeJira, Cloud flavour) on a free port: the tracker the
  policy's `tickets:` section opens tickets in (project DEMO), with the demo's people as its
  users so action items get assignees, and a read-only page per issue (/browse/KEY) that the
  ticket links on the summary open;
- the page (app.demo.page) on `--port` (3000): what a visitor sees and clicks.

The bot also serves its dashboard (`/dashboard`: Sign in with Slack against the fake Slack's
OpenID provider, where you pick who you are, or the run's made-up DASHBOARD_TOKEN) and its
public status page (`/status`, the demo policy's services); the page links both.

Nothing needs configuring and nothing leaves the machine: the token, signing secret and Jira
API token are made up for the run, and the environment's settings are not read (no
DATABASE_URL surprise).
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import signal
import socket
import tempfile
from collections.abc import AsyncIterator, Iterable, Iterator
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
from app.domain.policy import Policy
from app.logs import configure
from app.sandbox.fakeslack import FakeSlack
from app.sandbox.sender import SlackSender
from app.sandbox.trackers.jira import FakeJira
from app.server import http_config
from app.store.migrate import upgrade
from app.web import create_web_app

DEMO_POLICY = Path(__file__).resolve().parent / "policy.yml"
# Not read from the environment: every setting the demo needs is given (see `demo_settings`).
ENV_PREFIX = "INCIDENT_BOT_DEMO_UNUSED_"
TICK_SECONDS = 1.0
DEMO_PROJECT = "DEMO"
DEMO_CLIENT_ID = "1000000000.2000000000"  # the demo app's, on the fake Slack's OpenID provider
JIRA_PRIORITIES = ("Highest", "High", "Medium", "Low", "Lowest")  # a new Jira site's


@dataclass
class Demo:
    url: str  # the page
    bot_url: str
    database_url: str
    fake: FakeSlack
    bot: BotContext
    client: DemoClient
    workspace: Workspace
    jira: FakeJira
    dashboard_token: str

    @property
    def dashboard_url(self) -> str:
        """The dashboard, signed in with the run's token (public incidents only)."""
        return f"{self.bot_url}/dashboard?token={self.dashboard_token}"


def demo_settings(
    fake: FakeSlack,
    database_url: str,
    incidents_channel: str,
    jira: FakeJira,
    bot_url: str = "http://127.0.0.1:3001",
) -> Settings:
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
        jira_url=jira.base_url,
        jira_email=jira.email,
        jira_api_token=jira.token,
        public_url=bot_url,
        slack_client_id=DEMO_CLIENT_ID,
        slack_client_secret=secrets.token_hex(16),
        dashboard_token=secrets.token_hex(16),
        status_page=True,
    )


def _free_port() -> int:
    """A port nothing listens on now: the bot's address must be known before it starts (Sign
    in with Slack sends the browser back to it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def seed_jira(jira: FakeJira, policy: Policy, slack: FakeSlack, workspace: Workspace) -> None:
    """Project DEMO, and every project, issue type, priority and team a Jira `tickets:`
    section names (so `--policy` with its own project opens tickets too); the workspace's
    people as Jira users with their Slack e-mails, so an action item's owner is its assignee."""
    tickets, items = policy.tickets, policy.tickets.action_items
    severities = list(tickets.severities.values())
    projects: list[str | None] = [DEMO_PROJECT]
    if tickets.provider == "jira":
        projects += [tickets.project, items.project, *(entry.project for entry in severities)]
    types = ["Task", "Bug", tickets.issue_type, items.issue_type]
    types += [entry.issue_type for entry in severities]
    teams = [tickets.team, *(entry.team for entry in severities)]
    for key in _once(projects):
        jira.seed_project(
            key,
            issue_types=_once(types),
            priorities=_once([*tickets.priority_names(), *JIRA_PRIORITIES]),
            components=_once(teams),
        )
    for person in workspace.people:
        email = slack.users[person.id].email
        if email:
            jira.seed_user(email, display_name=person.name.title())


def _once(names: Iterable[str | None]) -> list[str]:
    return [name for name in dict.fromkeys(names) if name]


class _QuietServer(uvicorn.Server):
    """uvicorn without its own signal handlers: the demo stops its servers together."""

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
        jira = FakeJira("cloud", token=f"demo-{secrets.token_hex(8)}")
        seed_jira(jira, policy, fake, workspace)
        await jira.start()
        bot_port = _free_port()
        bot_url = f"http://127.0.0.1:{bot_port}"
        settings = demo_settings(fake, database_url, workspace.incidents, jira, bot_url)
        assert settings.slack_client_secret is not None and settings.dashboard_token is not None
        fake.openid.register_app(
            DEMO_CLIENT_ID, settings.slack_client_secret, [f"{bot_url}/dashboard/auth/callback"]
        )
        bot = wiring.build(settings, policy)
        server = _QuietServer(http_config(create_web_app(bot), settings, "127.0.0.1", bot_port))
        serving = asyncio.create_task(server.serve(), name="demo bot")
        sender: SlackSender | None = None
        runner: web.AppRunner | None = None
        try:
            while not server.started:
                if serving.done():
                    serving.result()
                    raise RuntimeError("the bot stopped before it started")
                await asyncio.sleep(0.01)
            sender = SlackSender(bot_url, settings.slack_signing_secret, fake)
            client = DemoClient(fake, sender)
            links = {"dashboard": f"{bot_url}/dashboard", "status": f"{bot_url}/status"}
            page = create_page_app(client, workspace, links)
            runner = web.AppRunner(page, access_log=None)
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
                jira=jira,
                dashboard_token=settings.dashboard_token,
            )
        finally:
            if runner is not None:
                await runner.cleanup()
            server.should_exit = True
            await serving
            if sender is not None:
                await sender.close()
            await bot.close()
            await jira.stop()
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
        jira = demo.jira.base_url
        if demo.bot.policy.tickets.provider == "jira":
            print(f"Tickets open in a fake Jira at {jira} (each at {jira}/browse/KEY)", flush=True)
        else:
            print(f"A fake Jira runs at {jira}; this policy opens no tickets there", flush=True)
        print(
            f"Dashboard: {demo.bot_url}/dashboard (Sign in with Slack: pick who you are), or "
            f"{demo.dashboard_url} (public incidents only); status page: {demo.bot_url}/status",
            flush=True,
        )
        print(
            "Try: type /incident declare in #general, tick an impact and press Declare; then "
            "switch 'You are' to omar (on-call) and press Acknowledge in his DM.",
            flush=True,
        )
        await stop.wait()

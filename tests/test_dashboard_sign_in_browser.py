"""Sign in with Slack in a real browser: the dashboard's login page, the fake Slack's "Sign in
as" page, and back on /dashboard signed in; then signed out.

Chromium comes from the distribution (`apt-get install chromium`), driven by Playwright with
that executable (nothing is downloaded), as in test_demo_browser. The bot is the real web app
served by uvicorn on a port chosen before it starts, since PUBLIC_URL (the redirect URL Slack
is told) names it. With UPDATE_DASHBOARD_SCREENSHOTS=1 the login page's screenshot replaces
docs/dashboard-sign-in.png (the README shows it).
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio
import uvicorn
from playwright.async_api import async_playwright, expect

from app import wiring
from app.clock import ManualClock
from app.config.policy_loader import load_policy
from app.context import BotContext
from app.sandbox.fakeslack import FakeSlack
from app.web import create_web_app
from tests.browser import CHROMIUM, needs_chromium
from tests.conftest import clean, make_settings
from tests.dashboard_door import CLIENT_ID, CLIENT_SECRET, DASHBOARD_TOKEN, trust

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOT = ROOT / "docs" / "dashboard-sign-in.png"
pytestmark = needs_chromium
WAIT_MS = 20_000


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest_asyncio.fixture
async def served(
    database_url: str, fake_slack: FakeSlack, clock: ManualClock
) -> AsyncIterator[tuple[str, BotContext]]:
    """The bot's web app at http://127.0.0.1:<port>, that address its PUBLIC_URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    settings = make_settings(
        fake_slack,
        database_url,
        escalation_tick_seconds=0,
        public_url=url,
        slack_client_id=CLIENT_ID,
        slack_client_secret=CLIENT_SECRET,
        dashboard_token=DASHBOARD_TOKEN,
    )
    bot = wiring.build(settings, load_policy(None), clock)
    await clean(bot)
    trust(fake_slack, clock, callback=f"{url}/dashboard/auth/callback")
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
        yield url, bot
    finally:
        server.should_exit = True
        await task
        await bot.tasks.drain()
        await bot.engine.dispose()


async def test_sign_in_with_slack_in_a_browser_lands_on_the_dashboard_signed_in(
    served: tuple[str, BotContext], tmp_path: Path
) -> None:
    url, _bot = served
    screenshot = (
        SCREENSHOT if os.environ.get("UPDATE_DASHBOARD_SCREENSHOTS") else tmp_path / "login.png"
    )
    async with async_playwright() as driver:
        browser = await driver.chromium.launch(executable_path=CHROMIUM)
        try:
            page = await browser.new_page(viewport={"width": 900, "height": 480})
            page.set_default_timeout(WAIT_MS)
            expect.set_options(timeout=WAIT_MS)
            await page.goto(f"{url}/dashboard")
            await expect(page).to_have_url(f"{url}/dashboard/login?next=%2Fdashboard")
            await page.screenshot(path=str(screenshot))

            await page.get_by_role("link", name="Sign in with Slack").click()
            # The fake Slack's page: pick who signs in.
            await expect(page.get_by_role("heading")).to_have_text("Sign in to Fake Team")
            await page.get_by_role("button", name="Sign in as ulead").click()

            await expect(page).to_have_url(f"{url}/dashboard")
            await expect(page.get_by_text("ulead").first).to_be_visible()
            cookies = {c["name"]: c for c in await page.context.cookies()}
            session = cookies["incident_bot_dashboard"]
            assert session["httpOnly"] and session["sameSite"] == "Lax"
            assert "incident_bot_sign_in" not in cookies

            await page.get_by_role("button", name="Sign out").click()
            await expect(page).to_have_url(f"{url}/dashboard/login")
            await page.goto(f"{url}/dashboard")
            await expect(page).to_have_url(f"{url}/dashboard/login?next=%2Fdashboard")
        finally:
            await browser.close()
    assert screenshot.stat().st_size > 0

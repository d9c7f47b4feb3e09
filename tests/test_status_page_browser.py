"""The public status page in a real browser: the services' states and the update a responder
published, as the public sees them (CSP kept: nothing refused), on a desktop and a phone.

Chromium comes from the distribution (`apt-get install chromium`), driven by Playwright with
that executable, as in tests/test_demo_browser.py. With SCREENSHOTS=1 the page's screenshot
replaces docs/screenshots/status.png (the README shows it); an ordinary run leaves the checkout
clean.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.async_api import async_playwright, expect

from app.clock import ManualClock
from app.context import BotContext
from app.sandbox.fakeslack import FakeSlack
from app.sandbox.sender import SlackSender
from tests.browser import CHROMIUM, needs_chromium
from tests.running import command, resolve
from tests.statuspage_helpers import POLICY, PUBLIC_URL, click, declare, statuspage

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOT = ROOT / "docs" / "screenshots" / "status.png"
pytestmark = [
    needs_chromium,
    pytest.mark.policy(str(ROOT / POLICY)),
    pytest.mark.settings(status_page=True, public_url=PUBLIC_URL),
]
WAIT_MS = 20_000


async def publish(
    slack: SlackSender,
    fake: FakeSlack,
    bot: BotContext,
    incident,
    text: str,  # noqa: ANN001
) -> None:
    preview = await statuspage(slack, fake, bot, incident, text)
    answer = await click(slack, fake, bot, preview, "Publish")
    assert answer["text"].startswith(":white_check_mark:"), answer["text"]


async def test_the_status_page_shows_the_services_states_and_the_published_update(
    server: str, slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    # Yesterday: an API incident, published, resolved, closed with a last update.
    clock.advance(-24 * 3600)
    earlier = await declare(
        slack, fake_slack, bot, title="API 5xx", severity="P1", impacts={"P1": ["error_rate"]}
    )
    await publish(slack, fake_slack, bot, earlier, "[api] Some API requests fail with errors.")
    clock.advance(40 * 60)
    await resolve(slack, fake_slack, bot, earlier)
    await publish(slack, fake_slack, bot, earlier, "A faulty release was rolled back; all good.")
    # Today: card payments fail, and the cause is found.
    clock.advance(23 * 3600)
    payments = await declare(
        slack, fake_slack, bot, title="Stripe", severity="P1", impacts={"P1": ["critical_feature"]}
    )
    await publish(
        slack, fake_slack, bot, payments, "Some card payments fail. We are investigating."
    )
    clock.advance(12 * 60)
    await command(slack, bot, "status mitigating", channel=payments.channel_id)
    await publish(
        slack,
        fake_slack,
        bot,
        payments,
        "We found the cause: a certificate expired at our payment provider.\n"
        "A new one is being deployed.",
    )

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = await browser.new_page(viewport={"width": 1000, "height": 900})
            refused: list[str] = []
            page.on("console", lambda m: refused.append(m.text) if "Refused" in m.text else None)
            response = await page.goto(server + "/status")
            assert response is not None and response.status == 200
            await expect(page.locator(".banner h2")).to_have_text("Partial outage", timeout=WAIT_MS)
            payments_row = page.locator('[data-service="payments"]')
            await expect(payments_row).to_contain_text("Partial outage")
            await expect(page.locator('[data-service="api"]')).to_contain_text("Operational")
            current = page.locator("section.active .incident")
            await expect(current).to_have_count(1)
            await expect(current.locator(".update").first).to_contain_text("Identified")
            await expect(current.locator(".update").first).to_contain_text("certificate expired")
            await expect(page.locator("section.history .incident")).to_contain_text(
                "rolled back; all good"
            )
            # The stylesheet applied (same origin, under the CSP), and nothing was refused.
            color = await page.locator(".banner").evaluate(
                "el => getComputedStyle(el).backgroundColor"
            )
            assert color == "rgb(253, 238, 228)", color
            assert refused == []
            if os.environ.get("SCREENSHOTS") == "1":
                SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
                await page.screenshot(path=str(SCREENSHOT), full_page=True)
            # On a phone: no sideways scrolling, the states still readable.
            await page.set_viewport_size({"width": 375, "height": 800})
            await expect(payments_row).to_be_visible()
            overflow = await page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0
        finally:
            await browser.close()

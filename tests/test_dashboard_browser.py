"""The dashboard in a real browser (issue 18): signed in with the static token, the open
incidents (a private one not among them), the last quarter's report with its three SVG charts
drawing the report's numbers, and an incident's page, all under the pages' Content-Security-
Policy (a console without a single refusal: no inline script or style slipped in).

Chromium is the distribution's (`apt-get install chromium`), driven by Playwright's async API
beside the bot's own server fixture, so nothing is downloaded. The quarter is played through
the real flow on the ManualClock. Screenshots are taken every run into a temporary directory;
with SCREENSHOTS=1 they replace docs/screenshots/dashboard*.png (the README shows them), so an
ordinary run leaves the checkout clean.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app.clock import ManualClock
from app.context import BotContext
from app.dashboard.charts import minutes
from app.domain.periods import parse_period
from app.sandbox.fakeslack import FakeSlack
from app.sandbox.sender import SlackSender
from app.services.reports import build_period_report
from tests.browser import CHROMIUM, needs_chromium
from tests.running import click, command, declare, resolve, summary

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "docs" / "screenshots"
pytestmark = [
    needs_chromium,
    pytest.mark.settings(
        dashboard_token="dashboard-token-0123456789abcdef", timezone="Europe/Paris"
    ),
]
TOKEN = "dashboard-token-0123456789abcdef"
WAIT_MS = 20_000
MINUTE = timedelta(minutes=1)
REVIEWS = {week: timedelta(hours=20) for week in range(12) if week not in (3, 8, 10)}
REVIEWS[3] = REVIEWS[8] = timedelta(hours=60)
# Action items: (text, due, done): two done, one open, one overdue on the day of the report.
ACTIONS = {
    0: ("Alert on card decline rate", "2026-07-20", True),
    2: ("Add a second EU checkout region", "2026-09-01", True),
    7: ("Automate the database failover", "2026-11-15", False),
    9: ("Retry refunds with backoff", "2026-12-15", False),
}
PEOPLE = {"UREPORTER": "Sam Patel", "ULEAD": "Maya Chen"}

# (severity, title, minutes to acknowledge, to mitigate, to resolve): one a week of 2026Q3;
# two miss their response target (the P1 after 70 minutes, the P0 after 22). Most reviews are
# held the next day; two come too late, one not at all.
QUARTER = [
    ("P1", "Card payments declined", 6, 22, 48),
    ("P2", "Search index lagging", 35, 70, 150),
    ("P0", "Checkout down in EU", 4, 14, 38),
    ("P3", "Typo in the invoice email", 50, 120, 240),
    ("P1", "Login slow for SSO users", 70, 90, 130),
    ("P2", "Webhooks delayed", 20, 55, 110),
    ("P1", "Mobile app crash on start", 9, 25, 62),
    ("P0", "Database failover stuck", 22, 40, 75),
    ("P2", "CSV export times out", 45, 90, 200),
    ("P1", "Refunds not processed", 5, 16, 41),
    ("P3", "Dashboard chart misaligned", 90, 160, 300),
    ("P1", "Push notifications missing", 14, 35, 80),
]


async def play_quarter(
    slack: SlackSender, fake: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    """One incident a week through 2026Q3, each acknowledged, updated, mitigated, resolved."""
    for week, (severity, title, ack, mitigate, done) in enumerate(QUARTER):
        clock.set(datetime(2026, 7, 6, 8, 30, tzinfo=UTC) + timedelta(weeks=week))
        incident = await declare(slack, fake, bot, title=title, severity=severity)
        channel = incident.channel_id
        clock.advance(ack * MINUTE)
        await command(slack, bot, "ack", channel=channel)
        clock.advance(3 * MINUTE)
        await command(slack, bot, "update Investigating; next update soon", channel=channel)
        clock.advance((mitigate - ack - 3) * MINUTE)
        await command(slack, bot, "status mitigating", channel=channel)
        clock.advance((done - mitigate) * MINUTE)
        await resolve(slack, fake, bot, incident)
        if week in ACTIONS:
            text, due, finished = ACTIONS[week]
            await command(slack, bot, f"action {text} due {due}", channel=channel)
            if finished:
                await click(slack, bot, summary(fake, incident), "Done", near=text)
        if week in REVIEWS:  # held the next day, or two and a half days on: too late
            clock.advance(REVIEWS[week])
            await click(slack, bot, summary(fake, incident), "Mark review held")


async def open_incidents(
    slack: SlackSender, fake: FakeSlack, bot: BotContext, clock: ManualClock
) -> dict[str, str]:
    clock.set(datetime(2026, 11, 28, 7, 25, tzinfo=UTC))
    latency = await declare(slack, fake, bot, title="EU API latency above 2 s", severity="P1")
    clock.set(datetime(2026, 11, 28, 8, 40, tzinfo=UTC))
    checkout = await declare(slack, fake, bot, title="Checkout payments failing", severity="P0")
    clock.advance(6 * MINUTE)
    await command(slack, bot, "ack", channel=checkout.channel_id)
    await command(slack, bot, "lead <@ULEAD|lead>", channel=checkout.channel_id)
    await command(
        slack, bot, "note Error rate at 38% since the 09:35 deploy", channel=checkout.channel_id
    )
    clock.advance(4 * MINUTE)
    await command(slack, bot, "status mitigating", channel=checkout.channel_id)
    await command(slack, bot, "update Rolling back the 09:35 deploy", channel=checkout.channel_id)
    clock.advance(7 * MINUTE)
    search = await declare(slack, fake, bot, title="Search results stale", severity="P2")
    await declare(
        slack, fake, bot, title="Customer data export", severity="P1", visibility="private"
    )
    clock.advance(11 * MINUTE)
    return {
        "checkout": checkout.public_id,
        "latency": latency.public_id,
        "search": search.public_id,
    }


async def test_the_dashboard_in_a_browser_open_incidents_report_and_an_incident(
    slack: SlackSender,
    fake_slack: FakeSlack,
    bot: BotContext,
    clock: ManualClock,
    server: str,
    tmp_path: Path,
) -> None:
    from playwright.async_api import async_playwright, expect

    for user_id, name in PEOPLE.items():  # names for the screenshots
        fake_slack.add_user(user_id, name=name, email=f"{user_id.lower()}@example.com")
    await play_quarter(slack, fake_slack, bot, clock)
    ids = await open_incidents(slack, fake_slack, bot, clock)
    report = await build_period_report(bot, parse_period("2026Q3", clock.now(), bot.settings.tz))
    shots = SHOTS if os.environ.get("SCREENSHOTS") == "1" else tmp_path
    shots.mkdir(parents=True, exist_ok=True)

    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM)
        try:
            page = await chromium.new_page(viewport={"width": 1280, "height": 900})
            refused: list[str] = []
            page.on(
                "console",
                lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None,
            )
            page.set_default_timeout(WAIT_MS)

            await page.goto(f"{server}/dashboard?token={TOKEN}")
            assert page.url == f"{server}/dashboard"  # signed in; the token left the address
            rows = page.locator("table.board tbody tr")
            await expect(rows).to_have_count(3)
            assert [await rows.nth(i).locator(".id").inner_text() for i in range(3)] == [
                ids["checkout"],
                ids["latency"],
                ids["search"],
            ]
            await expect(page.get_by_text("Customer data export")).to_have_count(0)
            await expect(rows.nth(0)).to_contain_text("acknowledged after 6 minutes")
            await expect(rows.nth(0)).to_contain_text("Maya Chen")
            await expect(rows.nth(1)).to_contain_text("target missed 43 minutes ago")
            await expect(rows.nth(2)).to_contain_text("left of 4 hours")
            await page.screenshot(path=str(shots / "dashboard.png"), full_page=True)

            await page.get_by_role("link", name="Report").click()
            await expect(page.locator("h1")).to_contain_text("2026Q3")
            for chart in ("chart-trend", "chart-targets", "chart-phases"):
                await expect(page.locator(f"svg#{chart}")).to_be_visible()
            mtta = page.locator('#chart-trend circle[data-series="MTTA"]')
            drawn = [
                float(v or 0)
                for v in await mtta.evaluate_all(
                    "els => els.map(e => e.getAttribute('data-value'))"
                )
            ]
            assert drawn == [
                minutes(p.mtta_median) for p in report.trend if p.mtta_median is not None
            ]
            assert len(drawn) == len(QUARTER)
            bars = page.locator("#chart-targets rect.bar")
            assert await bars.count() == len(report.by_severity) + 1
            heights = {
                await bar.get_attribute("data-label"): await bar.get_attribute("data-value")
                for bar in await bars.all()
            }
            assert heights["P0"] == "50" and heights["All"] == "83.3"  # 10 of 12 in time
            boxes = page.locator("#chart-phases line.box")
            assert await boxes.count() == len(report.overall.phases)
            await page.screenshot(path=str(shots / "dashboard-report.png"), full_page=True)

            await page.get_by_role("link", name="Open incidents").click()
            await page.get_by_role("link", name="Checkout payments failing").click()
            await expect(page.locator("h1")).to_contain_text("Checkout payments failing")
            await expect(page.locator("ol.timeline li").first).to_contain_text("Declared")
            await expect(page.locator("ol.timeline")).to_contain_text("Error rate at 38%")
            await expect(page.locator("#incident-log")).to_contain_text("# Incident:")
            await page.screenshot(path=str(shots / "dashboard-incident.png"), full_page=True)

            narrow = await chromium.new_page(viewport={"width": 390, "height": 844})
            await narrow.goto(f"{server}/dashboard?token={TOKEN}")
            width = await narrow.evaluate("document.documentElement.scrollWidth")
            assert width <= 390  # nothing wider than a phone's screen
            await narrow.screenshot(path=str(tmp_path / "dashboard-narrow.png"), full_page=True)
            assert refused == []

            await page.get_by_role("button", name="Sign out").click()
            await expect(page).to_have_url(f"{server}/dashboard/login")
            await page.goto(f"{server}/dashboard")
            assert "/dashboard/login" in page.url  # signed out: the board asks again
        finally:
            await chromium.close()

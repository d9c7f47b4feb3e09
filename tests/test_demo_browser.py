"""`incident-bot demo` in a real browser: a whole incident played through the page, its
ticket opened in the demo's fake Jira and followed from the summary.

Chromium comes from the distribution (`apt-get install chromium`; .ci/run installs it) and is
driven by Playwright with that executable, so nothing is downloaded. The demo runs as the
real command in its own process; the test reads its SQLite database afterwards. The page's
screenshot is taken every run; with UPDATE_DEMO_SCREENSHOT=1 it replaces docs/demo.png (the
README shows it), so an ordinary run leaves the checkout clean.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.browser import CHROMIUM, needs_chromium

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOT = ROOT / "docs" / "demo.png"
pytestmark = needs_chromium
# Slack's client shows a modal within a second; a generous bound for a loaded CI machine.
WAIT_MS = 20_000


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """`incident-bot demo` running; yields the page's URL and the database file."""
    process = subprocess.Popen(
        [sys.executable, "-m", "app", "demo", "--port", str(free_port()), "--data", str(tmp_path)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    printed: list[str] = []
    deadline = time.monotonic() + 60
    url = None
    while url is None and time.monotonic() < deadline and process.poll() is None:
        line = process.stdout.readline()
        printed.append(line)
        found = re.search(r"open (http://127\.0\.0\.1:\d+/)", line)
        url = found.group(1) if found else None
    assert url is not None, "the demo printed no URL:\n" + "".join(printed)
    try:
        yield url, tmp_path / "incident-bot.db"
    finally:
        process.send_signal(signal.SIGINT)
        try:
            rest, _ = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            rest, _ = process.communicate()
        # Ctrl-C stops the demo cleanly, and nothing it did was an error.
        assert process.returncode == 0, "".join(printed) + rest
        assert "Traceback" not in rest, rest


def incident_row(database: Path) -> dict[str, object]:
    with sqlite3.connect(database) as db:
        db.row_factory = sqlite3.Row
        rows = db.execute("SELECT * FROM incidents").fetchall()
        assert len(rows) == 1
        return dict(rows[0])


def timeline(database: Path) -> list[tuple[str, str, str]]:
    with sqlite3.connect(database) as db:
        return db.execute(
            "SELECT kind, actor_id, text FROM timeline_entries ORDER BY id"
        ).fetchall()


def tickets_once_settled(database: Path) -> list[tuple[str, int]]:
    """(key, closed) of every ticket, once each is closed (or the wait is over)."""
    deadline = time.monotonic() + WAIT_MS / 1000
    while True:
        with sqlite3.connect(database) as db:
            rows = db.execute("SELECT key, closed FROM tickets ORDER BY id").fetchall()
        if (rows and all(closed for _key, closed in rows)) or time.monotonic() > deadline:
            return rows
        time.sleep(0.1)


def test_a_whole_incident_runs_in_the_browser_from_declare_to_resolve(
    demo: tuple[str, Path], tmp_path: Path
) -> None:
    screenshot = SCREENSHOT if os.environ.get("UPDATE_DEMO_SCREENSHOT") else tmp_path / "demo.png"
    url, database = demo
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(WAIT_MS)
        expect.set_options(timeout=WAIT_MS)
        page.goto(url)
        messages = page.get_by_test_id("messages")
        modal = page.get_by_test_id("modal")
        box = page.get_by_test_id("message-box")
        expect(page.locator("#room-name")).to_have_text("# general")
        expect(page.get_by_test_id("you")).to_have_value("UREPORTER")

        # The reporter declares from the message box; the modal opens (views.open).
        box.fill("/incident declare")
        box.press("Enter")
        expect(modal).to_contain_text("Declare an incident")
        modal.locator("[id='title.value']").fill("Checkout fails for every customer")
        # Ticking an impact dispatches an action; the bot updates the view (views.update).
        modal.get_by_label("Payment processing completely broken").check()
        expect(modal).to_contain_text("Suggested severity: P0")
        modal.get_by_test_id("modal-submit").click()
        expect(page.locator("#overlay")).to_be_hidden()

        # The incident channel appears, with the summary the bot pinned.
        channel = page.locator("#channels .room", has_text="incident-")
        channel.click()
        expect(page.locator("#room-name")).to_contain_text("# incident-")
        expect(messages).to_contain_text("Checkout fails for every customer")
        expect(messages.locator(".pin-tag").first).to_be_visible()

        # A P0 opens no ticket by itself; `/incident ticket` opens one in the demo's fake
        # Jira, the summary links it, and following the link shows the issue.
        box.fill("/incident ticket")
        box.press("Enter")
        ticket = messages.locator("a", has_text=re.compile(r"^DEMO-\d+$")).first
        expect(ticket).to_be_visible()
        with page.expect_popup() as opening:
            ticket.click()
        issue = opening.value
        expect(issue.locator("h1")).to_contain_text("Checkout fails for every customer")
        expect(issue.locator("dl")).to_contain_text("Highest")
        issue.close()

        # The on-call engineer is paged by DM and acknowledges there.
        page.get_by_test_id("you").select_option("UONCALL")
        dm = page.locator("#dms .room", has_text="incident-bot")
        expect(dm).to_have_class(re.compile(r"\bunread\b"))
        dm.click()
        acknowledge = messages.locator("button[data-action='escalation_ack']").first
        expect(acknowledge).to_be_visible()
        acknowledge.click()
        expect(messages).to_contain_text("acknowledged", ignore_case=True)

        # In the channel, a message is pinned to the timeline with the 📌 reaction.
        page.locator("#channels .room", has_text="incident-").click()
        box.fill("Rolled back deploy 4812; error rate is falling")
        box.press("Enter")
        said = messages.locator(".message", has_text="Rolled back deploy 4812").last
        said.hover()
        said.locator("button.add-reaction[data-emoji='pushpin']").click()
        expect(said.locator("button.reaction[data-emoji='pushpin']")).to_contain_text("1")
        # The bot confirms the capture with its own reaction.
        expect(said.locator("button.reaction[data-emoji='white_check_mark']")).to_be_visible()
        page.mouse.move(5, 890)  # off the messages: no hover menu in the screenshot
        screenshot.parent.mkdir(exist_ok=True)
        page.screenshot(path=str(screenshot))
        assert screenshot.stat().st_size > 10_000  # a rendered page, not a blank one

        # Resolve with the form.
        box.fill("/incident resolve")
        box.press("Enter")
        expect(modal).to_contain_text("Resolve incident")
        modal.locator("[id='resolution.value']").fill("Rolled back deploy 4812.")
        modal.get_by_label("No").check()
        modal.get_by_test_id("modal-submit").click()
        expect(page.locator("#overlay")).to_be_hidden()
        expect(messages).to_contain_text("is resolved")
        # The post-mortem draft the bot uploaded is a file link that opens it.
        draft = messages.locator(".file a", has_text="Post-mortem")
        expect(draft).to_be_visible()
        opened = page.request.get(url.rstrip("/") + str(draft.get_attribute("href")))
        assert opened.ok and "Checkout fails for every customer" in opened.text()
        browser.close()

    incident = incident_row(database)
    assert incident["title"] == "Checkout fails for every customer"
    assert incident["severity"] == "P0"
    assert incident["reporter_id"] == "UREPORTER"
    assert incident["acknowledged_by"] == "UONCALL"
    assert incident["status"] == "resolved"
    assert incident["resolution"] == "Rolled back deploy 4812."
    # One ticket, closed in Jira by the step the resolution planned (it runs by itself).
    assert tickets_once_settled(database) == [("DEMO-1", 1)]
    entries = timeline(database)
    captured = [e for e in entries if "Rolled back deploy 4812; error rate" in (e[2] or "")]
    assert captured and captured[0][1] == "UONCALL", entries

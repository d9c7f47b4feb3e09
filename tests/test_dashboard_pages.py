"""The dashboard's pages over HTTP (issue 18): the open incidents with their clocks, one
incident with its timeline and documents, the report with its three charts; private incidents
seen only by their channel's members; every word from people escaped; the headers that keep
the pages out of frames, caches and referrers.

Incidents are declared and run through the real app (tests/running.py) on the ManualClock;
the pages are read with the static token's sign-in (`/dashboard?token=…`), or with a Slack
sign-in's session cookie (what the OpenID callback sets) to be a given person.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from html.parser import HTMLParser

import httpx
import pytest
import pytest_asyncio

from app import wiring
from app.clock import ManualClock
from app.config.policy_loader import load_policy
from app.context import BotContext
from app.dashboard.charts import Bar, BoxBar, Series, bar_chart, box_chart, line_chart, minutes
from app.dashboard.sessions import COOKIE_PATH, SESSION_COOKIE, session_signer
from app.domain.periods import parse_period
from app.domain.timeline import Kind
from app.sandbox.fakeslack import FakeSlack
from app.sandbox.sender import SlackSender
from app.sandbox.trackers.jira import FakeJira
from app.services import dashboard as views
from app.services.reports import build_period_report
from tests.conftest import SIGNING_SECRET, clean, make_settings, serve_bot
from tests.running import command, declare, entries, resolve
from tests.test_tickets import POLICY as TICKETS_POLICY
from tests.test_tickets import settle

DASHBOARD_TOKEN = "dashboard-token-0123456789abcdef"
MINUTE = timedelta(minutes=1)
SLACK_SIGN_IN = {
    "dashboard_token": DASHBOARD_TOKEN,
    "slack_client_id": "1111.2222",
    "slack_client_secret": "client-secret",
    "public_url": "http://127.0.0.1",
}
pytestmark = pytest.mark.settings(dashboard_token=DASHBOARD_TOKEN, timezone="Europe/Paris")
SECRET = "Customer database exposed"
EVIL_TITLE = "<script>alert(1)</script> checkout"
EVIL_NOTE = '<img src=x onerror="alert(2)"> and <a href="javascript:alert(3)">click</a>'


class Tags(HTMLParser):
    """Every start tag with its attributes, and the <svg> it sits in."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str], str | None]] = []
        self._svg: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "svg":
            self._svg = values.get("id")
        self.tags.append((tag, values, self._svg))

    def handle_endtag(self, tag: str) -> None:
        if tag == "svg":
            self._svg = None


def tags(page: str, tag: str, svg: str | None = None) -> list[dict[str, str]]:
    parser = Tags()
    parser.feed(page)
    return [a for t, a, inside in parser.tags if t == tag and (svg is None or inside == svg)]


@pytest_asyncio.fixture
async def browser(server: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client signed in with the dashboard token (the cookie it sets, then the page)."""
    async with httpx.AsyncClient(base_url=server, follow_redirects=True) as client:
        response = await client.get(f"/dashboard?token={DASHBOARD_TOKEN}")
        assert response.status_code == 200, response.text
        assert str(response.url).endswith("/dashboard")  # the token left the address
        yield client


def as_person(bot: BotContext, server: str, user_id: str) -> httpx.AsyncClient:
    """A client holding the session cookie Sign in with Slack gives `user_id`."""
    cookie = session_signer(bot.settings).sign(
        {"via": "slack", "sub": user_id, "name": user_id.lower(), "team": "T0001"},
        bot.clock.now() + timedelta(hours=1),
    )
    client = httpx.AsyncClient(base_url=server)
    client.cookies.set(SESSION_COOKIE, cookie, domain="127.0.0.1", path=COOKIE_PATH)
    return client


async def test_the_board_lists_open_incidents_most_severe_first_with_their_clocks(
    slack: SlackSender,
    fake_slack: FakeSlack,
    bot: BotContext,
    clock: ManualClock,
    browser: httpx.AsyncClient,
) -> None:
    search = await declare(slack, fake_slack, bot, title="Search is slow", severity="P2")
    clock.advance(2 * MINUTE)
    payments = await declare(slack, fake_slack, bot, title="Payments are down", severity="P0")
    clock.advance(5 * MINUTE)
    await command(slack, bot, "ack", channel=payments.channel_id)
    await command(slack, bot, "lead <@ULEAD|lead>", channel=payments.channel_id)
    clock.advance(10 * MINUTE)
    await command(slack, bot, "update Failing over to the standby", channel=payments.channel_id)
    done = await declare(slack, fake_slack, bot, title="Old news", severity="P1")
    await resolve(slack, fake_slack, bot, done)
    clock.advance(10 * MINUTE)

    page = (await browser.get("/dashboard")).text

    assert page.index(payments.public_id) < page.index(search.public_id)
    assert "Old news" not in page
    assert 'data-count="2"' in page
    assert 'http-equiv="refresh" content="60"' in page
    # P0: acknowledged 5 minutes in (target 15), an update 10 minutes ago, one due every 30.
    assert "acknowledged after 5 minutes" in page
    assert "last update 10 minutes ago; next due in 20 minutes" in page
    assert "lead" in page  # ULEAD's name, as the fake Slack knows it
    # P2: unacknowledged, 27 minutes into its 4-hour target, no update in 27 of 240 minutes.
    assert "3 hours 33 minutes left of 4 hours" in page
    assert "no update yet; next due in 3 hours 33 minutes" in page
    assert "27 minutes" in page and "25 minutes" in page  # open for, each

    clock.advance(timedelta(hours=4))
    page = (await browser.get("/dashboard")).text
    assert "target missed 27 minutes ago" in page
    assert "no update yet: overdue by 27 minutes" in page
    assert "last update 4 hours 10 minutes ago: overdue by 3 hours 40 minutes" in page
    assert search.public_id in page


async def test_a_private_incident_is_not_shown_to_the_token_or_anyone_outside_its_channel(
    slack: SlackSender,
    fake_slack: FakeSlack,
    bot: BotContext,
    server: str,
    browser: httpx.AsyncClient,
) -> None:
    public = await declare(slack, fake_slack, bot, title="Search is slow", severity="P2")
    private = await declare(
        slack, fake_slack, bot, title=SECRET, severity="P1", visibility="private"
    )

    board = (await browser.get("/dashboard")).text
    assert public.public_id in board
    assert SECRET not in board and private.public_id not in board
    assert 'data-count="1"' in board
    hidden = await browser.get(f"/dashboard/incidents/{private.public_id}")
    missing = await browser.get("/dashboard/incidents/INC-20261128-099")
    assert hidden.status_code == missing.status_code == 404
    assert SECRET not in hidden.text
    assert hidden.text.replace(private.public_id, "X") == missing.text.replace(
        "INC-20261128-099", "X"
    )
    report = (await browser.get("/dashboard/report?period=this")).text
    assert SECRET not in report and private.public_id not in report


@pytest.mark.settings(timezone="Europe/Paris", **SLACK_SIGN_IN)
async def test_a_private_incident_shows_to_the_members_of_its_channel_only(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, server: str
) -> None:
    private = await declare(
        slack, fake_slack, bot, title=SECRET, severity="P1", visibility="private"
    )
    assert "UREPORTER" in fake_slack.channels[private.channel_id].members
    assert "UOTHER" not in fake_slack.channels[private.channel_id].members
    path = f"/dashboard/incidents/{private.public_id}"

    async with as_person(bot, server, "UREPORTER") as member:
        assert SECRET in (await member.get("/dashboard")).text
        shown = await member.get(path)
        assert shown.status_code == 200 and SECRET in shown.text
    async with as_person(bot, server, "UOTHER") as outsider:
        board = (await outsider.get("/dashboard")).text
        assert SECRET not in board and 'data-count="0"' in board
        refused = await outsider.get(path)
        assert refused.status_code == 404 and SECRET not in refused.text

    # The same rule below the pages: the service hands out nothing the viewer may not see.
    assert [i.title for i in (await views.board(bot, "UOTHER")).incidents] == []
    assert await views.incident_page(bot, None, private.public_id) is None
    assert (await views.incident_page(bot, "UREPORTER", private.public_id)) is not None


async def test_words_from_people_are_text_on_every_page_never_markup(
    slack: SlackSender,
    fake_slack: FakeSlack,
    bot: BotContext,
    browser: httpx.AsyncClient,
) -> None:
    incident = await declare(slack, fake_slack, bot, title=EVIL_TITLE, severity="P1")
    await command(slack, bot, f"note {EVIL_NOTE}", channel=incident.channel_id)
    await command(slack, bot, f"update {EVIL_NOTE}", channel=incident.channel_id)

    for path in ("/dashboard", f"/dashboard/incidents/{incident.public_id}"):
        response = await browser.get(path)
        page = response.text
        assert "<script>" not in page and "<img" not in page and 'href="javascript:' not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt; checkout" in page
        assert [t for t in tags(page, "script")] == []
        headers = response.headers
        assert "default-src 'self'" in headers["content-security-policy"]
        assert "script-src 'none'" in headers["content-security-policy"]
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert headers["x-frame-options"] == "DENY"
        assert headers["referrer-policy"] == "no-referrer"
        assert headers["cache-control"] == "no-store"
    page = (await browser.get(f"/dashboard/incidents/{incident.public_id}")).text
    assert "&lt;img src=x onerror=" in page
    # Only the stylesheet and the bot's own pages are linked; nothing from elsewhere loads.
    assert [t["href"] for t in tags(page, "link")] == ["/dashboard/static/dashboard.css"]
    css = await browser.get("/dashboard/static/dashboard.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert "@import" not in css.text and "url(" not in css.text
    assert (await browser.get("/dashboard/static/..%2Fpages.py")).status_code == 404


async def test_the_incident_page_shows_its_facts_every_timeline_entry_and_its_documents(
    slack: SlackSender,
    fake_slack: FakeSlack,
    bot: BotContext,
    clock: ManualClock,
    browser: httpx.AsyncClient,
) -> None:
    incident = await declare(slack, fake_slack, bot, title="Payments are down", severity="P1")
    clock.advance(4 * MINUTE)
    await command(slack, bot, "ack", channel=incident.channel_id)
    await command(slack, bot, "note Restarted the workers", channel=incident.channel_id)
    await command(slack, bot, "status mitigating", channel=incident.channel_id)
    clock.advance(20 * MINUTE)
    await resolve(slack, fake_slack, bot, incident, resolution="Rolled back the deploy.")

    response = await browser.get(f"/dashboard/incidents/{incident.public_id.lower()}")
    assert response.status_code == 200
    page = response.text
    stored = [e for e in await entries(bot, incident) if not e.deleted]
    assert len(tags(page, "li")) >= len(stored)
    assert page.count('<li class="entry') == len(stored)
    # Times in the bot's time zone (Europe/Paris): declared 09:00 UTC is 10:00 CET.
    assert "2026-11-28 10:00 CET" in page and "2026-11-28 10:24 CET" in page
    assert "Restarted the workers" in page
    assert "acknowledged after 4 minutes" in page
    assert "Resolved" in page and "24 minutes" in page
    channel = f"https://fake-team.slack.com/archives/{incident.channel_id}"
    links = [t["href"] for t in tags(page, "a")]
    assert any(href.startswith("https://") and incident.channel_id in href for href in links), (
        links,
        channel,
    )
    log = page[page.index('id="incident-log"') :]
    assert "# Incident: Payments are down" in log
    assert "Rolled back the deploy." in log
    assert "# Post-Mortem: Payments are down" in page[page.index('id="postmortem"') :]


@pytest_asyncio.fixture
async def with_jira(
    database_url: str, fake_slack: FakeSlack, clock: ManualClock
) -> AsyncIterator[tuple[BotContext, SlackSender, httpx.AsyncClient, FakeJira]]:
    """The bot opening P1 tickets in a fake Jira, served, and a client signed in."""
    jira = FakeJira("cloud")
    jira.seed_project("OPS")
    await jira.start()
    settings = make_settings(
        fake_slack,
        database_url,
        escalation_tick_seconds=0,
        jira_url=jira.base_url,
        jira_email=jira.email,
        jira_api_token=jira.token,
        dashboard_token=DASHBOARD_TOKEN,
    )
    ctx = wiring.build(settings, load_policy(TICKETS_POLICY), clock)
    await clean(ctx)
    try:
        async with serve_bot(ctx) as url:
            sender = SlackSender(url, SIGNING_SECRET, fake_slack)
            async with httpx.AsyncClient(base_url=url, follow_redirects=True) as client:
                await client.get(f"/dashboard?token={DASHBOARD_TOKEN}")
                yield ctx, sender, client, jira
            await sender.close()
    finally:
        await ctx.tasks.drain()
        await ctx.close()
        await jira.stop()
    assert jira.violations == []


async def test_the_incident_page_links_its_ticket(
    with_jira: tuple[BotContext, SlackSender, httpx.AsyncClient, FakeJira],
    fake_slack: FakeSlack,
    clock: ManualClock,
) -> None:
    bot, slack, client, jira = with_jira
    incident = await declare(slack, fake_slack, bot, title="Payments are down", severity="P1")
    await settle(bot, clock)
    [issue] = jira.issues.values()

    page = (await client.get(f"/dashboard/incidents/{incident.public_id}")).text
    [ticket] = [a for a in tags(page, "a") if issue.key in a["href"]]
    assert ticket["href"] == f"{jira.base_url}/browse/{issue.key}"
    assert ticket["rel"] == "noopener noreferrer"
    assert f">{issue.key} (Jira)</a>" in page


async def test_the_report_page_draws_the_reports_own_numbers(
    slack: SlackSender,
    fake_slack: FakeSlack,
    bot: BotContext,
    clock: ManualClock,
    browser: httpx.AsyncClient,
) -> None:
    fast = await declare(slack, fake_slack, bot, title="Payments are down", severity="P1")
    clock.advance(10 * MINUTE)
    await command(slack, bot, "ack", channel=fast.channel_id)
    slow = await declare(slack, fake_slack, bot, title="Search is slow", severity="P0")
    clock.advance(30 * MINUTE)
    await command(slack, bot, "ack", channel=slow.channel_id)
    clock.advance(20 * MINUTE)
    await resolve(slack, fake_slack, bot, fast)
    await resolve(slack, fake_slack, bot, slow)

    response = await browser.get("/dashboard/report?period=this")
    assert response.status_code == 200
    page = response.text
    period = parse_period("this", clock.now(), bot.settings.tz)
    report = await build_period_report(bot, period)
    assert report.overall.incidents == 2
    assert [t["id"] for t in tags(page, "svg")] == ["chart-trend", "chart-targets", "chart-phases"]
    for chart in ("chart-trend", "chart-targets", "chart-phases"):
        assert f'<title id="{chart}-t">' in page  # each has its title, and a table beside it
    assert page.count('<div class="chart-data"><table>') == 3

    points = {
        (p["data-series"], p["data-label"]): float(p["data-value"])
        for p in tags(page, "circle", "chart-trend")
    }
    expected = {
        (series, point.label): minutes(value)
        for point in report.trend
        for series, value in (("MTTA", point.mtta_median), ("MTTR", point.mttr_median))
        if value is not None
    }
    assert points == expected and points

    bars = {b["data-label"]: b for b in tags(page, "rect", "chart-targets")}
    for key, figures in report.by_severity.items():
        share = figures.ack_within_target
        if share.of:
            assert (int(bars[key]["data-met"]), int(bars[key]["data-of"])) == (share.met, share.of)
            assert float(bars[key]["data-value"]) == round(100 * share.met / share.of, 1)
    # P1 was acknowledged in 10 minutes (target 1 h); P0 in 30 (target 15 min).
    assert bars["P1"]["data-value"] == "100" and bars["P0"]["data-value"] == "0"
    assert bars["All"]["data-met"] == "1" and bars["All"]["data-of"] == "2"

    phases = {b["data-label"]: b for b in tags(page, "rect", "chart-phases")}
    boxes = {
        b["data-label"]: float(b["data-box"])
        for b in tags(page, "line", "chart-phases")
        if "data-box" in b
    }
    assert list(boxes) == [phase.name for phase in report.overall.phases]
    for phase in report.overall.phases:
        assert boxes[phase.name] == minutes(phase.within)
        if phase.reached.median is None:
            assert phase.name not in phases
        else:
            assert float(phases[phase.name]["data-value"]) == minutes(phase.reached.median)
    assert boxes["Detection"] == 5 and boxes["Recovery"] == 120


async def test_the_report_defaults_to_the_last_full_quarter_and_refuses_a_period_that_is_not_one(
    bot: BotContext, browser: httpx.AsyncClient
) -> None:
    default = await browser.get("/dashboard/report")
    assert default.status_code == 200
    assert 'Report <span class="id">2026Q3</span>' in default.text
    assert "No incidents in this period." in default.text
    wrong = await browser.get("/dashboard/report", params={"period": "<b>soon</b>"})
    assert wrong.status_code == 400
    assert "is not a period" in wrong.text and "<b>soon" not in wrong.text


async def test_every_page_is_behind_the_sign_in(bot: BotContext, server: str) -> None:
    async with httpx.AsyncClient(base_url=server) as client:
        for path in ("/dashboard", "/dashboard/report", "/dashboard/incidents/INC-20261128-001"):
            response = await client.get(path)
            assert response.status_code == 303
            assert response.headers["location"].startswith("/dashboard/login?next=")


@pytest.mark.settings()
async def test_without_a_token_or_sign_in_with_slack_the_pages_are_not_there(
    bot: BotContext, server: str
) -> None:
    async with httpx.AsyncClient(base_url=server) as client:
        for path in ("/dashboard", "/dashboard/report", "/dashboard/static/dashboard.css"):
            assert (await client.get(path)).status_code == 404


# ------------------------------------------------------------------------ the charts as values


def test_a_line_chart_puts_each_value_at_its_point_and_breaks_where_a_bucket_is_empty() -> None:
    svg = line_chart("t", "Trend", ["W1", "W2", "W3"], [Series("MTTA", (10.0, None, 30.0), "mtta")])
    points = tags(svg, "circle")
    assert [(p["data-label"], p["data-value"]) for p in points] == [("W1", "10"), ("W3", "30")]
    assert float(points[0]["cy"]) > float(points[1]["cy"])  # the larger value is drawn higher
    assert tags(svg, "polyline") == []  # no line across the empty week


def test_bars_are_as_tall_as_their_share_and_a_severity_without_incidents_has_none() -> None:
    svg = bar_chart("b", "Targets", [Bar("P0", 3, 4), Bar("P1", 1, 4), Bar("P2", 0, 0)])
    bars = {b["data-label"]: b for b in tags(svg, "rect")}
    assert set(bars) == {"P0", "P1"}
    assert bars["P0"]["data-value"] == "75" and bars["P1"]["data-value"] == "25"
    assert float(bars["P0"]["height"]) == pytest.approx(3 * float(bars["P1"]["height"]))


def test_a_phase_bar_is_marked_with_its_box_and_coloured_by_it() -> None:
    svg = box_chart("p", "Phases", [BoxBar("Detection", 8.0, 5.0), BoxBar("Response", 10.0, 15.0)])
    bars = {b["data-label"]: b for b in tags(svg, "rect")}
    assert "bad" in bars["Detection"]["class"] and "ok" in bars["Response"]["class"]
    box = {b["data-label"]: b for b in tags(svg, "line") if "data-box" in b}
    assert float(box["Response"]["x1"]) > float(box["Detection"]["x1"])


def test_chart_labels_are_escaped() -> None:
    svg = bar_chart("e", "<b>x</b>", [Bar('<img src=x onerror="y">', 1, 1)])
    assert "<img" not in svg and "<b>" not in svg
    assert "&lt;img src=x onerror=&quot;y&quot;&gt;" in svg


async def test_the_update_clock_restarts_as_the_bots_reminder_does_and_not_for_the_status_page(
    slack: SlackSender,
    fake_slack: FakeSlack,
    bot: BotContext,
    clock: ManualClock,
    browser: httpx.AsyncClient,
) -> None:
    incident = await declare(slack, fake_slack, bot, title="Payments are down", severity="P0")
    clock.advance(5 * MINUTE)
    await command(slack, bot, "update Failing over", channel=incident.channel_id)
    clock.advance(10 * MINUTE)
    await command(slack, bot, "status mitigating", channel=incident.channel_id)
    clock.advance(10 * MINUTE)
    page = (await browser.get("/dashboard")).text
    # A status change restarts the reminder (events.StatusUpdated): 10 minutes, not 20.
    assert "last update 10 minutes ago; next due in 20 minutes" in page
    # A status page publication is for customers: it does not count as an update.
    assert not views._restarts_cadence(Kind.UPDATE, {"statuspage": 7})
    assert views._restarts_cadence(Kind.UPDATE, {})

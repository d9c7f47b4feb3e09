"""The public status page over HTTP (/status, /status.json): the services' states from what
responders published, the incidents in progress and the history, never a private incident,
every value escaped; and the rules it is built on (proposals, the `[...]` choices)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from app.clock import ManualClock
from app.context import BotContext
from app.domain.command_text import ArgumentError
from app.domain.status_page import (
    Choices,
    banner,
    clean_message,
    parse_choices,
    propose_impact,
    propose_phase,
    worst,
)
from app.sandbox.fakeslack import FakeSlack
from app.sandbox.sender import SlackSender
from app.store.models import StatusPost
from tests.running import command, resolve
from tests.statuspage_helpers import POLICY, PUBLIC_URL, click, declare, statuspage

ROOT = Path(__file__).resolve().parents[1]
ON = pytest.mark.settings(status_page=True, public_url=PUBLIC_URL)
pytestmark = pytest.mark.policy(str(ROOT / POLICY))
KEYS = ("api", "payments", "email")


# ------------------------------------------------------------------------------ the rules


def test_the_impact_is_proposed_from_the_severity_rank_and_the_phase_from_the_status() -> None:
    assert [propose_impact(rank, resolved=False) for rank in range(4)] == [
        "major_outage",
        "partial_outage",
        "degraded_performance",
        "degraded_performance",
    ]
    assert propose_impact(0, resolved=True) == "operational"
    assert [propose_phase(s) for s in ("investigating", "mitigating", "resolved")] == [
        "investigating",
        "identified",
        "resolved",
    ]


def test_a_leading_bracket_list_is_the_choice_and_anything_else_is_message() -> None:
    # Without brackets, nothing is read as a choice: "Degraded: ..." stays the message.
    assert parse_choices("api, payments major: all down", KEYS) == Choices(
        "api, payments major: all down"
    )
    assert parse_choices("Degraded: slow pages", KEYS) == Choices("Degraded: slow pages")
    assert parse_choices("[api,payments major] Down", KEYS) == Choices(
        "Down", ("api", "payments"), "major_outage", None
    )
    assert parse_choices("[ALL degraded_performance monitoring]  Slow", KEYS) == Choices(
        "Slow", KEYS, "degraded_performance", "monitoring"
    )
    assert parse_choices("[none operational resolved] Fine", KEYS) == Choices(
        "Fine", (), "operational", "resolved"
    )
    assert parse_choices("[] [EU] Slow logins", KEYS) == Choices("[EU] Slow logins")
    for wrong in ("[api major partial] x", "[investigating resolved] x", "[apii] x", "[api x"):
        with pytest.raises(ArgumentError):
            parse_choices(wrong, KEYS)


def test_a_message_loses_invisible_characters_blank_lines_and_its_quotes() -> None:
    assert clean_message('  "We are on it."  ') == "We are on it."
    assert clean_message("“Fixed”") == "Fixed"
    assert clean_message("\n\nLine one\u200b\n\n\n\nLine\u202e two\n") == "Line one\n\nLine two"
    assert clean_message('He said "no"') == 'He said "no"'


def test_the_worst_state_names_the_banner() -> None:
    assert worst([]) == "operational"
    assert worst(["degraded_performance", "major_outage", "partial_outage"]) == "major_outage"
    assert banner("operational", active=False) == "All systems operational"
    assert banner("operational", active=True) == "An incident is in progress"
    assert banner("partial_outage", active=True) == "Partial outage"


# --------------------------------------------------------------------------- over HTTP


async def get(server: str, path: str = "/status") -> httpx.Response:
    async with httpx.AsyncClient() as http:
        return await http.get(server + path)


async def published(
    slack: SlackSender,
    fake: FakeSlack,
    bot: BotContext,
    incident,
    text: str,  # noqa: ANN001
) -> None:
    preview = await statuspage(slack, fake, bot, incident, text)
    answer = await click(slack, fake, bot, preview, "Publish")
    assert answer["text"].startswith(":white_check_mark:"), answer["text"]


def states(data: dict) -> dict[str, str]:
    return {s["key"]: s["state"] for s in data["services"]}


@ON
async def test_with_nothing_published_every_service_is_operational(
    server: str, slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    incident = await declare(slack, fake_slack, bot)
    await statuspage(slack, fake_slack, bot, incident, "A draft nobody published.")
    page = await get(server)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "All systems operational" in page.text
    assert '<meta http-equiv="refresh" content="60">' in page.text
    assert "A draft nobody published" not in page.text
    data = (await get(server, "/status.json")).json()
    assert states(data) == dict.fromkeys(KEYS, "operational")
    assert data["status"] == {"indicator": "operational", "description": "All systems operational"}
    assert data["incidents"] == data["history"] == []


@ON
async def test_a_published_update_sets_its_services_state_and_shows_as_a_current_incident(
    server: str, slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    incident = await declare(slack, fake_slack, bot, title="Internal: db-7 ran out of disk")
    await published(slack, fake_slack, bot, incident, "Checkouts are failing; we are on it.")
    data = (await get(server, "/status.json")).json()
    assert states(data) == {
        "api": "major_outage",
        "payments": "major_outage",
        "email": "operational",
    }
    assert data["status"]["description"] == "Major outage"
    [current] = data["incidents"]
    assert current["name"] == "Major outage · API, Payments"
    assert [(u["phase"], u["message"]) for u in current["updates"]] == [
        ("investigating", "Checkouts are failing; we are on it.")
    ]
    page = (await get(server)).text
    assert "Current incidents" in page and "Checkouts are failing; we are on it." in page
    # Only what responders published: never the incident's title, id or channel.
    for internal in ("db-7", incident.public_id, incident.channel_name or "-"):
        assert internal not in page and internal not in str(data)


@ON
async def test_a_newer_update_replaces_its_incidents_state_and_the_worst_incident_wins(
    server: str, slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    payments = await declare(
        slack, fake_slack, bot, severity="P1", impacts={"P1": ["critical_feature"]}
    )
    await published(slack, fake_slack, bot, payments, "Card payments fail.")
    api = await declare(
        slack, fake_slack, bot, title="API errors", severity="P2", impacts={"P1": ["error_rate"]}
    )
    await published(slack, fake_slack, bot, api, "[api payments degraded] Some requests fail.")
    data = (await get(server, "/status.json")).json()
    # payments: partial (first incident) beats degraded (second); api: degraded.
    assert states(data) == {
        "api": "degraded_performance",
        "payments": "partial_outage",
        "email": "operational",
    }
    clock.advance(600)
    await published(slack, fake_slack, bot, payments, "[monitoring operational] Fixed; watching.")
    data = (await get(server, "/status.json")).json()
    assert states(data)["payments"] == "degraded_performance"
    assert data["status"]["indicator"] == "degraded_performance"
    assert [u["phase"] for i in data["incidents"] for u in i["updates"]][:2] == [
        "monitoring",
        "investigating",
    ]


@ON
async def test_a_resolved_incident_moves_to_the_history_and_its_services_recover(
    server: str, slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    incident = await declare(slack, fake_slack, bot)
    await published(slack, fake_slack, bot, incident, "Checkouts fail.")
    clock.advance(30 * 60)
    await resolve(slack, fake_slack, bot, incident)
    await published(slack, fake_slack, bot, incident, "Resolved: checkouts work again.")
    data = (await get(server, "/status.json")).json()
    assert states(data) == dict.fromkeys(KEYS, "operational")
    assert data["incidents"] == []
    [past] = data["history"]
    assert past["name"] == "Major outage · API, Payments"
    assert [u["phase"] for u in past["updates"]] == ["resolved", "investigating"]
    assert past["ended_at"] == clock.now().isoformat()
    page = (await get(server)).text
    assert "All systems operational" in page and "Resolved: checkouts work again." in page
    # Thirty days on, the history has forgotten it.
    clock.advance(timedelta(days=31))
    assert (await get(server, "/status.json")).json()["history"] == []


@ON
async def test_resolving_without_a_last_update_still_ends_the_incident_on_the_page(
    server: str, slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    incident = await declare(slack, fake_slack, bot)
    await published(slack, fake_slack, bot, incident, "Checkouts fail.")
    await command(slack, bot, "status mitigating", channel=incident.channel_id)
    await resolve(slack, fake_slack, bot, incident)
    data = (await get(server, "/status.json")).json()
    assert data["incidents"] == [] and len(data["history"]) == 1
    assert data["status"]["indicator"] == "operational"


@ON
async def test_a_hostile_message_is_escaped_on_the_page_and_verbatim_in_the_json(
    server: str, slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    incident = await declare(slack, fake_slack, bot)
    hostile = '<script>alert(1)</script><img src=x onerror="alert(2)"> & </time>'
    await published(slack, fake_slack, bot, incident, hostile)
    page = (await get(server)).text
    assert "<script>" not in page and "<img" not in page
    assert (
        "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=&quot;alert(2)&quot;&gt;"
        in page
    )
    assert "&amp; &lt;/time&gt;" in page
    data = (await get(server, "/status.json")).json()
    assert data["incidents"][0]["updates"][0]["message"] == hostile


@ON
async def test_the_page_forbids_framing_other_origins_and_sniffing(server: str) -> None:
    for path in ("/status", "/status.json", "/status/style.css"):
        response = await get(server, path)
        assert response.status_code == 200
        csp = response.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
    page = (await get(server)).text
    # No script, no inline style, nothing loaded from elsewhere.
    assert "<script" not in page and "style=" not in page and "://" not in page


async def test_with_the_status_page_off_every_path_is_404(server: str) -> None:
    for path in ("/status", "/status.json", "/status/style.css"):
        assert (await get(server, path)).status_code == 404


@ON
async def test_a_private_incident_never_reaches_the_page_even_with_a_published_row(
    server: str, slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    secret = await declare(slack, fake_slack, bot, title="Leak", visibility="private")
    answer = await command(slack, bot, "statuspage Leak contained", channel=secret.channel_id)
    assert "is private" in answer
    # Even a published row (written by hand, or by a bug) stays off the page.
    async with bot.sessions.begin() as session:
        session.add(
            StatusPost(
                incident_id=secret.id,
                state="published",
                message="SECRET leak contained",
                services=["api"],
                impact="major_outage",
                phase="identified",
                drafted_by="UREPORTER",
                drafted_at=bot.clock.now(),
                published_by="UREPORTER",
                published_at=bot.clock.now(),
                data={},
            )
        )
    data = (await get(server, "/status.json")).json()
    assert states(data) == dict.fromkeys(KEYS, "operational")
    assert data["incidents"] == data["history"] == []
    assert "SECRET" not in (await get(server)).text

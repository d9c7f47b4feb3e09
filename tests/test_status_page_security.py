"""The public status page under attack (issue 18, security review): an incident made private
after its posts were published, hostile messages (markup, bidi and zero-width characters,
newlines, the longest message), the JSON's bytes and headers, nothing internal on either, and
what one request reads whatever the store holds."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event, update

from app.clock import ManualClock
from app.context import BotContext
from app.dashboard.status import SafeJSONResponse
from app.domain.status_page import MESSAGE_MAX
from app.sandbox.fakeslack import FakeSlack
from app.sandbox.sender import SlackSender
from app.services import status_board
from app.services.status_board import ACTIVE_MAX, FRESH_FOR, HISTORY_MAX, UPDATES_MAX
from app.store.models import Incident, StatusPost
from tests.running import resolve
from tests.statuspage_helpers import POLICY, PUBLIC_URL, click, declare, statuspage

ROOT = Path(__file__).resolve().parents[1]
pytestmark = [
    pytest.mark.policy(str(ROOT / POLICY)),
    pytest.mark.settings(status_page=True, public_url=PUBLIC_URL),
]


async def get(server: str, path: str = "/status") -> httpx.Response:
    async with httpx.AsyncClient() as http:
        return await http.get(server + path)


async def published(
    slack: SlackSender, fake: FakeSlack, bot: BotContext, incident: Incident, text: str
) -> None:
    preview = await statuspage(slack, fake, bot, incident, text)
    answer = await click(slack, fake, bot, preview, "Publish")
    assert answer["text"].startswith(":white_check_mark:"), answer["text"]


@contextmanager
def statements(bot: BotContext) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(*args: Any) -> None:
        seen.append(args[2])

    event.listen(bot.engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(bot.engine.sync_engine, "before_cursor_execute", record)


def post(incident_id: int, at: Any, message: str, **values: Any) -> StatusPost:
    fields: dict[str, Any] = {
        "incident_id": incident_id,
        "state": "published",
        "message": message,
        "services": ["api"],
        "impact": "partial_outage",
        "phase": "investigating",
        "drafted_by": "UREPORTER",
        "drafted_at": at,
        "published_by": "UREPORTER",
        "published_at": at,
        "data": {},
    }
    fields.update(values)
    return StatusPost(**fields)


def copy_of(incident: Incident, seq: int, **values: Any) -> Incident:
    """Another incident row like `incident` (for volume: hundreds without a Slack round trip)."""
    fields = {
        "public_id": f"INC-20990101-{seq:03d}",
        "day": incident.day,
        "seq": 1000 + seq,
        "title": f"Internal title {seq}",
        "severity": incident.severity,
        "status": incident.status,
        "private": False,
        "impacts": list(incident.impacts or []),
        "reporter_id": incident.reporter_id,
        "policy_snapshot": incident.policy_snapshot,
        "started_at": incident.started_at,
        "created_at": incident.created_at,
        "updated_at": incident.updated_at,
        "setup_complete": True,
    }
    fields.update(values)
    return Incident(**fields)


# --- private, whenever it became so ------------------------------------------------------------


async def test_an_incident_made_private_after_publishing_leaves_the_page_and_its_history(
    server: str, slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    current = await declare(slack, fake_slack, bot, title="Disk full")
    await published(slack, fake_slack, bot, current, "Checkouts fail (CURRENT).")
    past = await declare(slack, fake_slack, bot, title="Queue stuck")
    await published(slack, fake_slack, bot, past, "Emails are late (PAST).")
    clock.advance(timedelta(minutes=20))
    await resolve(slack, fake_slack, bot, past)
    data = (await get(server, "/status.json")).json()
    assert len(data["incidents"]) == 1 and len(data["history"]) == 1
    async with bot.sessions.begin() as session:
        await session.execute(
            update(Incident).where(Incident.id.in_([current.id, past.id])).values(private=True)
        )
    clock.advance(FRESH_FOR)  # a change made elsewhere shows once the page's answer is stale
    data = (await get(server, "/status.json")).json()
    assert data["incidents"] == data["history"] == []
    assert data["status"]["indicator"] == "operational"
    assert {s["state"] for s in data["services"]} == {"operational"}
    page = (await get(server)).text
    assert "CURRENT" not in page and "PAST" not in page
    assert "All systems operational" in page


# --- hostile messages --------------------------------------------------------------------------


async def test_a_message_with_markup_bidi_zero_width_and_newlines_is_plain_text_on_the_page(
    server: str, slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    incident = await declare(slack, fake_slack, bot)
    await published(
        slack,
        fake_slack,
        bot,
        incident,
        "Pay\u202emen\u200bts fail\u2066\n\n\n\n<b>Next</b> update &amp; <a href=x>soon</a>\u2028x",
    )
    page = (await get(server)).text
    for hidden in ("\u202e", "\u200b", "\u2066"):
        assert hidden not in page
    assert "<b>" not in page and "<a href=x>" not in page and "<br" not in page
    [message] = re.findall(r'<p class="message">(.*?)</p>', page, re.DOTALL)
    assert message.startswith("Payments fail\n\n")  # one blank line kept, as text
    assert "&lt;b&gt;Next&lt;/b&gt;" in message


async def test_the_longest_message_is_shown_whole_and_a_longer_one_is_refused(
    server: str, slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    incident = await declare(slack, fake_slack, bot)
    longest = ("<i>" + "x" * MESSAGE_MAX)[:MESSAGE_MAX]
    await published(slack, fake_slack, bot, incident, longest)
    preview = await statuspage(slack, fake_slack, bot, incident, "y" * (MESSAGE_MAX + 1))
    assert "keep it to" in str(preview)
    data = (await get(server, "/status.json")).json()
    assert [u["message"] for u in data["incidents"][0]["updates"]] == [longest]
    assert "&lt;i&gt;" + "x" * 10 in (await get(server)).text


async def test_the_json_is_json_with_no_markup_in_its_bytes(
    server: str, slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    incident = await declare(slack, fake_slack, bot)
    hostile = "</script><script>alert(1)</script> & \u00e9t\u00e9"
    await published(slack, fake_slack, bot, incident, hostile)
    response = await get(server, "/status.json")
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "script-src 'none'" in response.headers["content-security-policy"]
    for raw in (b"<", b">", b"&"):
        assert raw not in response.content
    assert [u["message"] for u in response.json()["incidents"][0]["updates"]] == [hostile]


async def test_the_html_page_forbids_any_script(server: str) -> None:
    csp = (await get(server)).headers["content-security-policy"]
    assert "script-src 'none'" in csp and "object-src 'none'" in csp


# --- nothing internal --------------------------------------------------------------------------


async def test_neither_the_page_nor_the_json_names_anything_internal(
    server: str, slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    incident = await declare(slack, fake_slack, bot, title="db-7 ran out of disk")
    await published(slack, fake_slack, bot, incident, "Checkouts are failing.")
    first = await get(server, "/status.json")
    [shown] = first.json()["incidents"]
    ref = shown["id"]
    assert re.fullmatch(r"[0-9a-f]{16}", ref)
    assert ref not in (str(incident.id), incident.public_id)
    assert (await get(server, "/status.json")).json()["incidents"][0]["id"] == ref  # stable
    page = (await get(server)).text
    for internal in (
        "db-7",
        incident.public_id,
        incident.channel_id or "-",
        incident.channel_name or "-",
        "UREPORTER",
        "drafted",
        "published_by",
    ):
        assert internal not in page and internal not in first.text, internal


# --- bounded, whatever the store holds ---------------------------------------------------------


async def test_one_request_reads_a_bounded_page_in_a_fixed_number_of_statements(
    server: str, slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    busy = await declare(slack, fake_slack, bot)
    await published(slack, fake_slack, bot, busy, "First words.")
    began = clock.now()
    async with bot.sessions.begin() as session:
        for n in range(UPDATES_MAX * 3):
            session.add(post(busy.id, began + timedelta(minutes=n + 1), f"update {n}"))
    with statements(bot) as few:
        data = (await get(server, "/status.json")).json()
    [current] = data["incidents"]
    assert len(current["updates"]) == UPDATES_MAX
    assert current["updates"][0]["message"] == f"update {UPDATES_MAX * 3 - 1}"  # newest first
    assert current["began_at"] == began.isoformat()  # from the first post, not the oldest shown

    async with bot.sessions.begin() as session:
        many = [copy_of(busy, seq) for seq in range(1, 2 * (ACTIVE_MAX + HISTORY_MAX) + 1)]
        session.add_all(many)
        await session.flush()
        for n, incident in enumerate(many):
            at = began + timedelta(seconds=n)
            session.add_all(post(incident.id, at, f"incident {n} post {k}") for k in range(3))
    clock.advance(FRESH_FOR)
    with statements(bot) as more:
        data = (await get(server, "/status.json")).json()
    assert len(data["incidents"]) <= ACTIVE_MAX and len(data["history"]) <= HISTORY_MAX
    assert all(len(i["updates"]) <= UPDATES_MAX for i in data["incidents"])
    assert len(more) == len(few) <= 3  # no statement per incident
    # A flood within FRESH_FOR reads nothing: one computed page answers it.
    with statements(bot) as flood:
        for _ in range(5):
            assert (await get(server, "/status.json")).status_code == 200
    assert flood == []
    board = await status_board.board(bot)
    assert len(board.active) == ACTIVE_MAX


def test_the_json_writes_markup_and_line_separators_as_escapes() -> None:
    body = bytes(SafeJSONResponse({"m": "<a>&\u2028\u2029é"}).body)
    assert body == b'{"m":"\\u003ca\\u003e\\u0026\\u2028\\u2029\xc3\xa9"}'
    assert json.loads(body) == {"m": "<a>&\u2028\u2029é"}

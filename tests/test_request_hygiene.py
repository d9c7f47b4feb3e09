"""Request hygiene (issue 12): exact replays of signed Slack requests are refused, slow clients
are cut off, the ops endpoints can leave the public port, and DEBUG logs keep incident text out.

Through the real app over HTTP (and, for the server's own limits, the real uvicorn set-up of
app.server), on the test database: SQLite, or PostgreSQL with TEST_DATABASE_URL.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import time
from collections.abc import AsyncIterator, Iterator
from urllib.parse import urlencode, urlsplit

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import select

from app.config.settings import ConfigError, load_settings
from app.context import BotContext
from app.logs import BODY_LOGGERS, configure
from app.sandbox import builders as build
from app.sandbox.fakeslack import FakeSlack
from app.sandbox.sender import FORM, SlackSender, modal_values
from app.server import http_servers, run_http
from app.services.replays import RETENTION
from app.store.models import Incident, RequestSignature, TimelineEntry
from app.web import create_web_app
from tests import slack_events as ev
from tests.conftest import SIGNING_SECRET, TOKEN
from tests.test_declare import open_modal, submit

# ------------------------------------------------------------------------------------ helpers


@pytest_asyncio.fixture
async def incident(slack: SlackSender, fake_slack: FakeSlack, bot: BotContext) -> Incident:
    """A declared incident with its channel; the fake's calls are forgotten."""
    view = await open_modal(slack, fake_slack, bot)
    await submit(slack, bot, view, title="Checkout errors", severity="P1")
    async with bot.sessions() as session:
        [found] = (await session.execute(select(Incident))).scalars()
    assert found.setup_complete and found.channel_id
    fake_slack.channels[found.channel_id].members.add("ULEAD")
    fake_slack.calls.clear()
    return found


def note_body(fake: FakeSlack, channel: str, text: str) -> str:
    """The form body of `/incident note <text>` typed by ULEAD in `channel`."""
    return urlencode(build.slash_command(fake, f"note {text}", user_id="ULEAD", channel_id=channel))


async def notes(bot: BotContext) -> list[str]:
    async with bot.sessions() as session:
        stmt = select(TimelineEntry.text).where(TimelineEntry.kind == "note")
        return sorted((await session.execute(stmt)).scalars())


async def signatures(bot: BotContext) -> dict[str, int]:
    async with bot.sessions() as session:
        rows = await session.execute(select(RequestSignature))
        return {row.signature: row.request_ts for row in rows.scalars()}


@contextlib.asynccontextmanager
async def served(bot: BotContext) -> AsyncIterator[tuple[str, str | None]]:
    """The bot as `incident-bot serve` runs it (app.server's uvicorn set-up, and the ops server
    when OPS_PORT is set), on ephemeral ports; yields the public URL and the ops URL."""
    public, ops = http_servers(bot, create_web_app(bot))
    task = asyncio.create_task(run_http(public, ops))
    while not public.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)

    def url(server: object) -> str:
        port = server.servers[0].sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        return f"http://127.0.0.1:{port}"

    try:
        yield url(public), (url(ops) if ops is not None else None)
    finally:
        public.should_exit = True
        await task


async def exchange(url: str, data: bytes, *, wait: float = 10.0) -> tuple[bytes, float]:
    """Send raw bytes on a new connection; what came back until the server closed it, and after
    how many seconds."""
    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    started = time.monotonic()
    try:
        writer.write(data)
        await writer.drain()
        async with asyncio.timeout(wait):
            answer = await reader.read()
    finally:
        writer.close()
    return answer, time.monotonic() - started


# ------------------------------------------------------------------------------------ replays


async def test_an_exact_replay_of_a_command_is_refused_and_changes_nothing(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, incident: Incident
) -> None:
    assert incident.channel_id
    body = note_body(fake_slack, incident.channel_id, "Rolled back payments to v41")
    signed_at = int(time.time())
    first = await slack.post(body, FORM, timestamp=signed_at)
    await bot.tasks.drain()
    replay = await slack.post(body, FORM, timestamp=signed_at)  # the same bytes and signature
    await bot.tasks.drain()

    assert first.status_code == 200
    assert (replay.status_code, replay.text) == (401, "replayed request")
    assert await notes(bot) == ["Rolled back payments to v41"]
    assert len(fake_slack.calls_to("chat.postMessage")) == 1  # one echo in the channel


async def test_a_replay_racing_the_original_loses_on_every_database(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, incident: Incident
) -> None:
    assert incident.channel_id
    body = note_body(fake_slack, incident.channel_id, "Paged the database team")
    signed_at = int(time.time())
    answers = await asyncio.gather(*(slack.post(body, FORM, timestamp=signed_at) for _ in range(4)))
    await bot.tasks.drain()
    assert sorted(a.status_code for a in answers) == [200, 401, 401, 401]
    assert await notes(bot) == ["Paged the database team"]


async def test_a_replayed_declare_submission_is_refused(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    view = await open_modal(slack, fake_slack, bot)
    answers = modal_values(title="Replayed declare", severity="P2")
    payload = build.view_submission(fake_slack, view, answers, user_id="UREPORTER")
    body = urlencode({"payload": json.dumps(payload)})
    signed_at = int(time.time())
    first = await slack.post(body, FORM, timestamp=signed_at)
    await bot.tasks.drain()
    replay = await slack.post(body, FORM, timestamp=signed_at)
    await bot.tasks.drain()
    assert (first.status_code, replay.status_code) == (200, 401)
    async with bot.sessions() as session:
        assert len((await session.execute(select(Incident))).scalars().all()) == 1
    assert len(fake_slack.calls_to("conversations.create")) == 1


async def test_distinct_requests_signed_in_the_same_second_both_pass(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, incident: Incident
) -> None:
    assert incident.channel_id
    signed_at = int(time.time())
    for text in ("First note", "Second note"):
        answer = await slack.post(
            note_body(fake_slack, incident.channel_id, text), FORM, timestamp=signed_at
        )
        assert answer.status_code == 200
    await bot.tasks.drain()
    assert await notes(bot) == ["First note", "Second note"]
    assert len(await signatures(bot)) >= 2


async def test_an_event_sent_twice_is_answered_200_and_applied_once_by_its_event_id(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, incident: Incident
) -> None:
    """Events are not checked by signature: each one that changes anything claims its
    event_id with its change, so the same bytes again (a replay, or a retry) change nothing,
    and events cost no database write when they change nothing."""
    assert incident.channel_id
    ts = fake_slack.add_message(incident.channel_id, "disk full on db-2", user="ULEAD")
    body = json.dumps(build.event_callback(ev.added(fake_slack, incident.channel_id, ts)))
    signed_at = int(time.time())
    before = await signatures(bot)
    for _ in range(2):
        answer = await slack.post(body, "application/json", timestamp=signed_at)
        assert answer.status_code == 200
        await bot.tasks.drain()
    async with bot.sessions() as session:
        stmt = select(TimelineEntry).where(TimelineEntry.kind == "message")
        assert len((await session.execute(stmt)).scalars().all()) == 1
    assert await signatures(bot) == before


async def test_signatures_too_old_to_be_replayed_are_purged(
    slack: SlackSender, bot: BotContext
) -> None:
    now = int(time.time())
    async with bot.sessions.begin() as session:
        session.add(RequestSignature(signature="v0=" + "a" * 64, request_ts=now - RETENTION - 60))
        session.add(RequestSignature(signature="v0=" + "b" * 64, request_ts=now - 60))
    answer = await slack.command("help")
    assert answer.status_code == 200
    await bot.tasks.drain()  # the purge runs after the request, off its path
    kept = await signatures(bot)
    assert "v0=" + "a" * 64 not in kept
    assert "v0=" + "b" * 64 in kept
    assert len(kept) == 2  # the recent one and the help command's


# --------------------------------------------------------------------------- slow clients


@pytest.mark.settings(http_body_timeout_seconds=0.5)
async def test_a_body_that_never_arrives_gets_408_within_the_timeout(
    server: str, fake_slack: FakeSlack, bot: BotContext
) -> None:
    head = (
        b"POST /slack/events HTTP/1.1\r\nHost: bot\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\n"
    )
    answer, took = await exchange(server, head + b"command=%2F")
    assert answer.startswith(b"HTTP/1.1 408"), answer[:80]
    assert b"request body not received in time" in answer
    assert 0.4 < took < 3
    assert [c.method for c in fake_slack.calls] == ["auth.test"]  # only the start-up check


@pytest.mark.settings(host="127.0.0.1", port=0, http_header_timeout_seconds=0.5)
async def test_headers_that_never_finish_and_silent_connections_are_cut_off(
    bot: BotContext,
) -> None:
    async with served(bot) as (url, _):
        answer, took = await exchange(url, b"GET /health HTTP/1.1\r\nHost: bot\r\nX-Slow: ")
        assert answer == b"" and took < 3  # closed without an answer
        silent, took = await exchange(url, b"")
        assert silent == b"" and took < 3
        async with httpx.AsyncClient(timeout=5) as http:
            assert (await http.get(url + "/health")).status_code == 200  # others are served


@pytest.mark.settings(host="127.0.0.1", port=0, http_max_connections=2, http_max_header_bytes=1024)
async def test_connections_past_the_cap_get_503_and_oversized_headers_400(
    bot: BotContext,
) -> None:
    async with served(bot) as (url, _):
        parts = urlsplit(url)
        _, idle = await asyncio.open_connection(parts.hostname, parts.port)
        await asyncio.sleep(0.1)
        answer, _ = await exchange(
            url, b"GET /health HTTP/1.1\r\nHost: bot\r\nConnection: close\r\n\r\n"
        )
        assert answer.startswith(b"HTTP/1.1 503"), answer[:80]
        idle.close()
        await idle.wait_closed()
        async with httpx.AsyncClient(timeout=5) as http:
            for _ in range(50):
                if (await http.get(url + "/health")).status_code == 200:
                    break
                await asyncio.sleep(0.05)
            else:
                raise AssertionError("the bot did not serve again once the idle client left")

        huge, _ = await exchange(url, b"GET /health HTTP/1.1\r\nHost: bot\r\nX-Big: " + b"x" * 2000)
        assert huge.startswith(b"HTTP/1.1 400"), huge[:80]


# -------------------------------------------------------------------------------- ops port


@pytest.mark.settings(host="127.0.0.1", port=0, ops_host="127.0.0.1", ops_port=0)
async def test_with_an_ops_port_the_public_port_says_only_ok(
    bot: BotContext, fake_slack: FakeSlack
) -> None:
    async with served(bot) as (public, ops), httpx.AsyncClient(timeout=10) as http:
        assert ops is not None and ops != public
        for path in ("/health", "/api/health"):
            answer = await http.get(public + path)
            assert (answer.status_code, answer.json()) == (200, {"status": "ok"})
        assert (await http.get(public + "/metrics")).status_code == 404

        detailed = await http.get(ops + "/health")
        assert detailed.status_code == 200
        body = detailed.json()
        assert body["checks"]["database"]["ok"] and body["checks"]["slack"]["user_id"]
        metrics = await http.get(ops + "/metrics")
        assert metrics.status_code == 200 and "incident_bot_incidents_open" in metrics.text
        assert (await http.post(ops + "/slack/events", content=b"{}")).status_code == 404
    # One lifespan: the start-up token check ran once (the probes reuse its answer).
    assert len(fake_slack.attempts_to("auth.test")) == 1


@pytest.mark.settings(host="127.0.0.1", port=0, ops_port=0)
async def test_with_an_ops_port_an_unhealthy_public_health_names_nothing(
    bot: BotContext,
) -> None:
    async with served(bot) as (public, _), httpx.AsyncClient(timeout=10) as http:
        # Slack said the token was revoked a moment ago (the check is cached).
        bot.health.slack_token.result = {"ok": False, "error": "token_revoked"}
        bot.health.slack_token.checked_at = bot.clock.now()
        answer = await http.get(public + "/health")
        assert (answer.status_code, answer.json()) == (503, {"status": "unhealthy"})


def test_the_ops_port_must_differ_from_the_public_one() -> None:
    with pytest.raises(ConfigError, match="OPS_PORT is invalid .must differ from PORT"):
        load_settings(
            _env_file=None,
            slack_bot_token=TOKEN,
            slack_signing_secret=SIGNING_SECRET,
            port=3000,
            ops_port=3000,
        )
    unset = load_settings(
        _env_file=None, slack_bot_token=TOKEN, slack_signing_secret=SIGNING_SECRET, ops_port=""
    )
    assert unset.ops_port is None and not unset.ops_separate


# ----------------------------------------------------------------------------------- logs


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    levels = {name: logging.getLogger(name).level for name in BODY_LOGGERS}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, saved in levels.items():
        logging.getLogger(name).setLevel(saved)


@pytest.mark.usefixtures("restore_logging")
@pytest.mark.parametrize("slack_bodies", [False, True])
async def test_debug_logs_leave_out_a_private_incidents_title_and_notes(
    slack_bodies: bool, slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    out = io.StringIO()
    configure("DEBUG", "json", secrets=bot.settings.secrets, stream=out, slack_bodies=slack_bodies)
    view = await open_modal(slack, fake_slack, bot)
    await submit(slack, bot, view, title="Leaked customer table", impacts={"P0": ["data_breach"]})
    async with bot.sessions() as session:
        [incident] = (await session.execute(select(Incident))).scalars()
    assert incident.private and incident.channel_id
    await slack.post(note_body(fake_slack, incident.channel_id, "Rotated the S3 keys"), FORM)
    await bot.tasks.drain()
    logged = out.getvalue()
    lines = [json.loads(line) for line in logged.splitlines()]

    assert any(line["message"] == "declared INC-20261128-001" for line in lines)
    assert any(line["level"] == "DEBUG" for line in lines)  # DEBUG is on
    if slack_bodies:  # asked for: Slack's bodies are there, titles and all
        assert "Leaked customer table" in logged and "Rotated the S3 keys" in logged
        return
    assert "Leaked customer table" not in logged
    assert "Rotated the S3 keys" not in logged
    assert not [
        line
        for line in lines
        if line["logger"].startswith(BODY_LOGGERS) and line["level"] == "DEBUG"
    ]


async def test_a_replay_reaching_another_replica_is_refused_there(bot: BotContext) -> None:
    """The first replica saves the signature after answering; the second reads it."""
    from app.services.replays import ReplayGuard

    first, second = ReplayGuard(bot), ReplayGuard(bot)
    stamp = str(int(time.time()))
    assert await first.first_use("v0=" + "ab" * 32, stamp)
    assert not await first.first_use("v0=" + "ab" * 32, stamp)  # this replica, at once
    await bot.tasks.drain()  # the write that follows the answer
    assert not await second.first_use("v0=" + "ab" * 32, stamp)
    assert await second.first_use("v0=" + "cd" * 32, stamp)

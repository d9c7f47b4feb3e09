"""Probes: the bot checks HTTP, TLS and TCP targets over real sockets (servers started here), and
a probe failing `failures` times in a row declares one incident through the alert intake, with
the probe's runbook type, and pages L1; recovery adds a timeline entry; two replicas run a probe
once per interval; /webhooks/alerts/probe does not exist.

The passes are called directly with the ManualClock's time (the scheduler runs one every
second). Policy: tests/policies/probes.yml (L1 pages UONCALL), with the probes of each test.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import socket
import ssl
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
import yaml
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import select

from app import wiring
from app.clock import ManualClock
from app.config.policy_loader import load_policy
from app.context import BotContext
from app.domain.policy import Policy
from app.sandbox.fakeslack import FakeSlack
from app.services.probes import run_probes
from app.store.models import AlertLink, Incident, ProbeResult, ProbeState, TimelineEntry
from tests.conftest import make_settings, serve_bot
from tests.test_escalation import dms, tick

POLICY = Path(__file__).parent / "policies" / "probes.yml"
pytestmark = pytest.mark.policy(str(POLICY))


def probes_policy(tmp_path: Path, probes: list[dict[str, Any]], **sections: Any) -> Policy:
    """tests/policies/probes.yml with these probes (and other sections) instead of its own."""
    document = yaml.safe_load(POLICY.read_text())
    document["probes"] = probes
    document.pop("daily_report")
    document.update(sections)
    path = tmp_path / "policy.yml"
    path.write_text(yaml.safe_dump(document))
    return load_policy(path)


class Target:
    """An HTTP server whose answer the test changes: `status`, `body`, `delay` (seconds)."""

    def __init__(self) -> None:
        self.status = 200
        self.body: dict[str, Any] = {"status": "ok"}
        self.delay = 0.0
        self.hits = 0
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def _health(self, _request: web.Request) -> web.Response:
        self.hits += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        return web.json_response(self.body, status=self.status)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/health", self._health)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}/health"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


@pytest_asyncio.fixture
async def target() -> AsyncIterator[Target]:
    server = Target()
    await server.start()
    yield server
    await server.stop()


def api(url: str, **overrides: Any) -> dict[str, Any]:
    probe = {
        "name": "api",
        "kind": "http",
        "url": url,
        "json_path": "status",
        "json_equals": "ok",
        "max_latency": "5s",
        "interval": "1m",
        "failures": 3,
        "severity": "P1",
        "type": "service_downtime",
    }
    return {**probe, **overrides}


async def passes(bot: BotContext, clock: ManualClock, count: int, worker: str = "w1") -> None:
    """`count` probe passes one interval apart, each followed by the work it spawned."""
    for _ in range(count):
        await run_probes(bot, clock.now(), worker)
        await bot.tasks.drain()
        clock.advance(timedelta(minutes=1))


async def incidents(bot: BotContext) -> list[Incident]:
    async with bot.sessions() as session:
        return list((await session.execute(select(Incident).order_by(Incident.id))).scalars())


async def state(bot: BotContext, name: str) -> ProbeState:
    async with bot.sessions() as session:
        found = await session.get(ProbeState, name)
    assert found is not None
    return found


async def entries(bot: BotContext, incident: Incident) -> list[str]:
    async with bot.sessions() as session:
        stmt = (
            select(TimelineEntry.text)
            .where(TimelineEntry.incident_id == incident.id)
            .order_by(TimelineEntry.occurred_at, TimelineEntry.id)
        )
        return list((await session.execute(stmt)).scalars())


async def assert_one_paged_incident(
    bot: BotContext, fake_slack: FakeSlack, clock: ManualClock, incident_type: str, severity: str
) -> Incident:
    [incident] = await incidents(bot)
    assert (incident.incident_type, incident.severity) == (incident_type, severity)
    await tick(bot, clock, timedelta(seconds=5))  # L1's page (claimable once setup is done)
    assert any(m["text"].startswith(":rotating_light:") for m in dms(fake_slack, "UONCALL"))
    return incident


@pytest.mark.parametrize(
    ("breakage", "reason"),
    [
        ({"status": 500}, "HTTP 500 (expected 200)"),
        ({"body": {"status": "degraded"}}, "status is 'degraded', expected 'ok'"),
        ({"delay": 1.3}, "(max 1s)"),
    ],
    ids=["status", "json_path", "slow"],
)
async def test_a_probe_failing_three_times_declares_one_incident_and_pages_l1(
    bot: BotContext,
    fake_slack: FakeSlack,
    clock: ManualClock,
    target: Target,
    tmp_path: Path,
    breakage: dict[str, Any],
    reason: str,
) -> None:
    bot.policy = probes_policy(tmp_path, [api(target.url, max_latency="1s")])
    await passes(bot, clock, 1)
    assert (await state(bot, "api")).last_ok is True
    for key, value in breakage.items():
        setattr(target, key, value)

    await passes(bot, clock, 2)
    assert await incidents(bot) == []  # two failures: not yet
    assert (await state(bot, "api")).failures == 2
    await passes(bot, clock, 1)

    incident = await assert_one_paged_incident(bot, fake_slack, clock, "service_downtime", "P1")
    assert reason in incident.title
    # Still failing: the same incident (its alert entry counts the deliveries), no second one.
    await passes(bot, clock, 2)
    assert [i.id for i in await incidents(bot)] == [incident.id]
    async with bot.sessions() as session:
        [link] = (await session.execute(select(AlertLink))).scalars().all()
    assert (link.source, link.fingerprint, link.deliveries) == ("probe", "probe:api", 3)

    # It answers well again: the resolved alert is a timeline entry; the incident stays open
    # (the policy's alerts.resolve is false).
    target.status, target.body, target.delay = 200, {"status": "ok"}, 0.0
    await passes(bot, clock, 1)
    assert any(
        text.startswith("Alert resolved: Probe api recovered")
        for text in await entries(bot, incident)
    )
    [still] = await incidents(bot)
    assert still.resolved_at is None
    assert (await state(bot, "api")).alerting is False


async def test_a_probe_that_recovers_before_its_threshold_declares_nothing(
    bot: BotContext, clock: ManualClock, target: Target, tmp_path: Path
) -> None:
    bot.policy = probes_policy(tmp_path, [api(target.url)])
    target.status = 503
    await passes(bot, clock, 2)
    target.status = 200
    await passes(bot, clock, 1)
    target.status = 503
    await passes(bot, clock, 2)
    assert await incidents(bot) == []
    assert (await state(bot, "api")).failures == 2


async def test_two_replicas_run_a_probe_once_per_interval(
    bot: BotContext, fake_slack: FakeSlack, clock: ManualClock, target: Target, tmp_path: Path
) -> None:
    bot.policy = probes_policy(tmp_path, [api(target.url)])
    other = wiring.build(make_settings(fake_slack, bot.settings.database_url), bot.policy, clock)
    try:
        for _ in range(3):
            runs = await asyncio.gather(
                run_probes(bot, clock.now(), "w1"), run_probes(other, clock.now(), "w2")
            )
            assert sorted(runs) == [0, 1]
            # Within the interval nobody runs it again.
            clock.advance(timedelta(seconds=30))
            assert await run_probes(other, clock.now(), "w2") == 0
            clock.advance(timedelta(seconds=30))
    finally:
        await other.engine.dispose()
    assert target.hits == 3
    async with bot.sessions() as session:
        results = (await session.execute(select(ProbeResult))).scalars().all()
    assert [r.ok for r in results] == [True, True, True]


async def test_a_claim_left_by_a_dead_worker_lapses(
    bot: BotContext, clock: ManualClock, target: Target, tmp_path: Path
) -> None:
    from app.store import probes as store

    bot.policy = probes_policy(tmp_path, [api(target.url)])
    async with bot.sessions.begin() as session:
        await store.ensure_states(session, ["api"], clock.now())
        assert await store.claim_due(session, "api", "dead", clock.now(), timedelta(minutes=1))
    assert await run_probes(bot, clock.now(), "w1") == 0  # held
    clock.advance(timedelta(minutes=1, seconds=1))
    assert await run_probes(bot, clock.now(), "w1") == 1
    assert target.hits == 1


# ----------------------------------------------------------------------------- TLS and TCP


def certificate(tmp_path: Path, expires_at: datetime) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 valid until `expires_at`: (cert, key) files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(datetime.now(UTC) - timedelta(days=1))
        .not_valid_after(expires_at)
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


async def _hang_up(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.close()


@pytest_asyncio.fixture
async def tls_server(tmp_path: Path) -> AsyncIterator[tuple[int, ssl.SSLContext, datetime]]:
    """A TLS server on 127.0.0.1 whose certificate expires in 3 days (real time: the
    handshake checks it), and the trust store that knows it."""
    expires_at = (datetime.now(UTC) + timedelta(days=3, hours=1)).replace(microsecond=0)
    cert_path, key_path = certificate(tmp_path, expires_at)
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert_path, key_path)
    server = await asyncio.start_server(_hang_up, "127.0.0.1", 0, ssl=server_context)
    trust = ssl.create_default_context(cafile=str(cert_path))
    yield server.sockets[0].getsockname()[1], trust, expires_at
    server.close()
    await server.wait_closed()


async def test_a_certificate_expiring_within_warn_days_raises_an_ssl_certificate_incident(
    bot: BotContext,
    fake_slack: FakeSlack,
    clock: ManualClock,
    tmp_path: Path,
    tls_server: tuple[int, ssl.SSLContext, datetime],
) -> None:
    port, trust, expires_at = tls_server
    clock.set(datetime.now(UTC).replace(microsecond=0))
    probe = {"name": "cert", "kind": "tls", "host": "127.0.0.1", "port": port, "warn_days": 14}
    bot.policy = probes_policy(tmp_path, [{**probe, "failures": 1, "severity": "P2"}])

    await run_probes(bot, clock.now(), "w1", tls_context=trust)
    await bot.tasks.drain()

    found = await state(bot, "cert")
    assert (found.last_ok, found.cert_expires_at) == (False, expires_at)
    assert found.last_error == "certificate expires in 3 days"
    incident = await assert_one_paged_incident(bot, fake_slack, clock, "ssl_certificate", "P2")
    assert "certificate expires in 3 days" in incident.title


async def test_a_certificate_the_trust_store_refuses_fails_the_probe(
    bot: BotContext,
    clock: ManualClock,
    tmp_path: Path,
    tls_server: tuple[int, ssl.SSLContext, datetime],
) -> None:
    port, _trust, _expires = tls_server
    bot.policy = probes_policy(
        tmp_path, [{"name": "cert", "kind": "tls", "host": "127.0.0.1", "port": port}]
    )
    await run_probes(bot, clock.now(), "w1")  # the system's trust store: self-signed refused
    found = await state(bot, "cert")
    assert found.last_ok is False
    assert found.last_error is not None and found.last_error.startswith("certificate refused")


async def test_tcp_a_closed_port_fails_and_an_open_one_passes(
    bot: BotContext, clock: ManualClock, tmp_path: Path
) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        closed_port = closed.getsockname()[1]
    server = await asyncio.start_server(_hang_up, "127.0.0.1", 0)
    open_port = server.sockets[0].getsockname()[1]
    try:
        bot.policy = probes_policy(
            tmp_path,
            [
                {"name": "down", "kind": "tcp", "host": "127.0.0.1", "port": closed_port},
                {"name": "up", "kind": "tcp", "host": "127.0.0.1", "port": open_port},
            ],
        )
        assert await run_probes(bot, clock.now(), "w1") == 2
    finally:
        server.close()
        await server.wait_closed()
    down, up = await state(bot, "down"), await state(bot, "up")
    assert (down.last_ok, down.failures) == (False, 1)
    assert down.last_error is not None and down.last_error.startswith("could not connect")
    assert (up.last_ok, up.failures, up.last_error) == (True, 0, None)


# ----------------------------------------------------------------------------- edges, policy


async def test_probe_is_a_rule_source_but_not_a_webhook(bot: BotContext) -> None:
    bot.settings = make_settings_with_token(bot)
    async with serve_bot(bot) as url, httpx.AsyncClient() as client:
        headers = {"Authorization": "Bearer " + "t" * 32}
        probe = await client.post(f"{url}/webhooks/alerts/probe", json={}, headers=headers)
        generic = await client.post(
            f"{url}/webhooks/alerts/generic", json={"title": "x"}, headers=headers
        )
    assert probe.status_code == 404
    assert generic.status_code != 404  # the shared token does open the real sources


def make_settings_with_token(bot: BotContext) -> Any:
    return bot.settings.model_copy(update={"alert_webhook_token": "t" * 32})


def test_a_probe_with_an_unknown_severity_is_refused(tmp_path: Path) -> None:
    from app.config.policy_loader import PolicyError

    with pytest.raises(PolicyError, match="unknown severity 'P9'"):
        probes_policy(tmp_path, [api("http://127.0.0.1:9/", severity="P9")])


def test_each_probe_brings_its_rule_first_once_even_through_a_snapshot(tmp_path: Path) -> None:
    policy = probes_policy(tmp_path, [api("http://127.0.0.1:9/"), api("http://x/", name="web")])
    rules = policy.alerts.rules
    assert [(r.source, r.match, r.severity, r.type) for r in rules[:2]] == [
        ("probe", {"probe": ("api",)}, "P1", "service_downtime"),
        ("probe", {"probe": ("web",)}, "P1", "service_downtime"),
    ]
    again = Policy.from_snapshot(policy.to_snapshot())
    assert again.alerts.rules == rules


def test_tls_days_left_counts_whole_days() -> None:
    from app.domain.probes import days_left

    now = datetime(2026, 12, 1, tzinfo=dt.UTC)
    assert days_left(now + timedelta(days=3, hours=23), now) == 3
    assert days_left(now - timedelta(days=1), now) == 0


@pytest.mark.settings(escalation_tick_seconds=60)
async def test_the_scheduler_runs_the_probes_at_start_outside_the_step_tick(
    bot: BotContext, clock: ManualClock, target: Target, tmp_path: Path
) -> None:
    bot.policy = probes_policy(tmp_path, [api(target.url)])
    async with serve_bot(bot):
        async with asyncio.timeout(20):
            while target.hits == 0:  # noqa: ASYNC110 - waiting for the scheduler's probe job
                await asyncio.sleep(0.02)
    # The ManualClock does not move: the probe is not due again, however often the job ran.
    assert target.hits == 1
    assert (await state(bot, "api")).next_run_at == clock.now() + timedelta(minutes=1)


async def test_results_are_kept_eight_days(
    bot: BotContext, clock: ManualClock, target: Target, tmp_path: Path
) -> None:
    bot.policy = probes_policy(tmp_path, [api(target.url)])
    async with bot.sessions.begin() as session:
        for days in (9, 7):
            at = clock.now() - timedelta(days=days)
            session.add(ProbeResult(name="api", checked_at=at, ok=False, detail=f"{days}d"))
    await passes(bot, clock, 1)
    async with bot.sessions() as session:
        kept = (await session.execute(select(ProbeResult.detail).order_by(ProbeResult.id))).all()
    assert [row[0] for row in kept] == ["7d", "ok"]

"""The probes' checks over real sockets: HTTP with httpx, TLS and TCP with asyncio streams.

Each check returns an `Observation` (what it saw, how long it took) and never raises for the
target's failures: a refused connection, a timeout, a bad certificate are observations too,
judged by `app.domain.probes.judge`. Every check is bounded by a timeout (the probe's
max_latency plus a grace, so "too slow" is reported as a latency, and a dead host cannot hold
a pass). Latency is measured with the monotonic clock, the one thing here not injected.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from datetime import UTC, datetime

import httpx

from app.domain.probes import Observation, Probe

__all__ = ["BODY_MAX", "GRACE", "check"]

GRACE = 5.0  # seconds beyond max_latency before a check gives up
BODY_MAX = 64 * 1024  # enough for a health document; a larger answer is cut here


def _timeout(probe: Probe) -> float:
    return probe.max_latency.total_seconds() + GRACE


async def check(probe: Probe, *, verify_tls: ssl.SSLContext | None = None) -> Observation:
    """Run one check of `probe`. `verify_tls`: the trust store (tests pass their own CA)."""
    started = time.monotonic()
    try:
        async with asyncio.timeout(_timeout(probe)):
            if probe.kind == "http":
                return await _http(probe, started, verify_tls)
            if probe.kind == "tls":
                return await _tls(probe, started, verify_tls)
            return await _tcp(probe, started)
    except TimeoutError:
        return Observation(
            latency=time.monotonic() - started, error=f"no answer within {_timeout(probe):g}s"
        )


async def _http(probe: Probe, started: float, context: ssl.SSLContext | None) -> Observation:
    assert probe.url is not None
    verify: ssl.SSLContext | bool = context if context is not None else True
    try:
        async with httpx.AsyncClient(verify=verify, timeout=_timeout(probe)) as client:
            answer = await client.request(probe.method, probe.url)
    except httpx.HTTPError as exc:
        return Observation(latency=time.monotonic() - started, error=_http_error(exc))
    return Observation(
        latency=time.monotonic() - started,
        status=answer.status_code,
        body=answer.content[:BODY_MAX],
    )


def _http_error(exc: httpx.HTTPError) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return "timed out"
    if isinstance(exc, httpx.ConnectError):
        return f"could not connect ({exc})"
    return f"{type(exc).__name__}: {exc}"


async def _tls(probe: Probe, started: float, context: ssl.SSLContext | None) -> Observation:
    assert probe.host is not None
    context = context or ssl.create_default_context()
    try:
        _reader, writer = await asyncio.open_connection(
            probe.host, probe.port_or_default, ssl=context, server_hostname=probe.host
        )
    except ssl.SSLCertVerificationError as exc:
        return Observation(
            latency=time.monotonic() - started, error=f"certificate refused: {exc.verify_message}"
        )
    except (OSError, ssl.SSLError) as exc:
        return Observation(latency=time.monotonic() - started, error=f"TLS handshake failed: {exc}")
    latency = time.monotonic() - started
    try:
        peer = writer.get_extra_info("peercert") or {}
        expires = peer.get("notAfter")
    finally:
        writer.close()
        await _closed(writer)
    if not expires:
        return Observation(latency=latency, error="the server showed no certificate")
    expires_at = datetime.fromtimestamp(ssl.cert_time_to_seconds(expires), UTC)
    return Observation(latency=latency, cert_expires_at=expires_at)


async def _tcp(probe: Probe, started: float) -> Observation:
    assert probe.host is not None
    try:
        _reader, writer = await asyncio.open_connection(probe.host, probe.port_or_default)
    except OSError as exc:
        return Observation(latency=time.monotonic() - started, error=f"could not connect ({exc})")
    latency = time.monotonic() - started
    writer.close()
    await _closed(writer)
    return Observation(latency=latency)


async def _closed(writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError, ssl.SSLError):  # done with it: nothing to report
        await writer.wait_closed()

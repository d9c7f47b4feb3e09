"""Probes: the bot checks its own targets (HTTP, TLS, TCP) and a probe failing `failures`
times in a row raises an alert through the same intake as the webhooks
(`app.services.alerts.receive`, source "probe", fingerprint `probe:<name>`): the probe's own
rule declares it at its severity with its runbook type, later failures join the open incident
("still firing"), and the first pass that succeeds again sends the resolved alert (a timeline
entry; the incident resolves only if `alerts.resolve` says so).

A pass (`run_probes`, every second from `app.scheduler`, never inside the step tick, so a slow
target never delays a page) claims each due probe in its own committed transaction
(`store.probes.claim_due`: one atomic UPDATE), so two replicas run a probe once per interval;
the checks of a pass run concurrently; each result is saved and the claim released with the
next due time. A worker that dies mid-check loses its claim after LEASE.

Time is injected: the pass takes `now` (the checks themselves use real sockets).
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from datetime import datetime, timedelta

from app.channels import probing
from app.context import BotContext
from app.domain.probes import Probe, Verdict, judge, probe_alert
from app.services import alerts
from app.store import probes as store

log = logging.getLogger(__name__)

__all__ = ["LEASE", "run_probes"]

LEASE = timedelta(seconds=60)  # beyond any check's timeout (max_latency + GRACE)


async def run_probes(
    ctx: BotContext,
    now: datetime,
    worker: str,
    *,
    tls_context: ssl.SSLContext | None = None,
) -> int:
    """One pass: run every due probe this worker can claim; the number of checks run."""
    probes = ctx.policy.probes
    if not probes:
        return 0
    # One read per pass when nothing is due (the pass runs every second on every replica).
    async with ctx.sessions.begin() as session:
        known = await store.states(session)
        missing = [probe.name for probe in probes if probe.name not in known]
        if missing:
            await store.ensure_states(session, missing, now)
    claimed: list[Probe] = []
    for probe in probes:
        if probe.name in known and not store.looks_due(known[probe.name], now):
            continue
        async with ctx.sessions.begin() as session:
            if await store.claim_due(session, probe.name, worker, now, LEASE):
                claimed.append(probe)
    if claimed:
        await asyncio.gather(*(_run_one(ctx, probe, now, tls_context) for probe in claimed))
    return len(claimed)


async def _run_one(
    ctx: BotContext, probe: Probe, now: datetime, tls_context: ssl.SSLContext | None
) -> None:
    try:
        seen = await probing.check(probe, verify_tls=tls_context)
        verdict = judge(probe, seen, now)
    except Exception as exc:  # noqa: BLE001 - a bug in one check is that probe's failure
        log.exception("probe %s: the check failed", probe.name)
        verdict = Verdict(False, f"the check failed ({type(exc).__name__})")
    async with ctx.sessions.begin() as session:
        state = await store.record(session, probe.name, verdict, now, now + probe.interval)
        failures, alerting = state.failures, state.alerting
    if not verdict.ok:
        log.info("probe %s failed (%d in a row): %s", probe.name, failures, verdict.detail)
    if not verdict.ok and failures >= probe.failures:
        await _tell(ctx, probe, firing=True, detail=verdict.detail)
    elif verdict.ok and alerting:
        await _tell(ctx, probe, firing=False, detail=verdict.detail)


async def _tell(ctx: BotContext, probe: Probe, *, firing: bool, detail: str) -> None:
    """The alert to the intake; `alerting` follows only what the intake took, so an intake
    that could not take it now is told again by the next pass."""
    intake = await alerts.receive(ctx, [probe_alert(probe, firing, detail)])
    if intake.unavailable is not None or intake.failed:
        log.warning(
            "probe %s: the alert intake did not take the alert; next pass retries", probe.name
        )
        return
    async with ctx.sessions.begin() as session:
        await store.set_alerting(session, probe.name, firing)

"""Declaring an incident: validate, then save it with its first timeline entry, its setup step
and its escalation plan, in one transaction."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app import metrics
from app.context import BotContext
from app.domain.lifecycle import Status
from app.domain.naming import incident_id
from app.domain.severity import choose_severity, private_by_default
from app.domain.text import normalize_title
from app.domain.timeline import Kind
from app.services import setup, tickets, timeline
from app.services.errors import InvalidInput
from app.store import incidents as store
from app.store.models import Incident

TITLE_MAX = 120
DESCRIPTION_MAX = 3000


@dataclass(frozen=True)
class DeclareRequest:
    title: str
    reporter_id: str
    description: str = ""
    impacts: list[str] = field(default_factory=list)
    severity: str | None = None
    private: bool | None = None
    # A runbook key (app/runbooks): its checklist is posted in the channel after setup.
    incident_type: str | None = None
    # Identifies the submission (the modal's view id) so a second delivery is harmless.
    request_key: str | None = None


def validate(request: DeclareRequest, ctx: BotContext) -> tuple[str, str, bool]:
    """Return (title, severity, private) or raise InvalidInput naming the field."""
    # Zero-width and bidi-control characters dropped, whitespace collapsed: the title people
    # see is the title stored (app.domain.text).
    title = normalize_title(request.title)
    if not title:
        if request.title.strip():
            raise InvalidInput("title", "The title needs at least one visible character.")
        raise InvalidInput("title", "Give the incident a title.")
    if len(title) > TITLE_MAX:
        raise InvalidInput(
            "title", f"The title is {len(title)} characters long; keep it to {TITLE_MAX}."
        )
    if len(request.description) > DESCRIPTION_MAX:
        raise InvalidInput(
            "description", f"The description is too long; keep it to {DESCRIPTION_MAX} characters."
        )
    if request.severity is not None and request.severity not in ctx.policy.severity_keys:
        raise InvalidInput("severity", f"Unknown severity {request.severity}.")
    if request.incident_type is not None and request.incident_type not in ctx.runbooks:
        raise InvalidInput(
            "incident_type",
            f"Unknown incident type {request.incident_type}; pick one from the list or none.",
        )
    severity = choose_severity(request.severity, request.impacts, ctx.policy)
    if severity is None:
        raise InvalidInput("severity", "Pick a severity, or tick an impact to get a suggestion.")
    private = (
        request.private
        if request.private is not None
        else private_by_default(request.impacts, ctx.policy)
    )
    return title, severity, private


@dataclass(frozen=True)
class Declared:
    incident: Incident
    # False when the request had already created it (a redelivery, or a race it lost).
    created: bool


OnSaved = Callable[[AsyncSession, Incident], Awaitable[None]]


async def declare(ctx: BotContext, request: DeclareRequest) -> Incident:
    """Save a new incident (or return the one this request already created)."""
    return (await declare_with_result(ctx, request)).incident


async def declare_with_result(
    ctx: BotContext, request: DeclareRequest, *, on_saved: OnSaved | None = None
) -> Declared:
    """Like `declare`, saying whether this call created the incident.

    `on_saved` runs inside the incident's transaction, so what it writes (e.g. the alert that
    caused the incident) commits with the incident or not at all. So do the setup step and the
    escalation's first page (`setup.plan_setup`); `setup.set_up` then runs the setup at once.
    """
    title, severity, private = validate(request, ctx)
    now = ctx.clock.now()
    day = now.astimezone(ctx.settings.tz).date()
    if request.request_key and (existing := await _by_request_key(ctx, request.request_key)):
        return Declared(existing, created=False)
    try:
        async with ctx.sessions.begin() as session:
            # The counter upsert is the first statement: on SQLite the transaction starts as a
            # writer, so two declares queue on the lock instead of failing to upgrade.
            seq = await store.next_sequence(session, day)
            incident = Incident(
                public_id=incident_id(day, seq),
                day=day,
                seq=seq,
                request_key=request.request_key,
                title=title,
                description=request.description.strip(),
                severity=severity,
                status=Status.INVESTIGATING,
                private=private,
                impacts=_known_impacts(request.impacts, ctx),
                incident_type=request.incident_type,
                reporter_id=request.reporter_id,
                policy_snapshot=ctx.policy.to_snapshot(),
                started_at=now,
                created_at=now,
                updated_at=now,
            )
            session.add(incident)
            await session.flush()
            sev = ctx.policy.severity(severity)
            timeline.record(
                session,
                incident,
                Kind.DECLARED,
                now=now,
                actor_id=request.reporter_id,
                text=f"Declared as {severity} {sev.name}: {title}",
                data={
                    "severity": severity,
                    "private": private,
                    "impacts": incident.impacts,
                    "type": request.incident_type,
                },
            )
            if on_saved is not None:
                await on_saved(session, incident)
            # Committed with the incident: its Slack setup and L1's page happen even if this
            # process dies right after the commit.
            await setup.plan_setup(session, incident)
            # And its ticket, if its severity opens one (the plan's "Create ticket").
            await tickets.plan_for_declared(session, incident, ctx.policy, now)
    except IntegrityError:
        # The same submission won a race against itself; the winner's incident is the answer.
        if request.request_key and (existing := await _by_request_key(ctx, request.request_key)):
            return Declared(existing, created=False)
        raise
    metrics.incident_declared(severity)
    return Declared(incident, created=True)


def _known_impacts(keys: list[str], ctx: BotContext) -> list[str]:
    known = {impact.key for impact in ctx.policy.impacts}
    return [key for key in dict.fromkeys(keys) if key in known]


async def _by_request_key(ctx: BotContext, key: str) -> Incident | None:
    async with ctx.sessions() as session:
        return await store.by_request_key(session, key)

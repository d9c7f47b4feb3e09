"""What the SMS and voice steps share: Twilio's client for a step, a recipient refused for good,
and the timeline notes that say why someone was not reached.

A refusal for good (21211: not a valid phone number; 20003: bad credentials) is saved as that
recipient's error, so the step neither retries it nor sends it again; anything Twilio may still
take later (a 5xx, a 429, a timeout, a dropped connection) raises, and the engine retries the
step with its backoff. Notes are written once (keyed in their data), however often a step runs.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from app.channels.twilio import TwilioClient, TwilioError
from app.domain.timeline import Kind
from app.services import timeline
from app.services.engine import StepRun
from app.services.paging import common
from app.services.paging.common import Recipient
from app.store.models import StepMessage, TimelineEntry

log = logging.getLogger(__name__)

PROVIDER = "twilio"  # StepMessage.channel of what went through Twilio
CLOCK_SKEW = timedelta(seconds=30)
UNSET = "TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM_NUMBER"


def client_for(run: StepRun) -> TwilioClient:
    settings = run.ctx.settings
    assert settings.twilio_account_sid and settings.twilio_auth_token
    return TwilioClient(
        settings.twilio_account_sid, settings.twilio_auth_token, settings.twilio_api_url
    )


def from_number(run: StepRun) -> str:
    number = run.ctx.settings.twilio_from_number
    assert number
    return number


def tag(run: StepRun) -> str:
    """What ties Twilio's records to this step: "#<step id>"."""
    return f"#{run.step.id}"


def since(run: StepRun) -> date:
    """The first day (UTC) an attempt of this step may have sent anything: its due date."""
    return run.step.due_at.astimezone(UTC).date()


def not_before(run: StepRun) -> datetime:
    """The earliest `date_created` anything of this step's may show: its due time, less whole
    seconds (Twilio keeps no more) and a margin for Twilio's clock running behind ours."""
    return run.step.due_at.astimezone(UTC).replace(microsecond=0) - CLOCK_SKEW


async def deliver(
    run: StepRun,
    recipient: Recipient,
    send: Callable[[], Awaitable[str]],
    look: Callable[[], Awaitable[str | None]],
) -> StepMessage:
    """`common.send_once` through Twilio; a refusal for good is saved as the recipient's error."""
    try:
        return await common.send_once(run, recipient, send, look, provider=PROVIDER)
    except TwilioError as exc:
        if exc.transient:
            raise
        log.warning(
            "step %s (%s): Twilio refused %s: %s",
            run.step.id,
            run.step.kind,
            recipient.key,
            exc.short,
        )
        return await _refused(run, recipient, exc)


async def _refused(run: StepRun, recipient: Recipient, exc: TwilioError) -> StepMessage:
    message = StepMessage(
        step_id=run.step.id,
        incident_id=run.incident.id,
        recipient=recipient.key,
        channel=PROVIDER,
        text=recipient.address,
        error=exc.short[:64],
        created_at=run.now,
    )
    async with run.ctx.sessions.begin() as session:
        session.add(message)
    run.sent[recipient.key] = message
    return message


async def note_once(run: StepRun, reason: str, text: str, *, per_incident: bool = False) -> None:
    """A STEP_FAILED timeline note saying why a channel reached nobody (or not everyone);
    once per step, or once per incident and step kind with `per_incident`."""
    key = {"kind": run.step.kind, "reason": reason}
    if not per_incident:
        key["step_id"] = str(run.step.id)
    async with run.ctx.sessions.begin() as session:
        stmt = select(TimelineEntry.data).where(
            TimelineEntry.incident_id == run.incident.id, TimelineEntry.kind == Kind.STEP_FAILED
        )
        for data in (await session.execute(stmt)).scalars():
            if all((data or {}).get(name) == value for name, value in key.items()):
                return
        timeline.record(session, run.incident, Kind.STEP_FAILED, now=run.now, text=text, data=key)


async def switched_off(run: StepRun, what: str) -> bool:
    """Twilio unset: the step is cancelled, and the incident's timeline says so once."""
    if run.ctx.settings.twilio_configured:
        return False
    run.cancel("twilio is not configured")
    await note_once(
        run,
        "twilio_unset",
        f"No {what} sent: Twilio is not set up ({UNSET} are unset).",
        per_incident=True,
    )
    return True


async def reachable(run: StepRun, kind: str, what: str) -> list[Recipient]:
    """The paged people's `kind` numbers; a note names whoever has none. None at all: the step
    is cancelled."""
    found = await common.recipients(run, kind)
    targets = [str(t) for t in run.data.get("targets") or []]
    missing = [t for t in targets if not any(r.user_id == t for r in found)]
    if missing:
        people = ", ".join(f"<@{user}>" for user in missing)
        await note_once(
            run,
            f"no_{kind}_number",
            f"No {what} for {run.step.level or 'this page'} to {people}: no {kind} number "
            "(`/incident contact`).",
        )
    if not found:
        run.cancel(f"nobody paged has a {kind} number")
    return found


async def note_refusals(run: StepRun, recipients: Sequence[Recipient], what: str) -> None:
    """Once the step has tried everyone: a note naming who Twilio refused, and why."""
    refused = [
        (r, run.sent[r.key].error)
        for r in recipients
        if r.key in run.sent and run.sent[r.key].error
    ]
    if not refused:
        return
    # Twilio's code only ("twilio 21211"): its message repeats the number, which a timeline
    # (and so the incident log and the post-mortem) should not carry.
    named = "; ".join(
        f"{f'<@{r.user_id}>' if r.user_id else r.kind} ({(error or '').split(':')[0]})"
        for r, error in refused
    )
    await note_once(
        run, "refused", f"Twilio refused the {what} of {run.step.level or 'this page'}: {named}"
    )


async def taken_elsewhere(run: StepRun, sid: str) -> bool:
    """Whether another step already saved this Twilio SID as its own."""
    async with run.ctx.sessions() as session:
        stmt = select(StepMessage.id).where(
            StepMessage.ts == sid[:64], StepMessage.step_id != run.step.id
        )
        return (await session.execute(stmt.limit(1))).first() is not None

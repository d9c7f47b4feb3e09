"""What a person on the phone does with a page: an SMS reply, a call answered, a key pressed.

"1" (or "ack") in reply to an SMS page, or 1 pressed during a page call, acknowledges the
incident as the person whose number it is (`contacts.owner_of`), exactly as the Slack button
does (`escalation.acknowledge`, then `announce_acknowledgement` in the background): the
pending pages, e-mails, SMS and calls of every level are cancelled with it.

An SMS reply names no incident: it acknowledges the most recent open, unacknowledged incident
whose SMS page reached that number ("ack INC-…" picks another such incident). Twilio's own
keywords (STOP, HELP, START...) get no answer from the bot, because Twilio answers them itself,
and a number nobody registered gets none either.

Not imported by `app.services.paging` (acknowledging imports paging: the cycle would close).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select

from app.context import BotContext
from app.domain.escalation import PAGE_SMS, PAGE_VOICE
from app.services.escalation import acknowledge, announce_acknowledgement
from app.services.escalation.start import snapshot_policy
from app.services.paging.common import Recipient
from app.store import contacts
from app.store.models import Incident, ScheduledStep, StepMessage
from app.ui import twiml

log = logging.getLogger(__name__)

ACK_WORDS = frozenset({twiml.ACK_DIGIT, "ack", "acknowledge", "acknowledged"})
# Answered by Twilio itself (Advanced Opt-Out); a reply from the bot would only cost money.
TWILIO_KEYWORDS = frozenset(
    {
        "stop",
        "stopall",
        "unsubscribe",
        "cancel",
        "end",
        "quit",
        "start",
        "unstop",
        "yes",
        "help",
        "info",
    }
)


UNKNOWN = "This page is no longer known to the incident bot. Goodbye."


@dataclass(frozen=True)
class Call:
    """What the call says: `script` then "press 1" (`listen`), or only `script` and goodbye."""

    script: str
    listen: bool = False
    again: bool = False


async def sms_received(ctx: BotContext, from_number: str, body: str) -> str | None:
    """The SMS to answer an inbound message with, or None for no answer."""
    words = body.strip().split()
    first = words[0].lower().strip(".!") if words else ""
    if first in TWILIO_KEYWORDS:
        return None
    async with ctx.sessions() as session:
        user_id = await contacts.owner_of(session, "sms", from_number)
        if user_id is None:
            return None
        paged = await _paged_by_sms(ctx, from_number)
    if first not in ACK_WORDS:
        if paged:
            return f"Reply {twiml.ACK_DIGIT} to acknowledge {paged[0].public_id}."
        return "No open page was sent to this number. Acknowledge pages in Slack."
    chosen = _choose(paged, words[1] if len(words) > 1 else None)
    if chosen is None:
        return "Nothing to acknowledge: no open, unacknowledged page was sent to this number."
    return await _acknowledge(ctx, chosen, user_id)


def _choose(paged: list[Incident], named: str | None) -> Incident | None:
    if named is None:
        return paged[0] if paged else None
    return next((i for i in paged if i.public_id.lower() == named.lower()), None)


async def _paged_by_sms(ctx: BotContext, number: str) -> list[Incident]:
    """Open, unacknowledged incidents whose SMS page reached `number`, most recent page first."""
    key = Recipient(None, "sms", number).key
    stmt = (
        select(Incident)
        .join(StepMessage, StepMessage.incident_id == Incident.id)
        .join(ScheduledStep, ScheduledStep.id == StepMessage.step_id)
        .where(
            ScheduledStep.kind == PAGE_SMS,
            StepMessage.recipient == key,
            StepMessage.ts.is_not(None),
            Incident.acknowledged_at.is_(None),
            Incident.resolved_at.is_(None),
        )
        .order_by(StepMessage.created_at.desc(), StepMessage.id.desc())
    )
    async with ctx.sessions() as session:
        found = list((await session.execute(stmt)).scalars())
    return [i for i in dict.fromkeys(found) if i.is_open]


async def _acknowledge(ctx: BotContext, incident: Incident, user_id: str) -> str:
    result = await acknowledge(ctx, incident, user_id)
    current = result.incident
    if result.acknowledged:
        ctx.tasks.spawn(
            announce_acknowledgement(ctx, result), name=f"announce ack of {current.public_id}"
        )
        return f"Acknowledged {current.public_id}. Escalation stopped."
    if not current.is_open:
        return f"{current.public_id} is resolved; there is nothing to acknowledge."
    return f"{current.public_id} was already acknowledged."


# --- the call ----------------------------------------------------------------------------------


async def _paged_by_call(ctx: BotContext, step_id: int) -> Incident | None:
    """The incident of the voice step `step_id`, if it is one."""
    async with ctx.sessions() as session:
        step = await session.get(ScheduledStep, step_id)
        if step is None or step.kind != PAGE_VOICE:
            return None
        return await session.get(Incident, step.incident_id)


def _settled(incident: Incident) -> str | None:
    if not incident.is_open:
        return f"Incident {incident.public_id} is resolved. Nothing to do. Goodbye."
    if incident.acknowledged_at is not None:
        return f"Incident {incident.public_id} was already acknowledged. Goodbye."
    return None


def _script(incident: Incident) -> str:
    policy = snapshot_policy(incident)
    name = policy.severity(incident.severity).name
    title = None if incident.private else incident.title
    return twiml.call_script(incident.severity, name, incident.public_id, title)


async def call_answered(ctx: BotContext, step_id: int) -> Call:
    """What a page call says when it is answered (Twilio fetches it then)."""
    incident = await _paged_by_call(ctx, step_id)
    if incident is None:
        return Call(UNKNOWN)
    settled = _settled(incident)
    if settled is not None:
        return Call(settled)
    return Call(_script(incident), listen=True)


async def key_pressed(ctx: BotContext, step_id: int, called: str, digits: str) -> Call:
    """The answer to the key pressed on a page call to the number `called`."""
    incident = await _paged_by_call(ctx, step_id)
    if incident is None:
        return Call(UNKNOWN)
    settled = _settled(incident)
    if settled is not None:
        return Call(settled)
    if digits != twiml.ACK_DIGIT:
        return Call(_script(incident), listen=True, again=True)
    async with ctx.sessions() as session:
        user_id = await contacts.owner_of(session, "voice", called)
    if user_id is None:
        return Call(
            "This number is no longer registered for pages, so the page was not acknowledged. "
            "Acknowledge it in Slack. Goodbye."
        )
    return Call(await _acknowledge(ctx, incident, user_id) + " Goodbye.")

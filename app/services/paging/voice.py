"""The `page_voice` step: a page by phone call (Twilio Calls) to the `voice` numbers of the
people a Slack page reached. The call reads the incident and takes "press 1 to acknowledge".

Twilio fetches what the call says, once it is answered, from the bot: the call's Url is
PUBLIC_URL/webhooks/twilio/voice/<step id> (`app.twilio_webhooks`, `app.services.page_replies`),
so without PUBLIC_URL there is no call (the step is cancelled with a timeline note).

After an answer that may have been lost, the retry lists the Calls to the number from
TWILIO_FROM_NUMBER since the step's due date and takes one created at or after the step fell
due that no other step claims. (A Call resource does not show its Url, and a call carries no
text to tag: a second voice step calling the same number in the same seconds, both losing
their answers, could take each other's call; each person is still called.)
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.channels.twilio import TwilioClient, created_at
from app.context import BotContext
from app.domain.escalation import PAGE_VOICE
from app.domain.policy import EscalationLevel
from app.services.engine import StepRun
from app.services.paging import common, twilio_pages
from app.services.paging.common import Recipient
from app.store.models import Incident

KIND = PAGE_VOICE
WHAT = "voice call"


async def plan(
    session: AsyncSession,
    ctx: BotContext,
    incident: Incident,
    level: EscalationLevel,
    targets: Sequence[str],
    page_step_id: int,
    now: datetime,
) -> None:
    """The voice step of a Slack page just sent (settings are checked at send time)."""
    await common.plan_step(session, incident, KIND, level, targets, page_step_id, now)


def call_url(public_url: str, step_id: int) -> str:
    """Where Twilio fetches the call's TwiML (POST), and (+ "/gather") posts the key pressed."""
    return f"{public_url}/webhooks/twilio/voice/{step_id}"


async def send(run: StepRun) -> None:
    if common.answered(run) or await twilio_pages.switched_off(run, WHAT):
        return
    public_url = run.ctx.settings.public_url
    if not public_url:
        run.cancel("voice needs PUBLIC_URL")
        await twilio_pages.note_once(
            run,
            "public_url_unset",
            "No voice call sent: voice needs PUBLIC_URL, the address Twilio fetches the "
            "call's words from.",
            per_incident=True,
        )
        return
    people = await twilio_pages.reachable(run, "voice", WHAT)
    if not people:
        return
    url = call_url(public_url, run.step.id)
    caller = twilio_pages.from_number(run)
    async with twilio_pages.client_for(run) as client:
        for person in people:
            await twilio_pages.deliver(
                run,
                person,
                send=functools.partial(_call, client, person, caller, url),
                look=functools.partial(_look, run, client, person, caller),
            )
    await twilio_pages.note_refusals(run, people, WHAT)


async def _call(client: TwilioClient, person: Recipient, caller: str, url: str) -> str:
    created = await client.call(person.address, caller, url)
    return str(created["sid"])


async def _look(run: StepRun, client: TwilioClient, person: Recipient, caller: str) -> str | None:
    """The SID of a call this step placed to `person`, if Twilio has one."""
    found = await _ours(run, await client.calls(person.address, caller, twilio_pages.since(run)))
    if found is None:  # maybe still queued: it has not started, so StartTime finds nothing
        found = await _ours(run, await client.calls(person.address, caller))
    return found


async def _ours(run: StepRun, calls: list[dict[str, Any]]) -> str | None:
    earliest = twilio_pages.not_before(run)
    for item in reversed(calls):  # oldest first: the first attempt's call
        sid = item.get("sid")
        when = created_at(item)
        if (
            isinstance(sid, str)
            and item.get("direction") == "outbound-api"
            and when is not None
            and when >= earliest
            and not await twilio_pages.taken_elsewhere(run, sid)
        ):
            return sid
    return None

"""What every channel beyond Slack shares: the step's data, the addresses of the people it
pages, and sending to one recipient exactly once.

A channel step is planned with its Slack page (`plan_step`), keyed by that page, so a page
marked sent twice plans it once. Its handler reads the addresses at send time (a number added
since is used) and sends to each recipient with `send_once`: the recipient's `StepMessage` is
saved the moment the provider answers (a retry skips it), and on a retry after an answer that
may have been lost, `look` asks the provider whether it already took it before sending again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.policy import EscalationLevel
from app.services import engine
from app.services.engine import StepRun
from app.store import contacts
from app.store.models import Incident, StepMessage

__all__ = ["Recipient", "answered", "plan_step", "recipients", "send_once"]


@dataclass(frozen=True)
class Recipient:
    user_id: str | None  # None: a level-wide address (the plan's on-call e-mail)
    kind: str  # "email", "sms" or "voice"
    address: str

    @property
    def key(self) -> str:
        """The StepMessage recipient of this address (unique per step, at most 32 characters:
        a longer address is named by its hash, so two never collide on a shared prefix)."""
        key = f"{self.kind}:{self.address}"
        if len(key) <= 32:
            return key
        return f"{self.kind}:#{hashlib.sha256(self.address.encode()).hexdigest()[:24]}"[:32]


async def plan_step(
    session: AsyncSession,
    incident: Incident,
    kind: str,
    level: EscalationLevel,
    targets: Sequence[str],
    page_step_id: int,
    now: datetime,
) -> int | None:
    """Plan `kind` for the people a page reached, due now, once per page."""
    return await engine.schedule(
        session,
        incident,
        kind,
        now,
        {"page_step": page_step_id, "targets": list(targets)},
        now=now,
        level=level.key,
        key=f"{kind}:{page_step_id}",
    )


def answered(run: StepRun) -> bool:
    """Cancel the step when its incident is resolved or acknowledged; whether it was."""
    if not run.incident.is_open:
        run.cancel("resolved")
        return True
    if run.incident.acknowledged_at is not None:
        run.cancel("acknowledged")
        return True
    return False


async def recipients(run: StepRun, kind: str, extra: Sequence[str] = ()) -> list[Recipient]:
    """The `kind` addresses of the people the page reached (their contact methods now), then
    `extra` level-wide addresses; each address once."""
    targets = [str(t) for t in run.data.get("targets") or []]
    async with run.ctx.sessions() as session:
        methods = await contacts.of_users(session, targets, kind)
    found = [Recipient(m.user_id, kind, m.address) for m in methods]
    found += [Recipient(None, kind, address) for address in extra]
    unique: dict[str, Recipient] = {}
    for recipient in found:
        unique.setdefault(recipient.address.lower(), recipient)
    return list(unique.values())


async def send_once(
    run: StepRun,
    recipient: Recipient,
    send: Callable[[], Awaitable[str]],
    look: Callable[[], Awaitable[str | None]] | None = None,
    *,
    provider: str,
) -> StepMessage:
    """Send to `recipient` unless this step already did; save the provider's id at once.

    `send` returns the provider's id of what it sent (a Message-ID, a Twilio SID). On a
    retry (the step's earlier attempt may have sent it without saving), `look` returns that id
    if the provider has it. A failure raises: the engine retries the step with a backoff.
    """
    existing = run.sent.get(recipient.key)
    if existing is not None:
        return existing
    found = await look() if look is not None and run.step.attempts > 1 else None
    reference = found or await send()
    message = StepMessage(
        step_id=run.step.id,
        incident_id=run.incident.id,
        recipient=recipient.key,
        channel=provider,
        ts=reference[:64],
        text=recipient.address,
        created_at=run.now,
    )
    async with run.ctx.sessions.begin() as session:
        session.add(message)
    run.sent[recipient.key] = message
    return message

"""One attempt at one step: what its handler reads, and how it sends, defers or cancels."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from slack_sdk.errors import SlackApiError
from sqlalchemy.ext.asyncio import AsyncSession

from app.context import BotContext
from app.domain.escalation import PAGE, PAGE_BACKUP, is_late
from app.domain.policy import Policy
from app.runtime.slack_limits import Priority, slack_priority
from app.services.slack_errors import is_transient, slack_error
from app.services.slack_messages import find_tagged, metadata
from app.store.models import Incident, ScheduledStep, StepMessage, StepStatus

log = logging.getLogger(__name__)

STEP_MESSAGE_EVENT = "incident_step"  # message metadata tying a Slack message to its step

AfterHook = Callable[[AsyncSession], Awaitable[None]]


@dataclass
class StepRun:
    """One attempt at one step: what a handler reads, and how it sends and finishes."""

    ctx: BotContext
    step: ScheduledStep
    incident: Incident
    now: datetime
    cache: dict[str, Any]
    sent: dict[str, StepMessage]
    data: dict[str, Any] = field(default_factory=dict)
    outcome: str = StepStatus.SENT
    defer_until: datetime | None = None
    reason: str | None = None
    _after: list[AfterHook] = field(default_factory=list)
    _policy: Policy | None = None

    @property
    def policy(self) -> Policy:
        """The policy in force when the incident was declared, not the current file."""
        if self._policy is None:
            self._policy = Policy.from_snapshot(self.incident.policy_snapshot)
        return self._policy

    @property
    def late(self) -> bool:
        return is_late(self.step.due_at, self.now)

    @property
    def lateness(self) -> timedelta:
        return self.now - self.step.due_at

    @property
    def after_hooks(self) -> list[AfterHook]:
        return self._after

    async def post(
        self, recipient: str, channel: str, text: str, blocks: list[Any] | None = None
    ) -> StepMessage:
        """Send one message unless this step already sent it; save its ts at once.

        A permanent refusal (a deactivated user, an archived channel) is saved as that
        recipient's error and not retried; a transient one raises, so the step is retried.
        """
        existing = self.sent.get(recipient)
        if existing is not None:
            return existing
        message = StepMessage(
            step_id=self.step.id,
            incident_id=self.incident.id,
            recipient=recipient,
            channel=channel,
            text=text,
            created_at=self.now,
        )
        tag = metadata(STEP_MESSAGE_EVENT, {"step": self.step.id, "recipient": recipient})
        if self.step.attempts > 1 and (found := await self._already_in_slack(channel, tag)):
            # A worker that died after Slack accepted this message never saved its ts.
            message.channel, message.ts = found
            return await self._saved(recipient, message)
        try:
            urgent = self.step.kind in (PAGE, PAGE_BACKUP)
            with slack_priority(Priority.URGENT if urgent else None):
                response = await self.ctx.slack.chat_postMessage(
                    channel=channel, text=text, blocks=blocks, metadata=tag
                )
        except SlackApiError as exc:
            if is_transient(exc):
                raise
            message.error = slack_error(exc)[:64]
            log.warning(
                "step %s (%s) could not reach %s: %s",
                self.step.id,
                self.step.kind,
                recipient,
                message.error,
            )
        else:
            message.channel = response["channel"]
            message.ts = response["ts"]
        return await self._saved(recipient, message)

    async def _saved(self, recipient: str, message: StepMessage) -> StepMessage:
        async with self.ctx.sessions.begin() as session:
            session.add(message)
        self.sent[recipient] = message
        return message

    async def _already_in_slack(self, channel: str, tag: dict[str, Any]) -> tuple[str, str] | None:
        """On a retry only: the (channel, ts) of this step's message to `channel` if Slack has it.

        Looked up by the message metadata every step message carries. If the lookup itself
        fails, the message is sent: a page twice is better than a page lost.
        """
        try:
            target = channel
            if channel[:1] in {"U", "W"}:  # a DM: Slack keeps it in the bot's IM with the user
                target = (await self.ctx.slack.conversations_open(users=channel))["channel"]["id"]
            found = await find_tagged(self.ctx.slack, target, tag)
        except SlackApiError as exc:
            log.warning(
                "step %s: could not look for its earlier message: %s",
                self.step.id,
                slack_error(exc),
            )
            return None
        return None if found is None else (target, str(found["ts"]))

    def after(self, hook: AfterHook) -> None:
        """Run `hook(session)` in the transaction that marks the step sent (follow-ups, log)."""
        self._after.append(hook)

    def cancel(self, reason: str) -> None:
        """Nothing to send any more (acknowledged, resolved...): close the step as cancelled."""
        self.outcome = StepStatus.CANCELLED
        self.reason = reason

    def defer(self, until: datetime, reason: str) -> None:
        """Not due after all (e.g. the target moved): keep it pending until `until`."""
        if until <= self.now:
            raise ValueError("defer to a time in the future, or send the step now")
        if self.sent:
            # A retry only reloads sent messages for steps tried before; deferring resets that.
            raise RuntimeError("a step that already sent messages cannot be deferred")
        self.outcome = StepStatus.PENDING
        self.defer_until = until
        self.reason = reason

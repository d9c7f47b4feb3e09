"""The `page_email` step: a level's page by e-mail, over SMTP, to the e-mail contact methods of
the people paged and to the level's own `email` addresses (the plan's on-call address).

Planned with the Slack page (`plan`, one step per page) and sent once per recipient
(`common.send_once`, over one SMTP connection per step run). A temporary failure (connection
refused, 4xx, timeout, connection lost) raises, so the engine retries with a backoff and the
retry sends to whoever is left. A permanent 5xx for one recipient is saved as that
recipient's error (as `StepRun.post` saves Slack's permanent refusals) and the others still
get the page.

SMTP cannot be asked whether a message arrived. When the connection is lost after the
message's data went out, the retry sends it again, with the same deterministic Message-ID
(`message_id`): a mail client shows the two as one message, or at least as the same one.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

import aiohttp
from slack_sdk.errors import SlackApiError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.channels.smtp import SmtpConfig, SmtpError, SmtpRefused, SmtpSession, SmtpUnavailable
from app.context import BotContext
from app.domain import escalation as plan_rules
from app.domain.durations import format_duration
from app.domain.escalation import PAGE_EMAIL
from app.domain.policy import EscalationLevel
from app.domain.text import visible
from app.domain.timeline import Kind
from app.services import contacts, timeline
from app.services.engine import StepRun
from app.services.engine.run import AfterHook
from app.services.paging import common
from app.store.models import Incident, StepMessage, TimelineEntry
from app.ui.common import severity_label, status_label

__all__ = ["KIND", "NOT_SET_UP", "message_id", "plan", "send"]

log = logging.getLogger(__name__)

KIND = PAGE_EMAIL
PROVIDER = "smtp"  # StepMessage.channel of an e-mail page
NOT_SET_UP = "email_not_configured"  # the timeline note's reason, written once per incident
_CHANNEL_ID = re.compile(r"[CG][A-Z0-9]+")
_DOMAIN = re.compile(r"[^a-z0-9.-]")


@dataclass(frozen=True)
class Mailbox(common.Recipient):
    """A recipient whose key is whole: `email:` and an address cut at 32 characters would
    make two long addresses sharing a prefix one recipient (the second never mailed)."""

    @property
    def key(self) -> str:
        full = f"email:{self.address.lower()}"
        return full if len(full) <= 32 else f"email:#{_digest(self.address)[:25]}"


@dataclass(frozen=True)
class Page:
    subject: str
    body: str


async def plan(
    session: AsyncSession,
    ctx: BotContext,
    incident: Incident,
    level: EscalationLevel,
    targets: Sequence[str],
    page_step_id: int,
    now: datetime,
) -> None:
    """In the transaction marking the Slack page sent: its e-mail, once per page."""
    await common.plan_step(session, incident, KIND, level, targets, page_step_id, now)


async def send(run: StepRun) -> None:
    """Mail the page to every address not yet sent to; a temporary failure raises after the
    other addresses were tried (while the connection lasts), so one slow mailbox never holds
    back the rest."""
    if common.answered(run):
        return
    settings = run.ctx.settings
    if not settings.email_configured:
        await _not_set_up(run)
        return
    level = _level(run)
    if level is None:
        run.cancel(f"{run.step.level} is no longer a level")
        return
    found = await common.recipients(run, "email", level.email)
    mailboxes = [Mailbox(r.user_id, r.kind, r.address) for r in found]
    if not mailboxes:
        run.cancel("nobody paged has an e-mail address")
        return
    config = _config(run)
    page = compose(run, level, await _channel_link(run))
    failures: list[SmtpUnavailable] = []
    async with SmtpSession(config) as smtp:
        for mailbox in mailboxes:
            if mailbox.key in run.sent:
                continue
            try:
                await _deliver(run, smtp, config, page, mailbox)
            except SmtpUnavailable as exc:
                failures.append(exc)
                if not smtp.usable:
                    break  # the connection is gone: the retry opens another
    if failures:
        raise failures[0]
    run.after(_recorded(run, level, mailboxes))


async def _deliver(
    run: StepRun, smtp: SmtpSession, config: SmtpConfig, page: Page, mailbox: Mailbox
) -> None:
    """One recipient, once; a permanent refusal is saved as theirs and not retried."""
    if not contacts.is_email(mailbox.address):
        await _refuse(run, mailbox, "not an address the bot sends to")
        return
    reference = message_id(run.step.id, mailbox.address, config.sender_domain)

    async def deliver() -> str:
        await smtp.send(_message(run, config, page, mailbox.address, reference), mailbox.address)
        return reference.strip("<>")

    try:
        await common.send_once(run, mailbox, deliver, provider=PROVIDER)
    except SmtpRefused as exc:
        await _refuse(run, mailbox, exc.reply)


async def _refuse(run: StepRun, mailbox: Mailbox, error: str) -> None:
    log.warning("step %s could not e-mail %s: %s", run.step.id, mailbox.address, error)
    refused = StepMessage(
        step_id=run.step.id,
        incident_id=run.incident.id,
        recipient=mailbox.key,
        channel=PROVIDER,
        text=mailbox.address,
        error=f"smtp {error}"[:64],
        created_at=run.now,
    )
    async with run.ctx.sessions.begin() as session:
        session.add(refused)
    run.sent[mailbox.key] = refused


def _config(run: StepRun) -> SmtpConfig:
    """The SMTP settings; a From no header can hold fails the step (a setting to fix), not
    each recipient."""
    config = SmtpConfig.from_settings(run.ctx.settings)
    try:
        EmailMessage(policy=SMTP)["From"] = _one_line(config.sender)
    except (ValueError, IndexError) as exc:
        raise SmtpError(f"SMTP_FROM {config.sender!r} is not an address: {exc}") from exc
    if "@" not in config.sender_address:
        raise SmtpError(f"SMTP_FROM {config.sender!r} has no address (name@domain)")
    return config


def message_id(step_id: int, address: str, domain: str) -> str:
    """`<incident-page-{step}-{recipient hash}@{domain}>`: the same for every try of one step
    to one recipient, so a resend after an ambiguous failure is recognisably the same page."""
    host = _DOMAIN.sub("", domain.lower()) or "localhost"
    return f"<incident-page-{step_id}-{_digest(address)[:16]}@{host}>"


def _digest(address: str) -> str:
    return hashlib.sha256(address.strip().lower().encode()).hexdigest()


def _message(run: StepRun, config: SmtpConfig, page: Page, to: str, reference: str) -> EmailMessage:
    message = EmailMessage(policy=SMTP)
    message["From"] = _one_line(config.sender)
    message["To"] = to
    message["Subject"] = page.subject
    message["Date"] = format_datetime(run.now)
    message["Message-ID"] = reference
    # RFC 3834: generated, so vacation responders do not answer it.
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(page.body, cte="quoted-printable")
    return message


def _one_line(text: str) -> str:
    """Header text that cannot start another header: CR, LF and controls gone."""
    return visible(text.replace("\r", " ").replace("\n", " "))


def compose(run: StepRun, level: EscalationLevel, link: str | None) -> Page:
    """The page's subject and plain-text body (the incident as Slack's page tells it)."""
    incident, policy, tz = run.incident, run.policy, run.ctx.settings.tz
    private = incident.private
    title = "(private incident)" if private else _one_line(incident.title)
    subject = f"[{incident.severity}] {incident.public_id} {title}"
    declared = incident.started_at.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z")
    lines = [
        f"{incident.public_id}: {title}",
        "",
        f"Paged:     {level.key} {level.name}",
        f"Severity:  {severity_label(policy, incident.severity)}",
        f"Status:    {status_label(incident.status)}",
        f"Declared:  {declared}",
        f"Channel:   {link or 'none yet: the page is in your Slack DMs'}",
    ]
    if private:
        lines += ["", "A private incident: its title and details are in Slack only."]
    actions = policy.severity(incident.severity).actions
    if actions:
        lines += ["", f"What the plan says to do for {incident.severity}:"]
        lines += [f"  - {_one_line(action)}" for action in actions]
    lines += ["", *_how_to_acknowledge(run, level)]
    return Page(subject=subject, body="\n".join(lines) + "\n")


def _how_to_acknowledge(run: StepRun, level: EscalationLevel) -> list[str]:
    lines = [
        "To acknowledge, use Slack: press Acknowledge on the page the bot sent you, or type",
        "/incident ack in the incident channel.",
        'Replying to this e-mail (even "ack") does NOT acknowledge it: replies are not read.',
    ]
    following = plan_rules.level_after(run.policy, run.incident.severity, level.key)
    if following is not None and level.window is not None:
        lines.append(
            f"Unacknowledged {format_duration(level.window)} after this page, "
            f"{following.key} {following.name} is paged."
        )
    return lines


async def _channel_link(run: StepRun) -> str | None:
    """The incident channel's address. E-mail pages matter most when Slack is failing: if
    the workspace's address cannot be had now, the page goes without the link."""
    channel = run.incident.channel_id
    if not channel or not _CHANNEL_ID.fullmatch(channel):
        return None
    try:
        workspace = await run.ctx.workspace_url()
    except (SlackApiError, aiohttp.ClientError, OSError) as exc:
        log.warning("step %s: no workspace address for the e-mail: %s", run.step.id, exc)
        name = run.incident.channel_name
        return f"#{name} in Slack" if name else None
    return f"{workspace.rstrip('/')}/archives/{channel}"


def _level(run: StepRun) -> EscalationLevel | None:
    try:
        return run.policy.level(run.step.level or "")
    except KeyError:
        return None


def _recorded(run: StepRun, level: EscalationLevel, mailboxes: Sequence[Mailbox]) -> AfterHook:
    """The timeline entry, written with the step marked sent."""
    sent = [m.address for m in mailboxes if (s := run.sent.get(m.key)) and s.error is None]
    refused = [m.address for m in mailboxes if (s := run.sent.get(m.key)) and s.error]

    async def record(session: AsyncSession) -> None:
        text = f"E-mailed {level.key} {level.name}'s page to {', '.join(sent) or 'nobody'}"
        if refused:
            text += f"; refused by the mail server for {', '.join(refused)}"
        timeline.record(
            session,
            run.incident,
            Kind.PAGED,
            now=run.now,
            text=text,
            data={"level": level.key, "channel": "email", "sent": sent, "refused": refused},
        )

    return record


async def _not_set_up(run: StepRun) -> None:
    """No SMTP settings: cancelled, and said once per incident in its timeline."""
    run.cancel("e-mail pages are not set up")
    async with run.ctx.sessions.begin() as session:
        rows = await session.execute(
            select(TimelineEntry.data).where(
                TimelineEntry.incident_id == run.incident.id,
                TimelineEntry.kind == Kind.STEP_FAILED,
            )
        )
        if any((data or {}).get("reason") == NOT_SET_UP for data in rows.scalars()):
            return
        timeline.record(
            session,
            run.incident,
            Kind.STEP_FAILED,
            now=run.now,
            text="E-mail pages are not set up (SMTP_HOST and SMTP_FROM are unset): "
            f"{run.step.level}'s page went without e-mail",
            data={"kind": KIND, "reason": NOT_SET_UP, "step_id": run.step.id},
        )

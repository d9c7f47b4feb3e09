"""E-mail pages end to end: the real bot, the fake Slack and a fake SMTP server (aiosmtpd),
time on the ManualClock. A P1 whose L1 pages by Slack and e-mail reaches the paged person's
address and the plan's on-call address; an acknowledgement stops it; temporary failures are
retried without doubling what went; a connection lost after DATA is the one case that may
deliver twice, with the same Message-ID; a 550 for one address leaves the others sent."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy import select, update

from app import wiring
from app.channels.smtp import SmtpConfig, SmtpSession, SmtpUnavailable
from app.clock import ManualClock
from app.config.policy_loader import load_policy
from app.context import BotContext
from app.domain.escalation import PAGE, PAGE_EMAIL
from app.sandbox.fakeslack import FakeSlack
from app.sandbox.sender import SlackSender
from app.sandbox.smtp import FakeSmtp
from app.services import engine
from app.services.engine import run_due_steps, run_now
from app.services.paging.email import NOT_SET_UP, message_id
from app.store.models import Incident, ScheduledStep, StepMessage, StepStatus
from tests.conftest import clean, make_settings
from tests.running import command, declare, entries, posts_to

POLICY = Path(__file__).parent / "policies" / "paging_email.yml"
ADA = "ada@example.com"  # UONCALL's e-mail contact method
ONCALL = "oncall@example.com"  # L1's own address (the plan's on-call address)
SENDER = "Incident Bot <incident-bot@example.com>"


@pytest_asyncio.fixture
async def smtp() -> AsyncIterator[FakeSmtp]:
    fake = FakeSmtp(username="bot", password="s3cret")
    await fake.start()
    yield fake
    await fake.stop()
    assert fake.violations == []


@pytest_asyncio.fixture
async def bot(
    request: pytest.FixtureRequest,
    database_url: str,
    fake_slack: FakeSlack,
    clock: ManualClock,
    smtp: FakeSmtp,
) -> AsyncIterator[BotContext]:
    """`@pytest.mark.settings(...)` overrides the SMTP settings below."""
    overrides = {
        "smtp_host": smtp.host,
        "smtp_port": smtp.port,
        "smtp_from": SENDER,
        "smtp_security": "none",
        "smtp_username": "bot",
        "smtp_password": "s3cret",
    }
    marker = request.node.get_closest_marker("settings")
    overrides.update(marker.kwargs if marker else {})
    settings = make_settings(fake_slack, database_url, escalation_tick_seconds=0, **overrides)
    ctx = wiring.build(settings, load_policy(POLICY), clock)
    await clean(ctx)
    yield ctx
    await ctx.tasks.drain()
    await ctx.close()


async def steps(bot: BotContext, incident: Incident, kind: str) -> list[ScheduledStep]:
    async with bot.sessions() as session:
        stmt = select(ScheduledStep).where(
            ScheduledStep.incident_id == incident.id, ScheduledStep.kind == kind
        )
        return list((await session.execute(stmt.order_by(ScheduledStep.id))).scalars())


async def messages_of(bot: BotContext, step: ScheduledStep) -> dict[str, StepMessage]:
    async with bot.sessions() as session:
        rows = await session.execute(select(StepMessage).where(StepMessage.step_id == step.id))
        return {m.text: m for m in rows.scalars()}


async def paged(slack: SlackSender, fake: FakeSlack, bot: BotContext, **kwargs: str) -> Incident:
    """UONCALL has an e-mail contact method (UREPORTER too, but is not paged); a P1 is
    declared and its L1 page sent in Slack. The page's e-mail step is then due."""
    await command(slack, bot, f"contact add email {ADA}", channel=None, user="UONCALL")
    await command(slack, bot, "contact add email reporter@example.com", channel=None)
    incident = await declare(slack, fake, bot, severity="P1", **kwargs)
    [page] = [s for s in await steps(bot, incident, PAGE) if s.level == "L1"]
    if page.status == StepStatus.PENDING:
        await run_now(bot, [page.id])
    assert posts_to(fake, "UONCALL"), "the Slack DM page went first"
    return incident


async def retry(bot: BotContext, clock: ManualClock) -> None:
    """Past the engine's first backoff (10 s), then a scheduler pass."""
    clock.advance(timedelta(seconds=11))
    await run_due_steps(bot)


async def test_a_p1_pages_slack_and_emails_the_paged_person_and_the_oncall_address(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock, smtp: FakeSmtp
) -> None:
    incident = await paged(slack, fake_slack, bot, title="Payments are down")
    await run_due_steps(bot)
    [step] = await steps(bot, incident, PAGE_EMAIL)
    assert step.status == StepStatus.SENT and step.attempts == 1
    assert sorted(r for m in smtp.messages for r in m.rcpt_tos) == [ADA, ONCALL]
    assert smtp.to("reporter@example.com") == []  # not paged: not mailed
    assert smtp.connections == 1  # one connection for the step run
    for address in (ADA, ONCALL):
        [mail] = smtp.to(address)
        assert mail.subject == f"[P1] {incident.public_id} Payments are down"
        assert mail.message_id == message_id(step.id, address, "example.com")
        assert mail.mail_from == "incident-bot@example.com" and mail.message["To"] == address
        assert mail.message["Auto-Submitted"] == "auto-generated"
        assert mail.message.get_content_type() == "text/plain"
        body = mail.body
        assert "Paged:     L1 On-call Engineer" in body
        assert "Severity:  P1 High (respond < 1 hour)" in body
        assert "Status:    Investigating" in body
        assert f"https://fake.slack.com/archives/{incident.channel_id}" in body
        assert "  - Notify on-call engineer" in body and "  - Deploy within 2 hours" in body
        assert "/incident ack" in body and 'Replying to this e-mail (even "ack") does NOT' in body
        assert "Unacknowledged 15 minutes after this page, L2 Engineering Lead is paged." in body
    saved = await messages_of(bot, step)
    assert {a: (m.channel, m.error) for a, m in saved.items()} == {
        ADA: ("smtp", None),
        ONCALL: ("smtp", None),
    }
    texts = [e.text for e in await entries(bot, incident)]
    assert f"E-mailed L1 On-call Engineer's page to {ADA}, {ONCALL}" in texts
    # The scheduler again: nothing is sent twice.
    await retry(bot, clock)
    assert len(smtp.messages) == 2


async def test_a_title_cannot_inject_headers(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, smtp: FakeSmtp
) -> None:
    incident = await paged(slack, fake_slack, bot)
    # However a title was stored, it is one line in the subject.
    async with bot.sessions.begin() as session:
        await session.execute(
            update(Incident)
            .where(Incident.id == incident.id)
            .values(title="Down\r\nBcc: eve@evil.test\r\n\r\nForged body")
        )
    await run_due_steps(bot)
    [mail] = smtp.to(ADA)
    assert mail.subject == f"[P1] {incident.public_id} Down Bcc: eve@evil.test Forged body"
    assert mail.message["Bcc"] is None and smtp.to("eve@evil.test") == []
    assert len(smtp.messages) == 2  # the fixture then asserts no violation (one Subject, ...)


async def test_acknowledging_before_the_email_goes_cancels_it(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, smtp: FakeSmtp
) -> None:
    incident = await paged(slack, fake_slack, bot)
    [pending] = await steps(bot, incident, PAGE_EMAIL)
    assert pending.status == StepStatus.PENDING
    answer = await command(slack, bot, "ack", channel=incident.channel_id, user="UONCALL")
    assert "You acknowledged" in answer
    await run_due_steps(bot)
    [step] = await steps(bot, incident, PAGE_EMAIL)
    assert step.status == StepStatus.CANCELLED
    assert smtp.messages == [] and smtp.connections == 0


async def test_a_451_is_retried_and_each_address_gets_the_page_once(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock, smtp: FakeSmtp
) -> None:
    incident = await paged(slack, fake_slack, bot)
    smtp.fail_next("DATA", 451)  # the first message (Ada's): "try again later"
    await run_due_steps(bot)
    [step] = await steps(bot, incident, PAGE_EMAIL)
    error = step.last_error or ""
    assert step.status == StepStatus.PENDING
    assert error.startswith("SmtpUnavailable: SMTP DATA for ada@example.com: 451")
    # The connection stayed open after the 451: the on-call address got its page already.
    assert smtp.to(ADA) == [] and len(smtp.to(ONCALL)) == 1
    await retry(bot, clock)
    [step] = await steps(bot, incident, PAGE_EMAIL)
    assert step.status == StepStatus.SENT and step.attempts == 2
    assert len(smtp.to(ADA)) == 1 and len(smtp.to(ONCALL)) == 1


async def test_a_refused_connection_is_retried_until_the_server_is_back(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock, smtp: FakeSmtp
) -> None:
    incident = await paged(slack, fake_slack, bot)
    await smtp.go_down()
    await run_due_steps(bot)
    await retry(bot, clock)
    [step] = await steps(bot, incident, PAGE_EMAIL)
    assert step.status == StepStatus.PENDING and step.attempts == 2
    await smtp.come_back()
    clock.advance(timedelta(seconds=21))  # the second backoff
    await run_due_steps(bot)
    [step] = await steps(bot, incident, PAGE_EMAIL)
    assert step.status == StepStatus.SENT
    assert sorted(r for m in smtp.messages for r in m.rcpt_tos) == [ADA, ONCALL]


async def test_a_connection_lost_after_data_resends_with_the_same_message_id(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock, smtp: FakeSmtp
) -> None:
    incident = await paged(slack, fake_slack, bot)
    smtp.drop_after_data()  # Ada's message is taken, then the 250 never comes
    await run_due_steps(bot)
    [step] = await steps(bot, incident, PAGE_EMAIL)
    assert step.status == StepStatus.PENDING
    assert await messages_of(bot, step) == {}  # nothing known sent: the retry sends both
    await retry(bot, clock)
    [step] = await steps(bot, incident, PAGE_EMAIL)
    assert step.status == StepStatus.SENT
    # SMTP has no way to look: Ada has it twice (docs/oncall/email.md), as the same message.
    first, second = smtp.to(ADA)
    assert (first.answered, second.answered) == (False, True)
    assert first.message_id == second.message_id == message_id(step.id, ADA, "example.com")
    assert (first.connection, second.connection) == (1, 2)
    assert len(smtp.to(ONCALL)) == 1


async def test_a_550_for_one_address_is_kept_as_its_error_and_the_others_get_the_page(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock, smtp: FakeSmtp
) -> None:
    incident = await paged(slack, fake_slack, bot)
    smtp.reject(ADA)
    await run_due_steps(bot)
    [step] = await steps(bot, incident, PAGE_EMAIL)
    assert step.status == StepStatus.SENT and step.attempts == 1
    assert len(smtp.to(ONCALL)) == 1
    saved = await messages_of(bot, step)
    assert saved[ADA].ts is None and (saved[ADA].error or "").startswith("smtp 550 5.1.1")
    assert saved[ONCALL].error is None and saved[ONCALL].ts
    texts = [e.text for e in await entries(bot, incident)]
    assert any(f"refused by the mail server for {ADA}" in t for t in texts)
    await retry(bot, clock)
    assert smtp.refusals == [("RCPT", ADA, 550)]  # not tried again


@pytest.mark.settings(smtp_host=None)
async def test_without_smtp_settings_the_step_is_cancelled_with_one_timeline_note(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, smtp: FakeSmtp
) -> None:
    incident = await paged(slack, fake_slack, bot)
    await run_due_steps(bot)
    [step] = await steps(bot, incident, PAGE_EMAIL)
    assert step.status == StepStatus.CANCELLED and step.data["reason"] == (
        "e-mail pages are not set up"
    )
    # Another e-mail step of the same incident (a later page): cancelled, not noted again.
    async with bot.sessions.begin() as session:
        await engine.schedule(
            session, incident, PAGE_EMAIL, step.due_at, {"targets": ["UONCALL"]}, now=step.due_at
        )
    await run_due_steps(bot)
    notes = [e for e in await entries(bot, incident) if e.data.get("reason") == NOT_SET_UP]
    assert [n.text for n in notes] == [
        "E-mail pages are not set up (SMTP_HOST and SMTP_FROM are unset): L1's page went "
        "without e-mail"
    ]
    assert all(s.status == StepStatus.CANCELLED for s in await steps(bot, incident, PAGE_EMAIL))
    assert smtp.connections == 0


async def test_a_server_that_never_answers_times_out_as_a_temporary_failure(
    smtp: FakeSmtp,
) -> None:
    config = SmtpConfig(smtp.host, smtp.port, SENDER, "none", "bot", "s3cret", timeout=0.2)
    smtp.hang_next("RCPT")
    async with SmtpSession(config) as session:
        from email.message import EmailMessage

        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = SENDER, ADA, "x"
        with pytest.raises(SmtpUnavailable) as failed:
            await session.send(message, ADA)
    assert failed.value.transient and not failed.value.maybe_sent
    assert not session.usable

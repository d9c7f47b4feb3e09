"""Pages by SMS and voice through Twilio, end to end: the real bot over signed HTTP, the fake
Slack, and a fake Twilio that answers in Twilio's published shapes and plays the phone (signed
inbound-SMS webhooks, calls that fetch their TwiML and press keys). Time is the ManualClock.

L1 (UONCALL) is paged by Slack, SMS and voice, L2 (ULEAD) by Slack and SMS
(tests/policies/paging_twilio.yml).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import select

from app import wiring
from app.channels.twilio import TwilioClient, TwilioError, signature, signature_matches
from app.clock import ManualClock
from app.config.policy_loader import load_policy
from app.context import BotContext
from app.domain.escalation import PAGE, PAGE_SMS, PAGE_VOICE
from app.sandbox.fakeslack import FakeSlack
from app.sandbox.sender import SlackSender
from app.sandbox.twilio import FakeTwilio
from app.sandbox.twilio_phone import sign
from app.services.engine import run_due_steps
from app.store import contacts
from app.store.models import Incident, ScheduledStep, StepMessage, StepStatus
from tests.conftest import clean, make_settings
from tests.running import declare, entries, posts_to, reload

POLICY = Path(__file__).parent / "policies" / "paging_twilio.yml"
PUBLIC = "https://incident-bot.example.com"
ONCALL_PHONE = "+15550001111"
LEAD_PHONE = "+15550002222"


@pytest_asyncio.fixture
async def twilio(clock: ManualClock) -> AsyncIterator[FakeTwilio]:
    fake = FakeTwilio(clock=clock.now)
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
    twilio: FakeTwilio,
) -> AsyncIterator[BotContext]:
    """`@pytest.mark.settings(...)` overrides the Twilio settings (None: unset)."""
    values = {
        "twilio_account_sid": twilio.account_sid,
        "twilio_auth_token": twilio.auth_token,
        "twilio_from_number": twilio.number,
        "twilio_api_url": twilio.base_url,
        "public_url": PUBLIC,
    }
    marker = request.node.get_closest_marker("settings")
    values.update(marker.kwargs if marker else {})
    settings = make_settings(fake_slack, database_url, escalation_tick_seconds=0, **values)
    ctx = wiring.build(settings, load_policy(POLICY), clock)
    await clean(ctx)
    async with ctx.sessions.begin() as session:
        for kind in ("sms", "voice"):
            await contacts.add(session, "UONCALL", kind, ONCALL_PHONE, clock.now())
        await contacts.add(session, "ULEAD", "sms", LEAD_PHONE, clock.now())
    yield ctx
    await ctx.tasks.drain()
    await ctx.close()


@pytest_asyncio.fixture
async def phone(twilio: FakeTwilio, server: str) -> FakeTwilio:
    """The fake Twilio reaching the bot: PUBLIC is where the served app really is."""
    twilio.route(PUBLIC, server)
    twilio.configure_number(sms_url=f"{PUBLIC}/webhooks/twilio/sms")
    return twilio


async def settle(bot: BotContext, clock: ManualClock, rounds: int = 3) -> None:
    for _ in range(rounds):
        await run_due_steps(bot)
        await bot.tasks.drain()
        clock.advance(timedelta(seconds=3))
    await run_due_steps(bot)


async def steps(bot: BotContext, kind: str) -> list[ScheduledStep]:
    async with bot.sessions() as session:
        stmt = select(ScheduledStep).where(ScheduledStep.kind == kind).order_by(ScheduledStep.id)
        return list((await session.execute(stmt)).scalars())


async def messages_of(bot: BotContext, step: ScheduledStep) -> list[StepMessage]:
    async with bot.sessions() as session:
        stmt = select(StepMessage).where(StepMessage.step_id == step.id)
        return list((await session.execute(stmt)).scalars())


async def p0(slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, title: str) -> Incident:
    return await declare(slack, fake_slack, bot, title=title, severity="P0")


async def test_a_p0_texts_and_calls_the_on_call_person_once_each(
    slack: SlackSender,
    fake_slack: FakeSlack,
    bot: BotContext,
    clock: ManualClock,
    phone: FakeTwilio,
) -> None:
    incident = await p0(slack, fake_slack, bot, "Payments are down")
    await settle(bot, clock)
    [sms_step], [voice_step] = await steps(bot, PAGE_SMS), await steps(bot, PAGE_VOICE)
    [text] = phone.messages_to(ONCALL_PHONE)
    assert text.from_ == phone.number
    assert text.body == (
        f"[P0] {incident.public_id} Payments are down - reply 1 to acknowledge #{sms_step.id}"
    )
    [call] = phone.calls_to(ONCALL_PHONE)
    assert call.url == f"{PUBLIC}/webhooks/twilio/voice/{voice_step.id}" and call.method == "POST"
    [saved] = await messages_of(bot, sms_step)
    assert saved.ts == text.sid and saved.recipient == f"sms:{ONCALL_PHONE}"
    assert phone.messages_to(LEAD_PHONE) == []  # L2 waits its turn
    # Running the steps again sends nothing more.
    await settle(bot, clock)
    assert len(phone.messages_to(ONCALL_PHONE)) == 1 and len(phone.calls) == 1


async def test_an_sms_reply_of_1_acknowledges_and_stops_every_channel(
    slack: SlackSender,
    fake_slack: FakeSlack,
    bot: BotContext,
    clock: ManualClock,
    phone: FakeTwilio,
) -> None:
    phone.fail_next(status=503, operation="Calls.create")  # the call waits for its retry
    incident = await p0(slack, fake_slack, bot, "Checkout fails")
    await run_due_steps(bot)
    clock.advance(timedelta(seconds=3))
    await run_due_steps(bot)
    assert len(phone.messages_to(ONCALL_PHONE)) == 1 and phone.calls == []

    delivery = await phone.reply(ONCALL_PHONE, " 1 ")
    await bot.tasks.drain()

    assert delivery.status == 200
    assert delivery.replies == [f"Acknowledged {incident.public_id}. Escalation stopped."]
    incident = await reload(bot, incident)
    assert incident.acknowledged_at is not None and incident.acknowledged_by == "UONCALL"
    [voice_step] = await steps(bot, PAGE_VOICE)
    assert voice_step.status == StepStatus.CANCELLED
    clock.advance(timedelta(hours=2))
    await settle(bot, clock)
    assert phone.calls == [] and phone.messages_to(LEAD_PHONE) == []
    assert posts_to(fake_slack, "ULEAD") == []
    assert [s.level for s in await steps(bot, PAGE) if s.status == StepStatus.SENT] == ["L1"]


async def test_a_reply_with_a_bad_signature_is_refused_and_changes_nothing(
    slack: SlackSender,
    fake_slack: FakeSlack,
    bot: BotContext,
    clock: ManualClock,
    phone: FakeTwilio,
) -> None:
    incident = await p0(slack, fake_slack, bot, "Checkout fails")
    await settle(bot, clock)

    forged = await phone.reply(ONCALL_PHONE, "1", auth_token="not-the-auth-token")

    assert forged.status == 403 and forged.replies == []
    incident = await reload(bot, incident)
    assert incident.acknowledged_at is None
    clock.advance(timedelta(minutes=16))
    await settle(bot, clock)
    assert len(phone.messages_to(LEAD_PHONE)) == 1  # the chain went on to L2


@pytest.mark.parametrize("queued", [False, True], ids=["sent", "still-queued"])
async def test_a_500_after_twilio_took_the_sms_is_looked_up_not_sent_again(
    slack: SlackSender,
    fake_slack: FakeSlack,
    bot: BotContext,
    clock: ManualClock,
    phone: FakeTwilio,
    queued: bool,
) -> None:
    phone.hold_messages = queued
    phone.fail_after_success(operation="Messages.create")
    await p0(slack, fake_slack, bot, "Checkout fails")
    await settle(bot, clock)
    [sms_step] = await steps(bot, PAGE_SMS)
    assert sms_step.status == StepStatus.PENDING and sms_step.attempts == 1

    clock.advance(timedelta(seconds=11))  # past the first backoff
    await settle(bot, clock)

    [text] = phone.messages_to(ONCALL_PHONE)
    [saved] = await messages_of(bot, sms_step)
    assert saved.ts == text.sid
    assert len(phone.requests_to("Messages.create")) == 1
    assert phone.requests_to("Messages.list")  # the retry looked first
    [sms_step] = await steps(bot, PAGE_SMS)
    assert sms_step.status == StepStatus.SENT


async def test_a_call_whose_answer_was_lost_is_found_not_placed_again(
    slack: SlackSender,
    fake_slack: FakeSlack,
    bot: BotContext,
    clock: ManualClock,
    phone: FakeTwilio,
) -> None:
    phone.fail_after_success(operation="Calls.create", drop=True)
    await p0(slack, fake_slack, bot, "Checkout fails")
    await settle(bot, clock)
    clock.advance(timedelta(seconds=11))
    await settle(bot, clock)
    [call] = phone.calls_to(ONCALL_PHONE)
    [voice_step] = await steps(bot, PAGE_VOICE)
    [saved] = await messages_of(bot, voice_step)
    assert voice_step.status == StepStatus.SENT and voice_step.attempts == 2
    assert saved.ts == call.sid and len(phone.requests_to("Calls.create")) == 1


async def test_pressing_1_on_the_call_acknowledges_and_the_title_is_only_words(
    slack: SlackSender,
    fake_slack: FakeSlack,
    bot: BotContext,
    clock: ManualClock,
    phone: FakeTwilio,
) -> None:
    title = 'DB <Dial>+19005550000</Dial> & "slow"'
    incident = await p0(slack, fake_slack, bot, title)
    await settle(bot, clock)
    [call] = phone.calls_to(ONCALL_PHONE)

    heard = await phone.answer_call(call.sid, "1")
    await bot.tasks.drain()

    assert heard.status == 200 and heard.gathered
    assert heard.said[0] == (
        f"This is the incident bot. Critical incident {incident.public_id}, severity P0: {title}."
    )
    assert heard.said[-1] == "Press 1 to acknowledge."
    assert heard.answer == [f"Acknowledged {incident.public_id}. Escalation stopped. Goodbye."]
    incident = await reload(bot, incident)
    assert incident.acknowledged_by == "UONCALL"


async def test_another_key_asks_again_and_acknowledges_nothing(
    slack: SlackSender,
    fake_slack: FakeSlack,
    bot: BotContext,
    clock: ManualClock,
    phone: FakeTwilio,
) -> None:
    incident = await p0(slack, fake_slack, bot, "Checkout fails")
    await settle(bot, clock)
    [call] = phone.calls_to(ONCALL_PHONE)
    heard = await phone.answer_call(call.sid, "9")
    assert heard.answer[0] == "That was not 1." and "Press 1 to acknowledge." in heard.answer
    assert (await reload(bot, incident)).acknowledged_at is None


async def test_a_bad_number_is_recorded_for_its_person_and_not_retried(
    slack: SlackSender,
    fake_slack: FakeSlack,
    bot: BotContext,
    clock: ManualClock,
    phone: FakeTwilio,
) -> None:
    phone.invalid_numbers.add(ONCALL_PHONE)
    incident = await p0(slack, fake_slack, bot, "Checkout fails")
    await settle(bot, clock)
    [sms_step] = await steps(bot, PAGE_SMS)
    [saved] = await messages_of(bot, sms_step)
    assert sms_step.status == StepStatus.SENT and saved.ts is None
    assert saved.error and "21211" in saved.error
    notes = [e.text for e in await entries(bot, incident) if e.kind == "step_failed"]
    assert any("<@UONCALL>" in n and "21211" in n and "SMS" in n for n in notes)
    assert not any(ONCALL_PHONE in n for n in notes)  # the log names people, not numbers
    await settle(bot, clock)
    assert len(phone.requests_to("Messages.create")) == 1


@pytest.mark.settings(twilio_account_sid=None, twilio_auth_token=None)
async def test_without_twilio_the_steps_are_cancelled_with_one_note(
    slack: SlackSender,
    fake_slack: FakeSlack,
    bot: BotContext,
    clock: ManualClock,
    twilio: FakeTwilio,
) -> None:
    incident = await p0(slack, fake_slack, bot, "Checkout fails")
    await settle(bot, clock)
    clock.advance(timedelta(minutes=16))  # L2 pages by SMS too
    await settle(bot, clock)
    assert {s.status for s in await steps(bot, PAGE_SMS) + await steps(bot, PAGE_VOICE)} == {
        StepStatus.CANCELLED
    }
    assert len(await steps(bot, PAGE_SMS)) == 2
    notes = [e.text for e in await entries(bot, incident) if "Twilio is not set up" in e.text]
    assert len(notes) == 2  # one for SMS, one for voice, however many levels
    assert twilio.requests == []
    assert posts_to(fake_slack, "UONCALL")  # Slack pages as before


@pytest.mark.settings(public_url=None)
async def test_without_public_url_there_is_no_call_but_the_sms_goes(
    slack: SlackSender,
    fake_slack: FakeSlack,
    bot: BotContext,
    clock: ManualClock,
    twilio: FakeTwilio,
) -> None:
    incident = await p0(slack, fake_slack, bot, "Checkout fails")
    await settle(bot, clock)
    [voice_step] = await steps(bot, PAGE_VOICE)
    assert voice_step.status == StepStatus.CANCELLED and twilio.calls == []
    assert len(twilio.messages_to(ONCALL_PHONE)) == 1
    texts = [e.text for e in await entries(bot, incident)]
    assert sum("voice needs PUBLIC_URL" in t for t in texts) == 1


# --- the client and the signature against the fake ---------------------------------------------


def test_the_signature_is_twilios_documented_example() -> None:
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    params = {
        "CallSid": "CA1234567890ABCDE",
        "Caller": "+12349013030",
        "Digits": "1234",
        "From": "+12349013030",
        "To": "+18005551212",
    }
    expected = "0/KCTR6DLpKmkAf8muzZqo1nDgQ="  # https://www.twilio.com/docs/usage/security
    assert signature("12345", url, {k: [v] for k, v in params.items()}) == expected
    assert sign("12345", url, params) == expected  # the fake's own, written apart
    assert signature_matches("12345", url, {k: [v] for k, v in params.items()}, expected)
    assert not signature_matches(
        "12345", url + "&baz=3", {k: [v] for k, v in params.items()}, expected
    )


async def test_the_client_maps_twilios_refusals_and_limits(twilio: FakeTwilio) -> None:
    async with TwilioClient(twilio.account_sid, "wrong", twilio.base_url) as client:
        with pytest.raises(TwilioError) as refused:
            await client.send_sms(ONCALL_PHONE, twilio.number, "hi")
    assert refused.value.code == 20003 and not refused.value.transient
    async with TwilioClient(twilio.account_sid, twilio.auth_token, twilio.base_url) as client:
        twilio.rate_limit_next(retry_after=7)
        with pytest.raises(TwilioError) as limited:
            await client.send_sms(ONCALL_PHONE, twilio.number, "hi")
        assert limited.value.transient and limited.value.retry_after == 7
        assert not limited.value.maybe_done
        twilio.drop_next(operation="Calls.create")
        with pytest.raises(TwilioError) as dropped:
            await client.call(ONCALL_PHONE, twilio.number, f"{PUBLIC}/x")
        assert dropped.value.transient
        with pytest.raises(TwilioError) as bad:
            await client.call("5550001111", twilio.number, f"{PUBLIC}/x")
        assert bad.value.code == 21211 and not bad.value.transient
        sent = await client.send_sms(ONCALL_PHONE, twilio.number, "hello #1")
        assert sent["status"] == "queued" and sent["date_sent"] is None
        found = await client.messages(ONCALL_PHONE, twilio.number, twilio.clock().date())
        assert [m["sid"] for m in found] == [sent["sid"]]
    assert len(twilio.messages) == 1


async def test_the_fake_refuses_json_bodies_as_twilio_does(twilio: FakeTwilio) -> None:
    async with httpx.AsyncClient(auth=(twilio.account_sid, twilio.auth_token)) as client:
        answer = await client.post(
            f"{twilio.base_url}/2010-04-01/Accounts/{twilio.account_sid}/Messages.json",
            json={"To": ONCALL_PHONE, "From": twilio.number, "Body": "hi"},
        )
    assert answer.status_code == 400 and answer.json()["code"] == 21604
    assert twilio.messages == []
    twilio.violations.clear()  # the breach was this test's own

"""Issue #16's "Done when", taken literally, through the real app over signed HTTP against the
fake Slack, the fake Twilio and the fake PagerDuty, with time on the ManualClock:

- a P0 at 03:00 pages whoever the schedule says is on call, by Slack and by SMS and voice, then
  the backup, then L2;
- a P3 at 03:00 on a Saturday is paged at 09:00 the next working day;
- an SMS reply, or a PagerDuty acknowledgement, stops everything;
- `/incident oncall` and `simulate` name the person the pages went to.

tests/policies/oncall_done_when.yml: working hours Mon-Fri 09:00-17:00 Paris; L1 pages
`schedule:primary` (daily at 09:00 Paris: UADA, UBOB, UCAT) by Slack, SMS and voice, its
backup (the next member) after 5 minutes, L2 (ULEAD) at L1's 15-minute window. Every member
has an SMS and a voice number. Thursday 3 December 2026 03:00 Paris is UCAT's shift, UADA
backing up; at Monday 7 December 09:00 UADA hands over to UBOB.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import pytest_asyncio

from app import wiring
from app.cli.simulate import declared_at, lines
from app.clock import ManualClock
from app.config.policy_loader import load_policy
from app.context import BotContext
from app.domain.escalation import PAGE, PAGE_BACKUP, PAGE_SMS, PAGE_VOICE
from app.domain.simulation import simulate
from app.sandbox.fakeslack import FakeSlack
from app.sandbox.pagerduty import DEFAULT_ROUTING_KEY, FakePagerDuty
from app.sandbox.sender import SlackSender
from app.sandbox.twilio import FakeTwilio
from app.services.paging.pagerduty import KIND as PAGE_PAGERDUTY
from app.store import contacts
from app.store.models import Incident, StepStatus
from tests import test_page_twilio, test_pagerduty
from tests.conftest import ROOT, clean, make_settings
from tests.running import command, declare, reload
from tests.test_business_hours import paged
from tests.test_escalation import steps_of, tick
from tests.test_oncall_pages import dms, has_ack_button, paged_entries, said
from tests.test_page_twilio import PUBLIC
from tests.test_pagerduty import SECRET, actions, texts
from tests.test_simulate import _utc, line_of

POLICY = ROOT / "tests" / "policies" / "oncall_done_when.yml"
L1_CHANNELS = "channels: [slack, sms, voice]"
pytestmark = pytest.mark.policy(str(POLICY))

PARIS = ZoneInfo("Europe/Paris")
SECOND = timedelta(seconds=1)
MINUTE = timedelta(minutes=1)
THURSDAY_3AM = datetime(2026, 12, 3, 3, 0, tzinfo=PARIS).astimezone(UTC)
SATURDAY_3AM = datetime(2026, 12, 5, 3, 0, tzinfo=PARIS).astimezone(UTC)
MONDAY_9AM = datetime(2026, 12, 7, 9, 0, tzinfo=PARIS).astimezone(UTC)
PEOPLE = {"UADA": "ada@example.com", "UBOB": "bob@example.com", "UCAT": "cat@example.com"}
PHONES = {"UADA": "+33612340001", "UBOB": "+33612340002", "UCAT": "+33612340003"}
ON_CALL_NOW = re.compile(r"\*On call now:\* <@(\w+)> since ([^\n]+)")
BACKUP = re.compile(r"\*Backup:\* <@(\w+)>")

# The channel tests' fixtures, as they are: the fake Twilio (`phone`: reaching the served bot
# at PUBLIC) and the fake PagerDuty (`subscribed`: its v3 webhooks signed with SECRET).
twilio = test_page_twilio.twilio
phone = test_page_twilio.phone
pagerduty = test_pagerduty.pagerduty
subscribed = test_pagerduty.subscribed


def policy_file(tmp_path: Path, l1_channels: str | None) -> Path:
    """The policy, or a copy whose L1 pages by `l1_channels` instead."""
    if l1_channels is None:
        return POLICY
    text = POLICY.read_text(encoding="utf-8")
    assert text.count(L1_CHANNELS) == 1
    copy = tmp_path / "oncall_done_when_variant.yml"
    copy.write_text(text.replace(L1_CHANNELS, f"channels: {l1_channels}"), encoding="utf-8")
    return copy


@pytest.fixture(autouse=True)
def people(fake_slack: FakeSlack) -> None:
    for user, email in PEOPLE.items():
        fake_slack.add_user(user, name=user.lower(), email=email)


@pytest_asyncio.fixture
async def bot(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    database_url: str,
    fake_slack: FakeSlack,
    clock: ManualClock,
    twilio: FakeTwilio,
    pagerduty: FakePagerDuty,
) -> AsyncIterator[BotContext]:
    """The bot with Twilio and PagerDuty set up, every member's numbers registered, team time
    Paris; `@pytest.mark.policy(POLICY, l1_channels="[...]")` changes L1's channels."""
    marker = request.node.get_closest_marker("policy")
    settings = make_settings(
        fake_slack,
        database_url,
        escalation_tick_seconds=0,
        timezone="Europe/Paris",
        twilio_account_sid=twilio.account_sid,
        twilio_auth_token=twilio.auth_token,
        twilio_from_number=twilio.number,
        twilio_api_url=twilio.base_url,
        public_url=PUBLIC,
        pagerduty_routing_key=DEFAULT_ROUTING_KEY,
        pagerduty_events_url=pagerduty.base_url,
        pagerduty_webhook_secret=SECRET,
    )
    path = policy_file(tmp_path, marker.kwargs.get("l1_channels") if marker else None)
    ctx = wiring.build(settings, load_policy(path), clock)
    await clean(ctx)
    async with ctx.sessions.begin() as session:
        for user, number in PHONES.items():
            for kind in ("sms", "voice"):
                await contacts.add(session, user, kind, number, clock.now())
    yield ctx
    await ctx.tasks.drain()
    await ctx.close()


async def p0_at_3am(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> Incident:
    """The P0 declared on Thursday at 03:00 Paris, and the steps its L1 page planned run."""
    clock.set(THURSDAY_3AM)
    incident = await declare(slack, fake_slack, bot, severity="P0", title="Checkout is down")
    await tick(bot)
    return incident


def reached(fake: FakeSlack, cell: FakeTwilio, incident: Incident, user: str) -> tuple[int, ...]:
    """How often `user` was paged for `incident`: Slack DMs, SMS, calls."""
    sms, calls = cell.messages_to(PHONES[user]), cell.calls_to(PHONES[user])
    return len(paged(fake, user, incident)), len(sms), len(calls)


async def sent_pages(bot: BotContext, incident: Incident) -> list[tuple[str, list[str], datetime]]:
    """Each page the timeline records: its level, whom it reached and when."""
    return [
        (e.data["level"], e.data["targets"], _utc(e.occurred_at))
        for e in await paged_entries(bot, incident)
    ]


def instant(value: datetime | None) -> datetime:
    """A stored instant, in UTC (SQLite gives it back without its zone)."""
    assert value is not None
    return _utc(value)


async def statuses(bot: BotContext, incident: Incident, kind: str) -> dict[str, str]:
    return {s.level or "": s.status for s in await steps_of(bot, incident, kind)}


# ---------------------------------------------------------------------- a P0 at 03:00


async def test_a_p0_at_3am_pages_the_on_call_by_slack_sms_and_voice_then_the_backup_then_l2(
    slack: SlackSender,
    fake_slack: FakeSlack,
    bot: BotContext,
    clock: ManualClock,
    phone: FakeTwilio,
) -> None:
    incident = await p0_at_3am(slack, fake_slack, bot, clock)

    # 03:00: the schedule's person on call (UCAT), by Slack DM, SMS and a call; nobody else.
    [dm] = dms(fake_slack, "UCAT")
    assert has_ack_button(dm) and incident.public_id in dm["text"]
    assert "L1 On-call Engineer" in dm["text"]
    [sms] = phone.messages_to(PHONES["UCAT"])
    assert sms.body.startswith(f"[P0] {incident.public_id} Checkout is down - reply 1")
    [call] = phone.calls_to(PHONES["UCAT"])
    [voice_step] = await steps_of(bot, incident, PAGE_VOICE)
    assert call.url == f"{PUBLIC}/webhooks/twilio/voice/{voice_step.id}"
    assert sms.date_created == call.date_created == THURSDAY_3AM
    assert reached(fake_slack, phone, incident, "UADA") == (0, 0, 0)
    assert reached(fake_slack, phone, incident, "UBOB") == (0, 0, 0)
    assert await sent_pages(bot, incident) == [("L1", ["UCAT"], THURSDAY_3AM)]

    # 03:05: the backup (the next member, UADA), by the level's channels; UCAT not again.
    await tick(bot, clock, 5 * MINUTE - SECOND)
    assert reached(fake_slack, phone, incident, "UADA") == (0, 0, 0)
    await tick(bot, clock, SECOND)
    await tick(bot)  # the backup page's SMS and voice steps, planned as it was sent
    [backup_dm] = dms(fake_slack, "UADA")
    assert has_ack_button(backup_dm)
    assert "<@UCAT> (Primary on-call) has not acknowledged within 5 minutes" in backup_dm["text"]
    [backup_sms] = phone.messages_to(PHONES["UADA"])
    [backup_call] = phone.calls_to(PHONES["UADA"])
    assert backup_sms.date_created == backup_call.date_created == THURSDAY_3AM + 5 * MINUTE
    assert incident.public_id in backup_sms.body
    assert reached(fake_slack, phone, incident, "UCAT") == (1, 1, 1)
    [notice] = said(fake_slack, incident, ":sos:")
    assert "<@UADA> (backup of Primary on-call)" in notice

    # 03:15: L2 (ULEAD), at L1's window; the backup does not move it.
    await tick(bot, clock, 10 * MINUTE - SECOND)
    assert paged(fake_slack, "ULEAD", incident) == []
    await tick(bot, clock, SECOND)
    [l2_dm] = paged(fake_slack, "ULEAD", incident)
    assert "L2 Engineering Lead" in l2_dm["text"]
    assert await sent_pages(bot, incident) == [
        ("L1", ["UCAT"], THURSDAY_3AM),
        ("L1", ["UADA"], THURSDAY_3AM + 5 * MINUTE),
        ("L2", ["ULEAD"], THURSDAY_3AM + 15 * MINUTE),
    ]
    # Each phone rang and got a text once, however many ticks ran.
    assert reached(fake_slack, phone, incident, "UCAT") == (1, 1, 1)
    assert reached(fake_slack, phone, incident, "UADA") == (1, 1, 1)
    assert reached(fake_slack, phone, incident, "UBOB") == (0, 0, 0)


# ------------------------------------------------------------- a P3 at 03:00 on Saturday


async def test_a_p3_at_3am_on_saturday_is_paged_at_9am_on_monday_and_not_before(
    slack: SlackSender,
    fake_slack: FakeSlack,
    bot: BotContext,
    clock: ManualClock,
    phone: FakeTwilio,
) -> None:
    clock.set(SATURDAY_3AM)
    incident = await declare(slack, fake_slack, bot, severity="P3", title="Docs typo")
    await tick(bot)
    for moment in (SATURDAY_3AM + 6 * 60 * MINUTE, MONDAY_9AM - 60 * MINUTE, MONDAY_9AM - SECOND):
        clock.set(moment)
        await tick(bot)
        await tick(bot)
        for user in PEOPLE:
            assert reached(fake_slack, phone, incident, user) == (0, 0, 0), (moment, user)
    assert phone.messages == [] and phone.calls == []

    clock.set(MONDAY_9AM)
    await tick(bot)
    await tick(bot)  # the page's SMS and voice steps
    # The rotation hands over at 09:00: the page goes to the person who comes on (UBOB).
    assert reached(fake_slack, phone, incident, "UBOB") == (1, 1, 1)
    assert reached(fake_slack, phone, incident, "UADA") == (0, 0, 0)
    [sms], [call] = phone.messages_to(PHONES["UBOB"]), phone.calls_to(PHONES["UBOB"])
    assert sms.date_created == call.date_created == MONDAY_9AM
    assert sms.body.startswith(f"[P3] {incident.public_id} Docs typo - reply 1")
    assert await sent_pages(bot, incident) == [("L1", ["UBOB"], MONDAY_9AM)]
    [page] = await steps_of(bot, incident, PAGE)
    assert page.status == StepStatus.SENT and not page.late
    assert instant(page.sent_at) == MONDAY_9AM
    assert (
        "Declared outside working hours: L1 On-call Engineer is paged at 2026-12-07 09:00 "
        "Europe/Paris (next working hours)" in await texts(bot, incident)
    )
    # `simulate` for the same declaration says the same: Monday 09:00, UBOB.
    printed = lines(simulate(load_policy(POLICY), "P3", declared_at("2026-12-05T03:00", PARIS)))
    l1 = line_of([line.strip() for line in printed], "page L1 On-call Engineer: ")
    assert l1.startswith("2026-12-07 09:00")
    assert "schedule:primary (Primary on-call: UBOB on call)" in l1
    assert "deferred to Mon 09:00 (next working hours)" in l1


# --------------------------------------------------------------- an acknowledgement stops it


async def test_an_sms_reply_of_1_from_the_on_call_person_stops_everything(
    slack: SlackSender,
    fake_slack: FakeSlack,
    bot: BotContext,
    clock: ManualClock,
    phone: FakeTwilio,
) -> None:
    phone.fail_next(status=503, operation="Calls.create")  # the call waits for its retry
    incident = await p0_at_3am(slack, fake_slack, bot, clock)
    assert reached(fake_slack, phone, incident, "UCAT") == (1, 1, 0)
    assert await statuses(bot, incident, PAGE_VOICE) == {"L1": StepStatus.PENDING}

    clock.advance(2 * MINUTE)
    delivery = await phone.reply(PHONES["UCAT"], "1")
    await bot.tasks.drain()

    assert delivery.status == 200
    assert delivery.replies == [f"Acknowledged {incident.public_id}. Escalation stopped."]
    incident = await reload(bot, incident)
    assert incident.acknowledged_by == "UCAT"
    assert instant(incident.acknowledged_at) == THURSDAY_3AM + 2 * MINUTE
    # What was still to come is cancelled at once: the call, the backup, L2.
    assert await statuses(bot, incident, PAGE_VOICE) == {"L1": StepStatus.CANCELLED}
    assert await statuses(bot, incident, PAGE_BACKUP) == {"L1": StepStatus.CANCELLED}
    assert await statuses(bot, incident, PAGE) == {
        "L1": StepStatus.SENT,
        "L2": StepStatus.CANCELLED,
    }
    # And nothing more goes out, long after the call's backoff and every window.
    for _ in range(3):
        await tick(bot, clock, 40 * MINUTE)
    assert reached(fake_slack, phone, incident, "UCAT") == (1, 1, 0)
    assert reached(fake_slack, phone, incident, "UADA") == (0, 0, 0)
    assert paged(fake_slack, "ULEAD", incident) == []
    assert said(fake_slack, incident, ":sos:") == []
    assert await sent_pages(bot, incident) == [("L1", ["UCAT"], THURSDAY_3AM)]


@pytest.mark.policy(str(POLICY), l1_channels="[slack, sms, voice, pagerduty]")
async def test_a_pagerduty_acknowledgement_stops_everything(
    slack: SlackSender,
    fake_slack: FakeSlack,
    bot: BotContext,
    clock: ManualClock,
    phone: FakeTwilio,
    subscribed: FakePagerDuty,
) -> None:
    subscribed.seed_user("cat@example.com", "Cat Herder")
    phone.go_down()  # the SMS and the call wait for their retries
    incident = await p0_at_3am(slack, fake_slack, bot, clock)
    [pd] = subscribed.incidents
    assert pd.dedup_key == incident.public_id and pd.status == "triggered"
    assert await statuses(bot, incident, PAGE_SMS) == {"L1": StepStatus.PENDING}
    assert await statuses(bot, incident, PAGE_VOICE) == {"L1": StepStatus.PENDING}
    assert await statuses(bot, incident, PAGE_PAGERDUTY) == {"L1": StepStatus.SENT}

    clock.advance(2 * MINUTE)
    [delivery] = await subscribed.acknowledge(incident.public_id, "cat@example.com")
    await bot.tasks.drain()

    assert delivery.status == 200, delivery.answer
    incident = await reload(bot, incident)
    assert instant(incident.acknowledged_at) == THURSDAY_3AM + 2 * MINUTE
    assert "Acknowledged in PagerDuty by Cat Herder" in await texts(bot, incident)
    assert await statuses(bot, incident, PAGE_SMS) == {"L1": StepStatus.CANCELLED}
    assert await statuses(bot, incident, PAGE_VOICE) == {"L1": StepStatus.CANCELLED}
    assert await statuses(bot, incident, PAGE_BACKUP) == {"L1": StepStatus.CANCELLED}
    assert await statuses(bot, incident, PAGE) == {
        "L1": StepStatus.SENT,
        "L2": StepStatus.CANCELLED,
    }
    # Twilio is back: still no text, no call, no backup, no L2, nothing sent back to PagerDuty.
    phone.come_back()
    for _ in range(3):
        await tick(bot, clock, 40 * MINUTE)
    assert phone.messages == [] and phone.calls == []
    assert reached(fake_slack, phone, incident, "UADA") == (0, 0, 0)
    assert paged(fake_slack, "ULEAD", incident) == []
    assert actions(subscribed) == ["trigger"]
    assert await sent_pages(bot, incident) == [("L1", ["UCAT"], THURSDAY_3AM)]


# ------------------------------------------------ /incident oncall and simulate agree


async def test_oncall_and_simulate_name_the_people_the_pages_went_to(
    slack: SlackSender,
    fake_slack: FakeSlack,
    bot: BotContext,
    clock: ManualClock,
    phone: FakeTwilio,
) -> None:
    incident = await p0_at_3am(slack, fake_slack, bot, clock)
    answer = await command(slack, bot, "oncall", channel=None, user="UREPORTER")
    await tick(bot, clock, 5 * MINUTE)
    await tick(bot, clock, 10 * MINUTE)
    [(_, [primary], _), (_, [backup], _), (_, [lead], _)] = await sent_pages(bot, incident)
    assert (primary, backup, lead) == ("UCAT", "UADA", "ULEAD")
    assert {m.to for m in phone.messages} == {PHONES[primary], PHONES[backup]}

    # `/incident oncall` at 03:00: the person L1 paged, and the backup paged at 03:05.
    [section] = [part for part in answer.split("\n\n") if "*Primary on-call*" in part]
    [(now_user, since)] = ON_CALL_NOW.findall(section)
    assert now_user == primary
    assert since == "2026-12-02 09:00 CET until 2026-12-03 09:00 CET"
    assert BACKUP.findall(section) == [backup]

    # `incident-bot simulate --severity P0 --at 2026-12-03T03:00` (TIMEZONE Europe/Paris).
    started = declared_at("2026-12-03T03:00", PARIS)
    simulation = simulate(load_policy(POLICY), "P0", started)
    l1, l2 = simulation.pages[:2]
    assert [t.on_call for t in l1.targets] == [primary] and l1.at == THURSDAY_3AM
    assert [t.on_call for t in l1.backups] == [backup]
    assert l1.backup_at == THURSDAY_3AM + 5 * MINUTE
    assert [t.value for t in l2.targets] == [lead] and l2.at == THURSDAY_3AM + 15 * MINUTE
    printed = [line.strip() for line in lines(simulation)]
    l1_line = line_of(printed, "page L1 On-call Engineer: ")
    assert l1_line.startswith("2026-12-03 03:00")
    assert f"schedule:primary (Primary on-call: {primary} on call)" in l1_line
    backup_line = line_of(printed, "backup of L1 On-call Engineer: ")
    assert backup_line.startswith("2026-12-03 03:05")
    assert f"{backup} (backup on Primary on-call)" in backup_line
    l2_line = line_of(printed, "page L2 Engineering Lead: ")
    assert l2_line.startswith("2026-12-03 03:15") and f": {lead} (user)" in l2_line

"""What a resolve leaves for Slack is durable: the post-mortem upload and the review reminder are
steps planned with the resolution, so a lost answer or a process killed mid-upload delays the
draft and never loses or doubles it. And the empty levels of a chain get one notice."""

from __future__ import annotations

import asyncio
import signal
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from app.clock import ManualClock
from app.context import BotContext
from app.sandbox.fakeslack import FakeSlack
from app.sandbox.sender import SlackSender, modal_values
from app.services.engine import run_due_steps
from app.store.models import ScheduledStep, StepStatus, TimelineEntry
from tests.conftest import SIGNING_SECRET
from tests.running import declare, reload, resolve, resolve_values
from tests.test_crash import _free_port, bot_process, saved, until


async def steps_of(bot: BotContext, kind: str) -> list[ScheduledStep]:
    async with bot.sessions() as session:
        stmt = select(ScheduledStep).where(ScheduledStep.kind == kind).order_by(ScheduledStep.id)
        return list((await session.execute(stmt)).scalars())


def drafts(fake: FakeSlack, channel: str | None) -> list[dict]:
    return [f for f in fake.state.files if f["channel_id"] == channel]


@pytest.mark.parametrize("lost", [{"status": 500}, {"drop": True}], ids=["5xx", "dropped"])
async def test_a_lost_answer_after_the_upload_saves_the_draft_once(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock, lost: dict
) -> None:
    incident = await declare(slack, fake_slack, bot)
    fake_slack.fail_after_success("files.completeUploadExternal", **lost)
    await resolve(slack, fake_slack, bot, incident)
    incident = await reload(bot, incident)
    assert incident.status == "resolved" and incident.postmortem_file_id is None
    [upload] = await steps_of(bot, "postmortem_upload")
    assert upload.status == StepStatus.PENDING  # to be tried again, not forgotten

    clock.advance(timedelta(minutes=1))
    await run_due_steps(bot)
    [draft] = drafts(fake_slack, incident.channel_id)
    incident = await reload(bot, incident)
    assert incident.postmortem_file_id == draft["id"]
    [upload] = await steps_of(bot, "postmortem_upload")
    assert upload.status == StepStatus.SENT


async def test_resolving_plans_the_upload_and_the_review_reminder_with_the_resolution(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    incident = await declare(slack, fake_slack, bot)
    await resolve(slack, fake_slack, bot, incident)
    incident = await reload(bot, incident)
    [upload] = await steps_of(bot, "postmortem_upload")
    [review] = await steps_of(bot, "review_reminder")
    assert upload.status == StepStatus.SENT and upload.created_at == incident.resolved_at
    assert review.status == StepStatus.PENDING and review.created_at == incident.resolved_at
    [draft] = drafts(fake_slack, incident.channel_id)
    assert incident.postmortem_file_id == draft["id"]


@pytest.mark.parametrize(
    "kill_during", ["files.getUploadURLExternal", "files.completeUploadExternal"]
)
async def test_sigkill_during_the_post_mortem_upload_uploads_it_after_restart_once(
    tmp_path: Path, fake_slack: FakeSlack, bot: BotContext, kill_during: str
) -> None:
    announce = fake_slack.add_channel("incidents", members=["UOTHER"])
    url = bot.settings.database_url
    port = _free_port()
    extra = {"LEASE_SECONDS": "3", "ESCALATION_TICK_SECONDS": "0.5"}
    async with bot_process(tmp_path, fake_slack, url, port, announce, **extra) as first:
        slack = SlackSender(f"http://127.0.0.1:{port}", SIGNING_SECRET, fake_slack)
        await slack.command("declare")
        await until(lambda: bool(fake_slack.calls_to("views.open")))
        view = fake_slack.attempts_to("views.open")[-1].response["view"]
        await slack.submit(view, modal_values(title="Killed mid upload", severity="P2"))
        await until(lambda: bool(fake_slack.calls_to("pins.add")))
        [incident] = await saved(bot)
        await slack.command("resolve", channel=incident.channel_id)
        await until(lambda: len(fake_slack.calls_to("views.open")) == 2)
        form = fake_slack.attempts_to("views.open")[-1].response["view"]
        fake_slack.latency = 0.5  # the upload's calls are in flight long enough to die
        submission = asyncio.create_task(slack.submit(form, resolve_values()))
        await until(lambda: bool(fake_slack.calls_to(kill_during)))
        first.send_signal(signal.SIGKILL)
        await first.wait()
        submission.cancel()
        await slack.close()

    fake_slack.latency = 0.0
    [incident] = await saved(bot)
    assert incident.status == "resolved" and incident.postmortem_file_id is None
    async with bot_process(tmp_path, fake_slack, url, _free_port(), announce, **extra):

        async def uploaded() -> bool:
            [i] = await saved(bot)
            return i.postmortem_file_id is not None

        async with asyncio.timeout(30):
            while not await uploaded():  # noqa: ASYNC110 - polling another process
                await asyncio.sleep(0.05)
        await asyncio.sleep(1.0)  # more ticks: nothing is uploaded again

    [incident] = await saved(bot)
    [draft] = drafts(fake_slack, incident.channel_id)
    assert incident.postmortem_file_id == draft["id"]
    assert len(await steps_of(bot, "review_reminder")) == 1


async def test_a_chain_with_several_empty_levels_gets_one_notice_naming_them_all(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    # The default policy pages nobody: a P0 runs through L1 to L4 at once.
    incident = await declare(slack, fake_slack, bot, severity="P0")
    await run_due_steps(bot)  # L2 to L4 fall due at once, one after the other
    warnings = [
        m for m in fake_slack.messages[incident.channel_id] if m["text"].startswith(":warning:")
    ]
    [notice] = warnings
    assert "L1 On-call Engineer, L2 Engineering Lead, L3 CTO, L4 CEO have no one" in notice["text"]
    assert "nobody else will be paged" in notice["text"]
    async with bot.sessions() as session:
        skipped = (
            await session.execute(
                select(TimelineEntry.data).where(
                    TimelineEntry.incident_id == incident.id,
                    TimelineEntry.kind == "escalation_skipped",
                )
            )
        ).scalars()
        assert sorted(d["level"] for d in skipped) == ["L1", "L2", "L3", "L4"]
    pages = await steps_of(bot, "page")
    assert [(p.level, p.status) for p in pages] == [
        (f"L{n}", StepStatus.SENT) for n in (1, 2, 3, 4)
    ]

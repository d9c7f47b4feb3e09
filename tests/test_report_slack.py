"""`/incident report [quarter]`: anyone may ask; the ack says which quarter is being built; the
Markdown report of the incidents declared (through the real flow) in that quarter arrives as a
file in the asker's DM with the summary as its comment, and the answer says where it went. A
quarter that does not parse is answered at once and nothing is done; a failure after the ack
is told to the asker. Aggregates only: a private incident's title is in neither the file nor
the comment.

The ManualClock starts on 2026-11-28 (the fourth quarter), so the last full quarter is 2026Q3.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from app.clock import ManualClock
from app.context import BotContext
from app.sandbox.fakeslack import FakeSlack
from app.sandbox.sender import SlackSender
from tests.running import command, declare, resolve

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)  # the fourth quarter
IN_Q3 = datetime(2026, 8, 10, 14, 0, tzinfo=UTC)
SECRET = "Secret merger talks leaked"


async def quarters_of_incidents(
    slack: SlackSender, fake: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    """Two incidents in 2026Q3 (one private, resolved after 40 minutes), one in 2026Q4."""
    clock.set(IN_Q3)
    public = await declare(slack, fake, bot, title="Checkout errors", severity="P2")
    clock.advance(timedelta(minutes=40))
    await resolve(slack, fake, bot, public)
    clock.set(IN_Q3 + timedelta(days=3))
    await declare(slack, fake, bot, title=SECRET, severity="P1", visibility="private")
    clock.set(NOW - timedelta(days=1))
    await declare(slack, fake, bot, title="Search is slow", severity="P3")
    clock.set(NOW)


def reports_in_dm(fake: FakeSlack, user: str) -> list[dict[str, Any]]:
    dm = fake.state.ims.get(user)
    return [
        f
        for f in fake.files
        if f["channel_id"] == dm and f["filename"].startswith("incident-report-")
    ]


async def test_report_without_a_quarter_is_the_last_full_one_uploaded_to_the_askers_dm(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    await quarters_of_incidents(slack, fake_slack, bot, clock)

    # UOTHER is in none of the incidents' channels: anyone may ask for the aggregates.
    answer = await command(slack, bot, "report", channel="CGENERAL", user="UOTHER")

    assert answer == "Building the report for 2026Q3…"
    [upload] = reports_in_dm(fake_slack, "UOTHER")
    assert upload["filename"] == "incident-report-2026Q3.md"
    text = upload["content"].decode()
    assert text.startswith("# Report against the plan: 2026Q3\n")
    assert "2026-07-01 00:00 until 2026-10-01 00:00" in text
    assert "| Incidents | 2 | 0 | 1 | 1 | 0 |" in text  # All, P0..P3
    assert "| MTTR median | 40 min |" in text
    comment = upload["initial_comment"]
    assert comment.startswith("*Report against the plan, 2026Q3*\n")
    assert "• 2026Q3: 2 incidents declared (1 still open)." in comment
    assert SECRET not in text and SECRET not in comment
    assert "Search is slow" not in text  # the fourth quarter's
    name = "incident-report-2026Q3.md"
    permalink = f"https://fake.slack.com/files/UBOT0001/{upload['id']}/{name}"
    assert fake_slack.responses[-1]["text"] == (
        f"The report for 2026Q3 is in your direct messages with me: <{permalink}|{name}>."
    )


async def test_report_of_a_named_quarter_counts_that_quarters_incidents(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    await quarters_of_incidents(slack, fake_slack, bot, clock)

    assert await command(slack, bot, "report 2026Q3", channel="CGENERAL", user="ULEAD") == (
        "Building the report for 2026Q3…"
    )
    assert await command(slack, bot, "report 2026q4", channel="CGENERAL", user="ULEAD") == (
        "Building the report for 2026Q4…"
    )

    third, fourth = reports_in_dm(fake_slack, "ULEAD")
    assert third["filename"] == "incident-report-2026Q3.md"
    assert "2026Q3: 2 incidents declared" in third["initial_comment"]
    assert fourth["filename"] == "incident-report-2026Q4.md"
    assert "2026Q4: 1 incident declared (1 still open)." in fourth["initial_comment"]
    assert [r["text"].split(":")[0] for r in fake_slack.responses[-2:]] == [
        "The report for 2026Q3 is in your direct messages with me",
        "The report for 2026Q4 is in your direct messages with me",
    ]


async def test_a_quarter_that_does_not_parse_is_answered_at_once_and_nothing_is_done(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    answer = await command(slack, bot, "report 2026Q5", channel="CGENERAL", user="UOTHER")
    assert answer.startswith("'2026Q5' is not a period: give a quarter such as 2026Q3")
    assert "`/incident report 2026Q3`" in answer

    answer = await command(slack, bot, "report <!here> & co", channel="CGENERAL", user="UOTHER")
    assert "<!here>" not in answer and "&lt;!here&gt; &amp; co" in answer

    assert fake_slack.calls_to("conversations.open") == []
    assert fake_slack.files == [] and fake_slack.responses == []


async def test_a_failed_upload_after_the_ack_is_told_to_the_asker(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    fake_slack.fail_next("files.completeUploadExternal", "not_in_channel")

    answer = await command(slack, bot, "report", channel="CGENERAL", user="UOTHER")

    assert answer == "Building the report for 2026Q3…"
    assert fake_slack.files == []
    [told] = fake_slack.responses
    assert told["text"] == (
        ":warning: Something went wrong while building the report: Slack refused to upload it "
        "(not_in_channel). Nothing was changed; try again."
    )

"""Post-mortems name people: each asked of Slack once (users.info), remembered, asked again
only after a day; a Slack that cannot answer leaves the id and never holds the upload up."""

from __future__ import annotations

from datetime import timedelta

from app.clock import ManualClock
from app.context import BotContext
from app.sandbox.fakeslack import FakeSlack
from app.sandbox.sender import SlackSender
from app.services import people
from tests.running import command, declare


def drafts(fake: FakeSlack) -> list[str]:
    return [upload["content"].decode() for upload in fake.files]


def asked(fake: FakeSlack) -> list[str]:
    """Whom the bot asked Slack about, answered or not."""
    return [attempt.args["user"] for attempt in fake.attempts_to("users.info")]


async def test_each_person_is_asked_of_slack_once_for_every_draft(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    fake_slack.add_user("UREPORTER", name="Rita Reporter")
    fake_slack.add_user("ULEAD", name="Lea Lead")
    incident = await declare(slack, fake_slack, bot)
    await command(slack, bot, "lead <@ULEAD|lead>", channel=incident.channel_id)
    before = asked(fake_slack)

    await command(slack, bot, "postmortem", channel=incident.channel_id)
    await command(slack, bot, "postmortem", channel=incident.channel_id)

    first, second = drafts(fake_slack)
    assert "- 09:00 - Lea Lead is the incident lead (Rita Reporter)" in first
    assert second == first and "<@" not in first
    assert sorted(asked(fake_slack)[len(before) :]) == ["ULEAD", "UREPORTER"]  # once each

    # A day later the names are asked again: a renamed person shows their new name.
    fake_slack.add_user("ULEAD", name="Lea Lima")
    clock.advance(people.NAME_TTL + timedelta(minutes=1))
    await command(slack, bot, "postmortem", channel=incident.channel_id)
    assert "- 09:00 - Lea Lima is the incident lead (Rita Reporter)" in drafts(fake_slack)[-1]


async def test_a_slack_that_cannot_name_people_leaves_their_ids_and_the_draft_is_uploaded(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    incident = await declare(slack, fake_slack, bot)
    await command(slack, bot, "lead <@ULEAD|lead>", channel=incident.channel_id)
    fake_slack.fail_next("users.info", "user_not_found", times=2)

    await command(slack, bot, "postmortem", channel=incident.channel_id)

    [draft] = drafts(fake_slack)
    assert "- 09:00 - @ULEAD is the incident lead (@UREPORTER)" in draft

    # Slack answers again: the next draft names them (nothing was remembered for the ids).
    await command(slack, bot, "postmortem", channel=incident.channel_id)
    assert "- 09:00 - ulead is the incident lead (ureporter)" in drafts(fake_slack)[-1]


async def test_stored_names_serve_without_slack(
    fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    fake_slack.add_user("UCEO", name="Cy Eo")
    named = await people.names(
        bot.sessions, bot.slack, ["UCEO", "UNOBODY", "not-an-id"], clock.now()
    )
    assert named == {"UCEO": "Cy Eo"}  # UNOBODY: Slack says user_not_found; junk never asked

    clock.advance(timedelta(days=30))  # stale, but with no Slack to ask, still the best known
    assert await people.names(bot.sessions, None, ["UCEO"], clock.now()) == {"UCEO": "Cy Eo"}
    assert asked(fake_slack) == ["UCEO", "UNOBODY"]

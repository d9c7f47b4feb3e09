"""A reporter who declared from another channel (#random, no INCIDENTS_CHANNEL) is pointed to
the incident's channel there, ephemerally, once; by DM where the bot cannot post."""

from __future__ import annotations

from typing import Any

from app.context import BotContext
from app.sandbox.fakeslack import FakeSlack
from app.sandbox.sender import SlackSender
from app.services import declared_from
from app.store.models import Incident
from tests.running import reload
from tests.test_declare import incidents, submit


async def declare_in(
    slack: SlackSender, fake: FakeSlack, bot: BotContext, channel: str, **values: Any
) -> Incident:
    """`/incident declare` typed in `channel`, the modal filled and submitted."""
    assert (await slack.command("declare", channel=channel)).status_code == 200
    await bot.tasks.drain()
    view = fake.attempts_to("views.open")[-1].response["view"]
    await submit(slack, bot, view, **{"title": "Payments are down", "severity": "P1", **values})
    incident = (await incidents(bot))[-1]
    assert incident.setup_complete, incident.setup_error
    return incident


def pointers(fake: FakeSlack, incident: Incident) -> list[dict[str, Any]]:
    """What the bot told anyone about where `incident` is, outside its channel."""
    link = f"<#{incident.channel_id}>"
    told = [e for e in fake.ephemerals if link in e["text"]]
    dm = fake.state.ims.get(incident.reporter_id)
    return told + [m for m in fake.messages.get(dm, []) if dm and link in m["text"]]


async def test_a_declare_from_random_gets_an_ephemeral_link_to_the_incident_channel(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    random = fake_slack.add_channel("random", members=["UREPORTER", "UOTHER"])  # bot too
    assert bot.settings.incidents_channel in (None, "")  # nothing announces it elsewhere

    incident = await declare_in(slack, fake_slack, bot, random, title="Checkout <b>down</b>")

    assert incident.declared_from == random and incident.declared_from_told_at is not None
    [told] = fake_slack.ephemerals
    assert told["channel"] == random and told["user"] == "UREPORTER"
    assert f"is open in <#{incident.channel_id}>" in told["text"]
    assert incident.public_id in told["text"] and "&lt;b&gt;down&lt;/b&gt;" in told["text"]
    assert fake_slack.messages[random] == []  # nothing the channel sees

    # A retried setup, or a second call from wherever learns of the channel, tells nobody twice.
    await slack.command(f"retry-setup {incident.public_id}", channel=random)
    await bot.tasks.drain()
    assert await declared_from.point_reporter(bot, incident.id) is False
    assert len(pointers(fake_slack, incident)) == 1


async def test_where_the_bot_cannot_post_the_reporter_gets_the_link_by_dm(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    outside = fake_slack.add_channel("random", members=["UREPORTER"], bot_member=False)

    incident = await declare_in(slack, fake_slack, bot, outside)

    assert [a.response.get("error") for a in fake_slack.attempts_to("chat.postEphemeral")] == [
        "not_in_channel"
    ]
    [dm] = pointers(fake_slack, incident)
    assert f"is open in <#{incident.channel_id}>" in dm["text"]


async def test_when_slack_refuses_both_the_reporter_is_told_on_the_next_try(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    outside = fake_slack.add_channel("random", members=["UREPORTER"], bot_member=False)
    fake_slack.fail_next("chat.postMessage", "ratelimited", when={"channel": "UREPORTER"})

    incident = await declare_in(slack, fake_slack, bot, outside)

    assert pointers(fake_slack, incident) == []
    assert (await reload(bot, incident)).declared_from_told_at is None  # not marked as told
    assert await declared_from.point_reporter(bot, incident.id) is True
    assert len(pointers(fake_slack, incident)) == 1

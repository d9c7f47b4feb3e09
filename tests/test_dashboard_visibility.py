"""Who may see which incident on the web pages (app.services.visibility): a private incident
only its channel's members, never the static token's holder, nobody when it has no channel,
and nobody when Slack cannot say who is in the channel; and the dashboard's pages keep to it."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from app.clock import ManualClock
from app.context import BotContext
from app.sandbox.fakeslack import FakeSlack
from app.sandbox.sender import SlackSender
from app.services.visibility import can_see, visible
from app.store.models import Incident
from tests.dashboard_door import SIGN_IN, browser, sign_in_with_slack, sign_in_with_token, trust
from tests.running import declare, join

TOKEN_VIEWER = None


async def test_a_private_incident_is_seen_only_by_its_channels_members(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    incident = await declare(slack, fake_slack, bot, title="Leaked table", visibility="private")
    assert incident.private
    assert await can_see(bot, "UREPORTER", incident)  # the declarer is in its channel
    assert not await can_see(bot, "UOTHER", incident)
    assert not await can_see(bot, TOKEN_VIEWER, incident)
    join(fake_slack, incident, "UOTHER")
    clock.advance(timedelta(seconds=61))  # the channel's members are kept a minute at most
    assert await can_see(bot, "UOTHER", incident)
    assert not await can_see(bot, TOKEN_VIEWER, incident)


async def test_a_public_incident_is_seen_by_everyone_signed_in_and_the_token(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    incident = await declare(slack, fake_slack, bot, title="Slow search")
    assert not incident.private
    for viewer in ("UREPORTER", "UOTHER", TOKEN_VIEWER):
        assert await can_see(bot, viewer, incident), viewer


async def test_a_guest_sees_only_the_incidents_whose_channel_they_are_in(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    fake_slack.add_user("UGUEST", name="guest", is_restricted=True)
    first = await declare(slack, fake_slack, bot, title="Slow search")
    second = await declare(slack, fake_slack, bot, title="Slow checkout")
    join(fake_slack, second, "UGUEST")
    assert await visible(bot, "UGUEST", [first, second]) == [second]


async def test_a_deactivated_account_sees_only_what_its_channels_show_which_is_nothing(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    """A dashboard session outlives the account it was made for: once deactivated, it is
    treated as a guest, and a deactivated account is in no channel."""
    fake_slack.add_user("UGONE", name="gone")
    fake_slack.users["UGONE"].deleted = True
    first = await declare(slack, fake_slack, bot, title="Slow search")
    second = await declare(slack, fake_slack, bot, title="Slow checkout")
    assert await visible(bot, "UGONE", [first, second]) == []
    fake_slack.add_user("USTILL", name="still here")
    assert await visible(bot, "USTILL", [first, second]) == [first, second]


async def test_visible_keeps_the_order_and_hides_what_the_viewer_may_not_see(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    public = await declare(slack, fake_slack, bot, title="Slow search")
    secret = await declare(slack, fake_slack, bot, title="Leaked table", visibility="private")
    later = await declare(slack, fake_slack, bot, title="Slow checkout")
    shown = [i.id for i in await visible(bot, "UOTHER", [later, secret, public])]
    assert shown == [later.id, public.id]
    assert [i.id for i in await visible(bot, TOKEN_VIEWER, [secret, public])] == [public.id]
    assert len(await visible(bot, "UREPORTER", [later, secret, public])) == 3


async def test_a_private_incident_is_hidden_when_slack_cannot_say_who_is_in_its_channel(
    slack: SlackSender,
    fake_slack: FakeSlack,
    bot: BotContext,
    clock: ManualClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    incident = await declare(slack, fake_slack, bot, title="Leaked table", visibility="private")
    clock.advance(timedelta(seconds=61))  # nothing remembered of its channel
    fake_slack.fail_next("conversations.members", "internal_error", times=5)
    with caplog.at_level(logging.WARNING):
        assert not await can_see(bot, "UREPORTER", incident)
    assert "Slack could not say" in caplog.text


async def test_a_private_incident_without_a_channel_is_seen_by_nobody(bot: BotContext) -> None:
    incident = Incident(
        id=999,
        public_id="INC-20261128-999",
        title="A ticket only",
        severity="P3",
        private=True,
        channel_id=None,
        reporter_id="UREPORTER",
        lead_id="UREPORTER",
        setup_complete=True,
    )
    for viewer in ("UREPORTER", "UOTHER", TOKEN_VIEWER):
        assert not await can_see(bot, viewer, incident), viewer


@pytest.mark.settings(**SIGN_IN)
async def test_the_dashboards_pages_show_a_private_incident_only_to_its_channels_members(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    trust(fake_slack, clock)
    secret = await declare(slack, fake_slack, bot, title="Leaked table", visibility="private")
    public = await declare(slack, fake_slack, bot, title="Slow search")
    page = f"/dashboard/incidents/{secret.public_id}"
    async with browser(bot) as member, browser(bot) as other, browser(bot) as token:
        await sign_in_with_slack(member, fake_slack, "UREPORTER")
        await sign_in_with_slack(other, fake_slack, "UOTHER")
        await sign_in_with_token(token)
        shown = await member.get(page)
        assert shown.status_code == 200 and "Leaked table" in shown.text
        for outsider in (other, token):
            assert "Leaked table" not in (await outsider.get(page)).text
            board = await outsider.get("/dashboard")
            assert board.status_code == 200
            assert "Slow search" in board.text and "Leaked table" not in board.text
            assert secret.public_id not in board.text
        assert "Leaked table" in (await member.get("/dashboard")).text
        assert public.public_id in (await member.get("/dashboard")).text

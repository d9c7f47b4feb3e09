"""Publishing a status post for the Statuspage sync's tests (tests/test_statuspage_sync.py) the
way a responder does: `/incident statuspage [services state phase] message` in the incident's
channel, then Publish on its preview."""

from __future__ import annotations

from app.clock import ManualClock
from app.context import BotContext
from app.sandbox.fakeslack import FakeSlack
from app.sandbox.sender import SlackSender
from app.store.models import Incident, StatusPost
from tests.statuspage_helpers import click, post_id, status_posts, statuspage


async def publish(
    slack: SlackSender, fake: FakeSlack, bot: BotContext, incident: Incident, text: str
) -> StatusPost:
    """The post `text` asks for, published (its `statuspage` step planned with it), a second
    after anything before it (a draft made in the very instant another post was published is
    refused as out of date)."""
    assert isinstance(bot.clock, ManualClock)
    bot.clock.advance(1)
    preview = await statuspage(slack, fake, bot, incident, text)
    await click(slack, fake, bot, preview, "Publish")
    [post] = [p for p in await status_posts(bot) if p.id == post_id(preview)]
    assert post.state == "published", post.state
    return post

"""The checklist setup posts in a new incident channel is posted once even when Slack posts it
and the answer is lost (a 5xx after the fact, a dropped connection): the setup finds it by its
metadata instead of posting a second one on its retry."""

from __future__ import annotations

import pytest

from app.clock import ManualClock
from app.config.runbooks import load_runbooks
from app.context import BotContext
from app.sandbox.fakeslack import FakeSlack
from app.sandbox.sender import SlackSender
from app.ui.runbooks import runbook_checklist
from tests.test_ambiguous_failures import LOST, retry_due, tagged
from tests.test_declare import incidents
from tests.test_runbooks import declare_with_type, timeline

RUNBOOK = "database_connection"


@pytest.mark.parametrize("lost", LOST)
async def test_a_lost_answer_after_the_checklist_posts_it_once(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock, lost: dict
) -> None:
    # Only the checklist post carries the checklist's text.
    checklist_text = runbook_checklist(load_runbooks().get(RUNBOOK)).text
    fake_slack.fail_after_success("chat.postMessage", when={"text": checklist_text}, **lost)
    await declare_with_type(slack, fake_slack, bot, RUNBOOK)
    await retry_due(bot, clock)

    [incident] = await incidents(bot)
    assert incident.channel_id and incident.setup_complete and incident.setup_error is None
    posted = [m for m in fake_slack.messages[incident.channel_id] if m["text"] == checklist_text]
    assert len(posted) == 1, f"the checklist was posted {len(posted)} times"
    [checklist] = posted
    assert incident.runbook_ts == checklist["ts"]
    assert tagged(fake_slack, incident.channel_id, "incident_runbook") == [checklist]
    [entry] = await timeline(bot, "runbook_posted")
    assert entry.data == {"runbook": RUNBOOK, "message_ts": checklist["ts"]}

"""`/incident report` and the quarterly plan review against Slack's method reference
(`../shared/slack-spec/methods`): the DM opened, the file uploaded and shared there with its
comment, its permalink asked, and (after an ambiguous failure) the DM's history read, each call
with arguments the method takes, its required ones, and a bot scope the manifest requests; the
slash command as Slack sends it (`report 2026Q3`, form-encoded)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from app.clock import ManualClock
from app.context import BotContext
from app.sandbox import builders as build
from app.sandbox.fakeslack import FakeSlack
from app.sandbox.fakeslack.state import BOT_USER_ID
from app.sandbox.sender import SlackSender
from app.services.plan_review import send_plan_review
from app.store import plan_reviews
from tests.conftest import ROOT, manifest_bot_scopes
from tests.running import command
from tests.test_slack_builders import assert_like_slack

METHODS = ROOT.parent / "shared" / "slack-spec" / "methods"
PLAN_REVIEW_POLICY = Path(__file__).parent / "policies" / "plan_review.yml"


def method_spec(name: str) -> dict[str, Any]:
    if not METHODS.is_dir():
        pytest.skip(
            f"Slack's method reference is absent ({METHODS} does not exist): this check needs "
            "the ../shared folder beside the clone, which CI always has"
        )
    return dict(json.loads((METHODS / f"{name}.json").read_text()))


def assert_as_documented(fake: FakeSlack, method: str) -> list[dict[str, Any]]:
    """The successful calls to `method`, each checked against Slack's reference."""
    spec = method_spec(method)
    args_spec = spec["args"]
    documented = set(args_spec.get("properties") or {})
    required = set(args_spec.get("required") or []) - {"token"}
    calls = fake.calls_to(method)
    assert calls, f"no call to {method}"
    for args in calls:
        assert set(args) <= documented, (method, set(args) - documented)
        assert required <= set(args), (method, required - set(args))
    assert set(spec["scope"]["bot"]) & manifest_bot_scopes(), f"no scope for {method}"
    return calls


def listed(value: Any) -> list[dict[str, Any]]:
    return json.loads(value) if isinstance(value, str) else list(value)


async def test_report_2026q3_as_slack_sends_it_uploads_as_slacks_reference_documents(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    fields = build.slash_command(
        fake_slack, "report 2026Q3", user_id="UOTHER", channel_id="CGENERAL"
    )
    assert_like_slack("slash_command", fields)
    assert await command(slack, bot, "report 2026Q3", channel="CGENERAL", user="UOTHER") == (
        "Building the report for 2026Q3…"
    )

    [opened] = assert_as_documented(fake_slack, "conversations.open")
    assert opened["users"] == "UOTHER"
    dm = fake_slack.state.ims["UOTHER"]
    [asked] = assert_as_documented(fake_slack, "files.getUploadURLExternal")
    [completed] = assert_as_documented(fake_slack, "files.completeUploadExternal")
    [shared] = fake_slack.files
    assert asked["filename"] == "incident-report-2026Q3.md"
    assert int(asked["length"]) == len(shared["content"])
    [entry] = listed(completed["files"])
    assert (entry["id"], entry["title"]) == (shared["id"], "Report against the plan, 2026Q3")
    assert completed["channel_id"] == dm and "channels" not in completed
    assert completed["initial_comment"].startswith("*Report against the plan, 2026Q3*\n")
    [info] = assert_as_documented(fake_slack, "files.info")
    assert info["file"] == shared["id"]
    # The share is a message of the bot's in the DM carrying the file, as Slack's history has it.
    [message] = fake_slack.state.messages[dm]
    assert message["user"] == BOT_USER_ID
    assert [(f["id"], f["name"]) for f in message["files"]] == [
        (shared["id"], "incident-report-2026Q3.md")
    ]


@pytest.mark.policy(str(PLAN_REVIEW_POLICY))
async def test_the_plan_reviews_lookup_after_a_lost_answer_reads_the_dm_as_documented(
    fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    clock.set(datetime(2027, 1, 1, 8, 0, tzinfo=UTC))  # 09:00 in Paris: 2026Q4 is due
    fake_slack.fail_after_success("files.completeUploadExternal", status=500)
    assert await send_plan_review(bot, clock.now(), "w1") is False
    clock.advance(plan_reviews.LEASE + timedelta(seconds=1))
    assert await send_plan_review(bot, clock.now(), "w2") is True

    dm = fake_slack.state.ims["UCTO"]
    [looked] = assert_as_documented(fake_slack, "conversations.history")
    assert looked["channel"] == dm
    assert 1 <= int(looked["limit"]) <= 999  # Slack's documented page size
    assert [c["channel_id"] for c in fake_slack.calls_to("files.completeUploadExternal")] == []
    [attempt] = fake_slack.attempts_to("files.completeUploadExternal")
    assert attempt.args["channel_id"] == dm
    assert [f["filename"] for f in fake_slack.files] == ["plan-review-2026Q4.md"]

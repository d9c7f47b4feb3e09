"""`incident-bot export`: an incident run end to end through the real app, then exported from
the command line and compared with the plan's template, filled in: people by name (asked of
Slack once, while the bot ran), the uploaded post-mortem linked."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from app.clock import ManualClock
from app.context import BotContext
from app.sandbox.fakeslack import FakeSlack
from app.sandbox.sender import SlackSender
from app.services.documents import record_by_public_id, render
from tests.conftest import TOKEN
from tests.running import click, command, declare, items, join, reload, resolve, summary
from tests.test_cli import run_cli

EXPECTED_LOG = """\
# Incident: Payments are down

**Incident ID**: INC-20261128-001
**Severity**: P0
**Status**: Resolved
**Started**: 2026-11-28 10:00 CET
**Resolved**: 2026-11-28 12:05 CET
**Duration**: 2 hours 5 minutes

## Impact
- Affected services: checkout, billing
- Affected users: All EU customers
- Revenue impact: $12,000
- Data loss: No

## Timeline
- 10:00 - Declared as P1 High: Payments are down (Rita Reporter)
- 10:00 - L1 On-call Engineer had no one to page
- 10:10 - Severity raised from P1 to P0: all regions (Rita Reporter)
- 10:15 - Lea Lead is the incident lead (Rita Reporter)
- 10:20 - Status changed from Investigating to Mitigating (Lea Lead)
- 10:30 - Status update: Rolled back to v41 (Lea Lead)
- 10:35 - Action item 1 added: Alert on webhook failures · Otto Other · due 2026-12-05 (Lea Lead)
- 10:35 - Action item 2 added: Document secret rotation · no owner (Lea Lead)
- 10:40 - Action item done: Document secret rotation (Otto Other)
- 12:05 - Resolved after 2 hours 5 minutes: Rotated the secret and replayed webhooks. (Lea Lead)

## Root Cause
An expired Stripe webhook secret.

## Resolution
Rotated the secret and replayed webhooks.

## Action Items
- [ ] Alert on webhook failures - Otto Other - 2026-12-05
- [x] Document secret rotation - Owner - Due date

## Post-Mortem
Link to post-mortem document: {postmortem_url}
"""


NAMES = {"UREPORTER": "Rita Reporter", "ULEAD": "Lea Lead", "UOTHER": "Otto Other"}


def name_people(fake: FakeSlack) -> None:
    for user_id, name in NAMES.items():
        fake.add_user(user_id, name=name, email=f"{user_id.lower()}@example.com")


async def run_the_incident(
    slack: SlackSender, fake: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    """INC-20261128-001, from declaration at 09:00 UTC to resolution at 11:05 UTC."""
    incident = await declare(slack, fake, bot, title="Payments are down", severity="P1")
    channel = incident.channel_id

    async def at(minutes: int, text: str, user: str) -> None:
        clock.set(incident.started_at + timedelta(minutes=minutes))
        assert "works in an incident channel" not in await command(
            slack, bot, text, channel=channel, user=user
        )

    await at(10, "severity P0 all regions", "UREPORTER")
    await at(15, "lead <@ULEAD|lead>", "UREPORTER")
    await at(20, "status mitigating", "ULEAD")
    await at(30, "update Rolled back to v41", "ULEAD")
    await at(35, "action Alert on webhook failures <@UOTHER|other> due 2026-12-05", "ULEAD")
    await at(35, "action Document secret rotation", "ULEAD")
    clock.set(incident.started_at + timedelta(minutes=40))
    second = (await items(bot, incident))[1]
    join(fake, incident, "UOTHER")
    await click(slack, bot, summary(fake, incident), "Done", near=second.text, user="UOTHER")
    clock.set(incident.started_at + timedelta(hours=2, minutes=5))
    await resolve(
        slack,
        fake,
        bot,
        incident,
        user="ULEAD",
        resolution="Rotated the secret and replayed webhooks.",
        root_cause="An expired Stripe webhook secret.",
        affected_services="checkout, billing",
        affected_users="All EU customers",
        revenue_impact="$12,000",
        data_loss="no",
    )


def _env(database_url: str) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_SIGNING_SECRET": "s",
        "TIMEZONE": "Europe/Paris",
    }


async def test_export_prints_the_incident_log_filled_in_from_the_store(
    slack: SlackSender,
    fake_slack: FakeSlack,
    bot: BotContext,
    clock: ManualClock,
    database_url: str,
    tmp_path: Path,
) -> None:
    name_people(fake_slack)
    await run_the_incident(slack, fake_slack, bot, clock)
    [upload] = fake_slack.files
    # Each person asked of Slack once, however often the document names them.
    asked = [call["user"] for call in fake_slack.calls_to("users.info")]
    assert sorted(set(asked) & set(NAMES)) == sorted(NAMES)
    assert all(asked.count(user_id) == 1 for user_id in NAMES)

    code, out, err = await run_cli(tmp_path, "export", "inc-20261128-001", **_env(database_url))

    assert code == 0, err
    permalink = f"https://fake.slack.com/files/UBOT0001/{upload['id']}/{upload['filename']}"
    assert out == EXPECTED_LOG.format(postmortem_url=permalink)

    code, postmortem, err = await run_cli(
        tmp_path, "export", "INC-20261128-001", "--doc", "postmortem", **_env(database_url)
    )
    assert code == 0, err
    assert postmortem.startswith("# Post-Mortem: Payments are down\n\n**Date**: 2026-11-28\n")
    assert "- Downtime: 2 hours 5 minutes" in postmortem
    assert "- 10:30 - Status update: Rolled back to v41 (Lea Lead)" in postmortem
    assert "## Executive Summary\nP0 incident INC-20261128-001, " in postmortem  # no prompt
    assert "<@" not in postmortem
    assert "## What Went Well\n- [What helped" in postmortem  # prompts kept, not removed

    code, raw, err = await run_cli(
        tmp_path, "export", "INC-20261128-001", "--format", "json", **_env(database_url)
    )
    assert code == 0, err
    record = json.loads(raw)
    assert record["public_id"] == "INC-20261128-001" and record["status"] == "resolved"
    assert record["started_at"] == "2026-11-28T09:00:00+00:00"
    assert record["resolved_at"] == "2026-11-28T11:05:00+00:00"
    assert record["lead"] == "Lea Lead" and record["data_loss"] is False
    assert record["people"] == NAMES  # who the names are, by Slack id
    assert record["postmortem_url"] == permalink and "<@" not in raw
    assert len(record["timeline"]) == 10  # the markdown above, line for line
    assert record["action_items"][0] == {
        "text": "Alert on webhook failures",
        "owner": "Otto Other",
        "due": "2026-12-05",
        "done": False,
    }


async def test_export_of_an_unknown_or_malformed_id_fails_with_one_line(
    bot: BotContext, database_url: str, tmp_path: Path
) -> None:
    code, out, err = await run_cli(tmp_path, "export", "INC-20261128-042", **_env(database_url))
    assert (code, out) == (1, "")
    assert err.strip() == "incident-bot: no incident INC-20261128-042"
    code, _, err = await run_cli(tmp_path, "export", "last-week", **_env(database_url))
    assert code == 1 and "is not an incident id like INC-20261128-001" in err


async def test_export_of_a_running_incident_names_the_people_learnt_at_its_status_updates(
    slack: SlackSender,
    fake_slack: FakeSlack,
    bot: BotContext,
    database_url: str,
    tmp_path: Path,
) -> None:
    name_people(fake_slack)
    incident = await declare(slack, fake_slack, bot, title="Payments are down", severity="P1")
    await command(slack, bot, "lead <@ULEAD|lead>", channel=incident.channel_id)
    await command(slack, bot, "update Rolled back", channel=incident.channel_id, user="ULEAD")

    code, raw, err = await run_cli(
        tmp_path, "export", incident.public_id, "--format", "json", **_env(database_url)
    )

    assert code == 0, err
    record = json.loads(raw)
    assert record["status"] == "investigating" and record["postmortem_url"] == ""
    assert record["lead"] == "Lea Lead"
    assert record["people"] == {"ULEAD": "Lea Lead", "UREPORTER": "Rita Reporter"}


async def test_a_post_mortem_slack_gives_no_permalink_for_keeps_the_logs_prompt(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    incident = await declare(slack, fake_slack, bot)
    fake_slack.fail_next("files.info", "file_not_found")

    await command(slack, bot, "postmortem", channel=incident.channel_id)

    [upload] = fake_slack.files  # uploaded once: a missing link is no reason to upload again
    incident = await reload(bot, incident)
    assert incident.postmortem_file_id == upload["id"] and incident.postmortem_url is None
    record = await record_by_public_id(bot.sessions, incident.public_id)
    assert record is not None
    assert "Link to post-mortem document: [URL]" in render(record, "log", bot.settings.tz)

"""The incident log and post-mortem follow the plan's templates exactly, filled from the store."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from app.domain.documents import (
    ActionItem,
    IncidentRecord,
    TimelineItem,
    mentioned,
    named,
    render_incident_log,
    render_postmortem,
)

PARIS = ZoneInfo("Europe/Paris")

RESOLVED = IncidentRecord(
    public_id="INC-20261128-001",
    title="Payments are down",
    severity="P0",
    status="resolved",
    started_at=datetime(2026, 11, 28, 9, 0, tzinfo=UTC),
    resolved_at=datetime(2026, 11, 28, 11, 5, tzinfo=UTC),
    affected_services="checkout, billing",
    affected_users="All EU customers",
    revenue_impact="$12,000",
    data_loss=False,
    root_cause="An expired Stripe webhook secret.",
    resolution="Rotated the secret and replayed webhooks.",
    timeline=(
        TimelineItem(datetime(2026, 11, 28, 9, 0, tzinfo=UTC), "Declared as P0", "<@U1>"),
        TimelineItem(datetime(2026, 11, 28, 9, 20, tzinfo=UTC), "Root cause identified"),
        TimelineItem(datetime(2026, 11, 28, 11, 5, tzinfo=UTC), "Resolved"),
    ),
    action_items=(
        ActionItem("Alert on webhook failures", "<@U2>", date(2026, 12, 5), False),
        ActionItem("Document secret rotation", None, None, True),
    ),
)

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
- 10:00 - Declared as P0 (<@U1>)
- 10:20 - Root cause identified
- 12:05 - Resolved

## Root Cause
An expired Stripe webhook secret.

## Resolution
Rotated the secret and replayed webhooks.

## Action Items
- [ ] Alert on webhook failures - <@U2> - 2026-12-05
- [x] Document secret rotation - Owner - Due date

## Post-Mortem
Link to post-mortem document: [URL]
"""


def test_incident_log_of_a_resolved_incident_matches_the_template() -> None:
    assert render_incident_log(RESOLVED, PARIS) == EXPECTED_LOG


def test_empty_sections_keep_the_templates_prompts() -> None:
    record = IncidentRecord(
        public_id="INC-20261128-002",
        title="Slow search",
        severity="P2",
        status="investigating",
        started_at=datetime(2026, 11, 28, 9, 0, tzinfo=UTC),
    )
    log = render_incident_log(record, ZoneInfo("UTC"))
    assert "**Resolved**: YYYY-MM-DD HH:MM" in log
    assert "**Duration**: X hours Y minutes (ongoing)" in log
    assert "[Detailed explanation of what caused the incident]" in log
    assert "[What was done to resolve the incident]" in log
    assert "- Data loss: Yes/No" in log
    assert "- [ ] Item 1 - Owner - Due date" in log
    postmortem = render_postmortem(record, ZoneInfo("UTC"))
    assert "**Attendees**: [Names]" in postmortem
    assert "[Detailed technical explanation]" in postmortem
    assert "is ongoing." in postmortem


def test_timeline_spanning_days_shows_dates() -> None:
    record = IncidentRecord(
        public_id="INC-20261128-003",
        title="Disk",
        severity="P1",
        status="mitigating",
        started_at=datetime(2026, 11, 28, 22, 0, tzinfo=UTC),
        timeline=(
            TimelineItem(datetime(2026, 11, 28, 22, 0, tzinfo=UTC), "Declared"),
            TimelineItem(datetime(2026, 11, 29, 1, 30, tzinfo=UTC), "Disk expanded"),
        ),
    )
    log = render_incident_log(record, ZoneInfo("UTC"))
    assert "- 2026-11-28 22:00 - Declared" in log
    assert "- 2026-11-29 01:30 - Disk expanded" in log


def test_postmortem_has_every_section_of_the_plans_template_in_order() -> None:
    text = render_postmortem(RESOLVED, PARIS)
    headings = [line for line in text.splitlines() if line.startswith("#")]
    assert headings == [
        "# Post-Mortem: Payments are down",
        "## Executive Summary",
        "## Impact",
        "## Timeline",
        "## Root Cause",
        "## What Went Well",
        "## What Went Wrong",
        "## Action Items",
        "### Prevent Recurrence",
        "### Improve Detection",
        "### Improve Response",
        "### Improve Communication",
        "## Lessons Learned",
    ]
    assert "**Date**: 2026-11-28" in text and "**Duration**: 2 hours 5 minutes" in text
    assert "- Downtime: 2 hours 5 minutes" in text
    assert "resolved after 2 hours 5 minutes. Resolution: Rotated the secret" in text
    assert "- [ ] Alert on webhook failures - <@U2> - 2026-12-05" in text


# ------------------------------------------------------------------------------ words for people


def test_people_are_named_everywhere_the_record_mentions_them() -> None:
    record = IncidentRecord(
        public_id="INC-20261128-004",
        title="Ask <@UCEO>",
        severity="P1",
        status="investigating",
        started_at=datetime(2026, 11, 28, 9, 0, tzinfo=UTC),
        lead="<@ULEAD>",
        resolution="Paged <@UONCALL|oncall> twice",
        timeline=(
            TimelineItem(datetime(2026, 11, 28, 9, 0, tzinfo=UTC), "<@ULEAD> leads", "<@U1>"),
        ),
        action_items=(ActionItem("Call <@UCEO>", "<@ULEAD>"),),
    )
    assert mentioned(record) == {"UCEO", "ULEAD", "UONCALL", "U1"}

    shown = named(record, {"ULEAD": "Lea Lead", "UCEO": "Cy Eo", "UONCALL": "Oona Call"})

    assert shown.title == "Ask Cy Eo" and shown.lead == "Lea Lead"
    assert shown.resolution == "Paged Oona Call twice"
    assert shown.timeline[0].text == "Lea Lead leads" and shown.timeline[0].actor == "@U1"
    assert shown.action_items[0] == ActionItem("Call Cy Eo", "Lea Lead")
    # Nobody could name U1: the id stands in, and the record says so.
    assert shown.people == {
        "U1": "U1",
        "UCEO": "Cy Eo",
        "ULEAD": "Lea Lead",
        "UONCALL": "Oona Call",
    }
    log = render_incident_log(shown, ZoneInfo("UTC"))
    assert "<@" not in log and "- 09:00 - Lea Lead leads (@U1)" in log


def test_a_name_is_text_a_person_chose_and_cannot_forge_the_document() -> None:
    record = dataclasses.replace(
        RESOLVED, timeline=(TimelineItem(RESOLVED.started_at, "Declared", "<@UEVIL>"),)
    )
    shown = named(record, {"UEVIL": "[Re-login](https://evil.example) <b>x</b>"})
    text = render_postmortem(shown, PARIS)
    assert "](https://evil" not in text.replace("\\](https://evil", "") and "<b>" not in text
    assert "(\\[Re-login\\](https://evil.example) &lt;b&gt;x&lt;/b&gt;)" in text


def test_the_executive_summary_is_the_generated_text_without_the_prompt() -> None:
    text = render_postmortem(RESOLVED, PARIS)
    summary = text.split("## Executive Summary\n", 1)[1].split("\n", 1)[0]
    assert summary == (
        'P0 incident INC-20261128-001, "Payments are down", started 2026-11-28 10:00 CET and was '
        "resolved after 2 hours 5 minutes. Resolution: Rotated the secret and replayed webhooks."
    )
    assert "[2-3 sentence summary" not in text


def test_the_incident_log_links_the_uploaded_post_mortem() -> None:
    url = "https://fake.slack.com/files/UBOT0001/F1/INC-20261128-001-post-mortem.md"
    log = render_incident_log(dataclasses.replace(RESOLVED, postmortem_url=url), PARIS)
    assert log.endswith(f"## Post-Mortem\nLink to post-mortem document: {url}\n")


def test_durations_under_an_hour_read_naturally_in_the_documents() -> None:
    quick = dataclasses.replace(
        RESOLVED, resolved_at=RESOLVED.started_at + timedelta(minutes=12, seconds=30)
    )
    assert "**Duration**: 12 minutes" in render_incident_log(quick, PARIS)
    instant = dataclasses.replace(RESOLVED, resolved_at=RESOLVED.started_at)
    assert "- Downtime: under a minute" in render_postmortem(instant, PARIS)

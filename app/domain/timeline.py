"""What a timeline entry can be: its kinds, shared by the services that write entries and the
screens that show them.

An entry's text is plain text, as a person reads it (user and alert text in it as typed), except
a captured Slack message's (Kind.MESSAGE), which is the message's own Slack markup. Screens
escape it where they show it (app.domain.text). A person the bot names in an entry's text is
written `<@U…>` and listed in its data (see `named_people`): only those are shown as mentions.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = ["Kind", "named_people"]

_USER_ID = re.compile(r"[UW][A-Z0-9]+")


class Kind:
    """Timeline entry kinds; automatic ones are written by services, never by hand."""

    # Written by people.
    NOTE = "note"  # /incident note
    MESSAGE = "message"  # a Slack message flagged with a timeline emoji
    # Automatic: everything the bot does or is told, with who (actor_id) and when.
    DECLARED = "declared"
    SEVERITY_CHANGED = "severity_changed"
    STATUS_CHANGED = "status_changed"
    PAGED = "paged"
    ESCALATION_SKIPPED = "escalation_skipped"
    RESPONSE_TARGET_MISSED = "response_target_missed"
    ACKNOWLEDGED = "acknowledged"
    LEAD_ASSIGNED = "lead_assigned"
    RESOLVED = "resolved"
    REOPENED = "reopened"
    UPDATE = "update"  # a status update posted with /incident update
    ACTION_ITEM = "action_item"  # added or done; data["event"] says which
    REVIEW_HELD = "review_held"
    SETUP_FAILED = "setup_failed"
    STEP_FAILED = "step_failed"
    TICKET = "ticket"  # a tracker ticket opened, closed, reopened, or failing; data["event"]

    ALERT = "alert"
    RUNBOOK_POSTED = "runbook_posted"
    RUNBOOK_STEP = "runbook_step"

    AUTOMATIC = frozenset(
        {
            DECLARED,
            SEVERITY_CHANGED,
            STATUS_CHANGED,
            PAGED,
            ACKNOWLEDGED,
            LEAD_ASSIGNED,
            RESOLVED,
            REOPENED,
            SETUP_FAILED,
            TICKET,
        }
    )


# The data keys that hold the people an entry's text names, by kind; any entry may also list
# them under "people".
_PEOPLE_KEYS = {Kind.LEAD_ASSIGNED: ("lead", "previous"), Kind.ACTION_ITEM: ("owner",)}


def named_people(kind: str, data: Mapping[str, Any]) -> list[str]:
    """The user ids the bot itself wrote into an entry's text as `<@U…>`: shown as mentions.
    Anything else in the text that looks like one is user text, shown literally."""
    found = [data.get(key) for key in _PEOPLE_KEYS.get(kind, ())]
    people = data.get("people")
    if isinstance(people, list):
        found += people
    return [p for p in found if isinstance(p, str) and _USER_ID.fullmatch(p)]

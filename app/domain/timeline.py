"""What a timeline entry can be: its kinds, shared by the services that write entries and the
screens that show them."""

from __future__ import annotations

__all__ = ["Kind"]


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
        }
    )

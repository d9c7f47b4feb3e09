"""The follow-up controls: an action item's Done button and Mark review held, shown on the
pinned summary and on the reminders that ask for them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from slack_sdk.models.blocks import ButtonElement

if TYPE_CHECKING:
    from app.store.models import ActionItem, Incident

__all__ = ["ACTION_ITEM_DONE_ACTION", "REVIEW_HELD_ACTION", "done_button", "review_held_button"]

REVIEW_HELD_ACTION = "incident_review_held"
ACTION_ITEM_DONE_ACTION = "action_item_done"


def done_button(item: ActionItem) -> ButtonElement:
    return ButtonElement(text="Done", action_id=ACTION_ITEM_DONE_ACTION, value=str(item.id))


def review_held_button(incident: Incident) -> ButtonElement:
    return ButtonElement(
        text="Mark review held", action_id=REVIEW_HELD_ACTION, value=str(incident.id)
    )

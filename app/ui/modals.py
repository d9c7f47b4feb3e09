"""The small modals the summary's buttons and `/incident resolve` open, and reading them back."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from slack_sdk.models.blocks import (
    Block,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    RadioButtonsElement,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from app.domain import lifecycle
from app.domain.policy import Policy
from app.ui.common import clip, escape, severity_label

if TYPE_CHECKING:
    from app.store.models import Incident

SEVERITY_CALLBACK = "incident_severity"
STATUS_CALLBACK = "incident_status"
RESOLVE_CALLBACK = "incident_resolve"
FIELD_MAX = 3000


def _metadata(incident: Incident) -> str:
    return json.dumps({"incident_id": incident.id})


def incident_id_of(view: dict[str, Any]) -> int | None:
    """The incident a submitted modal is about (None if the metadata was tampered with)."""
    try:
        value = json.loads(view.get("private_metadata") or "{}").get("incident_id")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, int) else None


def values(view: dict[str, Any]) -> dict[str, Any]:
    """state.values flattened to block_id -> the `value` action's state."""
    state = view.get("state", {}).get("values", {})
    return {block_id: actions.get("value", {}) for block_id, actions in state.items()}


def text_value(view: dict[str, Any], block_id: str) -> str:
    return str(values(view).get(block_id, {}).get("value") or "").strip()


def selected_value(view: dict[str, Any], block_id: str) -> str | None:
    option = values(view).get(block_id, {}).get("selected_option")
    return option.get("value") if option else None


def _about(incident: Incident) -> SectionBlock:
    return SectionBlock(
        text=MarkdownTextObject(
            text=clip(f"*{incident.public_id}*: {escape(incident.title)}", 3000)
        )
    )


def severity_modal(incident: Incident, policy: Policy) -> View:
    options = [
        Option(value=key, text=clip(severity_label(policy, key), 75))
        for key in policy.severity_keys
    ]
    current = next((o for o in options if o.value == incident.severity), None)
    blocks: list[Block] = [
        _about(incident),
        InputBlock(
            block_id="severity",
            label="Severity",
            element=StaticSelectElement(action_id="value", options=options, initial_option=current),
        ),
        InputBlock(
            block_id="reason",
            label="Why",
            optional=True,
            element=PlainTextInputElement(
                action_id="value", max_length=500, placeholder="e.g. payments fail for everyone"
            ),
        ),
    ]
    return View(
        type="modal",
        callback_id=SEVERITY_CALLBACK,
        title="Change severity",
        submit="Change",
        close="Cancel",
        private_metadata=_metadata(incident),
        blocks=blocks,
    )


def status_modal(incident: Incident) -> View:
    options = [Option(value=s, text=lifecycle.label(s)) for s in lifecycle.ORDER]
    current = next((o for o in options if o.value == incident.status), None)
    return View(
        type="modal",
        callback_id=STATUS_CALLBACK,
        title="Change status",
        submit="Next",
        close="Cancel",
        private_metadata=_metadata(incident),
        blocks=[
            _about(incident),
            InputBlock(
                block_id="status",
                label="Status",
                hint="Investigating → Mitigating → Resolved. Resolved asks for the incident "
                "log's fields next.",
                element=RadioButtonsElement(
                    action_id="value", options=options, initial_option=current
                ),
            ),
        ],
    )


def _text_input(
    block_id: str,
    label: str,
    *,
    initial: str,
    optional: bool,
    multiline: bool = False,
    placeholder: str | None = None,
) -> InputBlock:
    return InputBlock(
        block_id=block_id,
        label=label,
        optional=optional,
        element=PlainTextInputElement(
            action_id="value",
            multiline=multiline,
            max_length=FIELD_MAX,
            initial_value=initial[:FIELD_MAX] or None,
            placeholder=placeholder,
        ),
    )


def resolve_modal(incident: Incident) -> View:
    """The incident log's fields (plan: Impact, Root Cause, Resolution). Prefilled with what
    an earlier resolution said, so resolving again after a reopen does not start from zero."""
    yes = Option(value="yes", text="Yes")
    no = Option(value="no", text="No")
    initial = None if incident.data_loss is None else (yes if incident.data_loss else no)
    return View(
        type="modal",
        callback_id=RESOLVE_CALLBACK,
        title="Resolve incident",
        submit="Resolve",
        close="Cancel",
        private_metadata=_metadata(incident),
        blocks=[
            _about(incident),
            _text_input(
                "resolution",
                "Resolution",
                initial=incident.resolution,
                optional=False,
                multiline=True,
                placeholder="What was done to resolve the incident",
            ),
            _text_input(
                "root_cause",
                "Root cause",
                initial=incident.root_cause,
                optional=True,
                multiline=True,
                placeholder="What caused it (left as a prompt in the log if empty)",
            ),
            _text_input(
                "affected_services",
                "Affected services",
                initial=incident.affected_services,
                optional=True,
            ),
            _text_input(
                "affected_users", "Affected users", initial=incident.affected_users, optional=True
            ),
            _text_input(
                "revenue_impact", "Revenue impact", initial=incident.revenue_impact, optional=True
            ),
            InputBlock(
                block_id="data_loss",
                label="Data loss",
                element=RadioButtonsElement(
                    action_id="value", options=[yes, no], initial_option=initial
                ),
            ),
        ],
    )

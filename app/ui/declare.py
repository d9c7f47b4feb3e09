"""The declare modal `/incident declare` opens, and its severity suggestion."""

from __future__ import annotations

import json
from collections.abc import Sequence

from slack_sdk.models.blocks import (
    Block,
    CheckboxesElement,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from app.domain.durations import format_duration
from app.domain.policy import Policy
from app.ui.common import clip, severity_label

__all__ = ["DECLARE_CALLBACK", "IMPACT_BLOCK_PREFIX", "declare_modal", "suggestion_text"]

DECLARE_CALLBACK = "declare_incident"
IMPACT_BLOCK_PREFIX = "impacts_"


def declare_modal(
    policy: Policy,
    *,
    title: str = "",
    origin_channel: str | None = None,
    suggested: str | None = None,
    incident_types: Sequence[tuple[str, str]] = (),
) -> View:
    """The modal `/incident declare` opens. `suggested` comes from the ticked impacts;
    `incident_types` are (type, title) pairs of the runbooks on offer."""
    blocks: list[Block] = [
        InputBlock(
            block_id="title",
            label="Title",
            element=PlainTextInputElement(
                action_id="value",
                initial_value=title[:3000] or None,
                placeholder="What is broken, in a few words",
            ),
        ),
        InputBlock(
            block_id="description",
            label="Description",
            optional=True,
            element=PlainTextInputElement(
                action_id="value",
                multiline=True,
                placeholder="What do you see? Who is affected?",
            ),
        ),
    ]
    for sev_key in policy.severity_keys:
        impacts = [i for i in policy.impacts if i.severity == sev_key]
        if not impacts:
            continue
        sev = policy.severity(sev_key)
        blocks.append(
            InputBlock(
                block_id=f"{IMPACT_BLOCK_PREFIX}{sev_key}",
                label=f"Impact: {sev.name.lower()} ({sev_key})",
                optional=True,
                dispatch_action=True,
                element=CheckboxesElement(
                    action_id="value",
                    options=[Option(value=i.key, text=i.label) for i in impacts],
                ),
            )
        )
    blocks.append(
        SectionBlock(
            block_id="suggestion",
            text=MarkdownTextObject(text=suggestion_text(policy, suggested)),
        )
    )
    blocks.append(
        InputBlock(
            block_id="severity",
            label="Severity",
            optional=True,
            hint="Leave empty to use the severity suggested from the impacts.",
            element=StaticSelectElement(
                action_id="value",
                placeholder="Suggested from the impacts",
                options=[
                    Option(value=key, text=clip(severity_label(policy, key), 75))
                    for key in policy.severity_keys
                ],
            ),
        )
    )
    blocks.append(
        InputBlock(
            block_id="visibility",
            label="Visibility",
            optional=True,
            hint="Security or data-breach impacts make the incident private unless you pick "
            "Public.",
            element=StaticSelectElement(
                action_id="value",
                placeholder="Automatic",
                options=[
                    Option(value="public", text="Public channel"),
                    Option(value="private", text="Private channel"),
                ],
            ),
        )
    )
    if incident_types:
        blocks.append(
            InputBlock(
                block_id="incident_type",
                label="Incident type",
                optional=True,
                hint="Its runbook is posted in the incident channel as a checklist.",
                element=StaticSelectElement(
                    action_id="value",
                    placeholder="None",
                    options=[
                        Option(value=key, text=clip(title, 75))
                        for key, title in incident_types[:100]
                    ],
                ),
            )
        )
    return View(
        type="modal",
        callback_id=DECLARE_CALLBACK,
        title="Declare an incident",
        submit="Declare",
        close="Cancel",
        private_metadata=json.dumps({"channel": origin_channel}) if origin_channel else None,
        blocks=blocks,
    )


def suggestion_text(policy: Policy, suggested: str | None) -> str:
    if suggested is None:
        return "Tick the impacts you see and a severity is suggested here."
    sev = policy.severity(suggested)
    return (
        f"Suggested severity: *{suggested} {sev.name}*, respond within "
        f"{format_duration(sev.response_target)}. Pick one below to override it."
    )

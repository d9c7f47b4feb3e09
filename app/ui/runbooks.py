"""Runbooks in Slack: the checklist posted in an incident channel, and the runbooks as text
for `/incident runbook` outside one."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    Block,
    CheckboxesElement,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    Option,
    SectionBlock,
)

from app.domain.runbooks import Runbook, Runbooks, Step
from app.ui.common import HEADER_MAX, Message, clip, escape
from app.ui.deployments import deployment_line

if TYPE_CHECKING:
    from app.store.deployment_model import Deployment

__all__ = [
    "RUNBOOK_ACTION",
    "RUNBOOK_BLOCK_PREFIX",
    "parse_runbook_block_id",
    "runbook_checklist",
    "runbook_list",
    "runbook_text",
]

RUNBOOK_ACTION = "runbook_step"
RUNBOOK_BLOCK_PREFIX = "runbook:"


def _step_text(step: Step) -> str:
    text = escape(step.step)
    if step.run:
        text += f"\n```{escape(step.run)}```"
    return text


def runbook_checklist(
    runbook: Runbook,
    done: dict[int, str] | None = None,
    deployments: Sequence[Deployment] = (),
    tz: ZoneInfo | None = None,
) -> Message:
    """The runbook as a checklist message: one tickable section per step.

    `done` maps a step's index (in `runbook.steps`) to who ticked it. `deployments` (those of
    the 2 hours before the incident started) are listed as links under the steps: "review
    recent deployments" is an investigation step, and this is where it is done.
    """
    done = done or {}
    items: list[Block] = [HeaderBlock(text=clip(f"Runbook: {runbook.title}", HEADER_MAX))]
    if runbook.symptoms:
        symptoms = "\n".join(f"• {escape(s)}" for s in runbook.symptoms)
        items.append(
            SectionBlock(text=MarkdownTextObject(text=clip(f"*Symptoms*\n{symptoms}", 3000)))
        )
    index = 0
    for heading, steps in (
        ("Investigation", runbook.investigation),
        ("Resolution", runbook.resolution),
    ):
        if not steps:
            continue
        items.append(SectionBlock(text=MarkdownTextObject(text=f"*{heading}*")))
        for step in steps:
            option = Option(value="done", text="Done")
            text = _step_text(step)
            if index in done:
                text += f"\n:white_check_mark: done by <@{done[index]}>"
            items.append(
                SectionBlock(
                    block_id=f"{RUNBOOK_BLOCK_PREFIX}{runbook.key}:{index}",
                    text=MarkdownTextObject(text=clip(text, 3000)),
                    accessory=CheckboxesElement(
                        action_id=RUNBOOK_ACTION,
                        options=[option],
                        initial_options=[option] if index in done else None,
                    ),
                )
            )
            index += 1
    if deployments:
        zone = tz or ZoneInfo("UTC")
        lines = "\n".join(deployment_line(d, zone) for d in deployments)
        items.append(
            SectionBlock(text=MarkdownTextObject(text=clip(f"*Recent deployments*\n{lines}", 3000)))
        )
    items.append(
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text=f"{len(done)} of {index} steps done · ticks are recorded in the "
                    "incident timeline"
                )
            ]
        )
    )
    return Message(
        text=f"Runbook: {escape(runbook.title)} ({len(done)}/{index} steps done)", blocks=items
    )


def parse_runbook_block_id(block_id: str) -> tuple[str, int] | None:
    """`runbook:<type>:<index>` -> (type, index); None for anything else."""
    if not block_id.startswith(RUNBOOK_BLOCK_PREFIX):
        return None
    key, _, index = block_id[len(RUNBOOK_BLOCK_PREFIX) :].rpartition(":")
    return (key, int(index)) if key and index.isdigit() else None


def runbook_text(runbook: Runbook) -> str:
    """The runbook as plain mrkdwn, for an ephemeral answer outside incident channels."""
    lines = [f"*Runbook: {escape(runbook.title)}*"]
    if runbook.symptoms:
        lines.append("*Symptoms:* " + "; ".join(escape(s) for s in runbook.symptoms))
    for heading, steps in (
        ("Investigation", runbook.investigation),
        ("Resolution", runbook.resolution),
    ):
        if steps:
            lines.append(f"*{heading}*")
            lines += [f"• {_step_text(step)}" for step in steps]
    return "\n".join(lines)


def runbook_list(runbooks: Runbooks) -> str:
    lines = ["*Runbooks* (`/incident runbook <type>` posts one as a checklist here)"]
    lines += [f"• `{runbook.key}`: {escape(runbook.title)}" for runbook in runbooks]
    return "\n".join(lines)

"""The one notice for the levels of a chain that have no one to page.

A policy with several empty levels (the default one pages nobody) used to post a warning per
level, back to back; the first empty page now names every consecutive empty level at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from app.domain.escalation import level_names
from app.domain.policy import EscalationLevel, Policy
from app.ui.common import escape

if TYPE_CHECKING:
    from app.store.models import Incident


def empty_levels_text(
    incident: Incident,
    policy: Policy,
    empty: Sequence[tuple[EscalationLevel, Sequence[str]]],
    next_level: EscalationLevel | None,
) -> str:
    """`empty`: each level with no one to page, with what could not be resolved in it."""
    ref = f"{incident.public_id} ({incident.severity} {policy.severity(incident.severity).name})"
    levels = [level for level, _ in empty]
    if len(levels) == 1:
        head = f":warning: *{levels[0].key} {levels[0].name} has no one to page* for {ref}"
    else:
        head = f":warning: *{level_names(levels)} have no one to page* for {ref}"
    lines = [head + f" ({_why(empty)})."]
    if next_level is not None:
        lines.append(f"Moving on to {next_level.key} {next_level.name} now.")
    else:
        lines.append(
            f"It is the last level for {incident.severity}: nobody else will be paged. "
            "Use `/incident ack` once someone has this in hand."
        )
    return "\n".join(lines)


def _why(empty: Sequence[tuple[EscalationLevel, Sequence[str]]]) -> str:
    def one(problems: Sequence[str]) -> str:
        return escape("; ".join(problems)) if problems else "its notify list is empty"

    if len(empty) == 1:
        return one(empty[0][1])
    if not any(problems for _, problems in empty):
        return "their notify lists are empty"
    return "; ".join(f"{level.key}: {one(problems)}" for level, problems in empty)

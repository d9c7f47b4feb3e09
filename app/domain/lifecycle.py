"""Which status moves an incident may make. Pure: the services ask, the edges explain.

The plan's procedure runs Investigating → Mitigating → Resolved. Moving forward may skip a step
(a false alarm or a one-line fix goes straight to Resolved: forcing a Mitigating phase nobody
lived through would only make the log lie). Moving backward is refused, except the explicit
reopen of a resolved incident, which goes back to Investigating and is recorded as such.
"""

from __future__ import annotations

from dataclasses import dataclass

INVESTIGATING = "investigating"
MITIGATING = "mitigating"
RESOLVED = "resolved"
ORDER = (INVESTIGATING, MITIGATING, RESOLVED)

__all__ = [
    "INVESTIGATING",
    "MITIGATING",
    "ORDER",
    "RESOLVED",
    "Decision",
    "Status",
    "check_move",
    "check_reopen",
    "label",
    "parse_status",
]


class Status:
    """The statuses by name (``Status.RESOLVED``), as the store and the services spell them."""

    INVESTIGATING = INVESTIGATING
    MITIGATING = MITIGATING
    RESOLVED = RESOLVED


@dataclass(frozen=True)
class Decision:
    """The answer to "may this incident move there?".

    ``allowed`` and not ``changes``: it is already there (harmless, nothing to record).
    Not ``allowed``: ``reason`` says why, in words meant for the person who asked.
    """

    allowed: bool
    changes: bool = False
    reason: str = ""


def label(status: str) -> str:
    return status.capitalize()


def parse_status(text: str) -> str | None:
    """``"Mitigating"`` → ``"mitigating"``; None for anything that is not a status."""
    value = text.strip().lower()
    return value if value in ORDER else None


def check_move(current: str, target: str) -> Decision:
    """Whether ``current`` may move to ``target`` (reopening is :func:`check_reopen`)."""
    if target not in ORDER:
        return Decision(False, reason=f"`{target}` is not a status; use {_choices()}.")
    if current == target:
        return Decision(True, changes=False, reason=f"It is already {label(current)}.")
    if current == RESOLVED:
        return Decision(
            False,
            reason="The incident is resolved. `/incident reopen` moves it back to Investigating.",
        )
    # A status this module does not know (written by a newer version) counts as the start.
    rank = ORDER.index(current) if current in ORDER else 0
    if ORDER.index(target) < rank:
        return Decision(
            False,
            reason=f"Status moves forward only ({' → '.join(label(s) for s in ORDER)}); it is "
            f"{label(current)}, so it cannot go back to {label(target)}. Post what changed "
            "with `/incident update <text>`.",
        )
    return Decision(True, changes=True)


def check_reopen(current: str) -> Decision:
    if current != RESOLVED:
        return Decision(
            False,
            reason=f"The incident is not resolved (it is {label(current)}); nothing to reopen.",
        )
    return Decision(True, changes=True)


def _choices() -> str:
    return ", ".join(f"`{s}`" for s in ORDER)

"""The public status page's rules, pure: what `/incident statuspage` proposes for an incident,
how its optional choice list reads, and how the page sums up its services.

A status post announces a *phase* (Atlassian Statuspage's investigating, identified,
monitoring, resolved) and an *impact*, the state it gives the services it names
(`SERVICE_STATES`, best first). The proposals come from the incident as it is when the preview
is made:

- impact from the severity: the most severe (P0) -> major_outage, the next (P1) ->
  partial_outage, every other -> degraded_performance; a resolved incident -> operational;
- phase from the status: investigating -> investigating, mitigating -> identified (the plan's
  Mitigating means the cause is known and the fix under way; "monitoring", once the fix is in
  and being watched, is something only the responders know: they choose it), resolved ->
  resolved.

The choice list is an optional `[...]` right after the subcommand, so it can never be taken
for the message: `/incident statuspage [api,payments major] We are investigating`. Inside the
brackets, words separated by commas or spaces: service keys (or `all`, `none`), one state
(operational, degraded, partial, major, or their full names) and one phase. An unknown word is
refused (nothing is written); a message that itself starts with `[` is written after an empty
list: `/incident statuspage [] [EU] Slow logins`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from app.domain.command_text import ArgumentError
from app.domain.lifecycle import MITIGATING, RESOLVED
from app.domain.policy.reporting import SERVICE_STATES
from app.domain.text import mrkdwn, visible

__all__ = [
    "MESSAGE_MAX",
    "PHASES",
    "Choices",
    "banner",
    "clean_message",
    "parse_choices",
    "phase_label",
    "propose_impact",
    "propose_phase",
    "state_label",
    "worst",
]

MESSAGE_MAX = 2000
PHASES: tuple[str, ...] = ("investigating", "identified", "monitoring", "resolved")
OPERATIONAL = SERVICE_STATES[0]

_STATE_LABELS = {
    "operational": "Operational",
    "degraded_performance": "Degraded performance",
    "partial_outage": "Partial outage",
    "major_outage": "Major outage",
}
_STATE_WORDS = {
    **{state: state for state in SERVICE_STATES},
    "ok": "operational",
    "degraded": "degraded_performance",
    "partial": "partial_outage",
    "major": "major_outage",
    "outage": "major_outage",
}
_CHOICES = re.compile(r"\[([^\[\]]*)\]\s*(.*)", re.DOTALL)
_QUOTES = (('"', '"'), ("“", "”"), ("'", "'"), ("‘", "’"))


@dataclass(frozen=True)
class Choices:
    """What the person chose in `[...]` (None: take the proposal), and the message."""

    message: str
    services: tuple[str, ...] | None = None
    impact: str | None = None
    phase: str | None = None


def public_name(state: str, services: Sequence[str]) -> str:
    """How the public sees an incident: what it does and to what ("Partial outage · Payments"),
    never its internal title."""
    label = state_label(state) if state != "operational" else "Service notice"
    return f"{label} · {', '.join(services)}" if services else label


def state_label(state: str) -> str:
    return _STATE_LABELS.get(state, state.replace("_", " ").capitalize())


def phase_label(phase: str) -> str:
    return phase.capitalize()


def propose_impact(severity_rank: int, *, resolved: bool) -> str:
    """The state an incident gives its services: by its severity's rank (0 the most severe)."""
    if resolved:
        return OPERATIONAL
    if severity_rank == 0:
        return "major_outage"
    return "partial_outage" if severity_rank == 1 else "degraded_performance"


def propose_phase(status: str) -> str:
    if status == RESOLVED:
        return "resolved"
    return "identified" if status == MITIGATING else "investigating"


def worst(states: Iterable[str]) -> str:
    """The worst of `states` (operational for none)."""
    ranked = [SERVICE_STATES.index(s) for s in states if s in SERVICE_STATES]
    return SERVICE_STATES[max(ranked)] if ranked else OPERATIONAL


def banner(state: str, *, active: bool) -> str:
    """The page's headline: its worst service state, or that an incident is in progress."""
    if state != OPERATIONAL:
        return state_label(state)
    return "An incident is in progress" if active else "All systems operational"


def clean_message(text: str) -> str:
    """A message as the page shows it: each line without invisible characters, no blank lines
    around it, at most one blank line in a row, and one pair of surrounding quotes dropped
    (the usage writes `statuspage "message"`)."""
    lines = [visible(line) for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    kept: list[str] = []
    for line in lines:
        if line or (kept and kept[-1]):
            kept.append(line)
    message = "\n".join(kept).strip()
    for opening, closing in _QUOTES:
        if len(message) > 1 and message.startswith(opening) and message.endswith(closing):
            return message[1:-1].strip()
    return message


def parse_choices(text: str, service_keys: Sequence[str]) -> Choices:
    """`[api,payments major] message` -> the choices and the message; text without a leading
    `[` is all message. ArgumentError (saying what to type) for a list it cannot read."""
    text = text.strip()
    if not text.startswith("["):
        return Choices(clean_message(text))
    found = _CHOICES.fullmatch(text)
    if found is None:
        raise ArgumentError(
            "A message starting with `[` is read as the choice of services and state, closed "
            "by `]`. To start the message itself with `[`, put an empty list first: "
            "`/incident statuspage [] [EU] Slow logins`."
        )
    services: list[str] = []
    impact: str | None = None
    phase: str | None = None
    chose_services = False
    for word in (w for w in re.split(r"[,\s]+", found.group(1).lower()) if w):
        if word in service_keys:
            services.append(word)
            chose_services = True
        elif word in ("all", "none"):
            services.extend(service_keys if word == "all" else ())
            chose_services = True
        elif word in _STATE_WORDS:
            impact = _once(impact, _STATE_WORDS[word], "state")
        elif word in PHASES:
            phase = _once(phase, word, "phase")
        else:
            raise ArgumentError(_unknown(word, service_keys))
    return Choices(
        clean_message(found.group(2)),
        tuple(dict.fromkeys(services)) if chose_services else None,
        impact,
        phase,
    )


def _once(current: str | None, new: str, what: str) -> str:
    if current is not None and current != new:
        raise ArgumentError(f"Choose one {what} in `[...]`, not both `{current}` and `{new}`.")
    return new


def _unknown(word: str, service_keys: Sequence[str]) -> str:
    services = ", ".join(f"`{key}`" for key in service_keys) or "none in the policy"
    return (
        f"`{mrkdwn(word)}` is not a service, state or phase. In `[...]` put services ({services}, "
        "`all`, `none`), a state (`operational`, `degraded`, `partial`, `major`) and a phase "
        f"({', '.join(f'`{p}`' for p in PHASES)}). Nothing was written. To start the message "
        "itself with `[`, put an empty list first: `[] [EU] Slow logins`."
    )

"""`incident-bot check`'s lines about tickets: whether the policy opens any, whether the tracker
it names has its credentials here, and one read-only call to each configured tracker.

A tracker named in the policy without credentials would leave every incident's "Create
ticket" undone, so it is a setting to fix (exit 2); a tracker that refuses or does not answer
fails the check like Slack refusing (exit 1). A tracker configured but not named in the policy
is verified too, and said to be unused: its failure is a warning, since no incident uses it.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Mapping
from dataclasses import dataclass

from app.cli.common import EXIT_CONFIG, EXIT_FAILED
from app.config.tracker_settings import TrackerSettings
from app.domain.policy.tickets import TicketPolicy
from app.trackers import Tracker, TrackerError
from app.ui.tickets import tracker_title as _title

# What to set for each tracker, as the person sets it (environment variables).
CREDENTIALS = {
    "jira": "JIRA_URL, with JIRA_EMAIL and JIRA_API_TOKEN (Jira Cloud) or JIRA_PAT "
    "(Server/Data Center)",
    "github": "GITHUB_TOKEN, or GITHUB_APP_ID, GITHUB_APP_PRIVATE_KEY_FILE and "
    "GITHUB_APP_INSTALLATION_ID (a GitHub App)",
    "linear": "LINEAR_API_KEY",
}
PROJECTS = {
    "jira": "a Jira project key, e.g. OPS",
    "github": "the repository as owner/repo",
    "linear": "a Linear team key, e.g. ENG",
}


@dataclass(frozen=True)
class Line:
    """One line of the report and what it means for the exit code (0: all is well)."""

    text: str
    code: int = 0
    warning: bool = False


async def _verify(tracker: Tracker, prefix: str, project: str | None, *, used: bool) -> Line:
    """The tracker's own answer to one read-only call, or why it failed."""
    try:
        who = await tracker.verify(project)
    except TrackerError as exc:
        reason = exc.message
    except Exception as exc:  # noqa: BLE001 - report whatever the tracker or the network said
        reason = f"{type(exc).__name__}: {exc}"
    else:
        return Line(f"{prefix}: {who}")
    if used:
        return Line(f"{prefix}: {reason}", EXIT_FAILED)
    return Line(f"{prefix}, and it failed: {reason}", warning=True)


async def ticket_lines(tickets: TicketPolicy, trackers: Mapping[str, Tracker]) -> list[Line]:
    """What check says about the policy's `tickets:` and the configured `trackers`."""
    provider = tickets.provider
    lines: list[Line] = []
    if provider is None:
        lines.append(
            Line(
                "tickets: off (the policy's tickets: names no provider): the plan's \"Create "
                'ticket" stays a reminder on the summary'
            )
        )
    elif tickets.project is None:
        lines.append(
            Line(
                f"tickets: {_title(provider)} is named but no project: set tickets.project in "
                f"the policy ({PROJECTS.get(provider, 'where tickets go')})",
                EXIT_CONFIG,
            )
        )
    elif provider not in trackers:
        lines.append(
            Line(
                f"tickets: {_title(provider)} is the policy's tickets.provider but its "
                f"credentials are not set: set {CREDENTIALS.get(provider, 'its settings')}",
                EXIT_CONFIG,
            )
        )
    else:
        prefix = f"tickets: {_title(provider)}, project {tickets.project}"
        lines.append(await _verify(trackers[provider], prefix, tickets.project, used=True))
    for name, tracker in trackers.items():
        if name != provider:
            used_one = f"tickets.provider is {provider}" if provider else "tickets are off"
            prefix = f"tickets: {_title(name)} is configured but unused ({used_one})"
            lines.append(await _verify(tracker, prefix, None, used=False))
    return lines


async def _lines(settings: TrackerSettings, tickets: TicketPolicy) -> list[Line]:
    from app.trackers.registry import build_trackers

    try:
        trackers = build_trackers(settings, tickets.priority_names())  # as `serve` makes them
    except ValueError as exc:  # a setting the tracker cannot use (an unreadable key file)
        return [Line(f"tickets: {exc}", EXIT_CONFIG)]
    try:
        return await ticket_lines(tickets, trackers)
    finally:
        for tracker in trackers.values():
            await tracker.aclose()


def exit_code(lines: list[Line]) -> int:
    """A setting to fix (2) outranks a tracker that failed (1)."""
    codes = {line.code for line in lines}
    return EXIT_CONFIG if EXIT_CONFIG in codes else max(codes, default=0)


def check_tickets(settings: TrackerSettings, tickets: TicketPolicy) -> int:
    """Print the tickets' lines (failures on stderr); the exit code they call for."""
    lines = asyncio.run(_lines(settings, tickets))
    for line in lines:
        if line.code:
            print(line.text, file=sys.stderr)
        else:
            print(f"warning: {line.text}" if line.warning else line.text)
    return exit_code(lines)

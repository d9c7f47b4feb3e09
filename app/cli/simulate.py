"""`incident-bot simulate`: print what the policy does for a severity, with no Slack and no
database. The plan is `app.domain.simulation`'s; this module only words it."""

from __future__ import annotations

import argparse
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from app.cli.common import CliError, Command, settings
from app.cli.common import policy as load_policy_file
from app.clock import SystemClock
from app.domain.durations import format_duration
from app.domain.policy import Policy
from app.domain.simulation import Page, Simulation, simulate

TIME_FORMAT = "%Y-%m-%d %H:%M"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--severity",
        metavar="P0",
        action="append",
        help="the severity to play (repeat it for several; default: every severity)",
    )
    parser.add_argument(
        "--policy",
        metavar="FILE",
        type=Path,
        help="a policy YAML file (default: POLICY_FILE, else the built-in policy)",
    )
    parser.add_argument(
        "--at",
        metavar="TIME",
        help="when the incident is declared, ISO 8601 such as 2026-12-01T09:30 (a time without "
        "an offset is in TIMEZONE; default: now)",
    )


def declared_at(text: str | None, tz: ZoneInfo) -> datetime:
    if text is None:
        return SystemClock().now().astimezone(tz)
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise CliError(
            f"--at {text!r} is not an ISO 8601 time: write it like 2026-12-01T09:30 "
            "or 2026-12-01T09:30+01:00"
        ) from None
    return when.replace(tzinfo=tz) if when.tzinfo is None else when.astimezone(tz)


def short(delta: timedelta) -> str:
    """`+0`, `+15m`, `+1h45m`, `+24h`: the offset column."""
    total = int(delta.total_seconds())
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    text = "".join(f"{n}{unit}" for n, unit in ((hours, "h"), (minutes, "m"), (seconds, "s")) if n)
    return "+" + (text or "0")


def targets_text(page: Page) -> str:
    return ", ".join(f"{target.value} ({target.kind})" for target in page.targets)


def page_line(page: Page, severity: str) -> str:
    level = f"{page.level.key} {page.level.name}"
    if page.empty:
        what = f"{level}: nobody to page (its notify is empty), skipped"
        if page.next_level is not None:
            return f"{what}; {page.next_level.key} is paged at once"
        return f"{what}; the chain stops here"
    what = f"page {level}: {targets_text(page)}"
    if page.next_level is not None and page.next_at is not None:
        wait = format_duration(page.next_at - page.at)
        return f"{what}; {page.next_level.key} follows in {wait} unless someone acknowledges"
    return f"{what}; the chain stops here ({severity} escalates to {page.level.key})"


def lines(simulation: Simulation) -> list[str]:
    """The simulation in words: a timeline, then where it stops and who is missing."""
    severity = simulation.severity
    key = severity.key
    tz = simulation.started_at.tzinfo
    events: list[tuple[datetime, int, str]] = [
        (page.at, 0, page_line(page, key)) for page in simulation.pages
    ]
    events.append(
        (
            simulation.target_warning_at,
            1,
            f"response target ({format_duration(severity.response_target)}) missed: a warning "
            "in the incident channel naming who was paged",
        )
    )
    every = severity.update_every
    for number, due in enumerate(simulation.reminders, start=1):
        cadence = f"every {format_duration(every)}" if every is not None else ""
        events.append((due, 2, f"update reminder {number} in the channel ({cadence})"))
    header = (
        f"{severity.title}: declared {simulation.started_at.strftime(TIME_FORMAT)} ({tz}), "
        "if nobody acknowledges"
    )
    out = [header]
    for at, _order, text in sorted(events, key=lambda event: (event[0], event[1])):
        offset = short(at - simulation.started_at)
        out.append(f"  {at.strftime(TIME_FORMAT)}  {offset:>7}  {text}")
    chain = " -> ".join(page.level.key for page in simulation.pages)
    last = simulation.last_level
    out.append(
        f"  chain: {chain}; it stops at {last.key} {last.name} "
        f"({key} escalates to {severity.escalate_to})"
    )
    if simulation.unreached:
        names = ", ".join(
            f"{level.key} {level.name}" + (" (critical_only)" if level.critical_only else "")
            for level in simulation.unreached
        )
        out.append(f"  never paged for {key}: {names}")
    if simulation.empty_levels:
        names = ", ".join(f"{level.key} {level.name}" for level in simulation.empty_levels)
        out.append(
            f"  nobody to page at: {names}: list Slack user ids, @usergroups or emails in "
            "their notify"
        )
    if any(target.kind != "user" for page in simulation.pages for target in page.targets):
        out.append(
            "  usergroups and emails are looked up when each page is sent: one that names "
            "nobody then is skipped like an empty level"
        )
    if every is None:
        out.append(f"  no update reminders ({key} has no update_every)")
    else:
        out.append(f"  update reminders go on every {format_duration(every)} until resolved")
    out.append(
        "  an acknowledgement cancels the pages still to come and the response-target warning"
    )
    return out


def severities(policy: Policy, wanted: list[str] | None) -> list[str]:
    if not wanted:
        return list(policy.severity_keys)
    chosen = [key.strip().upper() for key in wanted]
    for key in chosen:
        if key not in policy.severities:
            raise CliError(
                f"--severity {key}: the policy has {', '.join(policy.severity_keys)}; "
                "pick one of those"
            )
    return chosen


def run(args: argparse.Namespace) -> int:
    loaded = settings(slack=False)
    policy = (
        load_policy_file(args.policy, "--policy")
        if args.policy
        else load_policy_file(loaded.policy_file)
    )
    started_at = declared_at(args.at, loaded.tz)
    keys = severities(policy, args.severity)
    source = args.policy or loaded.policy_file or "built-in default"
    print(f"policy: {source}; times in {loaded.timezone}")
    for index, key in enumerate(keys):
        if index:
            print()
        print("\n".join(lines(simulate(policy, key, started_at))))
    return 0


COMMAND = Command(
    name="simulate",
    summary="print who the policy pages, and when, for a severity (no Slack, no database)",
    description=(
        "Play the escalation policy for a severity as if nobody acknowledged: who each level "
        "pages and when (user ids, @usergroups and emails as written), when the "
        "response-target warning and the update reminders fall due, where the chain stops, "
        "and which levels have nobody to page. Needs no Slack token and no database. "
        "Example: incident-bot simulate --severity P0 --at 2026-12-01T09:30"
    ),
    run=run,
    add_arguments=add_arguments,
)

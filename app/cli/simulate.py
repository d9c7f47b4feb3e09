"""`incident-bot simulate`: print what the policy does for a severity, with no Slack and no
database. The plan is `app.domain.simulation`'s; this module only words it."""

from __future__ import annotations

import argparse
from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo

from app.cli.common import CliError, Command, settings
from app.cli.common import policy as load_policy_file
from app.clock import SystemClock
from app.domain.durations import format_duration
from app.domain.policy import Policy
from app.domain.policy.oncall import DAYS, WorkingHours
from app.domain.rotation import is_working
from app.domain.simulation import Page, Simulation, Target, simulate

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


def target_text(target: Target) -> str:
    if target.kind != "schedule":
        return f"{target.value} ({target.kind})"
    who = f"{target.on_call} on call" if target.on_call else "nobody on call"
    return f"{target.value} ({target.schedule}: {who})"


def targets_text(page: Page) -> str:
    return ", ".join(target_text(target) for target in page.targets)


def days_text(days: tuple[str, ...]) -> str:
    """`Mon-Fri`, `Mon-Wed, Sat`: the working days, runs of consecutive days shortened."""
    numbers = sorted(DAYS.index(day) for day in days)
    runs: list[list[int]] = []
    for number in numbers:
        if runs and number == runs[-1][-1] + 1:
            runs[-1].append(number)
        else:
            runs.append([number])
    names = [DAYS[run[0]][:3].title() for run in runs]
    return ", ".join(
        name if len(run) == 1 else f"{name}-{DAYS[run[-1]][:3].title()}"
        for name, run in zip(names, runs, strict=True)
    )


def hours_text(hours: WorkingHours) -> str:
    text = f"{days_text(hours.days)} {hours.start:%H:%M}-{hours.end:%H:%M} {hours.time_zone}"
    if hours.holidays:
        count = len(hours.holidays)
        text += f", {count} holiday{'s' if count != 1 else ''}"
    return text


def deferred_text(page: Page, hours: WorkingHours, tz: tzinfo | None) -> str:
    """`deferred to Mon 09:00 (next working hours)`: the working hours' own clock, with the
    date when it is a week or more away, and the zone when it is not the one printed."""
    assert page.deferred_from is not None
    local = page.at.astimezone(hours.tz)
    far = (local.date() - page.deferred_from.astimezone(hours.tz).date()).days >= 7
    when = local.strftime("%a %Y-%m-%d %H:%M" if far else "%a %H:%M")
    zone = "" if str(tz) == hours.time_zone else f" {hours.time_zone}"
    return f"deferred to {when}{zone} (next working hours)"


def page_line(page: Page, severity: str, hours: WorkingHours | None = None) -> str:
    level = f"{page.level.key} {page.level.name}"
    if page.empty:
        why = "its notify is empty" if not page.level.notify else "nobody on call then"
        what = f"{level}: nobody to page ({why}), skipped"
        if page.next_level is not None:
            return f"{what}; {page.next_level.key} is paged at once"
        return f"{what}; the chain stops here"
    what = f"page {level}: {targets_text(page)}"
    if page.deferred_from is not None and hours is not None:
        what += ", " + deferred_text(page, hours, page.deferred_from.tzinfo)
    if page.next_level is not None and page.next_at is not None:
        wait = format_duration(page.next_at - page.at)
        return f"{what}; {page.next_level.key} follows in {wait} unless someone acknowledges"
    return f"{what}; the chain stops here ({severity} escalates to {page.level.key})"


def backup_line(page: Page) -> str:
    names = ", ".join(
        f"{t.on_call} (backup on {t.schedule})"
        if t.on_call
        else f"nobody ({t.schedule} has no backup then)"
        for t in page.backups
    )
    after = format_duration(page.backup_at - page.at) if page.backup_at else ""
    return (
        f"backup of {page.level.key} {page.level.name}: {names}, {after} after its page, "
        "unless someone acknowledges"
    )


def hours_summary(policy: Policy) -> str:
    """One line for `check`: the working hours, and what each severity does outside them."""
    hours = policy.working_hours
    rules: dict[str, list[str]] = {}
    for key, severity in policy.severities.items():
        rules.setdefault(severity.outside_hours, []).append(key)
    if hours is None:
        waiting = [k for rule, keys in rules.items() if rule != "page" for k in keys]
        text = "working hours: unset, every severity pages at any hour"
        if waiting:
            text += f" (the outside_hours of {', '.join(waiting)} apply once working_hours is set)"
        return text
    words = {
        "page": "page at once",
        "next_working_hours": "page at the next start of working hours",
        "none": "page nobody",
    }
    outside = "; ".join(
        f"{', '.join(keys)} {words[rule] if len(keys) > 1 else 'pages' + words[rule][4:]}"
        for rule, keys in rules.items()
    )
    return f"working hours: {hours_text(hours)}; outside them {outside}"


def paging_line(simulation: Simulation) -> str | None:
    """What working hours make of the declaration (None: the policy has none)."""
    paging = simulation.paging
    if paging is None or paging.hours is None:
        return None
    key = simulation.severity.key
    hours = f"working hours {hours_text(paging.hours)}"
    if paging.rule == "page":
        if is_working(paging.hours, paging.asked):
            return f"  declared within {hours}: paged as usual"
        return f"  declared outside {hours}: {key} pages at once (outside_hours: page)"
    if paging.rule == "none":
        return (
            f"  declared outside {hours}: {key} pages nobody (outside_hours: none); the "
            "incident waits for the team to pick it up"
        )
    return (
        f"  declared outside {hours}: {key} pages from the next start of working hours "
        "(outside_hours: next_working_hours)"
    )


def events(simulation: Simulation) -> list[tuple[datetime, int, str]]:
    """Each thing that happens, with when and its order among things at the same moment."""
    severity = simulation.severity
    paging = simulation.paging
    hours = paging.hours if paging is not None else None
    found: list[tuple[datetime, int, str]] = []
    for page in simulation.pages:
        found.append((page.at, 0, page_line(page, severity.key, hours)))
        if page.backup_at is not None:
            found.append((page.backup_at, 0, backup_line(page)))
    if paging is not None and paging.silent:
        found.append(
            (
                simulation.started_at,
                0,
                "no page outside working hours: nobody is paged, the incident's channel "
                "(or ticket) waits for the team",
            )
        )
    counted = " (counted from the declaration)" if paging is not None and paging.deferred else ""
    found.append(
        (
            simulation.target_warning_at,
            1,
            f"response target ({format_duration(severity.response_target)}) missed{counted}: "
            "a warning in the incident channel naming who was paged",
        )
    )
    every = severity.update_every
    for number, due in enumerate(simulation.reminders, start=1):
        cadence = f"every {format_duration(every)}" if every is not None else ""
        found.append((due, 2, f"update reminder {number} in the channel ({cadence})"))
    return found


def footer(simulation: Simulation) -> list[str]:
    """Where the chain stops and who is missing."""
    severity = simulation.severity
    key = severity.key
    out = []
    last = simulation.last_level
    if last is not None:
        chain = " -> ".join(page.level.key for page in simulation.pages)
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
            f"  nobody to page at: {names}: list Slack user ids, @usergroups, emails or "
            "schedule:<key> in their notify"
        )
    kinds = {target.kind for page in simulation.pages for target in page.targets}
    if kinds & {"usergroup", "email"}:
        out.append(
            "  usergroups and emails are looked up when each page is sent: one that names "
            "nobody then is skipped like an empty level"
        )
    if simulation.names_schedules:
        out.append(
            "  schedules as the policy writes them: overrides in the database are not shown "
            "(`/incident oncall` shows who is on call with them)"
        )
    return out


def lines(simulation: Simulation) -> list[str]:
    """The simulation in words: a timeline, then where it stops and who is missing."""
    severity = simulation.severity
    key = severity.key
    tz = simulation.started_at.tzinfo
    header = (
        f"{severity.title}: declared {simulation.started_at.strftime(TIME_FORMAT)} ({tz}), "
        "if nobody acknowledges"
    )
    out = [header]
    hours = paging_line(simulation)
    if hours is not None:
        out.append(hours)
    for at, _order, text in sorted(events(simulation), key=lambda event: (event[0], event[1])):
        offset = short(at - simulation.started_at)
        out.append(f"  {at.astimezone(tz).strftime(TIME_FORMAT)}  {offset:>7}  {text}")
    out += footer(simulation)
    every = severity.update_every
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
        "pages and when (user ids, @usergroups and emails as written; for schedule:<key> who "
        "the rotation has on call then, and the backup at backup_after), what working hours "
        "make of the declaration (deferred to the next start of them, or no page), when the "
        "response-target warning and the update reminders fall due, where the chain stops, "
        "and which levels have nobody to page. Needs no Slack token and no database (so "
        "overrides stored there are not shown). "
        "Example: incident-bot simulate --severity P0 --at 2026-12-01T09:30"
    ),
    run=run,
    add_arguments=add_arguments,
)

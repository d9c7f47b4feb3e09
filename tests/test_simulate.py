"""`incident-bot simulate`: the dry run of a policy, checked against the policy itself.

Expectations are worked out here from the policy's own fields (levels, windows, notify,
escalate_to, response_target, update_every), not from the simulation's code, for every
severity of the built-in policy and of the test policies; one test plays the same incident
through the real engine and finds the steps at the simulated times.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from app.clock import ManualClock
from app.config.policy_loader import load_policy
from app.context import BotContext
from app.domain.escalation import PAGE, TARGET_WARNING, UPDATE_REMINDER
from app.domain.policy import EscalationLevel, Policy
from app.domain.simulation import MAX_REMINDERS, simulate
from app.sandbox.fakeslack import FakeSlack
from app.sandbox.sender import SlackSender
from app.store.models import StepStatus
from tests.conftest import ROOT
from tests.test_cli import run_cli

POLICIES = {
    "built-in": None,
    "one person per level": ROOT / "tests" / "policies" / "escalation.yml",
    "an empty L2": ROOT / "tests" / "policies" / "escalation_empty_level.yml",
    "groups and emails": ROOT / "tests" / "policies" / "escalation_directory.yml",
    # T0 is within its working hours: nothing is deferred.
    "working hours": ROOT / "tests" / "policies" / "business_hours.yml",
}
T0 = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


def expected_chain(policy: Policy, severity: str) -> list[EscalationLevel]:
    """L1 up to the severity's escalate_to; critical_only levels for the most severe alone."""
    top = policy.severities[severity].escalate_to
    levels = []
    for level in policy.escalation.levels:
        if not level.critical_only or severity == next(iter(policy.severities)):
            levels.append(level)
        if level.key == top:
            break
    return levels


def expected_page_times(policy: Policy, severity: str, start: datetime) -> list[datetime]:
    """Each level that pages someone waits its window; an empty one hands on at once."""
    times, at = [], start
    for level in expected_chain(policy, severity):
        times.append(at)
        if level.notify:
            at = at + (level.window or timedelta(0))
    return times


def expected_reminders(policy: Policy, severity: str, start: datetime) -> list[datetime]:
    every = policy.severities[severity].update_every
    if every is None:
        return []
    until = max(
        expected_page_times(policy, severity, start)[-1],
        start + policy.severities[severity].response_target,
    )
    due = [start + every]
    while len(due) < MAX_REMINDERS and due[-1] + every <= until:
        due.append(due[-1] + every)
    return due


def cases() -> list[tuple[str, str]]:
    return [
        (name, key) for name, path in POLICIES.items() for key in load_policy(path).severity_keys
    ]


@pytest.mark.parametrize(("policy_name", "severity"), cases())
def test_simulation_follows_the_policy_for_every_severity(policy_name: str, severity: str) -> None:
    policy = load_policy(POLICIES[policy_name])
    simulation = simulate(policy, severity, T0)
    chain = expected_chain(policy, severity)

    assert [page.level.key for page in simulation.pages] == [level.key for level in chain]
    assert [page.at for page in simulation.pages] == expected_page_times(policy, severity, T0)
    for page, level in zip(simulation.pages, chain, strict=True):
        assert [target.value for target in page.targets] == list(level.notify)
        assert page.empty == (not level.notify)
    assert simulation.last_level.key == chain[-1].key
    assert simulation.pages[-1].next_level is None and simulation.pages[-1].next_at is None
    assert [level.key for level in simulation.empty_levels] == [
        level.key for level in chain if not level.notify
    ]
    assert {level.key for level in simulation.unreached} == set(policy.escalation.keys) - {
        level.key for level in chain
    }
    assert simulation.target_warning_at == T0 + policy.severities[severity].response_target
    assert list(simulation.reminders) == expected_reminders(policy, severity, T0)


def test_targets_are_named_as_written_with_their_kind() -> None:
    policy = load_policy(POLICIES["groups and emails"])
    [l1, l2, l3, l4] = simulate(policy, "P0", T0).pages
    assert [(t.value, t.kind) for t in l1.targets] == [
        ("@sre-oncall", "usergroup"),
        ("oncall@example.com", "email"),
        ("nobody@example.com", "email"),
    ]
    assert [(t.kind) for t in (*l2.targets, *l3.targets, *l4.targets)] == [
        "usergroup",
        "email",
        "user",
    ]


def stamp(at: datetime, tz: ZoneInfo) -> str:
    return at.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def blocks(out: str) -> dict[str, str]:
    """The printed simulation of each severity, by severity key."""
    return {block.split(" ", 1)[0]: block for block in out.split("\n\n")}


@pytest.mark.parametrize("policy_name", list(POLICIES))
async def test_simulate_prints_the_policy_for_every_severity_without_slack_or_database(
    tmp_path: Path, policy_name: str
) -> None:
    path = POLICIES[policy_name]
    policy = load_policy(path)
    tz = ZoneInfo("Europe/Paris")
    args = ["simulate", "--at", "2026-12-01T10:30"]  # 09:30 UTC in Paris
    if path is not None:
        args += ["--policy", str(path)]
    # No Slack credentials, and a database that could not be opened: neither is needed.
    code, out, err = await run_cli(
        tmp_path, *args, TIMEZONE="Europe/Paris", DATABASE_URL="sqlite:////nowhere/at/all.db"
    )
    assert code == 0, err
    assert not (tmp_path / "bot.db").exists()
    printed = blocks(out.split("\n", 1)[1])
    assert list(printed) == list(policy.severity_keys)
    for key, text in printed.items():
        severity = policy.severities[key]
        lines = text.splitlines()
        timeline = [line.strip() for line in lines[1:] if line.strip()[:4].isdigit()]
        assert lines[0].startswith(f"{severity.title}: declared 2026-12-01 10:30")
        chain = expected_chain(policy, key)
        for level, at in zip(chain, expected_page_times(policy, key, T0), strict=True):
            [line] = [line for line in timeline if f"{level.key} {level.name}:" in line]
            assert line.startswith(stamp(at, tz)), line
            for target in level.notify:
                assert target in line
            assert ("nobody to page" in line) == (not level.notify)
        warning = T0 + severity.response_target
        [line] = [line for line in timeline if "response target" in line]
        assert line.startswith(stamp(warning, tz))
        reminders = [line for line in timeline if "update reminder " in line]
        assert [line[:16] for line in reminders] == [
            stamp(at, tz) for at in expected_reminders(policy, key, T0)
        ]
        assert f"it stops at {chain[-1].key} {chain[-1].name}" in text
        empty = [f"{level.key} {level.name}" for level in chain if not level.notify]
        if empty:
            assert f"nobody to page at: {', '.join(empty)}:" in text
        else:
            assert "nobody to page at" not in text
        if severity.update_every is None:
            assert f"no update reminders ({key} has no update_every)" in text
        looked_up = any(not target.startswith(("U", "W")) for lv in chain for target in lv.notify)
        assert ("are looked up when each page is sent" in text) == looked_up


async def test_simulate_takes_one_severity_and_an_offset_time(tmp_path: Path) -> None:
    path = POLICIES["one person per level"]
    code, out, err = await run_cli(
        tmp_path,
        "simulate",
        "--severity",
        "p1",
        "--policy",
        str(path),
        "--at",
        "2026-12-01T09:30+00:00",
        TIMEZONE="Asia/Tokyo",
    )
    assert code == 0, err
    assert "times in Asia/Tokyo" in out
    assert list(blocks(out.split("\n", 1)[1])) == ["P1"]
    assert "2026-12-01 18:30       +0  page L1 On-call Engineer: UONCALL (user)" in out
    assert "never paged for P1: L4 CEO (critical_only)" in out


async def test_simulate_refuses_an_unknown_severity_or_time_in_one_line(tmp_path: Path) -> None:
    code, out, err = await run_cli(tmp_path, "simulate", "--severity", "P9")
    assert code == 2 and out == ""
    assert err.strip() == (
        "incident-bot: --severity P9: the policy has P0, P1, P2, P3; pick one of those"
    )
    code, _, err = await run_cli(tmp_path, "simulate", "--at", "tomorrow morning")
    assert code == 2 and err.count("\n") == 1 and "ISO 8601" in err and "Traceback" not in err


@pytest.mark.policy(str(POLICIES["an empty L2"]))
async def test_the_engine_sends_each_step_at_the_simulated_time(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    from tests.test_escalation import declare_incident, steps_of, tick

    incident = await declare_incident(slack, fake_slack, bot, "P0")
    simulation = simulate(bot.policy, "P0", incident.started_at)
    moments = [page.at for page in simulation.pages]
    moments += [simulation.target_warning_at, *simulation.reminders]
    for at in sorted(moments):  # the scheduler ticks at each moment the simulation names
        clock.set(at)
        await tick(bot)
    steps = await steps_of(bot, incident, PAGE)
    due = {step.level: _utc(step.due_at) for step in steps}
    assert due == {page.level.key: page.at for page in simulation.pages}
    assert all(step.status == StepStatus.SENT for step in steps), [s.status for s in steps]
    [warning] = await steps_of(bot, incident, TARGET_WARNING)
    assert _utc(warning.due_at) == simulation.target_warning_at
    assert warning.status == StepStatus.SENT
    reminders = sorted(await steps_of(bot, incident, UPDATE_REMINDER), key=lambda step: step.due_at)
    sent = [_utc(step.due_at) for step in reminders if step.status == StepStatus.SENT]
    assert sent == list(simulation.reminders)


def _utc(at: datetime) -> datetime:
    """SQLite hands back naive UTC datetimes; PostgreSQL aware ones."""
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


# ------------------------------------------------------------------ working hours and schedules

BUSINESS_HOURS = ROOT / "tests" / "policies" / "business_hours.yml"
ONCALL = ROOT / "tests" / "policies" / "simulate_oncall.yml"


async def simulated(tmp_path: Path, policy: Path, severity: str, at: str) -> list[str]:
    """`simulate` for one severity declared at `at` (Paris time): its timeline lines."""
    code, out, err = await run_cli(
        tmp_path,
        "simulate",
        "--policy",
        str(policy),
        "--severity",
        severity,
        "--at",
        at,
        TIMEZONE="Europe/Paris",
    )
    assert code == 0, err
    return [line.strip() for line in out.splitlines()[2:]]


def line_of(lines: list[str], text: str) -> str:
    [line] = [line for line in lines if text in line]
    return line


@pytest.mark.parametrize(
    ("severity", "at", "paged_at", "deferred"),
    [
        # Saturday 03:00: P3 waits for Monday 09:00.
        (
            "P3",
            "2026-11-28T03:00",
            "2026-11-30 09:00",
            "deferred to Mon 09:00 (next working hours)",
        ),
        # The Monday is a holiday: Tuesday.
        (
            "P3",
            "2026-12-05T03:00",
            "2026-12-08 09:00",
            "deferred to Tue 09:00 (next working hours)",
        ),
        # Across the autumn clock change (Sun 25 Oct): 09:00 on the new clock, 55 hours later.
        (
            "P3",
            "2026-10-24T03:00",
            "2026-10-26 09:00",
            "deferred to Mon 09:00 (next working hours)",
        ),
        # Wednesday 10:00 is within working hours; P1 pages at any hour.
        ("P3", "2026-12-02T10:00", "2026-12-02 10:00", None),
        ("P1", "2026-11-28T03:00", "2026-11-28 03:00", None),
    ],
)
async def test_simulate_shows_when_l1_is_paged_with_working_hours_applied(
    tmp_path: Path, severity: str, at: str, paged_at: str, deferred: str | None
) -> None:
    lines = await simulated(tmp_path, BUSINESS_HOURS, severity, at)
    page = line_of(lines, "page L1 On-call Engineer: UONCALL (user)")
    assert page.startswith(paged_at), page
    if deferred is None:
        assert "deferred" not in page
    else:
        assert deferred in page
        hours = line_of(lines, "declared outside working hours Mon-Fri 09:00-17:00 Europe/Paris")
        assert "pages from the next start of working hours" in hours
        # The response target is still counted from the declaration.
        assert "missed (counted from the declaration)" in line_of(lines, "response target")
    if severity == "P1":
        assert "P1 pages at once (outside_hours: page)" in lines[0]


async def test_simulate_shows_no_page_outside_working_hours_for_none(tmp_path: Path) -> None:
    lines = await simulated(tmp_path, BUSINESS_HOURS, "P4", "2026-11-28T03:00")
    assert "P4 pages nobody (outside_hours: none)" in lines[0]
    assert line_of(lines, "no page outside working hours").startswith("2026-11-28 03:00")
    assert not [line for line in lines if "page L1" in line]


def test_a_deferred_p2s_chain_follows_l1s_page() -> None:
    policy = load_policy(BUSINESS_HOURS)
    saturday = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)
    monday = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    simulation = simulate(policy, "P2", saturday)
    assert [(p.level.key, p.at) for p in simulation.pages] == [
        ("L1", monday),
        ("L2", monday + timedelta(minutes=15)),
    ]
    assert simulation.pages[0].deferred_from == saturday
    assert simulation.pages[1].deferred_from is None
    assert simulation.target_warning_at == saturday + timedelta(hours=4)
    assert simulation.reminders[0] == monday + timedelta(hours=4)


async def test_simulate_names_who_the_rotation_has_on_call_at_each_page_and_the_backup(
    tmp_path: Path,
) -> None:
    # Tuesday 08:50: UONCALL's shift runs until the 09:00 hand-off to UOTHER.
    lines = await simulated(tmp_path, ONCALL, "P1", "2026-12-01T08:50")
    l1 = line_of(lines, "page L1 On-call Engineer")
    assert l1.startswith("2026-12-01 08:50")
    assert "schedule:primary (Primary on-call: UONCALL on call)" in l1
    backup = line_of(lines, "backup of L1 On-call Engineer")
    assert backup.startswith("2026-12-01 08:55") and "UOTHER (backup on Primary on-call)" in backup
    l2 = line_of(lines, "page L2 Engineering Lead")  # after the hand-off
    assert l2.startswith("2026-12-01 09:05")
    assert "schedule:primary (Primary on-call: UOTHER on call), ULEAD (user)" in l2
    assert "overrides in the database are not shown" in line_of(lines, "schedules as the policy")


async def test_simulate_says_nothing_of_overrides_without_schedules(tmp_path: Path) -> None:
    lines = await simulated(tmp_path, BUSINESS_HOURS, "P1", "2026-12-02T10:00")
    assert not [line for line in lines if "overrides" in line]
    assert line_of(lines, "declared within working hours").endswith("paged as usual")


@pytest.mark.policy(str(BUSINESS_HOURS))
async def test_the_engine_sends_a_deferred_chain_at_the_simulated_times(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    from tests.test_escalation import declare_incident, steps_of, tick

    clock.set(datetime(2026, 11, 28, 2, 0, tzinfo=UTC))  # Saturday 03:00 in Paris
    incident = await declare_incident(slack, fake_slack, bot, "P2")
    simulation = simulate(bot.policy, "P2", incident.started_at)
    for page in simulation.pages:
        clock.set(page.at - timedelta(seconds=1))
        await tick(bot)
        sent = [s.level for s in await steps_of(bot, incident, PAGE) if s.status == "sent"]
        assert page.level.key not in sent
        clock.set(page.at)
        await tick(bot)
    steps = await steps_of(bot, incident, PAGE)
    assert {s.level: _utc(s.sent_at) for s in steps} == {
        p.level.key: p.at for p in simulation.pages
    }


def test_the_working_hours_summary_for_check_names_each_severitys_rule() -> None:
    from app.cli.simulate import hours_summary

    assert hours_summary(load_policy(BUSINESS_HOURS)) == (
        "working hours: Mon-Fri 09:00-17:00 Europe/Paris, 1 holiday; outside them P0, P1 page "
        "at once; P2, P3 page at the next start of working hours; P4 pages nobody"
    )
    # The built-in policy sets the plan's rules but no hours: nothing changes until it does.
    assert hours_summary(load_policy(None)) == (
        "working hours: unset, every severity pages at any hour (the outside_hours of P2, P3 "
        "apply once working_hours is set)"
    )

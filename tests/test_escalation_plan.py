"""Escalation planning, the pure part: caps, windows, due times, and the settings around it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.config.policy_loader import load_policy
from app.config.settings import ConfigError, load_settings
from app.domain import escalation as plan
from app.domain.policy import Policy, PolicyError

START = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy()


@pytest.mark.parametrize(
    ("severity", "levels"),
    [
        ("P0", ["L1", "L2", "L3", "L4"]),
        ("P1", ["L1", "L2", "L3"]),
        ("P2", ["L1", "L2"]),
        ("P3", ["L1"]),
    ],
)
def test_the_severity_caps_the_chain(policy: Policy, severity: str, levels: list[str]) -> None:
    assert [level.key for level in plan.chain(policy, severity)] == levels


def test_critical_only_levels_are_for_the_most_severe_alone(policy: Policy) -> None:
    # The policy refuses a P1 reaching L4 (CEO, critical only), even in a stored snapshot.
    data = policy.to_snapshot()
    data["severities"]["P1"]["escalate_to"] = "L4"
    with pytest.raises(PolicyError, match="critical_only"):
        Policy.from_snapshot(data)
    assert plan.level_after(policy, "P1", "L3") is None
    assert plan.level_after(policy, "P0", "L3").key == "L4"


def test_each_level_waits_its_own_window_from_its_own_page(policy: Policy) -> None:
    late_l2_page = START + timedelta(minutes=50)
    level, due = plan.next_page_due(policy, "P0", "L2", late_l2_page)
    assert level.key == "L3" and due == late_l2_page + timedelta(minutes=30)
    assert plan.next_page_due(policy, "P0", "L4", START) is None
    assert plan.next_page_due(policy, "P2", "L2", START) is None


def test_declaring_plans_l1_now_the_target_warning_and_the_first_reminder(policy: Policy) -> None:
    steps = plan.initial_plan(policy, "P1", START)
    assert [(s.kind, s.due_at - START, s.key) for s in steps] == [
        ("page", timedelta(0), "page:L1"),
        ("target_warning", timedelta(hours=1), "target_warning"),
        ("update_reminder", timedelta(hours=1), "update_reminder:1"),
    ]
    assert steps[0].level == "L1"
    # P3 has no update cadence.
    assert [s.kind for s in plan.initial_plan(policy, "P3", START)] == ["page", "target_warning"]


def test_a_step_is_late_only_past_a_minute() -> None:
    assert not plan.is_late(START, START + timedelta(seconds=60))
    assert plan.is_late(START, START + timedelta(seconds=61))


def test_levels_are_named_without_mentions(policy: Policy) -> None:
    named = plan.level_names(plan.chain(policy, "P2"))
    assert named == "L1 On-call Engineer, L2 Engineering Lead" and "<@" not in named


@pytest.mark.parametrize("value", ["-1", "301", "soon"])
def test_an_invalid_tick_interval_is_refused_with_its_name(
    value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-x")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "s")
    monkeypatch.setenv("ESCALATION_TICK_SECONDS", value)
    with pytest.raises(ConfigError, match="ESCALATION_TICK_SECONDS"):
        load_settings(_env_file=None)

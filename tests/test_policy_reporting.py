"""The policy's sections for reports and the status page: `phases:`, `services:` and
`plan_review:` load, are checked, and survive an incident's snapshot."""

from __future__ import annotations

import textwrap
from datetime import time, timedelta
from pathlib import Path

import pytest

from app.config.policy_loader import load_policy
from app.domain.policy import Policy, PolicyError
from app.domain.policy.reporting import DEFAULT_PHASES

DEFAULT = Path(__file__).resolve().parent.parent / "app" / "default_policy.yml"


def with_sections(tmp_path: Path, extra: str) -> Path:
    text = DEFAULT.read_text(encoding="utf-8")
    for key in ("phases:", "services: []", "plan_review: null"):
        text = text.replace(f"\n{key}", f"\n# {key}")
    text = text.replace("\n  - {key: detection", "\n#  - {key: detection")
    for name in ("response", "investigation", "mitigation", "recovery"):
        text = text.replace(f"\n  - {{key: {name}", f"\n#  - {{key: {name}")
    path = tmp_path / "policy.yml"
    path.write_text(text + "\n" + textwrap.dedent(extra), encoding="utf-8")
    return path


def test_the_default_policy_has_the_plans_five_phases_and_no_services() -> None:
    policy = load_policy()
    assert [(p.key, p.ends, p.within) for p in policy.phases] == [
        ("detection", "acknowledged", timedelta(minutes=5)),
        ("response", "first_update", timedelta(minutes=15)),
        ("investigation", "mitigating", timedelta(minutes=30)),
        ("mitigation", "resolved", timedelta(hours=1)),
        ("recovery", "resolved", timedelta(hours=2)),
    ]
    assert policy.phases == DEFAULT_PHASES
    assert policy.services == () and policy.plan_review is None


def test_services_and_the_plan_review_survive_a_snapshot(tmp_path: Path) -> None:
    path = with_sections(
        tmp_path,
        """
        services:
          - {key: api, name: API, impacts: [outage, error_rate], statuspage_component: c1}
        plan_review: {owner: U0123ABC, at: "09:30", time_zone: Europe/Paris}
        """,
    )
    policy = load_policy(path)
    again = Policy.from_snapshot(Policy.from_snapshot(policy.to_snapshot()).to_snapshot())
    assert again.services == policy.services
    assert again.plan_review is not None and again.plan_review.at == time(9, 30)
    assert again.phases == DEFAULT_PHASES


def test_an_old_snapshot_without_the_sections_reads_the_plans_phases() -> None:
    snapshot = load_policy().to_snapshot()
    for key in ("phases", "services", "plan_review"):
        snapshot.pop(key)
    assert Policy.from_snapshot(snapshot).phases == DEFAULT_PHASES


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("services:\n  - {key: api, name: API, impacts: [nope]}\n", "unknown impact 'nope'"),
        (
            "services:\n  - {key: api, name: A}\n  - {key: api, name: B}\n",
            "duplicate key 'api'",
        ),
        ("services:\n  - {key: API!, name: A}\n", "lowercase letters"),
        ("plan_review: {owner: bob}\n", "not a Slack user id"),
        ("plan_review: {owner: U0123ABC, at: '25:00'}\n", "not a time of day"),
        ("phases:\n  - {key: d, name: D, ends: paged, within: 5m}\n", "ends"),
    ],
)
def test_a_mistake_in_the_sections_is_named(tmp_path: Path, extra: str, message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        load_policy(with_sections(tmp_path, extra))

from datetime import UTC, datetime, timedelta

import pytest

from app.config.policy_loader import load_policy
from app.domain.severity import (
    choose_severity,
    private_by_default,
    response_deadline,
    suggest_severity,
)


@pytest.fixture(scope="module")
def policy():
    return load_policy(None)


def test_suggestion_picks_the_most_severe_ticked_impact(policy):
    assert suggest_severity(["performance", "error_rate", "minor"], policy) == "P1"
    assert suggest_severity(["minor", "outage"], policy) == "P0"
    assert suggest_severity(["email"], policy) == "P2"
    assert suggest_severity(["minor"], policy) == "P3"


def test_no_impacts_means_no_suggestion(policy):
    assert suggest_severity([], policy) is None
    assert suggest_severity(iter(()), policy) is None


def test_unknown_impact_keys_are_ignored(policy):
    assert suggest_severity(["retired_impact", "email"], policy) == "P2"
    assert suggest_severity(["retired_impact"], policy) is None


def test_explicit_choice_wins_over_the_suggestion(policy):
    assert choose_severity("P3", ["outage"], policy) == "P3"
    assert choose_severity("P0", ["minor"], policy) == "P0"


def test_without_explicit_choice_the_suggestion_is_used(policy):
    assert choose_severity(None, ["db_performance", "email"], policy) == "P1"
    assert choose_severity("", ["email"], policy) == "P2"
    assert choose_severity(None, [], policy) is None


def test_unknown_explicit_severity_is_an_error(policy):
    with pytest.raises(ValueError, match="unknown severity 'SEV1'"):
        choose_severity("SEV1", ["outage"], policy)


def test_breach_impact_makes_the_incident_private(policy):
    assert private_by_default(["performance", "data_breach"], policy) is True
    assert private_by_default(["outage", "payments_down"], policy) is False
    assert private_by_default([], policy) is False


@pytest.mark.parametrize(
    ("severity", "target"),
    [
        ("P0", timedelta(minutes=15)),
        ("P1", timedelta(hours=1)),
        ("P2", timedelta(hours=4)),
        ("P3", timedelta(hours=24)),
    ],
)
def test_response_deadline_adds_the_plans_target(policy, severity, target):
    started = datetime(2026, 11, 28, 23, 50, tzinfo=UTC)
    deadline = response_deadline(started, severity, policy)
    assert deadline == started + target
    assert deadline.tzinfo is UTC


def test_response_deadline_for_p0_crosses_midnight(policy):
    started = datetime(2026, 11, 28, 23, 50, tzinfo=UTC)
    assert response_deadline(started, "P0", policy) == datetime(2026, 11, 29, 0, 5, tzinfo=UTC)

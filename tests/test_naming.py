import re
from datetime import date

import pytest

from app.domain.naming import (
    CHANNEL_NAME_MAX,
    channel_name,
    incident_id,
    parse_incident_id,
    slugify,
)

DAY = date(2026, 11, 28)
SLACK_CHANNEL = re.compile(r"[a-z0-9_-]{1,80}")


def test_incident_id_follows_the_plan_format():
    assert incident_id(DAY, 1) == "INC-20261128-001"
    assert incident_id(DAY, 42) == "INC-20261128-042"
    assert incident_id(DAY, 999) == "INC-20261128-999"
    assert incident_id(DAY, 1000) == "INC-20261128-1000"


def test_incident_id_rejects_non_positive_sequence():
    with pytest.raises(ValueError):
        incident_id(DAY, 0)


@pytest.mark.parametrize("seq", [1, 7, 999, 1000, 12345])
def test_incident_id_round_trips(seq):
    assert parse_incident_id(incident_id(DAY, seq)) == (DAY, seq)


def test_parse_incident_id_forgives_case_and_whitespace():
    assert parse_incident_id("  inc-20261128-007\n") == (DAY, 7)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "INC-2026112-001",
        "INC-20261128-01",
        "INC-20261328-001",
        "INC-20261128-000",
        "INC-20261128-001x",
        "incident-20261128-001",
        "INC-２０２６１１２８-001",
    ],
)
def test_parse_incident_id_rejects_malformed_ids(text):
    assert parse_incident_id(text) is None


@pytest.mark.parametrize(
    ("title", "slug"),
    [
        ("Database is DOWN!!!", "database-is-down"),
        ("Crème brûlée: payments failing", "creme-brulee-payments-failing"),
        ("Straße in København", "strasse-in-kobenhavn"),
        ("  --API__timeouts--  ", "api_timeouts"),
        ("snake_case__name", "snake_case_name"),
        ("a - b / c", "a-b-c"),
        ("Stripe 日本 webhooks", "stripe-webhooks"),
        ("База данных упала", ""),
        ("支払い停止", ""),
        ("!!! ??? ...", ""),
    ],
)
def test_slugify_follows_slack_channel_rules(title, slug):
    assert slugify(title) == slug


def test_channel_name_uses_date_and_slug():
    assert channel_name(DAY, "Payments down") == "incident-20261128-payments-down"


def test_collision_attempts_append_a_suffix():
    assert channel_name(DAY, "Payments down", attempt=1) == "incident-20261128-payments-down"
    assert channel_name(DAY, "Payments down", attempt=2) == "incident-20261128-payments-down-2"
    assert channel_name(DAY, "Payments down", attempt=10) == "incident-20261128-payments-down-10"


def test_attempt_must_be_positive():
    with pytest.raises(ValueError):
        channel_name(DAY, "x", attempt=0)


@pytest.mark.parametrize("attempt", [1, 2, 17, 1234])
def test_long_title_keeps_date_and_suffix_within_80_chars(attempt):
    name = channel_name(DAY, "Checkout latency spike " * 14, attempt=attempt)  # ~300 chars
    assert len(name) <= CHANNEL_NAME_MAX
    assert name.startswith("incident-20261128-checkout-latency-spike-")
    if attempt >= 2:
        assert name.endswith(f"-{attempt}")
        assert not name.endswith(f"--{attempt}")
    assert not name.endswith("-")
    assert SLACK_CHANNEL.fullmatch(name)


def test_truncation_never_leaves_a_dangling_hyphen():
    # 62 slug characters fit after "incident-20261128-"; make character 62 a hyphen.
    title = "a" * 61 + " tail"
    name = channel_name(DAY, title)
    assert name == "incident-20261128-" + "a" * 61
    assert len(channel_name(DAY, "b" * 300)) == CHANNEL_NAME_MAX


@pytest.mark.parametrize("title", ["База данных упала", "支払い停止", "🔥🔥🔥", "!!!", ""])
def test_titles_without_latin_characters_use_the_fallback(title):
    assert channel_name(DAY, title) == "incident-20261128-incident"
    assert channel_name(DAY, title, attempt=3) == "incident-20261128-incident-3"
    assert channel_name(DAY, title, fallback="INC-20261128-004") == (
        "incident-20261128-inc-20261128-004"
    )


def test_every_name_is_a_valid_slack_channel():
    for title in ["Ünïcödé ÄÖÜ", "x" * 500, "-_-_-", "A/B\\C", "tab\there", "emoji 🚨 alert"]:
        for attempt in (1, 2, 99):
            assert SLACK_CHANNEL.fullmatch(channel_name(DAY, title, attempt=attempt))

"""The status rules, argument parsing and reminder times: pure functions, every case."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.domain import lifecycle, reminders
from app.domain.command_text import (
    ActionItemDraft,
    ArgumentError,
    parse_action_item,
    parse_severity,
    parse_user_mention,
)

INV, MIT, RES = lifecycle.INVESTIGATING, lifecycle.MITIGATING, lifecycle.RESOLVED


@pytest.mark.parametrize(
    ("current", "target", "allowed", "changes"),
    [
        (INV, MIT, True, True),
        (MIT, RES, True, True),
        (INV, RES, True, True),  # a false alarm may skip Mitigating
        (INV, INV, True, False),
        (MIT, MIT, True, False),
        (RES, RES, True, False),
        (MIT, INV, False, False),
        (RES, INV, False, False),  # only an explicit reopen goes back
        (RES, MIT, False, False),
    ],
)
def test_status_moves(current: str, target: str, allowed: bool, changes: bool) -> None:
    decision = lifecycle.check_move(current, target)
    assert (decision.allowed, decision.changes) == (allowed, changes)
    if not allowed:
        assert decision.reason


def test_a_resolved_incident_is_pointed_at_reopen() -> None:
    assert "/incident reopen" in lifecycle.check_move(RES, INV).reason


def test_reopen_only_from_resolved() -> None:
    assert lifecycle.check_reopen(RES).allowed
    assert not lifecycle.check_reopen(INV).allowed and not lifecycle.check_reopen(MIT).allowed


@pytest.mark.parametrize(
    ("text", "status"), [(" Mitigating ", MIT), ("RESOLVED", RES), ("done", None)]
)
def test_parse_status(text: str, status: str | None) -> None:
    assert lifecycle.parse_status(text) == status


# ------------------------------------------------------------------------------ arguments


@pytest.mark.parametrize(
    ("text", "user"),
    [
        ("<@U123ABC|ana>", "U123ABC"),
        (" <@W42> ", "W42"),
        ("@ana", None),
        ("<@U1|a> <@U2|b>", None),
        ("<#C123|general>", None),
        ("", None),
    ],
)
def test_parse_user_mention(text: str, user: str | None) -> None:
    assert parse_user_mention(text) == user


def test_parse_severity_takes_the_key_and_a_reason() -> None:
    keys = ("P0", "P1", "P2", "P3")
    assert parse_severity("p0  all   regions down", keys) == ("P0", "all regions down")
    assert parse_severity("P3", keys) == ("P3", "")
    with pytest.raises(ArgumentError, match="P0|P1|P2|P3"):
        parse_severity("", keys)
    with pytest.raises(ArgumentError, match="`high` is not a severity"):
        parse_severity("high", keys)


TODAY = date(2026, 11, 28)


@pytest.mark.parametrize(
    ("text", "draft"),
    [
        ("Add a canary", ActionItemDraft("Add a canary")),
        ("Add a canary <@U2|bob>", ActionItemDraft("Add a canary", "U2")),
        ("Add a canary due 2026-12-05", ActionItemDraft("Add a canary", None, date(2026, 12, 5))),
        (
            "Add  a canary <@U2|bob> due 2026-12-05",
            ActionItemDraft("Add a canary", "U2", date(2026, 12, 5)),
        ),
        (
            "Add a canary due 2026-12-05 <@U2|bob>",
            ActionItemDraft("Add a canary", "U2", date(2026, 12, 5)),
        ),
        ("Fix due date parsing", ActionItemDraft("Fix due date parsing")),
        ("Update the due date", ActionItemDraft("Update the due date")),
        # Stored as typed: another person mentioned in the text reads @eve and pings nobody.
        ("Ask <@U3|eve> about it", ActionItemDraft("Ask @eve about it")),
        ("Fix &lt;script&gt; &amp; retry", ActionItemDraft("Fix <script> & retry")),
        ("Today due 2026-11-28", ActionItemDraft("Today", None, TODAY)),
    ],
)
def test_parse_action_item(text: str, draft: ActionItemDraft) -> None:
    assert parse_action_item(text, TODAY) == draft


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("", "Say what needs doing"),
        ("<@U2|bob> due 2026-12-05", "Say what needs doing"),
        ("Fix due tomorrow", "is not a date"),
        ("Fix due Friday", "is not a date"),
        ("Fix due 5/12", "is not a date"),
        ("Fix due 2026-13-01", "is not a real date"),
        ("Fix due 2025-12-01", "is in the past"),
        ("x" * 501, "keep it to 500"),
    ],
)
def test_bad_action_items(text: str, error: str) -> None:
    with pytest.raises(ArgumentError, match=error):
        parse_action_item(text, TODAY)


# ------------------------------------------------------------------------------ reminders

RESOLVED_AT = datetime(2026, 11, 28, 11, 5, tzinfo=UTC)
WINDOW = timedelta(hours=48)


def test_review_is_due_the_policy_window_after_resolution() -> None:
    assert reminders.review_due_at(RESOLVED_AT, WINDOW) == datetime(2026, 11, 30, 11, 5, tzinfo=UTC)
    assert reminders.first_review_reminder_at(RESOLVED_AT, WINDOW) == RESOLVED_AT + timedelta(
        hours=24
    )


def test_review_reminders_halfway_then_at_the_deadline_then_daily() -> None:
    due = RESOLVED_AT + WINDOW
    halfway = RESOLVED_AT + WINDOW / 2
    nxt = reminders.next_review_reminder_at
    assert nxt(RESOLVED_AT, WINDOW, RESOLVED_AT) == halfway
    assert nxt(RESOLVED_AT, WINDOW, halfway) == due
    assert nxt(RESOLVED_AT, WINDOW, due) == due + timedelta(days=1)
    assert nxt(RESOLVED_AT, WINDOW, due + timedelta(hours=30)) == due + timedelta(days=2)


def test_an_action_item_is_overdue_once_its_local_day_is_over() -> None:
    paris = ZoneInfo("Europe/Paris")
    due = date(2026, 12, 1)
    assert not reminders.is_overdue(due, paris, datetime(2026, 12, 1, 22, 59, tzinfo=UTC))
    assert reminders.is_overdue(due, paris, datetime(2026, 12, 1, 23, 0, tzinfo=UTC))


def test_action_item_reminders_are_at_nine_local_across_daylight_saving() -> None:
    paris = ZoneInfo("Europe/Paris")
    due = date(2027, 3, 26)  # Paris moves to summer time on Sunday 2027-03-28
    first = reminders.first_action_item_reminder_at(due, paris)
    assert first == datetime(2027, 3, 27, 8, 0, tzinfo=UTC)  # 09:00 CET
    second = reminders.next_action_item_reminder_at(due, paris, first)
    third = reminders.next_action_item_reminder_at(due, paris, second)
    assert second == datetime(2027, 3, 28, 7, 0, tzinfo=UTC)  # 09:00 CEST
    assert third.astimezone(paris).hour == 9
    early = datetime(2027, 3, 20, tzinfo=UTC)
    assert reminders.next_action_item_reminder_at(due, paris, early) == first

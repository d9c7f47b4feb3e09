"""Pure pieces of the timeline: Slack timestamps, captured-message data, clipping and pages."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from app.domain import captured
from app.domain.slack_ts import is_slack_ts, ts_to_datetime
from app.store.models import TimelineEntry
from app.ui.timeline import PER_PAGE, clip_mrkdwn, entry_line, paginate


def test_slack_ts_becomes_an_aware_utc_instant_to_the_microsecond() -> None:
    when = ts_to_datetime("1795905000.000001")
    assert when == datetime(2026, 11, 28, 22, 30, 0, 1, tzinfo=UTC)


@pytest.mark.parametrize("bad", ["", "abc", "-1.5", "nan", "1.2.3"])
def test_a_malformed_slack_ts_is_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        ts_to_datetime(bad)
    assert not is_slack_ts(bad)


def test_flags_are_a_set_of_person_and_emoji() -> None:
    data = captured.with_flag({}, "U1", "pushpin")
    data = captured.with_flag(data, "U1", "pushpin")
    data = captured.with_flag(data, "U2", "pushpin")
    assert captured.flags(data) == [("U1", "pushpin"), ("U2", "pushpin")]
    data = captured.without_flag(data, "U1", "pushpin")
    assert captured.flags(data) == [("U2", "pushpin")]
    assert captured.flags(captured.without_flag(data, "U2", "pushpin")) == []


def test_an_edit_keeps_the_old_text_and_files_and_leaves_the_input_alone() -> None:
    before = {"files": ["a.png"], "edits": []}
    after = captured.with_edit(before, "old", ["b.png"], "1.000001")
    assert after == {
        "files": ["b.png"],
        "edits": [{"text": "old", "files": ["a.png"], "edit_ts": "1.000001"}],
    }
    assert before == {"files": ["a.png"], "edits": []}


def test_file_names_prefer_the_name_and_skip_deleted_files() -> None:
    files = [{"name": "a.log"}, {"title": "Graph"}, {"mode": "tombstone", "name": "gone"}, {}]
    assert captured.file_names(files) == ["a.log", "Graph"]


def test_clipping_never_cuts_a_mention_or_a_link_in_half() -> None:
    text = "see " + "x" * 20 + " <https://example.com/a/long/path|the dashboard> now"
    clipped = clip_mrkdwn(text, 40)
    assert clipped.endswith("…") and "<" not in clipped and len(clipped) <= 40
    assert clip_mrkdwn("short", 40) == "short"


def entry(n: int) -> TimelineEntry:
    return TimelineEntry(
        kind="note",
        occurred_at=datetime(2026, 11, 28, 9, n % 60, tzinfo=UTC),
        actor_id="U1",
        text=f"note {n}",
        data={},
    )


def test_pages_are_in_time_order_and_the_default_is_the_newest() -> None:
    items = [entry(n) for n in range(PER_PAGE * 2 + 3)]
    last = paginate(items, None)
    assert (last.number, last.count, last.first, len(last.entries)) == (3, 3, PER_PAGE * 2 + 1, 3)
    first = paginate(items, 1)
    assert first.entries[0] is items[0] and len(first.entries) == PER_PAGE
    assert paginate(items, 0).number == 1 and paginate([], None).count == 1


def test_a_multiline_message_is_one_line_with_its_local_time() -> None:
    item = entry(5)
    item.text = "line one\nline two"
    line = entry_line(item, ZoneInfo("Asia/Kolkata"))
    assert line == "`14:35` :memo: Note by <@U1>: line one line two"


def test_an_event_without_an_id_is_known_by_its_content() -> None:
    from app.slack.timeline import event_id

    event = {"type": "reaction_added", "user": "U1", "item": {"channel": "C1", "ts": "1.2"}}
    assert event_id({"event_id": "Ev1", "event": event}) == "Ev1"
    digest = event_id({"event": event})
    assert digest == event_id({"event": dict(event)}) and len(digest) <= 64
    assert digest != event_id({"event": {**event, "user": "U2"}})

"""The `data` of a timeline entry that captured a Slack message, changed without I/O.

Each function returns a new dict (JSON columns do not see in-place changes) and leaves its input
alone. Layout:

    {"channel": "C…", "permalink": "https://…", "files": ["graph.png"], "thread_ts": "…" | None,
     "flagged_by": [{"user": "U…", "emoji": "pushpin"}, …],
     "edits": [{"text": "what it said before", "files": […], "edit_ts": "…"}, …]}

`flagged_by` holds one item per (person, emoji) reaction that keeps the message in the timeline:
the entry goes when the last one is removed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def flags(data: dict[str, Any]) -> list[tuple[str, str]]:
    return [(f["user"], f["emoji"]) for f in data.get("flagged_by") or []]


def with_flag(data: dict[str, Any], user: str, emoji: str) -> dict[str, Any]:
    """`data` with the (user, emoji) reaction recorded once, however often it is added."""
    current = flags(data)
    if (user, emoji) in current:
        return dict(data)
    return {**data, "flagged_by": _as_json([*current, (user, emoji)])}


def without_flag(data: dict[str, Any], user: str, emoji: str) -> dict[str, Any]:
    remaining = [flag for flag in flags(data) if flag != (user, emoji)]
    return {**data, "flagged_by": _as_json(remaining)}


def with_edit(
    data: dict[str, Any], old_text: str, new_files: Sequence[str], edit_ts: str | None
) -> dict[str, Any]:
    """`data` after an edit: the text it replaces is kept in `edits`, oldest first."""
    edits = [
        *(data.get("edits") or []),
        {"text": old_text, "files": list(data.get("files") or []), "edit_ts": edit_ts},
    ]
    return {**data, "files": list(new_files), "edits": edits}


def file_names(files: Sequence[dict[str, Any]] | None) -> list[str]:
    """The names people see for a message's files (name, else title; tombstones skipped)."""
    names = []
    for item in files or []:
        if item.get("mode") == "tombstone":
            continue
        name = item.get("name") or item.get("title")
        if name:
            names.append(str(name))
    return names


def _as_json(items: Sequence[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"user": user, "emoji": emoji} for user, emoji in items]

"""`/incident timeline` as Block Kit: time order, grouped by local date, split into pages that
always fit Slack's limits (50 blocks per message, 3,000 characters per section text)."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from app.domain.text import link, mrkdwn, restore_mentions, unbroadcast
from app.domain.timeline import Kind, named_people
from app.ui.common import Message

if TYPE_CHECKING:
    from app.store.models import Incident, TimelineEntry

MAX_BLOCKS = 50
SECTION_MAX = 3000
HEADER_MAX = 150
# A page holds at most this many entries, and an entry's line at most LINE_MAX characters, so
# even one date per entry stays under MAX_BLOCKS and a page is a screenful, not a wall.
PER_PAGE = 25
LINE_MAX = 400
FILES_MAX = 150  # the attached files' names on an entry's line

ICONS = {
    Kind.MESSAGE: ":pushpin:",
    Kind.NOTE: ":memo:",
    Kind.DECLARED: ":rotating_light:",
    Kind.SEVERITY_CHANGED: ":arrows_counterclockwise:",
    Kind.STATUS_CHANGED: ":traffic_light:",
    Kind.PAGED: ":pager:",
    Kind.ACKNOWLEDGED: ":eyes:",
    Kind.LEAD_ASSIGNED: ":bust_in_silhouette:",
    Kind.RESOLVED: ":white_check_mark:",
    Kind.REOPENED: ":leftwards_arrow_with_hook:",
    Kind.SETUP_FAILED: ":warning:",
}


@dataclass(frozen=True)
class Page:
    number: int  # 1-based, in time order
    count: int  # pages in all
    first: int  # 1-based index of the first entry shown
    entries: Sequence[TimelineEntry]


def paginate(entries: Sequence[TimelineEntry], page: int | None) -> Page:
    """Page `page` (default: the last, where the newest entries are); out of range is clamped."""
    count = max(1, math.ceil(len(entries) / PER_PAGE))
    number = count if page is None else min(max(page, 1), count)
    start = (number - 1) * PER_PAGE
    return Page(number, count, start + 1, entries[start : start + PER_PAGE])


_CUT_ENTITY = re.compile(r"&[a-z]{0,4}$")


def clip_mrkdwn(text: str, limit: int) -> str:
    """Shorten without cutting a `<@U…>` mention, a `<url|label>` link or an `&lt;` in half."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    opened, closed = cut.rfind("<"), cut.rfind(">")
    if opened > closed:
        cut = cut[:opened]
    cut = _CUT_ENTITY.sub("", cut)
    return cut.rstrip() + "…"


def entry_text(entry: TimelineEntry) -> str:
    """An entry's text as mrkdwn: a captured message as Slack showed it, minus broadcasts; any
    other entry's text (plain, see app.domain.timeline) escaped, the people the bot named in it
    mentioned."""
    if entry.kind == Kind.MESSAGE:
        return unbroadcast(entry.text)
    return restore_mentions(mrkdwn(entry.text), named_people(entry.kind, entry.data))


def entry_line(entry: TimelineEntry, tz: ZoneInfo) -> str:
    """`` `09:05` :pushpin: <@U1>: the text · :paperclip: graph.png · <link|message> ``"""
    when = f"`{entry.occurred_at.astimezone(tz):%H:%M}`"
    icon = ICONS.get(entry.kind, ":small_blue_diamond:")
    text = " ".join(entry_text(entry).split())  # one line per entry
    author = (
        f"<@{entry.actor_id}>" if entry.actor_id else mrkdwn(str(entry.data.get("username") or ""))
    )
    if entry.kind == Kind.MESSAGE:
        body = f"{author}: {text}" if author else text
        if entry.deleted:
            body = f"~{body}~ _(deleted)_" if text else "_(deleted)_"
        elif entry.edited_at:
            body += " _(edited)_"
        extras = []
        if files := entry.data.get("files"):
            # File names are the uploader's (up to 255 characters each, several per message):
            # clipped, so the line stays within LINE_MAX and the section within SECTION_MAX.
            extras.append(":paperclip: " + clip_mrkdwn(mrkdwn(", ".join(files)), FILES_MAX))
        if permalink := entry.data.get("permalink"):
            extras.append(link(str(permalink), "message"))
        tail = "".join(f" · {extra}" for extra in extras)
        return f"{when} {icon} " + clip_mrkdwn(body, LINE_MAX - len(tail)) + tail
    if entry.kind == Kind.NOTE:
        body = f"Note by {author}: {text}" if author else f"Note: {text}"
    else:
        body = f"{text} ({author})" if author and author not in text else text
    return f"{when} {icon} " + clip_mrkdwn(body, LINE_MAX)


def date_label(day: date) -> str:
    return f"{day:%A} {day.day} {day:%B %Y}"


def _sections(lines: list[str]) -> list[str]:
    """Lines joined into section texts of at most SECTION_MAX characters."""
    texts: list[str] = []
    current = ""
    for line in lines:
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > SECTION_MAX and current:
            texts.append(current)
            candidate = line
        current = candidate
    if current:
        texts.append(current)
    return texts


def timeline_message(
    incident: Incident, entries: Sequence[TimelineEntry], tz: ZoneInfo, page: int | None = None
) -> Message:
    """One page of the timeline, never over Slack's limits, with how to see the rest."""
    shown = paginate(entries, page)
    title = f"Timeline of {incident.public_id}"
    blocks: list[Block] = [HeaderBlock(text=clip_mrkdwn(title, HEADER_MAX))]
    if not entries:
        blocks.append(SectionBlock(text=MarkdownTextObject(text="Nothing recorded yet.")))
        return Message(text=f"{title}: nothing recorded yet.", blocks=blocks)

    by_day: dict[date, list[str]] = {}
    for entry in shown.entries:
        by_day.setdefault(entry.occurred_at.astimezone(tz).date(), []).append(entry_line(entry, tz))
    for day, lines in by_day.items():
        for text in _sections([f"*{date_label(day)}*", *lines]):
            blocks.append(SectionBlock(text=MarkdownTextObject(text=text)))

    last = shown.first + len(shown.entries) - 1
    notes = [
        f"Entries {shown.first}–{last} of {len(entries)} · times in {tz.key}",
    ]
    if shown.number > 1:
        notes.append(f"earlier: `/incident timeline {shown.number - 1}`")
    if shown.number < shown.count:
        notes.append(f"later: `/incident timeline {shown.number + 1}`")
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=" · ".join(notes))]))
    text = f"{title}, entries {shown.first}–{last} of {len(entries)}"
    return Message(text=text, blocks=blocks)


def format_note_echo(author_id: str, text: str) -> str:
    """`text` is the note as its author typed it: shown literally."""
    return f":memo: Note from <@{author_id}>: {mrkdwn(text)}"

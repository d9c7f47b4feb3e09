"""Linear's Markdown from `TicketText`: people's words inert, the bot's links as links, and the
marker line that `find` looks for.

Linear stores descriptions and comments as Markdown. Every ASCII punctuation character in
people's words is backslash-escaped (CommonMark renders an escaped punctuation character as
itself, always), so nothing they write becomes a heading, a list, emphasis, a link, an image,
HTML, a table or an emoji shortcode. Escaping `:`, `.` and `@` also keeps a bare URL, an e-mail
address or a Linear profile URL from being turned into a link or a mention (Linear mentions
people and issues by their URLs). Invisible and bidi-control characters are dropped.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from app.domain.text import visible
from app.domain.tickets import TicketText

MARKER_PREFIX = "incident-bot: "
_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")  # every ASCII punctuation character
_LINE_BREAKS = re.compile(r"\r\n|\r|\n")


def escape(text: str) -> str:
    """One line of people's words, shown literally by any CommonMark renderer."""
    return _PUNCTUATION.sub(r"\\\1", visible(text))


def paragraph(text: str) -> str:
    """A paragraph of people's words: lines kept (hard breaks), blank lines dropped."""
    lines = [escape(line) for line in _LINE_BREAKS.split(text)]
    return "\\\n".join(line for line in lines if line)


def _link(label: str, url: str) -> str:
    shown = escape(label) or "link"
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or re.search(r"[\s<>]", url):
        return shown
    return f"[{shown}](<{url}>)"


def markdown(text: TicketText, extra_lines: tuple[str, ...] = ()) -> str:
    """The whole text as Linear Markdown; `extra_lines` are the bot's own, already Markdown."""
    blocks = [paragraph(p) for p in text.paragraphs]
    blocks += [_link(label, url) for label, url in text.links]
    blocks += list(extra_lines)
    return "\n\n".join(block for block in blocks if block)


def description(text: TicketText, marker: str, owner_email: str | None = None) -> str:
    """A new issue's description: the text, who owns it when Linear does not know them, and
    the marker as the very last line (people's words always come before it)."""
    owner = (f"Owner: {escape(owner_email)}",) if owner_email else ()
    return markdown(text, (*owner, marker_line(marker)))


def marker_line(marker: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", marker):
        raise ValueError(f"a ticket marker is letters, digits, '.', '_' and '-': {marker!r}")
    return f"{MARKER_PREFIX}{marker}"


def has_marker(description_text: str | None, marker: str) -> bool:
    """Whether the description ends with exactly this marker's line: "INC-1" is not "INC-1-A7".

    Linear may store the Markdown re-serialized, so backslash escapes and surrounding spaces on
    the last line are ignored."""
    lines = [line.strip() for line in (description_text or "").splitlines() if line.strip()]
    return bool(lines) and lines[-1].replace("\\", "") == marker_line(marker)

"""People's words as inert GitHub Markdown: what the bot writes in issues and comments.

GitHub renders an issue body as GitHub Flavored Markdown and then, on the rendered text,
links `@login` mentions (which notify people and teams), `#123` / `owner/repo#123` / `GH-123`
references (which also leave a "mentioned this" trail on the referenced issue) and renders
`$...$` as math. So a backslash before Markdown's punctuation is not enough: mentions and
references are matched after the Markdown pass, where the backslash is already gone. A zero-width
joiner (U+200D) right after `@` and `#` (and inside `GH-`) breaks those patterns and stays
invisible to readers.

Only the bot's own links become Markdown (`[label](url)`, http(s) only), and a hidden marker line
(`<!-- incident-bot:marker=... -->`) lets `find` recognise the issue after a lost answer.
"""

from __future__ import annotations

import re
from datetime import date
from urllib.parse import quote

from app.domain.tickets import TicketText

__all__ = [
    "MARKER_PREFIX",
    "escape_text",
    "has_marker",
    "marker_line",
    "render_body",
    "render_title",
]

ZWJ = "\u200d"
TITLE_LIMIT = 256
BODY_LIMIT = 65536
MARKER_PREFIX = "<!-- incident-bot:marker="
# Every ASCII character CommonMark or GFM gives a meaning somewhere (emphasis, code, links,
# HTML and entities, headings, lists, quotes, tables, strikethrough, footnotes, math).
_SPECIAL = frozenset("\\`*_{}[]()<>#+-.!|~$&^=:")
_MARKER_OK = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_GH_REF = re.compile(r"\b(GH)-(?=\d)", re.IGNORECASE)


def escape_text(text: str) -> str:
    """`text` as Markdown that renders to exactly its characters: no formatting, no HTML, no
    mention, no issue reference. Leading blanks go (four of them would start a code block)."""
    lines = [line.strip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return "  \n".join(_escape_line(line) for line in lines if line)


def _escape_line(line: str) -> str:
    line = _GH_REF.sub(lambda m: f"{m.group(1)}{ZWJ}-", line)
    out: list[str] = []
    for char in line:
        if char == "@":
            out.append("@" + ZWJ)
        elif char == "#":
            out.append("\\#" + ZWJ)
        elif char in _SPECIAL:
            out.append("\\" + char)
        else:
            out.append(char)
    return "".join(out)


def render_title(title: str) -> str:
    """A title within GitHub's 256 characters. Titles are not Markdown (only `code` spans
    render), but mentions and references in them still link: those are broken the same way."""
    clean = " ".join(title.split())
    clean = _GH_REF.sub(lambda m: f"{m.group(1)}{ZWJ}-", clean)
    clean = clean.replace("@", "@" + ZWJ).replace("#", "#" + ZWJ)
    if len(clean) > TITLE_LIMIT:
        clean = clean[: TITLE_LIMIT - 1].rstrip() + "…"
    return clean or "Incident"


def _link(label: str, url: str) -> str:
    """`[label](url)` for an http(s) URL; anything else is shown, escaped, as text."""
    shown = escape_text(label) or escape_text(url)
    if not re.match(r"https?://[^\s/]", url, re.IGNORECASE) or re.search(r"[\x00-\x1f]", url):
        return f"{shown}: {escape_text(url)}"
    # Characters that would end the destination or start a title are percent-encoded.
    safe = quote(url, safe=":/?&=%#@!$'*+,;~-._")
    return f"[{shown}]({safe})"


def marker_line(marker: str) -> str:
    """The hidden line that identifies the issue; the marker must not be able to end the HTML
    comment (`--`, `>`) or break the line."""
    if not _MARKER_OK.fullmatch(marker) or "--" in marker:
        raise ValueError(f"marker {marker!r} cannot be written into an HTML comment")
    return f"{MARKER_PREFIX}{marker} -->"


def has_marker(body: str | None, marker: str) -> bool:
    """Whether `body` carries exactly this marker's line (the web editor turns \\n into \\r\\n;
    "INC-1" does not match "INC-1-A7")."""
    wanted = marker_line(marker)
    return any(line.strip() == wanted for line in (body or "").splitlines())


def render_text(text: TicketText) -> str:
    """Paragraphs escaped, then one line per link."""
    parts = [escape_text(p) for p in text.paragraphs]
    parts = [p for p in parts if p]
    links = [_link(label, url) for label, url in text.links]
    if links:
        parts.append("\n".join(f"- {link}" for link in links))
    return "\n\n".join(parts)


def render_body(
    text: TicketText,
    marker: str,
    *,
    owner_email: str | None = None,
    due: date | None = None,
) -> str:
    """An issue body: the text, the facts GitHub has no field for (an owner it could not assign,
    a due date), and the marker line last. Cut to GitHub's 65,536 characters, keeping the
    marker."""
    facts: list[str] = []
    if owner_email:
        facts.append(f"Owner: {escape_text(owner_email)}")
    if due is not None:
        facts.append(f"Due: {due.isoformat()}")
    tail = "\n\n".join(part for part in ("  \n".join(facts), marker_line(marker)) if part)
    main = render_text(text)
    room = BODY_LIMIT - len(tail) - 4
    if len(main) > room:
        main = _cut(main, room - 1) + "…"
    return f"{main}\n\n{tail}" if main else tail


def _cut(text: str, size: int) -> str:
    """`text[:size]`, never ending on half an escape (a lone backslash would escape the `…`)."""
    cut = text[:size]
    trailing = len(cut) - len(cut.rstrip("\\"))
    return cut[:-1] if trailing % 2 else cut

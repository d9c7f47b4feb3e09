"""Text that is not ours: what people type and alerts carry, made safe to show.

Slack reads `&`, `<` and `>` in mrkdwn as markup: `<!channel>` notifies a whole channel,
`<@U1>` pings a person, `<https://evil|Re-login>` is a disguised link. Every piece of user or
alert text goes through `mrkdwn` before a builder puts it in a message; links from outside come
through `link`, which accepts only http(s) URLs. Markdown documents (the incident log, the
post-mortem) take user text through `markdown_text`, so a note cannot forge a heading.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import urlsplit

__all__ = ["link", "markdown_text", "mrkdwn", "normalize_title", "plain", "visible"]

# Zero-width characters and bidirectional controls: invisible, or reorder what follows
# (U+202E makes "gpj.exe" read "exe.jpg").
_INVISIBLE = re.compile(
    "[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufe00-\ufe0f]"
)
_SPACES = re.compile(r"\s+")
# What a URL may not contain to stay inside `<url|label>`: Slack ends it at `|` or `>`.
_URL_BREAKERS = re.compile(r"[\s<>|\"'`]")
_MARKDOWN_START = re.compile(r"^(\s*)(\d+(?=[.)])|)([#>=\-*+`|.)])")


def mrkdwn(text: str) -> str:
    """`text` shown literally in Slack mrkdwn: `&`, `<` and `>` become entities (Slack's own
    escaping), so nothing in it is read as a mention, a broadcast or a link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def plain(text: str) -> str:
    """`text` as it reads, for plain_text fields (modal inputs, headers): the entities Slack
    sent back to characters; plain_text is never parsed for markup."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def visible(text: str) -> str:
    """Without zero-width and bidi-control characters, whitespace collapsed to one space."""
    return _SPACES.sub(" ", _INVISIBLE.sub("", text)).strip()


def normalize_title(text: str) -> str:
    """A title as it is stored: visible characters only, one line. Empty means nothing
    visible was given (callers refuse it)."""
    cleaned = visible(text)
    if not any(unicodedata.category(c)[0] in "LNS" for c in cleaned):
        return ""
    return cleaned


def link(url: str | None, label: str) -> str:
    """A link from outside (an alert's URL) as mrkdwn, or the escaped label alone when `url`
    is not a plain http(s) URL that stays inside Slack's `<url|label>`."""
    shown = mrkdwn(visible(label)) or "link"
    if not url:
        return shown
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.netloc or _URL_BREAKERS.search(url):
        return shown
    return f"<{url}|{shown}>"


def markdown_text(text: str) -> str:
    """User text inside a Markdown document: one paragraph whose lines cannot start a
    heading, a quote, a list or a table (they are escaped with a backslash), and with no HTML
    tags (`<` and `>` escaped)."""
    lines = []
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = line.replace("<", "&lt;").replace(">", "&gt;")
        lines.append(_MARKDOWN_START.sub(r"\1\2\\\3", line))
    return "  \n".join(lines).strip()

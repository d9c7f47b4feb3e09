"""Text that is not ours: what people type and alerts carry, made safe to show.

One representation: user and alert text is stored as the person typed it (plain, no Slack
entities; command text is decoded with `command_text.plain_text` where it comes in), and made
safe where it is shown:

- Slack reads `&`, `<` and `>` in mrkdwn as markup: `<!channel>` notifies a whole channel,
  `<@U1>` pings a person, `<https://evil|Re-login>` is a disguised link. Every piece of user or
  alert text goes through `mrkdwn` before a builder puts it in mrkdwn (a section, a context, a
  message's `text`); plain_text fields (headers, buttons, modal inputs, topics) take it as it
  is. Links from outside come through `link`, which accepts only http(s) URLs.
- Markdown documents (the incident log, the post-mortem) take user text through
  `markdown_text`, so a note cannot forge a heading, a list, a link or HTML.
- A Slack message captured into a timeline is Slack's own markup: shown again through
  `unbroadcast`, written into a document through `readable`.

A mention in the bot's own words is always built from a user id the bot resolved
(`<@{user_id}>`), never taken from user text.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from urllib.parse import urlsplit

__all__ = [
    "link",
    "markdown_text",
    "mrkdwn",
    "normalize_title",
    "plain",
    "readable",
    "restore_mentions",
    "unbroadcast",
    "visible",
]

# Characters that show nothing or reorder what follows (U+202E makes "gpj.exe" read
# "exe.jpg"): zero-width spaces and marks, bidi controls (U+061C, U+200E/F, U+202A-E,
# U+2066-9), invisible operators, Hangul and Braille fillers that render blank, the tag block
# (U+E0000-7F, "ASCII smuggling"), and C0/C1 control characters other than whitespace.
_INVISIBLE = re.compile(
    "[\x00-\x08\x0e-\x1f\x7f-\x9f\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e"
    "\u200b\u200c\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\u2800\u3164"
    "\ufeff\uffa0\ufff9-\ufffb\U000e0000-\U000e007f]"
)
# A zero-width joiner and variation selectors are part of an emoji (👨‍💻, ❤️) when they follow
# a visible character; anywhere else they are invisible filler.
_JOINERS = "\u200d\ufe00-\ufe0f\U000e0100-\U000e01ef"
_LONE_JOINER = re.compile(f"(?:^|(?<=\\s))[{_JOINERS}]+|\u200d+(?=\\s|$)")
_SPACES = re.compile(r"\s+")
# What a URL may not contain to stay inside `<url|label>`: Slack ends it at `|` or `>`.
_URL_BREAKERS = re.compile(r"[\s<>|\"'`]")
# Line starts Markdown reads as structure: headings, quotes, lists, setext underlines,
# thematic breaks, fences, tables.
_MARKDOWN_START = re.compile(r"^(\s*)(\d+(?=[.)])|)([#>=\-*+`|.)_~])")
# A person as the bot writes one (`<@U1>`): neither HTML nor a link in Markdown, kept as is.
_ESCAPED_PERSON = re.compile(r"&lt;(@[UW][A-Z0-9]+)&gt;")
# Slack's markup in a message: <@U1>, <@U1|ana>, <#C1|ops>, <!here>, <!subteam^S1|@sre>,
# <https://x|label>, <mailto:a@b.c>.
_SLACK_MARKUP = re.compile(r"<([^<>|]+)(?:\|([^<>]*))?>")
_PERSON = re.compile(r"@[UW][A-Z0-9]+")


def mrkdwn(text: str) -> str:
    """`text` shown literally in Slack mrkdwn: `&`, `<` and `>` become entities (Slack's own
    escaping), so nothing in it is read as a mention, a broadcast or a link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def plain(text: str) -> str:
    """`text` as it reads, for plain_text fields (modal inputs, headers): the entities Slack
    sent back to characters; plain_text is never parsed for markup."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def visible(text: str) -> str:
    """Without zero-width and bidi-control characters, whitespace collapsed to one space.
    Joiners and variation selectors inside an emoji are kept."""
    text = _LONE_JOINER.sub("", _INVISIBLE.sub("", text))
    return _SPACES.sub(" ", text).strip()


def normalize_title(text: str) -> str:
    """A title as it is stored: visible characters only, one line. Empty means nothing
    visible was given (callers refuse it): a title needs a letter, a digit, a symbol or a
    punctuation mark."""
    cleaned = visible(text)
    if not any(unicodedata.category(c)[0] in "LNPS" for c in cleaned):
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
    if (
        parts.scheme.lower() not in {"http", "https"}
        or not parts.netloc
        or _URL_BREAKERS.search(url)
        or visible(url) != url
    ):
        return shown
    return f"<{url.replace('&', '&amp;')}|{shown}>"


def restore_mentions(escaped: str, user_ids: Iterable[str]) -> str:
    """In text already passed through `mrkdwn`, the people the bot itself named there
    (`<@U1>`, from ids it resolved) shown as mentions again; everything else stays literal."""
    for user_id in dict.fromkeys(user_ids):
        if _PERSON.fullmatch(f"@{user_id}"):
            escaped = escaped.replace(f"&lt;@{user_id}&gt;", f"<@{user_id}>")
    return escaped


def unbroadcast(markup: str) -> str:
    """Slack markup someone else wrote (a captured message), shown again without notifying
    anyone: `<!here>`, `<!channel>`, `<!everyone>` and user-group mentions become plain
    `@here`, `@sre`; person mentions, channel links and links stay as they were."""

    def quiet(match: re.Match[str]) -> str:
        target, label = match.group(1), match.group(2)
        if not target.startswith("!"):
            return match.group(0)
        name = target[1:]
        if name in {"here", "channel", "everyone", "group"}:
            return "@" + name
        # <!subteam^S1|@sre>, <!date^…|fallback>: the label (already escaped), else the id
        return label or "@" + name.removeprefix("subteam^")

    return _SLACK_MARKUP.sub(quiet, markup)


def readable(markup: str) -> str:
    """Slack markup (a captured message) as a person reads it, for a document: `<#C1|ops>` →
    `#ops`, `<!here>` → `@here`, `<https://x|label>` → `label (https://x)`, entities back to
    characters. A person stays `<@U1>`, the way documents name people."""

    def read(match: re.Match[str]) -> str:
        target, label = match.group(1), match.group(2)
        if _PERSON.fullmatch(target):
            return f"<{target}>"
        if target[0] == "#":
            return "#" + (label.lstrip("#") if label else target[1:])
        if target[0] == "!":
            name = target[1:]
            if name in {"here", "channel", "everyone", "group"}:
                return "@" + name
            return label or "@" + name.removeprefix("subteam^")
        url = target.removeprefix("mailto:")
        return f"{label} ({url})" if label and label != url else url

    return plain(_SLACK_MARKUP.sub(read, markup))


def markdown_text(text: str) -> str:
    """User text inside a Markdown document: one paragraph whose lines cannot start a
    heading, a quote, a list, a fence or a table (they are escaped with a backslash), with no
    HTML tags (`<` and `>` escaped) and no links or images (`[` and `]` escaped). A person as
    the bot names one (`<@U1>`) is kept."""
    lines = []
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = line.replace("<", "&lt;").replace(">", "&gt;")
        line = _ESCAPED_PERSON.sub(r"<\1>", line)
        line = line.replace("[", "\\[").replace("]", "\\]")
        lines.append(_MARKDOWN_START.sub(r"\1\2\\\3", line))
    return "  \n".join(lines).strip()

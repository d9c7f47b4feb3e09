"""People's words in Jira's two formats, never as markup; JQL string literals; labels.

Jira Cloud's REST v3 takes the Atlassian Document Format (ADF): a tree of nodes where words
are `text` nodes, so nothing a person typed can become a heading, a mention or a link: the
tree is safe by construction, and the only link is the one the bot builds (a text node with a
`link` mark). Jira Server/Data Center's REST v2 takes wiki markup, a string in which `*bold*`,
`[label|url]`, `[~someone]` (a mention), `{code}` or `!image.png!` mean something, so every
character the renderer treats as markup is escaped (a backslash, Jira's documented escape).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from app.domain.tickets import TicketText

__all__ = [
    "adf",
    "adf_plain",
    "jql_string",
    "label",
    "safe_url",
    "single_line",
    "wiki",
    "wiki_escape",
]

SUMMARY_LIMIT = 255  # Jira refuses longer summaries ("Summary must be less than 255 characters")
LABEL_LIMIT = 255

# What Jira's wiki renderer reads as markup, escaped in one pass (so the characters of an
# escape, "\\" and "&#..;", are never escaped again):
# - emphasis (*_-+^~??), macros ({code}, {noformat}, {{monospace}}), links and mentions
#   ([...|...], [~user]), tables (|), images (!...!), numbered lists (#): a backslash before;
# - a backslash ("\\" is a line break) as an entity, and an ampersand that would start an
#   entity as "&amp;", so "&#42;" stays those five characters;
# - headings and quotes at the start of a line ("h1.", "bq."): the dot as an entity;
# - emoticons (":)", ";)", ":P", "(y)", "(x)", "(on)"...; "(!)", "(*)" are escaped above).
_ESCAPES = re.compile(
    r"(?P<block>^[ \t]*(?:h[1-6]|bq))\."
    r"|(?P<special>[*_\-+^~{}\[\]|!#?])"
    r"|(?P<backslash>\\)"
    r"|(?P<amp>&)(?=#\d+;|#x[0-9a-fA-F]+;|[a-zA-Z]+;)"
    r"|(?P<face>[:;])(?=[()PpDd])"
    r"|(?P<paren>\()(?=(?:y|n|i|/|x|on|off|flag|flagoff)\))",
    re.MULTILINE | re.IGNORECASE,
)
_ENTITIES = {"backslash": "&#92;", "amp": "&amp;", "paren": "&#40;"}
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def _escape_one(match: re.Match[str]) -> str:
    kind = match.lastgroup or ""
    if kind == "block":
        return match.group("block") + "&#46;"
    if kind == "special":
        return "\\" + match.group(0)
    if kind == "face":
        return "&#58;" if match.group(0) == ":" else "&#59;"
    return _ENTITIES[kind]


def clean(text: str) -> str:
    """Newlines as "\\n", control characters (which Jira refuses in JSON fields) dropped."""
    return _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def single_line(text: str, limit: int = SUMMARY_LIMIT) -> str:
    """A summary: Jira refuses newlines in it and more than 255 characters."""
    flat = " ".join(clean(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def label(text: str) -> str:
    """A Jira label: no spaces (Jira refuses them), at most 255 characters."""
    return "-".join(clean(text).split())[:LABEL_LIMIT]


def jql_string(value: str) -> str:
    """`value` as a quoted JQL string literal: quotes and backslashes escaped."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def safe_url(url: str) -> str | None:
    """The URL if it is an absolute http(s) address without spaces, else None (shown as text)."""
    url = url.strip()
    if not url or any(ch.isspace() or ord(ch) < 32 for ch in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        return None
    return url


# --- Jira Cloud: the Atlassian Document Format ------------------------------------------------


def _text_node(text: str, href: str | None = None) -> dict[str, Any]:
    node: dict[str, Any] = {"type": "text", "text": text}
    if href is not None:
        node["marks"] = [{"type": "link", "attrs": {"href": href}}]
    return node


def _adf_paragraph(text: str) -> dict[str, Any] | None:
    """One paragraph; its newlines as hardBreak nodes (a text node may not be empty)."""
    content: list[dict[str, Any]] = []
    for index, line in enumerate(clean(text).split("\n")):
        if index:
            content.append({"type": "hardBreak"})
        if line:
            content.append(_text_node(line))
    while content and content[-1]["type"] == "hardBreak":
        content.pop()
    return {"type": "paragraph", "content": content} if content else None


def _adf_link(name: str, url: str) -> dict[str, Any]:
    name, href = clean(name).strip(), safe_url(url)
    if href is None:
        return {"type": "paragraph", "content": [_text_node(f"{name}: {clean(url)}".strip())]}
    return {"type": "paragraph", "content": [_text_node(name or href, href)]}


def adf(text: TicketText) -> dict[str, Any] | None:
    """The text as an ADF document, None when there is nothing to say."""
    blocks = [p for p in (_adf_paragraph(x) for x in text.paragraphs) if p is not None]
    blocks += [_adf_link(name, url) for name, url in text.links if name or url]
    if not blocks:
        return None
    return {"type": "doc", "version": 1, "content": blocks}


def adf_plain(node: Any) -> str:
    """The words of an ADF document (paragraphs apart by a blank line), to compare texts."""
    if not isinstance(node, dict):
        return ""
    kind = node.get("type")
    if kind == "text":
        return str(node.get("text", ""))
    if kind == "hardBreak":
        return "\n"
    parts = [adf_plain(child) for child in node.get("content") or []]
    return ("\n\n" if kind == "doc" else "").join(parts)


# --- Jira Server/Data Center: wiki markup -----------------------------------------------------


def wiki_escape(text: str) -> str:
    """People's words as wiki markup that renders as exactly those words."""
    return _ESCAPES.sub(_escape_one, clean(text))


def _wiki_link(name: str, url: str) -> str:
    href = safe_url(url)
    if href is None:
        return wiki_escape(f"{name}: {url}".strip(": "))
    # "|", "[" and "]" would end the link early: percent-encoded, the same address.
    href = href.replace("|", "%7C").replace("[", "%5B").replace("]", "%5D")
    return f"[{wiki_escape(name.strip() or href)}|{href}]"


def wiki(text: TicketText) -> str:
    """The text as wiki markup: escaped paragraphs, then one `[label|url]` link a line."""
    blocks = [wiki_escape(p) for p in text.paragraphs if clean(p).strip()]
    blocks += [_wiki_link(name, url) for name, url in text.links if name or url]
    return "\n\n".join(blocks)

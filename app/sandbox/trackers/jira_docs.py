"""How the fake Jira reads what it is sent: Atlassian Document Format documents (checked as
Cloud checks them), wiki markup (read as Jira Server's renderer would, noting anything that
would render as markup rather than as the words), and the JQL subset the bot needs.

A `Read` is what a person would see: the plain text, the links, and `markup`, every place the
text would not render as plain words (bold, a mention, a macro, an image, an emoticon). Tests
assert `markup == []` for text that came from people.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any

NOT_ADF = "Operation value must be an Atlassian Document (see the Atlassian Document Format)"
NOT_STRING = "Operation value must be a string"
INVALID_ADF = "INVALID_INPUT"

BLOCKS = {
    "paragraph",
    "heading",
    "bulletList",
    "orderedList",
    "listItem",
    "blockquote",
    "codeBlock",
    "rule",
    "panel",
}
INLINES = {"text", "hardBreak", "mention", "emoji", "inlineCard", "date", "status"}
MARKS = {"strong", "em", "code", "strike", "underline", "link", "subsup", "textColor"}


@dataclass
class Read:
    plain: str = ""
    links: list[tuple[str, str]] = field(default_factory=list)
    markup: list[str] = field(default_factory=list)


# --- ADF ------------------------------------------------------------------------------------


def adf_problem(value: Any) -> str | None:
    """Why Jira Cloud would refuse `value` as a rich-text field, None if it is a document."""
    if not isinstance(value, dict):
        return NOT_ADF
    if value.get("type") != "doc" or value.get("version") != 1:
        return NOT_ADF
    content = value.get("content")
    if not isinstance(content, list):
        return INVALID_ADF
    return next((p for p in (_node_problem(n, top=True) for n in content) if p), None)


def _node_problem(node: Any, *, top: bool = False) -> str | None:
    if not isinstance(node, dict) or not isinstance(node.get("type"), str):
        return INVALID_ADF
    kind = node["type"]
    if kind == "text":
        if top or not isinstance(node.get("text"), str) or not node["text"]:
            return INVALID_ADF  # a text node sits in a block and is never empty
        return _marks_problem(node.get("marks"))
    if kind not in BLOCKS | INLINES or (top and kind in INLINES):
        return INVALID_ADF
    children = node.get("content", [])
    if not isinstance(children, list):
        return INVALID_ADF
    return next((p for p in (_node_problem(c) for c in children) if p), None)


def _marks_problem(marks: Any) -> str | None:
    if marks is None:
        return None
    if not isinstance(marks, list):
        return INVALID_ADF
    for mark in marks:
        if not isinstance(mark, dict) or mark.get("type") not in MARKS:
            return INVALID_ADF
        href = (mark.get("attrs") or {}).get("href")
        if mark["type"] == "link" and not isinstance(href, str):
            return INVALID_ADF
    return None


def adf_read(doc: dict[str, Any]) -> Read:
    read = Read()
    paragraphs = []
    for block in doc.get("content") or []:
        if block.get("type") != "paragraph":
            read.markup.append(f"a {block.get('type')} block")
        paragraphs.append(_adf_inline(block, read))
    read.plain = "\n\n".join(paragraphs)
    return read


def _adf_inline(node: dict[str, Any], read: Read) -> str:
    parts = []
    for child in node.get("content") or []:
        kind = child.get("type")
        if kind == "text":
            for mark in child.get("marks") or []:
                if mark.get("type") == "link":
                    read.links.append((child["text"], mark["attrs"]["href"]))
                else:
                    read.markup.append(f"a {mark.get('type')} mark")
            parts.append(child["text"])
        elif kind == "hardBreak":
            parts.append("\n")
        else:
            read.markup.append(f"a {kind} node")
            parts.append(_adf_inline(child, read))
    return "".join(parts)


# --- wiki markup ----------------------------------------------------------------------------

WIKI_SPECIAL = set("*_-+^~{}[]|!#?")
_ENTITY = re.compile(r"&(#\d+|#x[0-9a-fA-F]+|[a-zA-Z]+);")
_BLOCK_START = re.compile(r"[ \t]*(h[1-6]|bq)\.(\s|$)")
_EMOTICON = re.compile(r"[:;][()PpDd]|\((?:y|n|i|/|x|on|off|flag|flagoff)\)", re.IGNORECASE)
_LINK = re.compile(r"https?://[^\s|\[\]]+")


def wiki_read(text: str) -> Read:
    """`text` as Jira Server's renderer shows it: escapes and entities resolved, our own
    `[label|url]` links taken as links, anything else that is markup noted."""
    read = Read()
    read.plain = _wiki_span(text.replace("\r\n", "\n"), read, links=True)
    return read


def _wiki_span(text: str, read: Read, *, links: bool) -> str:
    out: list[str] = []
    i, line_start = 0, True
    while i < len(text):
        if line_start and _BLOCK_START.match(text, i):
            read.markup.append(f"a block at {text[i : i + 4]!r}")
        step, piece = _wiki_token(text, i, read, links=links)
        out.append(piece)
        line_start = piece == "\n"
        i += step
    return "".join(out)


def _wiki_token(text: str, i: int, read: Read, *, links: bool) -> tuple[int, str]:
    """(characters consumed, what they render as) at `i`."""
    char = text[i]
    nxt = text[i + 1] if i + 1 < len(text) else ""
    if char == "\\":
        if nxt in WIKI_SPECIAL:
            return 2, nxt
        read.markup.append("a line break" if nxt == "\\" else f"a stray backslash before {nxt!r}")
        return 1, "\\"
    if char == "&":
        entity = _ENTITY.match(text, i)
        if entity:
            return len(entity.group(0)), html.unescape(entity.group(0))
        return 1, "&"
    emoticon = _EMOTICON.match(text, i)
    if emoticon:
        read.markup.append(f"an emoticon {emoticon.group(0)!r}")
        return len(emoticon.group(0)), emoticon.group(0)
    if char == "[" and links:
        link = _wiki_link(text, i, read)
        if link is not None:
            return link
    if char in WIKI_SPECIAL:
        read.markup.append(f"an unescaped {char!r}")
    return 1, char


def _wiki_link(text: str, i: int, read: Read) -> tuple[int, str] | None:
    """A `[label|url]` link at `i` (label escaped, url an http(s) address)."""
    j, label_end = i + 1, None
    while j < len(text):
        if text[j] == "\\":
            j += 2
            continue
        if text[j] == "|" and label_end is None:
            label_end = j
        elif text[j] == "]":
            break
        j += 1
    if label_end is None or j >= len(text):
        return None
    url = text[label_end + 1 : j]
    if not _LINK.fullmatch(url):
        return None
    label = _wiki_span(text[i + 1 : label_end], read, links=False)
    read.links.append((label, url))
    return j + 1 - i, label


# --- JQL ------------------------------------------------------------------------------------

_CLAUSE = re.compile(
    r'\s*(?P<field>[A-Za-z]+)\s*=\s*(?:"(?P<quoted>(?:[^"\\]|\\.)*)"|(?P<bare>[\w.\-]+))\s*'
)
_AND = re.compile(r"\s*AND\s+", re.IGNORECASE)
_ORDER = re.compile(r"\s*ORDER\s+BY\s+.*$", re.IGNORECASE | re.DOTALL)
JQL_FIELDS = {"project", "labels"}


def parse_jql(jql: str) -> list[tuple[str, str]]:
    """`field = value AND ...` as (field, value) pairs; ValueError for anything else."""
    text = _ORDER.sub("", jql)
    clauses: list[tuple[str, str]] = []
    i = 0
    while True:
        match = _CLAUSE.match(text, i)
        if match is None:
            raise ValueError(f"Error in the JQL Query: cannot read {text[i:]!r}")
        name = match.group("field").lower()
        if name not in JQL_FIELDS:
            raise ValueError(f"Field '{match.group('field')}' is not supported by the fake")
        quoted = match.group("quoted")
        value = re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else match.group("bare")
        clauses.append((name, value))
        i = match.end()
        if i >= len(text):
            return clauses
        joiner = _AND.match(text, i)
        if joiner is None:
            raise ValueError(f"Error in the JQL Query: expected AND at {text[i:]!r}")
        i = joiner.end()

"""Parsing the arguments of `/incident` subcommands. Pure, so every odd input has a test.

The manifest sets ``should_escape: true``, so Slack sends what people pick from its menus in
its escaped forms: a person as ``<@U123|ana>`` (or ``<@U123>``), a channel as ``<#C123|ops>``
(or ``<#C123>``), a user group as ``<!subteam^S123|@sre>`` (or ``<!subteam^S123>``), and
``&``, ``<``, ``>`` typed as text as ``&amp;``, ``&lt;``, ``&gt;``. User ids are taken from the
person form, never looked up by display name; a channel or a group where a person is expected
is not one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

__all__ = [
    "ACTION_TEXT_MAX",
    "ActionItemDraft",
    "ArgumentError",
    "parse_action_item",
    "parse_severity",
    "parse_user_mention",
    "plain_text",
]

ACTION_TEXT_MAX = 500
_MENTION = r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>"
# Any of Slack's escapes: <@U…|label>, <#C…|label>, <!subteam^S…|@label>, <!here>, <url|label>.
_ESCAPE = re.compile(r"<([^<>|]+)(?:\|([^<>]*))?>")
_ENTITIES = (("&lt;", "<"), ("&gt;", ">"), ("&amp;", "&"))
_WHOLE_MENTION = re.compile(rf"\s*{_MENTION}\s*")
_TRAILING_MENTION = re.compile(rf"\s*{_MENTION}\s*$")
_TRAILING_DUE = re.compile(r"(?:^|\s+)due\s+(\S+)\s*$", re.IGNORECASE)
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
# What people write after "due" when they mean a date; "update the due date" is just text.
_DATE_LIKE = re.compile(
    r".*\d.*|today|tomorrow|tonight|next|eod|eow|(mon|tues|wednes|thurs|fri|satur|sun)day",
    re.IGNORECASE,
)


class ArgumentError(ValueError):
    """The arguments cannot be understood; the message says what to type instead."""


def parse_user_mention(text: str) -> str | None:
    """The user id of a text that is exactly one mention, else None."""
    match = _WHOLE_MENTION.fullmatch(text)
    return match.group(1) if match else None


def plain_text(text: str) -> str:
    """Command text as a person reads it, for places that show text as typed rather than as
    Slack markup (a form's prefilled title): ``<@U1|ana>`` → ``@ana``, ``<#C1|ops>`` → ``#ops``,
    ``<!subteam^S1|@sre>`` → ``@sre``, ``<!here>`` → ``@here``, ``<https://x|x>`` → ``x``,
    ``&gt;`` → ``>``."""

    def readable(match: re.Match[str]) -> str:
        target, label = match.group(1), match.group(2)
        if target[0] in "@#":
            return target[0] + (label.lstrip(target[0]) if label else target[1:])
        if target[0] == "!":
            name = target[1:]
            if name in {"here", "channel", "everyone"}:
                return "@" + name
            # <!subteam^S1|@sre>, <!date^…|fallback>; without a label, the group's id
            return label or "@" + name.removeprefix("subteam^")
        return label or target  # a link

    text = _ESCAPE.sub(readable, text)
    for entity, char in _ENTITIES:
        text = text.replace(entity, char)
    return text


def parse_severity(text: str, keys: tuple[str, ...]) -> tuple[str, str]:
    """``"p1 checkout is back"`` → ``("P1", "checkout is back")``; the reason as typed
    (``plain_text``)."""
    first, _, reason = text.strip().partition(" ")
    key = first.upper()
    if not first or key not in keys:
        shown = f"`{first}` is not a severity. " if first else ""
        raise ArgumentError(
            f"{shown}Use `/incident severity {'|'.join(keys)} [reason]`, "
            f"e.g. `/incident severity {keys[0]} checkout is down for everyone`."
        )
    return key, " ".join(plain_text(reason).split())


@dataclass(frozen=True)
class ActionItemDraft:
    text: str
    owner_id: str | None = None
    due: date | None = None


def parse_action_item(text: str, today: date) -> ActionItemDraft:
    """``"Add an alert <@U2|bob> due 2026-12-05"``; owner and due date are optional and may
    come in either order at the end; the text is returned as typed (``plain_text``: another
    person mentioned in it reads ``@bob`` and pings nobody). A due date before ``today`` is
    refused: an item born overdue is almost always a typo in the year or month. ``due <word>``
    that reads like a date but is not YYYY-MM-DD (``due friday``) is refused rather than kept as
    text."""
    rest = text.strip()
    owner: str | None = None
    due: date | None = None
    for _ in range(2):
        match = _TRAILING_DUE.search(rest)
        if due is None and match and _DATE_LIKE.fullmatch(match.group(1)):
            due = _parse_day(match.group(1), today)
            rest = rest[: match.start()].rstrip()
        elif owner is None and (match := _TRAILING_MENTION.search(rest)):
            owner = match.group(1)
            rest = rest[: match.start()].rstrip()
    rest = " ".join(plain_text(rest).split())  # stored as the person typed it
    if not rest:
        raise ArgumentError(
            "Say what needs doing: `/incident action <text> [@owner] [due YYYY-MM-DD]`, "
            "e.g. `/incident action Alert on webhook failures @ana due 2026-12-05`."
        )
    if len(rest) > ACTION_TEXT_MAX:
        raise ArgumentError(
            f"The action item is {len(rest)} characters long; keep it to {ACTION_TEXT_MAX}."
        )
    return ActionItemDraft(rest, owner, due)


def _parse_day(raw: str, today: date) -> date:
    hint = f"Give the due date as YYYY-MM-DD, e.g. `due {today.isoformat()}`."
    if not _ISO_DAY.fullmatch(raw):
        raise ArgumentError(f"`{raw}` is not a date. {hint}")
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        raise ArgumentError(f"`{raw}` is not a real date. {hint}") from None
    if day < today:
        raise ArgumentError(f"{raw} is in the past (today is {today.isoformat()}). {hint}")
    return day

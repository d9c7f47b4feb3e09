"""What every screen shares: the message it makes, Slack's text limits, escaping and labels.

Block Kit is built with slack_sdk.models so Slack's limits are checked here, where the view is
made, rather than discovered as an error from Slack mid-incident.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from slack_sdk.models.blocks import Block, MarkdownTextObject, SectionBlock

from app.domain.durations import format_duration
from app.domain.policy import Policy
from app.domain.text import mrkdwn

__all__ = [
    "HEADER_MAX",
    "SECTION_MAX",
    "Message",
    "clip",
    "escape",
    "plain",
    "section",
    "severity_label",
    "status_label",
    "to_dicts",
]

HEADER_MAX = 150  # a header block's plain_text
SECTION_MAX = 3000  # a section block's text


@dataclass(frozen=True)
class Message:
    """What chat.postMessage needs: blocks, and the text notifications and screen readers use."""

    text: str
    blocks: list[Block]


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def escape(text: str) -> str:
    """Slack mrkdwn reserves &, < and >; commands are full of them (2>/dev/null). Every piece
    of user, alert or configured text goes through this (app.domain.text.mrkdwn) before it is
    put in mrkdwn; plain_text fields (headers, buttons, options, inputs) take it as it is."""
    return mrkdwn(text)


def section(text: str) -> SectionBlock:
    """A mrkdwn section, clipped to Slack's limit."""
    return SectionBlock(text=MarkdownTextObject(text=clip(text, SECTION_MAX)))


def plain(text: str) -> list[Block]:
    """A text answer as blocks (one section)."""
    return [section(text)]


def to_dicts(items: Sequence[Block]) -> list[dict[str, Any]]:
    return [b.to_dict() for b in items]


def severity_label(policy: Policy, key: str) -> str:
    """`P0 Critical (respond < 15 minutes)`."""
    sev = policy.severity(key)
    return f"{key} {sev.name} (respond < {format_duration(sev.response_target)})"


def status_label(status: str) -> str:
    return status.capitalize()

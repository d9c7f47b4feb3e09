"""The status page in Slack: the preview `/incident statuspage` answers with (what the public
will read, the services and their state, Publish with a confirmation and Cancel, both naming
the draft), what replaces it once pressed, and the note in the incident's channel.

The message is the responder's own text: it is shown in plain_text fields, so nothing in it is
read as Slack markup (no mention, no link, no formatting), exactly as the page shows it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from app.domain.formatting import short_time
from app.domain.policy.reporting import StatusService
from app.domain.status_page import phase_label, state_label
from app.domain.text import link
from app.ui.common import Message, clip, escape, section

if TYPE_CHECKING:
    from app.store.models import StatusPost

__all__ = [
    "CANCEL_ACTION",
    "PUBLISH_ACTION",
    "cancelled",
    "channel_notice",
    "gone",
    "preview",
    "published",
    "stale",
]

PUBLISH_ACTION = "statuspage_publish"
CANCEL_ACTION = "statuspage_cancel"
_PLAIN_MAX = 3000
EXAMPLE = "`/incident statuspage [api,payments partial identified] The fix is rolling out.`"


def _words(text: str) -> SectionBlock:
    """User text, literally (plain_text is never parsed for markup or emoji codes)."""
    return SectionBlock(text=PlainTextObject(text=clip(text, _PLAIN_MAX), emoji=False))


def _context(text: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=clip(text, _PLAIN_MAX))])


def headline(post: StatusPost, services: Sequence[StatusService]) -> str:
    """How the page names the update's incident: its state, then its services (escaped)."""
    names = ", ".join(escape(s.name) for s in services)
    return f"{state_label(post.impact)} · {names}" if names else state_label(post.impact)


def _services_line(post: StatusPost, services: Sequence[StatusService]) -> str:
    if not services:
        return (
            "No service of the page is named: the update shows on the page without changing "
            "any service's state."
        )
    state = state_label(post.impact)
    return "Services: " + " · ".join(f"{escape(s.name)}: *{state}*" for s in services)


def preview(
    post: StatusPost,
    services: Sequence[StatusService],
    *,
    proposed: bool,
    page_url: str | None,
) -> Message:
    """The ephemeral preview of a draft."""
    where = link(page_url, "the status page") if page_url else "the status page"
    how = (
        "The services, their state and the phase are proposed from the incident's impacts, "
        f"severity and status; to choose them: {EXAMPLE}"
        if proposed
        else "You chose these; without `[...]` they are proposed from the incident."
    )
    confirm = ConfirmObject(
        title="Publish to the status page?",
        text=PlainTextObject(
            text="Anyone can read it on the public status page, at once. A later update "
            "replaces it, but it cannot be taken back.",
            emoji=False,
        ),
        confirm="Publish",
        deny="Not yet",
    )
    blocks: list[Block] = [
        HeaderBlock(text="Status page preview"),
        _context(f"Only you see this. Nothing is public on {where} until you press *Publish*."),
        DividerBlock(),
        section(f"*{headline(post, services)}*\n*{phase_label(post.phase)}*"),
        _words(post.message),
        _context(_services_line(post, services)),
        DividerBlock(),
        _context(how),
        ActionsBlock(
            block_id=f"statuspage_{post.id}",
            elements=[
                ButtonElement(
                    text="Publish",
                    action_id=PUBLISH_ACTION,
                    value=str(post.id),
                    style="primary",
                    confirm=confirm,
                ),
                ButtonElement(text="Cancel", action_id=CANCEL_ACTION, value=str(post.id)),
            ],
        ),
    ]
    text = f"Status page preview ({phase_label(post.phase)}): {post.message}"
    return Message(text=clip(escape(text), _PLAIN_MAX), blocks=blocks)


def published(post: StatusPost, *, tz: ZoneInfo, page_url: str | None, now: bool) -> Message:
    """What replaces the preview once published (`now`: by this click, else before it)."""
    when = short_time(post.published_at or post.drafted_at, tz)
    head = (
        f":white_check_mark: Published to the status page by <@{post.published_by}> at {when}."
        if now
        else f":information_source: Already published to the status page by "
        f"<@{post.published_by}> at {when}."
    )
    if page_url:
        head += " " + link(page_url, "View the status page")
    return Message(text=head, blocks=[section(head), _words(post.message)])


def cancelled(post: StatusPost) -> Message:
    text = ":x: Cancelled: this update was not published."
    return Message(text=text, blocks=[section(text), _words(post.message)])


def stale(reason: str, newer: StatusPost | None, tz: ZoneInfo) -> Message:
    """A draft that is out of date: why, and what to do."""
    if newer is not None and newer.published_at is not None:
        reason += f" (by <@{newer.published_by}> at {short_time(newer.published_at, tz)})"
    text = (
        f":warning: Not published: {reason}. Nothing was published; run `/incident statuspage` "
        "again for a fresh preview."
    )
    return Message(text=text, blocks=[section(text)])


def gone() -> Message:
    text = "This preview no longer exists; run `/incident statuspage` again."
    return Message(text=text, blocks=[section(text)])


def channel_notice(
    post: StatusPost, services: Sequence[StatusService], page_url: str | None
) -> Message:
    """The incident channel's note of what the public now reads."""
    where = link(page_url, "the status page") if page_url else "the status page"
    head = (
        f":mega: <@{post.published_by}> published to {where}: "
        f"*{phase_label(post.phase)}* · {headline(post, services)}"
    )
    return Message(
        text=clip(f"{head}: {escape(post.message)}", _PLAIN_MAX),
        blocks=[section(head), _words(post.message)],
    )

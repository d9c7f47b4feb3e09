"""What `/incident contact` answers: a person's contact methods, and each refusal in words.

Every piece of what was typed is shown through `escape` (Slack mrkdwn): an address is never
read as a mention, a broadcast or a link, and nothing typed ends a code span.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from app.ui.common import clip, escape

if TYPE_CHECKING:
    from app.store.models import ContactMethod

KIND_LABELS = {"email": "E-mail", "sms": "SMS", "voice": "Voice call"}
_BY = {"email": "e-mail", "sms": "SMS", "voice": "voice call"}
# mrkdwn reads <…> as markup, in code spans too: the placeholder is written escaped.
ADDRESS = "&lt;address&gt;"
USAGE = (
    "`/incident contact` lists how you are paged beyond Slack; "
    f"`/incident contact add email|sms|voice {ADDRESS}` adds a way (phone numbers in E.164, "
    f"e.g. `+33612345678`); `/incident contact remove {ADDRESS}` removes one."
)
NOTHING_CHANGED = "Nothing was changed."


def shown(typed: str) -> str:
    """What a person typed, quoted back safely (clipped: it is an echo, not a record)."""
    return f"“{escape(clip(typed, 80))}”"


def method_line(method: ContactMethod, off: bool) -> str:
    label = KIND_LABELS.get(method.kind, method.kind)
    note = " (not set up on this bot yet: kept, and used once it is)" if off else ""
    return f"• {label}: {escape(method.address)}{note}"


def listing(methods: Sequence[ContactMethod], off_kinds: set[str]) -> str:
    if not methods:
        return (
            "You have no contact methods: pages reach you in Slack only.\n"
            f"Add one with `/incident contact add email|sms|voice {ADDRESS}`, "
            "e.g. `/incident contact add sms +33612345678`."
        )
    lines = ["How you are paged beyond Slack (only you see this):"]
    lines += [method_line(m, m.kind in off_kinds) for m in methods]
    lines.append(
        f"Add one with `/incident contact add email|sms|voice {ADDRESS}`, remove one with "
        f"`/incident contact remove {ADDRESS}`."
    )
    return "\n".join(lines)


def added(kind: str, address: str, off: bool) -> str:
    label = KIND_LABELS.get(kind, kind)
    by = _BY.get(kind, kind)
    text = f"Added {label}: {escape(address)}. Levels that page by {by} now reach you there."
    if off:
        text += f" ({label} pages are not set up on this bot yet: kept for when they are.)"
    return text


def already(kind: str, address: str) -> str:
    label = KIND_LABELS.get(kind, kind)
    return f"You already have {label}: {escape(address)}. {NOTHING_CHANGED}"


def removed(address: str, count: int) -> str:
    ways = "way" if count == 1 else "ways"
    return f"Removed {escape(address)} ({count} {ways} of paging you). Slack pages stay."


def not_yours(typed: str, methods: Sequence[ContactMethod]) -> str:
    yours = ", ".join(escape(m.address) for m in methods) or "none"
    return f"You have no contact method {shown(typed)} (yours: {yours}). {NOTHING_CHANGED}"


def unknown_kind(typed: str) -> str:
    return f"{shown(typed)} is not a kind of contact: use email, sms or voice. {NOTHING_CHANGED}"


def bad_email(typed: str) -> str:
    return (
        f"{shown(typed)} is not an e-mail address the bot can send to: write it as "
        f"name@example.com (ASCII letters, digits and . _ + - only). {NOTHING_CHANGED}"
    )


def bad_phone(typed: str) -> str:
    return (
        f"{shown(typed)} is not a phone number in E.164: write + then the country code and "
        f"the number, digits only, no spaces or leading 0, e.g. `+33612345678` or "
        f"`+15551234567`. {NOTHING_CHANGED}"
    )


def not_a_link(typed: str) -> str:
    return (
        f"{shown(typed)} is a link whose text and address differ: type the address itself. "
        f"{NOTHING_CHANGED}"
    )


def too_many(limit: int) -> str:
    return (
        f"You have {limit} contact methods already, the most one person may have: remove one "
        f"first with `/incident contact remove {ADDRESS}`. {NOTHING_CHANGED}"
    )


def usage(problem: str = "") -> str:
    return f"{problem} {USAGE}".strip()

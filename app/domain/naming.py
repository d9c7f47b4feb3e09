"""Incident ids and Slack channel names. Pure functions, no I/O.

The plan prescribes ``INC-YYYYMMDD-NNN`` ids and ``#incident-YYYYMMDD-description``
channels; Slack constrains channel names (lowercase ASCII letters, digits, ``-``
and ``_``, at most 80 characters), so titles must be squeezed into that shape
without ever losing the date or a collision suffix.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime

__all__ = [
    "CHANNEL_NAME_MAX",
    "CHANNEL_PREFIX",
    "channel_name",
    "incident_id",
    "parse_incident_id",
    "slugify",
]

CHANNEL_NAME_MAX = 80
CHANNEL_PREFIX = "incident"

_ID = re.compile(r"INC-(\d{8})-(\d{3,})", re.IGNORECASE | re.ASCII)
# Latin letters NFKD does not decompose into ASCII.
_TRANSLITERATE = str.maketrans(
    {"ß": "ss", "æ": "ae", "ø": "o", "œ": "oe", "đ": "d", "ð": "d", "ł": "l", "þ": "th", "ı": "i"}
)
_DISALLOWED = re.compile(r"[^a-z0-9_-]+")
_HYPHEN_RUN = re.compile(r"[-_]*-[-_]*")
_UNDERSCORE_RUN = re.compile(r"_{2,}")


def incident_id(day: date, seq: int) -> str:
    """``INC-20261128-001``: the plan's id; the sequence widens past 999."""
    if seq < 1:
        raise ValueError(f"incident sequence must be >= 1, got {seq}")
    return f"INC-{day:%Y%m%d}-{seq:03d}"


def parse_incident_id(text: str) -> tuple[date, int] | None:
    """Inverse of :func:`incident_id`; None for anything that is not a valid id.

    Case and surrounding whitespace are forgiven because ids get typed by hand
    into slash commands.
    """
    match = _ID.fullmatch(text.strip())
    if not match:
        return None
    try:
        day = datetime.strptime(match.group(1), "%Y%m%d").date()
    except ValueError:
        return None
    seq = int(match.group(2))
    return (day, seq) if seq >= 1 else None


def slugify(title: str) -> str:
    """Reduce a title to Slack's channel alphabet; "" if nothing Latin survives.

    Accents are dropped via NFKD (``Crème`` -> ``creme``); every other character
    becomes ``-``, runs collapse, and the ends are trimmed.
    """
    text = unicodedata.normalize("NFKD", title.lower())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.translate(_TRANSLITERATE).lower()
    text = _DISALLOWED.sub("-", text)
    text = _HYPHEN_RUN.sub("-", text)
    text = _UNDERSCORE_RUN.sub("_", text)
    return text.strip("-_")


def channel_name(day: date, title: str, attempt: int = 1, fallback: str = CHANNEL_PREFIX) -> str:
    """``incident-YYYYMMDD-<slug>[-<attempt>]``, at most :data:`CHANNEL_NAME_MAX` chars.

    ``attempt`` >= 2 adds a suffix after a name collision. Only the slug is
    truncated, so the date and suffix always survive; ``fallback`` is used when
    the title has no Latin characters (e.g. "База данных упала").
    """
    if attempt < 1:
        raise ValueError(f"attempt must be >= 1, got {attempt}")
    prefix = f"{CHANNEL_PREFIX}-{day:%Y%m%d}-"
    suffix = f"-{attempt}" if attempt >= 2 else ""
    budget = CHANNEL_NAME_MAX - len(prefix) - len(suffix)
    if budget < 1:
        raise ValueError(f"attempt {attempt} leaves no room for a channel name")
    slug = slugify(title) or slugify(fallback) or CHANNEL_PREFIX
    slug = slug[:budget].rstrip("-_") or slug[0]
    return f"{prefix}{slug}{suffix}"

"""A person's contact methods (`/incident contact`): how pages reach them beyond Slack.

Each person manages their own: every function takes the id of the person who typed the
command and touches only their rows. Addresses are checked strictly before anything is
stored (a page to a malformed address is a page lost, found out during an incident): e-mail
as a plain ASCII `local@domain` (the domain in lower case), phone numbers in E.164 only
(`+` and 7 to 15 digits, as Twilio takes them). A refusal is a `UserError` and changes
nothing.
"""

from __future__ import annotations

import contextlib
import re

from sqlalchemy.exc import IntegrityError

from app.context import BotContext
from app.domain.command_text import plain_text
from app.services.errors import UserError
from app.store import contacts as store
from app.store.models import ContactMethod
from app.ui import contacts as ui

__all__ = [
    "KINDS",
    "MAX_METHODS",
    "add",
    "describe",
    "is_email",
    "methods_of",
    "normalize",
    "remove",
]

KINDS = ("email", "sms", "voice")
MAX_METHODS = 10  # per person: enough for every channel twice, too few to abuse pages with

# Dot-atom local part (RFC 5322 3.2.3) without the rarely supported symbols, and a domain of
# letters, digits and hyphens with a dot: what every SMTP server takes without SMTPUTF8.
_EMAIL = re.compile(
    r"(?P<local>[A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*)"
    r"@(?P<domain>(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63})"
)
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")
# Slack (should_escape) sends an e-mail address it recognised as <mailto:a@b.c|a@b.c>, and
# may send a phone number as <tel:+336…|+336…>.
_SLACK_LINK = re.compile(r"<(mailto|tel):([^<>|]*)(?:\|([^<>]*))?>", re.IGNORECASE)


def unwrap(typed: str) -> str:
    """The address a person typed, out of Slack's link form (refused if its text differs)."""
    typed = typed.strip()
    match = _SLACK_LINK.fullmatch(typed)
    if match is None:
        return plain_text(typed)
    target, label = match.group(2), match.group(3)
    if label is not None and plain_text(label) != plain_text(target):
        raise UserError(ui.not_a_link(plain_text(label)))
    return plain_text(target)


def normalize(kind: str, typed: str) -> str:
    """The address as stored, or a `UserError` saying how to write it."""
    address = unwrap(typed)
    if kind == "email":
        match = _EMAIL.fullmatch(address)
        if match is None or len(address) > 254 or len(match.group("local")) > 64:
            raise UserError(ui.bad_email(address))
        return f"{match.group('local')}@{match.group('domain').lower()}"
    if kind in ("sms", "voice"):
        if not _E164.fullmatch(address):
            raise UserError(ui.bad_phone(address))
        return address
    raise UserError(ui.unknown_kind(kind))


def is_email(address: str) -> bool:
    """Whether `address` is one the bot sends pages to (a policy's level-wide addresses are
    checked more loosely when the policy loads)."""
    try:
        normalize("email", address)
    except UserError:
        return False
    return True


def _off_kinds(ctx: BotContext) -> set[str]:
    """Kinds whose provider has no settings here: kept, but nothing pages by them yet."""
    off = set()
    if not ctx.settings.email_configured:
        off.add("email")
    if not ctx.settings.twilio_configured:
        off |= {"sms", "voice"}
    return off


async def methods_of(ctx: BotContext, user_id: str) -> list[ContactMethod]:
    async with ctx.sessions() as session:
        return await store.of_users(session, [user_id])


async def describe(ctx: BotContext, user_id: str) -> str:
    """`/incident contact`: the person's methods."""
    return ui.listing(await methods_of(ctx, user_id), _off_kinds(ctx))


async def add(ctx: BotContext, user_id: str, kind: str, typed: str) -> str:
    """`/incident contact add <kind> <address>` for the person who typed it."""
    kind = kind.strip().lower()
    if kind not in KINDS:
        raise UserError(ui.unknown_kind(kind))
    address = normalize(kind, typed)
    now = ctx.clock.now()
    try:
        async with ctx.sessions.begin() as session:
            mine = await store.of_users(session, [user_id])
            if any(m.kind == kind and m.address == address for m in mine):
                return ui.already(kind, address)
            if len(mine) >= MAX_METHODS:
                raise UserError(ui.too_many(MAX_METHODS))
            await store.add(session, user_id, kind, address, now)
    except IntegrityError:  # the same add, twice at once: one row
        return ui.already(kind, address)
    return ui.added(kind, address, kind in _off_kinds(ctx))


async def remove(ctx: BotContext, user_id: str, typed: str) -> str:
    """`/incident contact remove <address>`: the person's methods with that address."""
    address = unwrap(typed)
    candidates = {address}
    for kind in ("email", "sms"):
        with contextlib.suppress(UserError):  # typed as stored, or in its stored form
            candidates.add(normalize(kind, address))
    async with ctx.sessions.begin() as session:
        count = 0
        for candidate in sorted(candidates):
            count += await store.remove(session, user_id, candidate)
        mine = await store.of_users(session, [user_id]) if count == 0 else []
    if count == 0:
        raise UserError(ui.not_yours(address, mine))
    return ui.removed(address, count)

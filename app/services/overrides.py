"""On-call overrides: `/incident oncall override @user from … until … [schedule]`, listing the
upcoming ones and removing one.

Anyone in the workspace may put someone on call (a swap is agreed between people, and the bot
is not the place to police it); every change is audited twice, with who made it: a log line at
INFO and the stored row itself (`created_by`, and `removed_by` on a removal, which only marks
the row: the history of who was on call stays answerable). Bad input is refused before anything
is stored, with words that say what to type instead.

Times are read in the team's TIMEZONE unless they carry an offset: `now`, `+8h` (any duration
the policy accepts, after a plus), `2026-12-24 18:00`, a date alone (its midnight) or ISO 8601
(`2026-12-24T18:00+01:00`, `…Z`). A start already past becomes now: an override never rewrites
who was on call.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import aiohttp
from slack_sdk.errors import SlackApiError

from app.context import BotContext
from app.domain.command_text import parse_user_mention
from app.domain.durations import parse_duration
from app.domain.policy import Policy
from app.services.errors import UserError
from app.services.slack_errors import slack_error
from app.store import oncall as store

if TYPE_CHECKING:
    from app.store.models import OnCallOverride

log = logging.getLogger(__name__)

__all__ = [
    "LONGEST",
    "OverrideRecord",
    "OverrideRequest",
    "add",
    "check_person",
    "parse_id",
    "parse_override",
    "parse_when",
    "remove",
    "upcoming",
]

LONGEST = timedelta(days=90)  # an override longer than this is a rotation: edit the policy
FURTHEST = timedelta(days=365)  # an override starting later than this is a typo in the year
ASK_TIMEOUT = 2.0  # seconds for users.info: the command's answer is due within 3 s
USAGE = (
    "`/incident oncall override @name from <when> until <when> [schedule]`, where <when> is "
    "`now`, `+8h`, `2026-12-24 18:00` (team time, {tz}) or ISO 8601 with an offset "
    "(`2026-12-24T18:00+01:00`)"
)
_OVERRIDE = re.compile(
    r"(?P<who><[^<>]*>|\S+)\s+from\s+(?P<start>.+?)\s+until\s+(?P<end>.+?)"
    r"(?:\s+(?P<schedule>[A-Za-z][A-Za-z0-9_-]*))?\s*",
    re.IGNORECASE | re.DOTALL,
)


@dataclass(frozen=True)
class OverrideRequest:
    """An override as asked, checked against the policy and the clock (not yet stored)."""

    schedule: str
    user_id: str
    starts_at: datetime
    ends_at: datetime
    started_late: bool = False  # the start given was past: the override starts now


@dataclass(frozen=True)
class OverrideRecord:
    """A stored override, as the answers show it (the edges never see the store's rows)."""

    id: int
    schedule: str
    user_id: str
    starts_at: datetime
    ends_at: datetime
    created_by: str
    removed_by: str | None = None

    @classmethod
    def of(cls, row: OnCallOverride) -> OverrideRecord:
        return cls(
            row.id,
            row.schedule,
            row.user_id,
            row.starts_at,
            row.ends_at,
            row.created_by,
            row.removed_by,
        )


# ------------------------------------------------------------------------------ parsing


def _usage(tz: ZoneInfo) -> str:
    return "Use " + USAGE.format(tz=tz.key)


def _local(naive: datetime, tz: ZoneInfo, raw: str) -> datetime:
    """A wall-clock time in `tz`; one the clocks skip (a spring-forward gap) is refused."""
    aware = naive.replace(tzinfo=tz)
    if aware.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != naive:
        raise UserError(
            f"`{raw}` does not exist in {tz.key}: the clocks jump over it. Give a time an hour "
            "later, or one with an offset. Nothing was changed."
        )
    return aware


def parse_when(text: str, now: datetime, tz: ZoneInfo) -> datetime:
    """One `<when>` of the command, as a UTC instant (see the module's docstring)."""
    raw = text.strip()
    if raw.lower() == "now":
        return now
    if raw.startswith("+"):
        try:
            return now + parse_duration(raw[1:].strip())
        except ValueError:
            raise UserError(
                f"`{raw}` is not a duration: write `+30m`, `+8h`, `+2d` or `+1d12h`. "
                "Nothing was changed."
            ) from None
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        raise UserError(f"`{raw}` is not a time I can read. {_usage(tz)}.") from None
    if parsed.tzinfo is None:
        parsed = _local(parsed, tz, raw)
    return parsed.astimezone(UTC)


def _schedule_key(policy: Policy, given: str | None, tz: ZoneInfo) -> str:
    schedules = policy.oncall.schedules
    known = ", ".join(f"`{key}`" for key in schedules) or "none"
    if given is not None:
        key = given.lower()
        if key not in schedules:
            raise UserError(
                f"`{given}` is not a schedule of the policy (known: {known}). Nothing was changed."
            )
        return key
    if len(schedules) == 1:
        return next(iter(schedules))
    if not schedules:
        raise UserError(
            "The policy has no on-call schedules (`oncall.schedules`), so there is nothing to "
            'override; see README "On-call". Nothing was changed.'
        )
    raise UserError(
        f"Which schedule? Name it at the end (known: {known}): {_usage(tz)}. Nothing was changed."
    )


def parse_override(args: str, policy: Policy, now: datetime, tz: ZoneInfo) -> OverrideRequest:
    """`@user from <when> until <when> [schedule]`, checked (UserError with the fix else)."""
    match = _OVERRIDE.fullmatch(args.strip())
    if match is None:
        raise UserError(f"{_usage(tz)}. Nothing was changed.")
    user_id = parse_user_mention(match.group("who"))
    if user_id is None:
        raise UserError(
            "Name the person with a mention (`@name`, picked from Slack's list): "
            f"{_usage(tz)}. Nothing was changed."
        )
    schedule = _schedule_key(policy, match.group("schedule"), tz)
    starts_at = parse_when(match.group("start"), now, tz)
    ends_at = parse_when(match.group("end"), now, tz)
    _check_span(starts_at, ends_at, now)
    late = starts_at < now
    starts_at = max(starts_at, now)
    if ends_at - starts_at > LONGEST:
        raise UserError(
            f"An override lasts at most {LONGEST.days} days; for longer, change the rotation in "
            "the policy. Nothing was changed."
        )
    return OverrideRequest(schedule, user_id, starts_at, ends_at, late)


def _check_span(starts_at: datetime, ends_at: datetime, now: datetime) -> None:
    if ends_at <= starts_at:
        raise UserError(
            "The end (`until`) must come after the start (`from`). Nothing was changed."
        )
    if ends_at <= now:
        raise UserError("That override would already be over. Nothing was changed.")
    if starts_at - now > FURTHEST:
        raise UserError(
            "That override starts more than a year from now; check the year. Nothing was changed."
        )


async def check_person(ctx: BotContext, user_id: str) -> None:
    """`user_id` is a person of the workspace who can be on call: not the bot, not another
    bot, not deactivated. Asked of Slack (users.info); an answer Slack cannot give refuses."""
    if user_id == await ctx.bot_user_id() or user_id == "USLACKBOT":
        raise UserError("I cannot be on call myself: name a person. Nothing was changed.")
    try:
        async with asyncio.timeout(ASK_TIMEOUT):
            answer = await ctx.slack.users_info(user=user_id)
    except SlackApiError as exc:
        if slack_error(exc) == "user_not_found":
            raise UserError(
                f"<@{user_id}> is not a person of this workspace. Nothing was changed."
            ) from None
        raise _unchecked(slack_error(exc)) from None
    except (TimeoutError, OSError, aiohttp.ClientError) as exc:
        raise _unchecked(type(exc).__name__) from None
    user = answer.get("user") or {}
    if user.get("is_bot") or user.get("is_app_user"):
        raise UserError(f"<@{user_id}> is a bot: name a person. Nothing was changed.")
    if user.get("deleted"):
        raise UserError(f"<@{user_id}> is deactivated in Slack. Nothing was changed.")


def _unchecked(reason: str) -> UserError:
    return UserError(
        f"I could not check with Slack who that is ({reason}), so nothing was changed. Try again "
        "in a moment."
    )


# ------------------------------------------------------------------------------- changes


async def add(ctx: BotContext, request: OverrideRequest, by: str, now: datetime) -> OverrideRecord:
    """Store the override (audited with `by`)."""
    async with ctx.sessions.begin() as session:
        row = await store.add_override(
            session,
            request.schedule,
            request.user_id,
            request.starts_at,
            request.ends_at,
            created_by=by,
            now=now,
        )
        record = OverrideRecord.of(row)
    log.info(
        "on-call override #%d added by %s: %s on call for %s from %s until %s",
        record.id,
        by,
        record.user_id,
        record.schedule,
        record.starts_at.isoformat(),
        record.ends_at.isoformat(),
    )
    return record


async def upcoming(ctx: BotContext, now: datetime) -> list[OverrideRecord]:
    """Overrides in force or ahead (not removed), soonest first, every schedule."""
    async with ctx.sessions() as session:
        rows = await store.overrides(session, None, now, now + FURTHEST + LONGEST)
        return [OverrideRecord.of(row) for row in rows]


def parse_id(text: str) -> int:
    raw = text.strip().lstrip("#")
    if not raw.isascii() or not raw.isdigit() or len(raw) > 12:
        raise UserError(
            "Give the override's number, as `/incident oncall overrides` lists it: "
            "`/incident oncall remove 12`. Nothing was changed."
        )
    return int(raw)


async def remove(ctx: BotContext, override_id: int, by: str, now: datetime) -> OverrideRecord:
    """Mark override `override_id` removed (audited with `by`); one already over, already
    removed or unknown is refused (a past one stays as the record of who was on call)."""
    async with ctx.sessions.begin() as session:
        found = await store.overrides(session, None, now, now + FURTHEST + LONGEST)
        if not any(row.id == override_id for row in found):
            raise UserError(
                f"There is no override #{override_id} in force or ahead (see "
                "`/incident oncall overrides`). Nothing was changed."
            )
        row = await store.remove_override(session, override_id, removed_by=by, now=now)
        if row is None:  # removed by someone else meanwhile
            raise UserError(f"Override #{override_id} was already removed. Nothing was changed.")
        record = OverrideRecord.of(row)
    log.info(
        "on-call override #%d removed by %s (was: %s on call for %s from %s until %s)",
        record.id,
        by,
        record.user_id,
        record.schedule,
        record.starts_at.isoformat(),
        record.ends_at.isoformat(),
    )
    return record

"""The one error path of the Slack edge: what a person is told when what they asked for fails,
before or after the ack, on the surface that reaches them.

- A view submission whose work fails (`for_form`) is answered `response_action: errors` on one
  of the form's fields: the modal stays open and says why.
- A command whose handler fails before its ack gets the reason as its ephemeral answer
  (`commands.dispatch`, with `refusal`).
- Work that runs after the ack (`after_ack`, `guarded`) and fails is told to the person who
  acted (`tell`): through the response_url where the listener has one, else an ephemeral
  message in the channel, else a DM.

Each kind of failure has one wording (`cause`): a service's refusal (UserError, said as it is),
the database being unavailable or too slow (SAVE_TIMEOUT), Slack refusing a call or out of
reach, and anything unexpected, which is logged with its traceback and told in words, never
as a traceback.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

import aiohttp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import SQLAlchemyError

from app.context import BotContext
from app.services.errors import InvalidInput, UserError

log = logging.getLogger(__name__)

T = TypeVar("T")

# Slack shows its own error when a view submission is not answered within 3 s: a sick database
# must not hang the form that long.
SAVE_TIMEOUT = 2.0
DATABASE_ERRORS = (SQLAlchemyError, OSError, TimeoutError)
TRIGGER_ERRORS = frozenset({"expired_trigger_id", "invalid_trigger_id", "exchanged_trigger_id"})

# What became of the request, for failures after the ack.
NOTHING_CHANGED = "nothing was changed; try again"
SAVED = "the change itself is saved"
RETRIED = "it will be retried"

# The subject of a refusal in a form: "… failed on our side: <cause>. Nothing was changed; …"
FORM = "This form could not be saved, as it"

# What the Slack call that was refused was for, in words (by Web API method).
_SLACK_CALLS = {
    "chat.postMessage": "post it",
    "chat.postEphemeral": "post it",
    "chat.update": "update the message",
    "views.open": "open the form",
    "views.update": "update the form",
    "files.getUploadURLExternal": "upload it",
    "files.completeUploadExternal": "upload it",
    "conversations.invite": "invite them",
    "pins.add": "pin it",
}


@dataclass(frozen=True)
class Person:
    """Who acted, and the ways back to them: the request's response_url (`respond`) where the
    listener answers through it, the channel they acted in, and always their DM."""

    user_id: str
    channel_id: str | None = None
    respond: AsyncRespond | None = None


# ------------------------------------------------------------------------------- the words


def cause(exc: BaseException) -> str:
    """What went wrong, in words: one wording per kind of failure."""
    if isinstance(exc, SlackApiError):
        error = str(exc.response.get("error") or exc.response.status_code)
        if error in TRIGGER_ERRORS:
            return "Slack took too long to open the form"
        method = str(getattr(exc.response, "api_url", "")).rsplit("/", 1)[-1]
        return f"Slack refused to {_SLACK_CALLS.get(method, 'do it')} ({error})"
    if isinstance(exc, aiohttp.ClientError):  # before OSError, which some of them also are
        return "Slack could not be reached"
    if isinstance(exc, DATABASE_ERRORS):
        return "the database is unavailable"
    return "an unexpected error"


def refusal(exc: BaseException, subject: str) -> str:
    """The answer when `subject` (a command, a form) failed before its ack: nothing was done."""
    if isinstance(exc, UserError):
        return str(exc)
    return (
        f"{subject} failed on our side: {cause(exc)}. Nothing was changed; try again in a "
        "moment, and tell your admin if it keeps failing."
    )


def failure(exc: BaseException, doing: str, outcome: str) -> str:
    """The message when work after the ack failed: what it was doing, why, and what became of
    the request (`outcome`: NOTHING_CHANGED, SAVED, RETRIED or words of the same kind)."""
    if isinstance(exc, UserError):
        return str(exc)
    then = outcome[:1].upper() + outcome[1:]
    return f":warning: Something went wrong while {doing}: {cause(exc)}. {then}."


def log_failure(exc: BaseException, doing: str) -> None:
    """A refusal is routine (info); anything else is logged with its traceback."""
    if isinstance(exc, UserError):
        log.info("refused while %s: %s", doing, exc)
    else:
        log.error("failed while %s", doing, exc_info=exc)


# ------------------------------------------------------------------------------ the surfaces


async def tell(bot: BotContext, person: Person, text: str) -> None:
    """Answer one person privately: through the response_url, else an ephemeral message in the
    channel, else a DM (each tried when the one before is impossible or refused)."""
    if person.respond is not None and person.respond.response_url and await _respond(person, text):
        return
    if person.channel_id:
        try:
            await bot.slack.chat_postEphemeral(
                channel=person.channel_id, user=person.user_id, text=text
            )
            return
        except SlackApiError as exc:
            log.info(
                "ephemeral to %s failed (%s); sending a DM",
                person.user_id,
                exc.response.get("error"),
            )
    try:
        await bot.slack.chat_postMessage(channel=person.user_id, text=text)
    except SlackApiError as exc:
        log.error("could not tell %s: %s", person.user_id, exc.response.get("error"))


async def _respond(person: Person, text: str) -> bool:
    assert person.respond is not None
    try:
        answer = await person.respond(text=text, response_type="ephemeral", replace_original=False)
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        log.info("response_url failed (%s); trying the channel", type(exc).__name__)
        return False
    if answer.status_code != 200:
        # Expired (30 minutes) or used up (5 answers): the next way is tried.
        log.info("response_url refused the answer (%s)", answer.status_code)
        return False
    return True


async def guarded(
    bot: BotContext,
    person: Person | None,
    work: Awaitable[Any],
    *,
    doing: str,
    outcome: str = NOTHING_CHANGED,
) -> bool:
    """Await `work`; if it fails, log it and tell `person` (None: nobody asked, only log).
    True when it succeeded."""
    try:
        await work
    except Exception as exc:  # noqa: BLE001 - after the ack, the person is told here or never
        log_failure(exc, doing)
        if person is not None:
            await tell(bot, person, failure(exc, doing, outcome))
        return False
    return True


def after_ack(
    bot: BotContext,
    person: Person | None,
    work: Coroutine[Any, Any, Any],
    *,
    doing: str,
    name: str,
    outcome: str = NOTHING_CHANGED,
) -> None:
    """Run `work` in the background once Slack has its ack, `guarded`."""
    bot.tasks.spawn(guarded(bot, person, work, doing=doing, outcome=outcome), name=name)


async def for_form(ack: AsyncAck, field: str, work: Awaitable[T]) -> T | None:
    """The result of a view submission's `work`, within SAVE_TIMEOUT; None once the form has
    been answered with the error instead (on the field an InvalidInput names, else `field`)."""
    try:
        async with asyncio.timeout(SAVE_TIMEOUT):
            return await work
    except InvalidInput as exc:
        await ack(response_action="errors", errors={exc.field: exc.message})
    except Exception as exc:  # noqa: BLE001 - the form must get an answer within 3 s
        log_failure(exc, "saving a form")
        await ack(response_action="errors", errors={field: refusal(exc, FORM)})
    return None

"""`/incident` and its subcommands: a small registry, so the list of what the bot understands
reads in one place and help is generated from it."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.models.blocks import Block

from app.context import BotContext
from app.services.errors import UserError
from app.ui import blocks

log = logging.getLogger(__name__)

# Slack caps slash command text at a few thousand characters; anything past this is a mistake.
MAX_COMMAND_TEXT = 4000


@dataclass
class CommandCall:
    """One `/incident <name> <args>` invocation, with what a handler needs to answer it."""

    bot: BotContext
    name: str
    args: str
    user_id: str
    channel_id: str
    trigger_id: str
    body: dict[str, Any]
    _ack: AsyncAck
    _respond: AsyncRespond
    acked: bool = field(default=False)

    async def ack(self, text: str | None = None, *, layout: list[Block] | None = None) -> None:
        """Answer within Slack's 3 s; with text, the answer is an ephemeral message (laid out
        as the `layout` blocks when given; `text` is then the notification fallback)."""
        if self.acked:
            if text:
                await self.respond(text, layout=layout)
            return
        self.acked = True
        if text is None:
            await self._ack()
        else:
            await self._ack(response_type="ephemeral", text=text, blocks=_layout(text, layout))

    async def respond(self, text: str, *, layout: list[Block] | None = None) -> None:
        """A later ephemeral answer through the command's response_url."""
        await self._respond(
            response_type="ephemeral",
            text=text,
            blocks=blocks.to_dicts(layout) if layout is not None else None,
            replace_original=False,
        )


def _layout(text: str, given: list[Block] | None) -> list[dict]:
    return blocks.to_dicts(given if given is not None else blocks.plain(text))


Handler = Callable[[CommandCall], Awaitable[None]]


@dataclass(frozen=True)
class Subcommand:
    name: str
    usage: str
    summary: str
    handler: Handler


class Registry:
    def __init__(self) -> None:
        self._commands: dict[str, Subcommand] = {}

    def command(self, name: str, usage: str, summary: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            if name in self._commands:
                raise ValueError(f"subcommand {name!r} registered twice")
            self._commands[name] = Subcommand(name, usage, summary, handler)
            return handler

        return register

    def get(self, name: str) -> Subcommand | None:
        return self._commands.get(name)

    def help_text(self, prefix: str = "") -> str:
        """Subcommands in the order of the plan's procedure, so help reads as a checklist."""
        order = {name: n for n, name in enumerate(HELP_ORDER)}
        listed = sorted(self._commands.values(), key=lambda c: order.get(c.name, len(order)))
        entries = [(c.usage, c.summary) for c in listed]
        return (prefix + "\n" if prefix else "") + blocks.help_text(entries)


# Detection, response, investigation, mitigation, recovery, post-incident; then the rest.
HELP_ORDER = (
    "declare",
    "ack",
    "lead",
    "severity",
    "status",
    "note",
    "update",
    "timeline",
    "runbook",
    "resolve",
    "action",
    "postmortem",
    "reopen",
    "list",
    "retry-setup",
    "help",
)

COMMANDS = Registry()


@COMMANDS.command("help", "help", "Show this list.")
async def _help(call: CommandCall) -> None:
    await call.ack(COMMANDS.help_text())


async def dispatch(
    bot: BotContext, body: dict[str, Any], ack: AsyncAck, respond: AsyncRespond
) -> None:
    """Route `/incident ...` to its subcommand; unknown or oversized input gets help."""
    text = str(body.get("text") or "").strip()
    # Any whitespace ends the subcommand's name: `/incident note` then a new line is a note.
    name, args = (text.split(maxsplit=1) + ["", ""])[:2]
    call = CommandCall(
        bot=bot,
        name=name.lower() or "help",
        args=args.strip(),
        user_id=str(body.get("user_id") or ""),
        channel_id=str(body.get("channel_id") or ""),
        trigger_id=str(body.get("trigger_id") or ""),
        body=body,
        _ack=ack,
        _respond=respond,
    )
    if len(text) > MAX_COMMAND_TEXT:
        await call.ack(
            f"That is {len(text)} characters; `/incident` takes at most "
            f"{MAX_COMMAND_TEXT}. Nothing was changed."
        )
        return
    sub = COMMANDS.get(call.name)
    if sub is None:
        await call.ack(COMMANDS.help_text(f"I don't know `/incident {name}`. Here is what I do:"))
        return
    try:
        await sub.handler(call)
    except UserError as exc:
        await call.ack(str(exc))
    except Exception:
        log.exception("/incident %s failed", call.name)
        await call.ack(
            f":warning: `/incident {call.name}` failed on our side; nothing was "
            "changed. Try again, and tell your admin if it keeps failing."
        )

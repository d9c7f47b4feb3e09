"""`/incident` and its subcommands: what a handler gets (CommandCall), the table of subcommands
(Registry, filled in app/slack/bolt_app.py, so what the bot understands reads in one place and
help is generated from it), and the dispatch, which answers every failure in words."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.models.blocks import Block

from app.context import BotContext
from app.services.authorization import Actor
from app.services.errors import UserError
from app.slack import errors
from app.ui.common import plain, to_dicts
from app.ui.help import help_text

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

    @property
    def first_arg(self) -> str:
        """The first word after the subcommand ("" without one)."""
        return self.args.split()[0] if self.args.split() else ""

    @property
    def actor(self) -> Actor:
        """Who typed it, and where: for the authorization of what it acts on."""
        return Actor(self.user_id, self.channel_id or None)

    @property
    def person(self) -> errors.Person:
        """Who typed it: answered through the command's response_url, else in the channel."""
        return errors.Person(self.user_id, self.channel_id or None, self._respond)

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
            blocks=to_dicts(layout) if layout is not None else None,
            replace_original=False,
        )

    def later(
        self,
        work: Coroutine[Any, Any, Any],
        *,
        doing: str,
        outcome: str = errors.NOTHING_CHANGED,
    ) -> None:
        """Run `work` after the ack; a failure is told to the person who typed the command."""
        errors.after_ack(
            self.bot,
            self.person,
            work,
            doing=doing,
            outcome=outcome,
            name=f"/incident {self.name}",
        )


def _layout(text: str, given: list[Block] | None) -> list[dict]:
    return to_dicts(given if given is not None else plain(text))


Handler = Callable[[CommandCall], Awaitable[None]]


@dataclass(frozen=True)
class Subcommand:
    name: str
    usage: str
    summary: str
    handler: Handler


class Registry:
    """The subcommands, in the order help lists them; `help` itself comes last."""

    def __init__(self, subcommands: Iterable[Subcommand]) -> None:
        self._commands: dict[str, Subcommand] = {}
        for sub in [*subcommands, Subcommand("help", "help", "Show this list.", self._help)]:
            if sub.name in self._commands:
                raise ValueError(f"subcommand {sub.name!r} registered twice")
            self._commands[sub.name] = sub

    def get(self, name: str) -> Subcommand | None:
        return self._commands.get(name)

    def help_text(self, prefix: str = "") -> str:
        entries = [(c.usage, c.summary) for c in self._commands.values()]
        return (prefix + "\n" if prefix else "") + help_text(entries)

    async def _help(self, call: CommandCall) -> None:
        await call.ack(self.help_text())


async def dispatch(
    bot: BotContext,
    registry: Registry,
    ack: AsyncAck,
    body: dict[str, Any],
    respond: AsyncRespond,
) -> None:
    """Route `/incident ...` to its subcommand; unknown or oversized input gets help, and a
    failure of the handler gets its reason (errors.refusal) instead of Slack's error."""
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
    sub = registry.get(call.name)
    if sub is None:
        await call.ack(registry.help_text(f"I don't know `/incident {name}`. Here is what I do:"))
        return
    try:
        await sub.handler(call)
    except Exception as exc:  # noqa: BLE001 - every failure is answered; none may lose the ack
        errors.log_failure(exc, f"/incident {call.name}")
        answer = errors.refusal(exc, f"`/incident {call.name}`")
        await call.ack(answer if isinstance(exc, UserError) else f":warning: {answer}")

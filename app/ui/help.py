"""`/incident help`: the subcommands, generated from the registry of commands."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["help_text"]


def help_text(commands: Iterable[tuple[str, str]]) -> str:
    lines = ["*`/incident` commands*"]
    lines += [f"• `/incident {usage}`: {summary}" for usage, summary in commands]
    return "\n".join(lines)

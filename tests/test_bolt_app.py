"""The Bolt app registers its listeners and subcommands explicitly, per app: importing the
listener modules registers nothing, so two apps (two tests, two contexts) never collide."""

from __future__ import annotations

import re

from app.context import BotContext
from app.slack.bolt_app import build_bolt_app, subcommands


def test_each_app_gets_its_own_listeners_and_subcommands(bot: BotContext) -> None:
    first, second = build_bolt_app(bot), build_bolt_app(bot)
    assert first is not second
    names = re.findall(r"^• `/incident ([a-z-]+)", subcommands().help_text(), re.MULTILINE)
    assert names[:5] == ["declare", "ack", "lead", "severity", "status"]
    assert names[-1] == "help" and len(names) == len(set(names)) == 21

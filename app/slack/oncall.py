"""`/incident oncall` (who is on call now and next, for every schedule; overrides) and the App
Home tab (the same, with the open incidents).

    /incident oncall
    /incident oncall override @name from <when> until <when> [schedule]
    /incident oncall overrides
    /incident oncall remove <id>

Anyone in the workspace may add or remove an override (`app.services.overrides`, which audits
each change). Every answer is ephemeral and reads the current policy (`bot.policy`) through
`app.services.oncall`, the one answer pages read too.

`app_home_opened` is acknowledged by Bolt before the listener runs; the view is built and
published (`views.publish`) in the background, as the timeline's listeners hand their work
over. Nobody asked for anything in words, so a failure is only logged: the person sees the
view they had, and opening the tab again tries again.
"""

from __future__ import annotations

from typing import Any

from app.context import BotContext
from app.services import listing, overrides
from app.services import oncall as oncall_service
from app.services.errors import UserError
from app.slack import errors
from app.slack.commands import CommandCall
from app.ui import oncall as screens

USAGE = (
    "Use `/incident oncall` (who is on call), `/incident oncall override @name from <when> "
    "until <when> [schedule]`, `/incident oncall overrides` or `/incident oncall remove <id>`."
)


async def oncall_command(call: CommandCall) -> None:
    word, rest = (call.args.split(maxsplit=1) + ["", ""])[:2]
    action = word.lower()
    if not action:
        await _show(call)
    elif action == "override":
        await _override(call, rest)
    elif action == "overrides":
        await _list(call)
    elif action in ("remove", "delete"):
        await _remove(call, rest)
    else:
        raise UserError(f"I don't know `/incident oncall {word[:40]}`. {USAGE}")


async def _show(call: CommandCall) -> None:
    bot = call.bot
    now = bot.clock.now()
    states = await oncall_service.who(bot, bot.policy, now)
    message = screens.oncall_answer(states, bot.settings.tz, now)
    await call.ack(message.text, layout=message.blocks)


async def _override(call: CommandCall, args: str) -> None:
    bot = call.bot
    now = bot.clock.now()
    request = overrides.parse_override(args, bot.policy, now, bot.settings.tz)
    await overrides.check_person(bot, request.user_id)
    record = await overrides.add(bot, request, call.user_id, now)
    state = await oncall_service.on_call_now(bot, bot.policy, record.schedule, now)
    await call.ack(
        screens.override_added(record, state, bot.settings.tz, started_late=request.started_late)
    )


async def _list(call: CommandCall) -> None:
    bot = call.bot
    now = bot.clock.now()
    found = await overrides.upcoming(bot, now)
    text = screens.overrides_list(found, bot.policy.oncall.schedules, bot.settings.tz, now)
    await call.ack(text)


async def _remove(call: CommandCall, args: str) -> None:
    bot = call.bot
    now = bot.clock.now()
    record = await overrides.remove(bot, overrides.parse_id(args), call.user_id, now)
    state = None
    if record.schedule in bot.policy.oncall.schedules:
        state = await oncall_service.on_call_now(bot, bot.policy, record.schedule, now)
    await call.ack(screens.override_removed(record, state, bot.settings.tz))


# -------------------------------------------------------------------------------- Home


async def home_opened(bot: BotContext, body: dict[str, Any]) -> None:
    """The Home tab opened: publish who is on call for that person (the Messages tab: nothing)."""
    event = body.get("event") or {}
    user_id = event.get("user")
    if event.get("tab") != "home" or not isinstance(user_id, str) or not user_id:
        return
    doing = f"publishing the Home tab of {user_id[:32]}"
    errors.after_ack(bot, None, publish_home(bot, user_id), doing=doing, name=doing)


async def publish_home(bot: BotContext, user_id: str) -> None:
    now = bot.clock.now()
    states = await oncall_service.who(bot, bot.policy, now)
    visible = await listing.open_incidents_for(bot, user_id)
    view = screens.home_view(
        states, visible.incidents, bot.settings.tz, now, unchecked=visible.unchecked
    )
    await bot.slack.views_publish(user_id=user_id, view=view.to_dict())

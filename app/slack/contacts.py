"""`/incident contact`: how a person is paged beyond Slack (e-mail, SMS, voice), answered to
them alone. A person manages only their own methods: there is no way to name someone else.

    /incident contact                               list yours
    /incident contact add email|sms|voice <address> add one (phone numbers in E.164)
    /incident contact remove <address>              remove one
"""

from __future__ import annotations

from app.services import contacts
from app.services.errors import UserError
from app.slack.commands import CommandCall
from app.ui import contacts as ui

_TAKES = {"add": "a kind and one address", "remove": "one address"}


async def contact_command(call: CommandCall) -> None:
    words = call.args.split()
    action = words[0].lower() if words else "list"
    if action == "list" and len(words) <= 1:
        answer = await contacts.describe(call.bot, call.user_id)
    elif action == "add" and len(words) == 3:
        answer = await contacts.add(call.bot, call.user_id, words[1], words[2])
    elif action == "remove" and len(words) == 2:
        answer = await contacts.remove(call.bot, call.user_id, words[1])
    elif action in _TAKES:
        raise UserError(ui.usage(f"`{action}` takes {_TAKES[action]}."))
    else:
        raise UserError(ui.usage())
    await call.ack(answer)

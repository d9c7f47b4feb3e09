"""`/incident report [quarter]`: the report against the plan for a quarter, as a Markdown file
in the DM of whoever asked.

    /incident report            the last full quarter
    /incident report 2026Q3     a quarter ("Q3": this year's, "this": the current one)

Anyone in the workspace may ask: a report holds aggregates only (counts and durations, never
an incident's title). A quarter that does not parse is answered at once (Slack's escapes read
back first, the argument shown escaped) and nothing is done. Otherwise the ack says which
quarter is being built; building and uploading it run after the ack (`CommandCall.later`), and
the answer, or what went wrong, comes through the response_url.
"""

from __future__ import annotations

from app.domain.periods import Period, parse_period
from app.domain.text import plain
from app.services import report_delivery
from app.services.errors import UserError
from app.slack.commands import CommandCall
from app.ui import reports as screens

# No period is longer ("2026-Q3", "last"); a longer argument is shown this far in the refusal.
ARG_MAX = 40


async def report_command(call: CommandCall) -> None:
    bot = call.bot
    try:
        period = parse_period(plain(call.args)[:ARG_MAX], bot.clock.now(), bot.settings.tz)
    except ValueError as exc:
        raise UserError(screens.no_period(str(exc))) from None
    await call.ack(screens.building(period.label))
    call.later(_deliver(call, period), doing="building the report")


async def _deliver(call: CommandCall, period: Period) -> None:
    done = await report_delivery.deliver(call.bot, call.user_id, period)
    await call.respond(screens.delivered(period.label, done.filename, done.permalink))

"""Forms (modals): opening one from a command or from a button of the summary that opens a
form about its incident (Change status, Resolve, Change severity), and reading a submission
back. views.open runs right after the ack, since the trigger id dies 3 s after the click."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.models.views import View

from app.context import BotContext
from app.services.authorization import Actor
from app.slack.buttons import Button, Click
from app.ui.modals import incident_id_of, selected_value

# The form a button opens for the incident it names, for the person who pressed it (a
# UserError when it does not apply, or they may not act on the incident).
FormFor = Callable[[BotContext, Actor, int], Awaitable[View]]

OPENING = "opening the form"


async def open_form(bot: BotContext, trigger_id: str, view: View) -> None:
    await bot.slack.views_open(trigger_id=trigger_id, view=view)


def opens(form: FormFor) -> Button:
    """A button whose value is an incident's number, and which opens `form` for it."""

    async def work(bot: BotContext, click: Click) -> None:
        if click.number is not None:
            await open_form(bot, click.trigger_id, await form(bot, click.actor, click.number))

    return Button(work, OPENING)


@dataclass(frozen=True)
class Submission:
    """A view_submission: the view with its state, who submitted it, the incident it is about
    (None if the metadata was tampered with)."""

    view: dict[str, Any]
    user_id: str
    incident_id: int | None

    @property
    def actor(self) -> Actor:
        return Actor(self.user_id)


def submission_of(body: dict[str, Any]) -> Submission:
    view = body["view"]
    return Submission(view, body["user"]["id"], incident_id_of(view))


async def choice_of(
    ack: AsyncAck, body: dict[str, Any], block_id: str, missing: str
) -> tuple[Submission, int, str] | None:
    """A submitted form about an incident with one choice (block `block_id`): the submission,
    the incident's number and the option picked; None once the form has been told `missing`."""
    form = submission_of(body)
    picked = selected_value(form.view, block_id)
    if form.incident_id is None or picked is None:
        await ack(response_action="errors", errors={block_id: missing})
        return None
    return form, form.incident_id, picked

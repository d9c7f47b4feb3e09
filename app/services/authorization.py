"""Who may act on an incident, and who may see it listed: one rule, applied here only.

Every incident an edge acts on is found by `app.services.lookup`, which passes it through
`authorize` with the person who asked (an `Actor`). Acting on an incident (acknowledging,
status, severity, lead, notes, updates, resolving, reopening, action items, retry-setup, the
timeline, the post-mortem, and every button and form about it) is allowed:

(a) from the incident's own channel: a command typed there (Slack lets only the channel's
    members type in it);
(b) to a member of the incident's channel, asked of Slack (`conversations.members`, through
    `app.services.directory`, which remembers each channel's members for a minute);
(c) to someone the incident itself addressed: a person its escalation paged (a page DM Slack
    accepted, in the step messages), the person who declared it while its Slack setup is
    unfinished (the channel, or their invitation to it, may not exist yet), and, for the Done
    button of an action item, that item's owner.

A button's or a form's channel proves nothing (anyone can open a public channel without
joining it and press its buttons), so clicks and form submissions need (b) or (c).

Anyone else is told `NO_INCIDENT`, the same words whether the incident is private or public,
exists or never did; nothing changes, and the refusal is logged as a warning with the user and
the id asked for (never the title). If Slack cannot say who is in the channel, the answer is a
refusal too (`UNCHECKED`): never a guess.

`/incident list` (`visible_to`): private incidents only to the members of their channels, and to
guests (`is_restricted` / `is_ultra_restricted`) only the incidents whose channels they are in.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from app.context import BotContext
from app.domain.escalation import PAGE, PAGE_BACKUP
from app.services.directory import SlackUnreachable
from app.services.errors import UserError
from app.store import steps as step_store
from app.store.models import Incident

log = logging.getLogger(__name__)

NO_INCIDENT = (
    "There is no incident{asked} that you can act on: an incident is run by the people in its "
    "channel. Nothing was changed."
)
UNCHECKED = (
    "I could not check with Slack that you are in the incident's channel ({reason}), so nothing "
    "was changed. Try again in a moment, or from the incident's channel."
)
LIST_UNCHECKED = (
    "_Slack could not say which incident channels you are in, so some incidents may be missing "
    "from this list; try again in a moment._"
)


@dataclass(frozen=True)
class Actor:
    """Who asks, and the channel they typed the command in (None for a click or a form)."""

    user_id: str
    typed_in: str | None = None


class NotAllowed(UserError):
    """This person may not act on the incident they named (or it does not exist)."""


def no_incident(asked: str = "") -> str:
    """The refusal, naming only what the person asked for (a typed id), never the incident."""
    return NO_INCIDENT.format(asked=f" {asked}" if asked else "")


async def authorize(
    bot: BotContext,
    incident: Incident | None,
    actor: Actor,
    *,
    asked: str = "",
    owner: str | None = None,
) -> Incident:
    """`incident` if `actor` may act on it; else NotAllowed (also when it is None).

    `asked` is the id the person typed, for the answer and the log; `owner` the owner of the
    action item a Done button is about."""
    if incident is not None and await _may_act(bot, incident, actor, owner, asked):
        return incident
    named = asked or (incident.public_id if incident is not None else "an unknown incident")
    log.warning(
        "refused %s on %s: no such incident, or not in its channel nor paged by it",
        actor.user_id,
        named,
    )
    raise NotAllowed(no_incident(asked))


async def _may_act(
    bot: BotContext, incident: Incident, actor: Actor, owner: str | None, asked: str
) -> bool:
    user = actor.user_id
    channel = incident.channel_id
    if channel is not None and actor.typed_in == channel:
        return True
    if owner is not None and owner == user:
        return True
    if not incident.setup_complete and incident.reporter_id == user:
        return True
    # An incident without a channel (a severity with `channel: false`): its reporter and its
    # lead act on it, as the channel's members would.
    if (
        channel is None
        and incident.setup_complete
        and user in (incident.reporter_id, incident.lead_id)
    ):
        return True
    if await was_paged(bot, incident, user):
        return True
    if channel is None:
        return False
    try:
        return await bot.directory.is_member(channel, user)
    except SlackUnreachable as exc:
        named = asked or incident.public_id
        log.warning("refused %s on %s: membership unknown (%s)", user, named, exc.reason)
        raise NotAllowed(UNCHECKED.format(reason=exc.reason)) from None


async def was_paged(bot: BotContext, incident: Incident, user_id: str) -> bool:
    """Whether the incident's escalation reached `user_id` with a page DM."""
    async with bot.sessions() as session:
        return await step_store.was_sent_to(session, incident.id, (PAGE, PAGE_BACKUP), user_id)


async def is_member(bot: BotContext, incident: Incident, user_id: str) -> bool | None:
    """Whether `user_id` is in the incident's channel; None when Slack cannot say."""
    if incident.channel_id is None:
        return False
    try:
        return await bot.directory.is_member(incident.channel_id, user_id)
    except SlackUnreachable:
        return None


async def may_be_told(bot: BotContext, incident: Incident, user_id: str) -> bool | None:
    """Whether the bot may DM `user_id` what an incident is about (an action item's text, its
    reminders): anyone for a public incident, only its channel's members for a private one;
    None when Slack cannot say (then: do not)."""
    if not incident.private:
        return True
    return await is_member(bot, incident, user_id)


@dataclass(frozen=True)
class Visible:
    """What `/incident list` may show someone, and whether Slack left some of it unchecked."""

    incidents: list[Incident]
    unchecked: bool


async def visible_to(bot: BotContext, incidents: Sequence[Incident], user_id: str) -> Visible:
    """The incidents (in the order given) `user_id` may see listed: public ones, and private
    ones whose channel they are in; for a guest, only those whose channel they are in. An
    answer Slack cannot give hides the incident (and says so)."""
    try:
        guest = await bot.directory.is_guest(user_id)
        unchecked = False
    except SlackUnreachable:
        guest, unchecked = True, True
    to_check = [i for i in incidents if i.private or guest]
    answers = await asyncio.gather(*(is_member(bot, i, user_id) for i in to_check))
    hidden = {i.id for i, member in zip(to_check, answers, strict=True) if not member}
    unchecked = unchecked or any(member is None for member in answers)
    return Visible([i for i in incidents if i.id not in hidden], unchecked)

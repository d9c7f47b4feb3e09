"""Finding the incident a request is about, for the edges: by its number (a button's value, a
modal's metadata), by its public id (`INC-…` typed after a command), by the channel a command
was typed in, or by the action item a button is on. One place, so every command and button says
the same thing when there is none, and every incident found passes the one authorization rule
(`app.services.authorization`) for the person who asked: an incident they may not act on is
answered exactly like one that does not exist. The checks of what a form may open on stay out
of the listeners too. Also the one count the HTTP edge reads (open incidents, for /metrics):
the edges never query the store themselves."""

from __future__ import annotations

from app.context import BotContext
from app.domain.naming import parse_incident_id
from app.services.authorization import Actor, authorize
from app.services.errors import UserError
from app.services.lifecycle import check_can_resolve
from app.store import action_items as item_store
from app.store import incidents as store
from app.store.models import Incident

NOT_HERE = (
    "This is not an incident channel: `/incident {command}` works in an incident channel "
    "(#incident-…), so run it there{or_id}. `/incident list` shows the open incidents and "
    "their channels."
)


def not_here(command: str, *, takes_id: bool = False) -> str:
    """The answer to a command typed outside an incident channel."""
    or_id = f", or give the incident's id: `/incident {command} INC-…`" if takes_id else ""
    return NOT_HERE.format(command=command, or_id=or_id)


async def find_incident(
    bot: BotContext,
    actor: Actor,
    *,
    incident_id: int | None = None,
    public_id: str = "",
    channel_id: str = "",
) -> Incident | None:
    """The incident numbered `incident_id`, else the one `public_id` names, else the one whose
    channel `channel_id` is, if `actor` may act on it; None when none is given or the channel
    is not an incident's.

    A number or public id that names no incident the actor may act on is a UserError (the same
    words either way), and so is a public id that is not one: the person typed or clicked
    something specific, and is told what is wrong with it.
    """
    if incident_id is not None:
        return await incident_numbered(bot, actor, incident_id)
    if public_id and parse_incident_id(public_id) is None:
        raise UserError(f"`{public_id}` is not an incident id like INC-20261128-001.")
    async with bot.sessions() as session:
        if public_id:
            incident = await store.by_public_id(session, public_id)
        elif channel_id:
            incident = await store.by_channel(session, channel_id)
            if incident is None:
                return None
        else:
            return None
    return await authorize(bot, incident, actor, asked=public_id.upper())


async def incident_numbered(bot: BotContext, actor: Actor, incident_id: int) -> Incident:
    """The incident with this number (a button's value, a modal's metadata)."""
    async with bot.sessions() as session:
        incident = await session.get(Incident, incident_id)
    return await authorize(bot, incident, actor)


async def incident_of_action_item(bot: BotContext, actor: Actor, item_id: int) -> Incident:
    """The incident of the action item a Done button is on (its owner may act on the item)."""
    async with bot.sessions() as session:
        item = await item_store.get(session, item_id)
        incident = await session.get(Incident, item.incident_id) if item else None
    return await authorize(bot, incident, actor, owner=item.owner_id if item else None)


async def incident_here(
    bot: BotContext,
    command: str,
    actor: Actor,
    public_id: str = "",
    *,
    takes_id: bool = False,
) -> Incident:
    """`find_incident` for `/incident <command>` typed in `actor.typed_in`, or a UserError
    saying where it works."""
    incident = await find_incident(bot, actor, public_id=public_id, channel_id=actor.typed_in or "")
    if incident is None:
        raise UserError(not_here(command, takes_id=takes_id))
    return incident


async def incident_to_set_up(bot: BotContext, actor: Actor, public_id: str) -> Incident:
    """The incident `/incident retry-setup` is about: the one named, else this channel's, else
    the latest one this person declared whose setup is unfinished (it may have no channel)."""
    incident = await find_incident(bot, actor, public_id=public_id, channel_id=actor.typed_in or "")
    if incident is None:
        async with bot.sessions() as session:
            incident = await store.latest_incomplete_for(session, actor.user_id)
        if incident is not None:
            incident = await authorize(bot, incident, actor)
    if incident is None:
        raise UserError(not_here("retry-setup", takes_id=True))
    return incident


async def incident_to_change_status(bot: BotContext, actor: Actor, incident_id: int) -> Incident:
    """The incident a Change status button names, if its status may still change."""
    incident = await incident_numbered(bot, actor, incident_id)
    if not incident.is_open:
        raise UserError(f"{incident.public_id} is resolved; `/incident reopen` reopens it.")
    return incident


async def incident_to_resolve(bot: BotContext, actor: Actor, incident_id: int) -> Incident:
    """The incident a Resolve button (or the status form's Resolved) names, if it is open."""
    incident = await incident_numbered(bot, actor, incident_id)
    check_can_resolve(incident)
    return incident


async def open_counts(bot: BotContext) -> dict[str, int]:
    """How many incidents are open, by severity (for the /metrics gauges)."""
    async with bot.sessions() as session:
        return await store.open_counts(session)

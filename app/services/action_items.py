"""Action items: added from the channel, shown on the summary and in the post-mortem, marked
done with a button, and reminded to their owner once overdue."""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError

from app.context import BotContext
from app.domain import reminders
from app.domain.command_text import ActionItemDraft
from app.domain.formatting import plain_item_line
from app.domain.timeline import Kind
from app.services import events, tickets
from app.services.authorization import may_be_told
from app.services.errors import UserError
from app.services.incidents import Change, changing, policy_of
from app.services.summary import refresh_summary
from app.store import action_items as store
from app.store.models import ActionItem, Incident
from app.ui import messages

log = logging.getLogger(__name__)

NOT_IN_PRIVATE = (
    "<@{owner}> is not in this private incident's channel, so they were not sent this action "
    "item by DM, and any reminder of it will be posted in the channel instead. Invite them to the "
    "channel if they should be told."
)
UNKNOWN_IF_IN_PRIVATE = (
    "Slack could not say whether <@{owner}> is in this private incident's channel, so they were "
    "not sent this action item by DM. Tell them yourself, or invite them to the channel."
)


async def add(
    bot: BotContext, incident_id: int, draft: ActionItemDraft, actor_id: str
) -> tuple[Incident, ActionItem, int]:
    """Save the item; returns the incident, the item and its number within the incident."""
    if draft.owner_id and draft.owner_id == await bot.bot_user_id():
        raise UserError("The bot cannot own an action item; name a person. Nothing was added.")
    async with changing(bot, incident_id) as change:
        item = ActionItem(
            incident_id=change.incident.id,
            text=draft.text,
            owner_id=draft.owner_id,
            due_on=draft.due,
            done=False,
            created_by=actor_id,
            created_at=change.now,
        )
        change.session.add(item)
        await change.session.flush()
        number = len(await store.for_incident(change.session, change.incident.id))
        policy = policy_of(bot, change.incident)
        await tickets.plan_for_item(
            change.session, change.incident, item, number, policy, change.now
        )
        text = f"Action item {number} added: {plain_item_line(item)}"
        _record(change, item, "added", text, actor_id, names_owner=True)
    return change.incident, item, number


def _record(
    change: Change,
    item: ActionItem,
    event: str,
    text: str,
    actor_id: str,
    *,
    names_owner: bool = False,
) -> None:
    data: dict[str, object] = {"event": event, "item": item.id}
    if names_owner and item.owner_id:
        data["owner"] = item.owner_id  # the text names them: shown as a mention (named_people)
    change.record(Kind.ACTION_ITEM, actor_id=actor_id, text=text, data=data)


async def added_published(
    bot: BotContext, incident: Incident, item: ActionItem, actor_id: str
) -> str | None:
    """Show it on the summary, tell its owner, then publish it (the overdue reminder is planned
    by a subscriber). The owner of a private incident's item is told only if they are in its
    channel; returns what to tell the person who added it then, or None."""
    await refresh_summary(bot, incident)
    problem = None
    owner = item.owner_id if item.owner_id != actor_id else None
    told = await may_be_told(bot, incident, owner) if owner else False
    if owner and not told:
        problem = (NOT_IN_PRIVATE if told is False else UNKNOWN_IF_IN_PRIVATE).format(owner=owner)
    elif owner:
        message = messages.action_item_assigned(item, incident, actor_id)
        try:
            await bot.slack.chat_postMessage(
                channel=owner, text=message.text, blocks=message.blocks
            )
        except SlackApiError as exc:
            log.warning("owner of action item %s not told: %s", item.id, exc.response.get("error"))
    await events.publish(bot, events.ActionItemAdded(item))
    return problem


async def mark_done(
    bot: BotContext, item_id: int, actor_id: str, reason: str = ""
) -> tuple[Incident, ActionItem, bool]:
    """Mark an item done; a second click changes nothing (the bool says whether it changed).
    `reason` says why when it was not a click (its ticket was closed)."""
    async with bot.sessions() as session:
        found = await store.get(session, item_id)
    if found is None:
        raise UserError("That action item no longer exists.")
    async with changing(bot, found.incident_id) as change:
        item = await store.get(change.session, item_id)
        if item is None:
            raise UserError("That action item no longer exists.")
        if item.done:
            return change.incident, item, False
        item.done = True
        item.done_at = change.now
        item.done_by = actor_id
        text = f"Action item done: {item.text}" + (f" ({reason})" if reason else "")
        _record(change, item, "done", text, actor_id)
        await tickets.plan_sync(change.session, change.incident, change.now)  # its ticket closes
    return change.incident, item, True


async def send_action_item_reminder(bot: BotContext, item_id: int) -> bool:
    """Called by the escalation engine when an item's reminder row falls due.

    Posts the reminder, with the item's Done button, to its owner (a DM) or, for an item nobody
    owns, in the incident channel. Returns whether another reminder is needed: False once the
    item is done or gone. Before the item is overdue nothing is posted (the row came early, e.g.
    after a clock change) and True is returned so the engine plans the real one.
    """
    async with bot.sessions() as session:
        item = await store.get(session, item_id)
        incident = await session.get(Incident, item.incident_id) if item else None
    if item is None or incident is None or item.done or item.due_on is None:
        return False
    now = bot.clock.now()
    if not reminders.is_overdue(item.due_on, bot.settings.tz, now):
        return True
    message = messages.action_item_reminder(item, incident)
    target = item.owner_id or incident.channel_id
    if item.owner_id and not await may_be_told(bot, incident, item.owner_id):
        # The owner is not in the private incident's channel (or Slack cannot say): the
        # reminder goes to the channel, where its text may be read.
        target = incident.channel_id
    if target is None:
        return True
    try:
        await bot.slack.chat_postMessage(channel=target, text=message.text, blocks=message.blocks)
    except SlackApiError as exc:
        log.error("reminder of action item %s not sent: %s", item.id, exc.response.get("error"))
    return True

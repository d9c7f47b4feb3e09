"""The Slack side of alert intake, done once a chunk of alerts is saved: set up the incidents
it declared (each at once, without waiting for the others or for a lease), then one message per
incident about the alerts that joined it, resolved or fired again, whatever their number."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from weakref import WeakKeyDictionary

from app.context import BotContext
from app.domain.alerts import Alert
from app.domain.text import link, mrkdwn
from app.logs import incident_context
from app.services import setup
from app.services.severity import change_severity, severity_published
from app.store.models import Incident
from app.ui import common

log = logging.getLogger(__name__)

# Alerts named in one channel message; the rest are counted (every one is in the timeline).
LISTED_MAX = 20
STORM = "Alert storm"

FollowUp = Callable[[], Awaitable[None]]

# The setups running in this process, by incident id, whichever request started them: a later
# request's message about an incident (its alert firing again) waits for the channel too. Tasks
# belong to the event loop they run on.
_running_setups: WeakKeyDictionary[asyncio.AbstractEventLoop, dict[int, asyncio.Task[Any]]] = (
    WeakKeyDictionary()
)


def _setups() -> dict[int, asyncio.Task[Any]]:
    return _running_setups.setdefault(asyncio.get_running_loop(), {})


@dataclass(frozen=True)
class Note:
    """One alert to mention in its incident's channel."""

    what: str  # "Alert firing (same group)", "Alert firing again", "Alert resolved", STORM
    alert: Alert
    icon: str = ":rotating_light:"


@dataclass
class Work:
    """What one chunk leaves for Slack."""

    setups: list[Incident] = field(default_factory=list)
    incidents: dict[int, Incident] = field(default_factory=dict)
    notes: dict[int, list[Note]] = field(default_factory=dict)
    # Storm incidents that a more severe alert joined: id -> the severity they take.
    raises: dict[int, str] = field(default_factory=dict)
    after: list[FollowUp] = field(default_factory=list)

    def note(self, incident: Incident, note: Note) -> None:
        self.incidents[incident.id] = incident
        self.notes.setdefault(incident.id, []).append(note)


class SlackWork:
    """The Slack side of one request's chunks: each incident is set up as soon as its chunk is
    saved, and a message about an incident whose setup is still running (declared in an earlier
    chunk, or by an earlier request) waits for it, so it finds the channel."""

    def __init__(self, ctx: BotContext) -> None:
        self.ctx = ctx

    def start(self, work: Work) -> None:
        running = _setups()
        for incident in work.setups:
            task = self.ctx.tasks.spawn(
                _set_up(self.ctx, incident), name=f"set up {incident.public_id}"
            )
            running[incident.id] = task
            task.add_done_callback(functools.partial(_forget, incident.id))
        if work.notes or work.raises or work.after:
            self.ctx.tasks.spawn(self._then(work), name="alert follow-ups")

    async def _then(self, work: Work) -> None:
        running = _setups()
        waits = [running[i] for i in {*work.notes, *work.raises} if i in running]
        if waits:
            await asyncio.wait(waits)
        for incident_id, notes in work.notes.items():
            await _guarded(say(self.ctx, work.incidents[incident_id], notes))
        for incident_id, severity in work.raises.items():
            await _guarded(_raise_storm(self.ctx, incident_id, severity))
        for follow_up in work.after:
            await _guarded(follow_up())


def _forget(incident_id: int, task: asyncio.Task[Any]) -> None:
    running = _setups()
    if running.get(incident_id) is task:
        del running[incident_id]


async def _guarded(work: Awaitable[None]) -> None:
    """One follow-up's failure does not stop the others."""
    try:
        await work
    except Exception:  # noqa: BLE001 - logged; the incident itself is saved
        log.exception("Slack follow-up of an alert failed")


async def _set_up(ctx: BotContext, incident: Incident) -> None:
    with incident_context(incident.public_id):
        await setup.set_up(ctx, incident.id)


async def _raise_storm(ctx: BotContext, incident_id: int, severity: str) -> None:
    """A more severe alert joined the storm: the storm incident takes its severity."""
    reporter = await ctx.bot_user_id()
    outcome, old = await change_severity(
        ctx, incident_id, severity, reporter, reason=f"a {severity} alert joined the alert storm"
    )
    if outcome.changed:
        await severity_published(ctx, outcome.incident, old, severity)


async def say(ctx: BotContext, incident: Incident, notes: list[Note]) -> None:
    """One message about `notes`, all of one incident and one source."""
    source = notes[0].alert.source
    if len(notes) == 1 and notes[0].what != STORM:
        note = notes[0]
        message = f"{note.icon} {note.what}: {mrkdwn(note.alert.title)}"
        if note.alert.url:
            message += "\n" + link(note.alert.url, f"Open in {source}")
    else:
        if all(note.what == STORM for note in notes):
            count = f"{len(notes)} {source} alert" + ("s" if len(notes) > 1 else "")
            head = f":rotating_light: *{STORM}*: {count} attached to this incident"
        else:
            head = f":rotating_light: {len(notes)} {source} alert updates"
        lines = [f"• {n.what}: {link(n.alert.url, n.alert.title)}" for n in notes[:LISTED_MAX]]
        if len(notes) > LISTED_MAX:
            lines.append(f"…and {len(notes) - LISTED_MAX} more, every one in the timeline")
        message = head + "\n" + "\n".join(lines)
    await post_text(ctx, incident, message)


async def post_text(ctx: BotContext, incident: Incident, message: str) -> None:
    # Read the channel now: the incident's setup may have created it since.
    async with ctx.sessions() as session:
        current = await session.get(Incident, incident.id)
    if current is None or not current.channel_id:
        log.info("no channel yet for %s; the alerts are in its timeline", incident.public_id)
        return
    with incident_context(current.public_id):
        await ctx.slack.chat_postMessage(
            channel=current.channel_id, text=message, blocks=common.plain(message)
        )

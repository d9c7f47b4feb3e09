"""What the public status page shows, computed from the store on each request: the policy's
services and their state, the incidents in progress with their updates, and the history.

Only published posts of public incidents, and of them only what responders wrote: the
message, the phase, the state and the services (never an incident's title, id, channel or
people). An incident is *in progress* while it is open and its latest post does not announce
it resolved; a service's state is the worst state among the latest posts of the incidents in
progress that name it, operational otherwise. The history holds the other incidents with a
post in the last HISTORY_DAYS days (at most HISTORY_MAX of them, newest first).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from app.context import BotContext
from app.domain.status_page import banner, phase_label, public_name, state_label, worst
from app.services import visibility
from app.store import status_posts as posts
from app.store.models import Incident, StatusPost

HISTORY_DAYS = 30
HISTORY_MAX = 50


@dataclass(frozen=True)
class ServiceState:
    key: str
    name: str
    description: str
    state: str

    @property
    def label(self) -> str:
        return state_label(self.state)


@dataclass(frozen=True)
class PublicUpdate:
    phase: str
    message: str
    state: str
    at: datetime

    @property
    def phase_label(self) -> str:
        return phase_label(self.phase)


@dataclass(frozen=True)
class PublicIncident:
    """An incident as the public reads it: named by what it did (`name`), never its title.
    `ref` is its first post's number (the incident's own ids are not shown)."""

    ref: int
    name: str
    state: str
    services: list[str]
    updates: list[PublicUpdate]  # newest first
    began_at: datetime
    ended_at: datetime | None

    @property
    def latest(self) -> PublicUpdate:
        return self.updates[0]


@dataclass(frozen=True)
class Board:
    state: str
    banner: str
    services: list[ServiceState]
    active: list[PublicIncident]
    history: list[PublicIncident]
    now: datetime
    history_days: int = HISTORY_DAYS


async def board(bot: BotContext) -> Board:
    """The page as it is now."""
    now = bot.clock.now()
    async with bot.sessions() as session:
        rows = await posts.public_posts(session, now - timedelta(days=HISTORY_DAYS))
    incidents = {incident.id: incident for _post, incident in rows}
    shown = {i.id for i in await visibility.visible(bot, None, list(incidents.values()))}
    by_incident: dict[int, list[StatusPost]] = defaultdict(list)
    for post, incident in rows:
        if incident.id in shown and not incident.private:
            by_incident[incident.id].append(post)
    active: list[PublicIncident] = []
    history: list[PublicIncident] = []
    latest_active: list[StatusPost] = []
    for incident_id, its_posts in by_incident.items():
        incident = incidents[incident_id]
        latest = its_posts[-1]
        in_progress = incident.is_open and latest.phase != "resolved"
        public = _public(bot, incident, its_posts, in_progress)
        if in_progress:
            active.append(public)
            latest_active.append(latest)
        else:
            history.append(public)
    services = [
        ServiceState(
            s.key,
            s.name,
            s.description,
            worst(p.impact for p in latest_active if s.key in p.services),
        )
        for s in bot.policy.services
    ]
    overall = worst([*(s.state for s in services), *(p.impact for p in latest_active)])
    active.sort(key=lambda i: i.latest.at, reverse=True)
    history.sort(key=lambda i: i.latest.at, reverse=True)
    return Board(
        state=overall,
        banner=banner(overall, active=bool(active)),
        services=services,
        active=active,
        history=history[:HISTORY_MAX],
        now=now,
    )


def _public(
    bot: BotContext, incident: Incident, its_posts: list[StatusPost], in_progress: bool
) -> PublicIncident:
    names = {s.key: s.name for s in bot.policy.services}
    services = list(dict.fromkeys(names.get(k, k) for p in its_posts for k in p.services))
    state = worst(p.impact for p in its_posts)
    updates = [
        PublicUpdate(p.phase, p.message, p.impact, p.published_at or p.drafted_at)
        for p in reversed(its_posts)
    ]
    ended = None
    if not in_progress:
        ended = updates[0].at if its_posts[-1].phase == "resolved" else incident.resolved_at
    return PublicIncident(
        ref=its_posts[0].id,
        name=public_name(state, services),
        state=state,
        services=services,
        updates=updates,
        began_at=updates[-1].at,
        ended_at=ended,
    )

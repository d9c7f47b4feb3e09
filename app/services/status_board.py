"""What the public status page shows, computed from the store on each request: the policy's
services and their state, the incidents in progress with their updates, and the history.

Only published posts of public incidents, and of them only what responders wrote: the
message, the phase, the state and the services (never an incident's title, id, channel or
people). An incident is *in progress* while it is open and its latest post does not announce
it resolved; a service's state is the worst state among the latest posts of the incidents in
progress that name it, operational otherwise. The history holds the other incidents with a
post in the last HISTORY_DAYS days (at most HISTORY_MAX of them, newest first).

The page is public and computed per request, so what one request reads is bounded whatever
the store holds: two statements (the incidents with their first post and worst state, at most
ACTIVE_MAX + HISTORY_MAX of them, open ones first; then at most UPDATES_MAX newest posts of
each), never one per incident. An incident is named on the page by `ref`, an HMAC of its row
id (stable, but saying nothing of how many incidents or posts there are).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from weakref import WeakKeyDictionary

from sqlalchemy import ColumnElement, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import load_only

from app.config.settings import Settings
from app.context import BotContext
from app.domain.lifecycle import Status
from app.domain.policy.reporting import SERVICE_STATES
from app.domain.status_page import banner, phase_label, public_name, state_label, worst
from app.services import visibility
from app.store import status_posts as posts
from app.store.models import Incident, StatusPost

HISTORY_DAYS = 30
HISTORY_MAX = 50
ACTIVE_MAX = 50  # incidents in progress shown at most
UPDATES_MAX = 20  # updates shown per incident at most, the newest
FRESH_FOR = timedelta(seconds=2)  # how long one computed page answers every request
_REF_LABEL = b"incident-bot status page ref v1"


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
    `ref` is opaque (the incident's own ids are not shown)."""

    ref: str
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


@dataclass(frozen=True)
class _Shown:
    """An incident the page shows, with what the statement over all its posts said."""

    incident: Incident
    began_at: datetime
    state: str  # the worst state any of its posts gave


def _on_page(since: datetime) -> ColumnElement[bool]:
    """The posts the page is made of: published, of a public incident that is open, or
    published since `since`."""
    return (
        (StatusPost.state == posts.PUBLISHED)
        & Incident.private.is_(False)
        & or_(Incident.status != Status.RESOLVED, StatusPost.published_at >= since)
    )


async def _incidents(session: AsyncSession, since: datetime) -> list[_Shown]:
    """The incidents with a post on the page, open ones first, then by their latest post."""
    rank = case(
        {state: index for index, state in enumerate(SERVICE_STATES)},
        value=StatusPost.impact,
        else_=0,
    )
    stmt = (
        select(Incident, func.min(StatusPost.published_at), func.max(rank))
        # Only what the page reads: an incident's policy snapshot is most of its row.
        .options(load_only(Incident.id, Incident.status, Incident.private, Incident.resolved_at))
        .join(StatusPost, StatusPost.incident_id == Incident.id)
        .where(_on_page(since))
        .group_by(Incident.id)
        .order_by(
            case((Incident.status == Status.RESOLVED, 1), else_=0),
            func.max(StatusPost.published_at).desc(),
            Incident.id.desc(),
        )
        .limit(ACTIVE_MAX + HISTORY_MAX)
    )
    rows = (await session.execute(stmt)).all()
    return [
        _Shown(
            incident,
            began,
            SERVICE_STATES[min(max(int(worst_rank or 0), 0), len(SERVICE_STATES) - 1)],
        )
        for incident, began, worst_rank in rows
    ]


async def _latest_posts(
    session: AsyncSession, since: datetime, incident_ids: list[int]
) -> list[StatusPost]:
    """At most UPDATES_MAX newest posts of each of `incident_ids`, oldest first."""
    if not incident_ids:
        return []
    newest_first = func.row_number().over(
        partition_by=StatusPost.incident_id,
        order_by=(StatusPost.published_at.desc(), StatusPost.id.desc()),
    )
    ranked = (
        select(StatusPost.id.label("id"), newest_first.label("n"))
        .join(Incident, Incident.id == StatusPost.incident_id)
        .where(_on_page(since), StatusPost.incident_id.in_(incident_ids))
        .subquery()
    )
    stmt = (
        select(StatusPost)
        .join(ranked, ranked.c.id == StatusPost.id)
        .where(ranked.c.n <= UPDATES_MAX)
        .order_by(StatusPost.published_at, StatusPost.id)
    )
    return list((await session.execute(stmt)).scalars())


def incident_ref(settings: Settings, incident_id: int) -> str:
    """The page's name for an incident: stable, opaque (an HMAC of its row id)."""
    key = hmac.new(settings.slack_signing_secret.encode("utf-8"), _REF_LABEL, hashlib.sha256)
    return hmac.new(key.digest(), str(incident_id).encode("ascii"), hashlib.sha256).hexdigest()[:16]


async def board(bot: BotContext) -> Board:
    """The page as it is now, or as it was at most FRESH_FOR ago.

    The page is public: a flood of requests must not take the database from the pages. One
    request per process computes it at a time; the others wait for that answer, and answers
    are reused for FRESH_FOR (the page refreshes itself every minute anyway).
    """
    cache = _cache_of(bot)
    now = bot.clock.now()
    if cache.board is not None and now - cache.made_at < FRESH_FOR:
        return cache.board
    async with cache.lock:
        now = bot.clock.now()
        if cache.board is None or not now - cache.made_at < FRESH_FOR:
            cache.board, cache.made_at = await _compute(bot), now
        return cache.board


@dataclass
class _Cache:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    board: Board | None = None
    made_at: datetime = datetime.min.replace(tzinfo=UTC)


# One per bot and event loop (a lock belongs to the loop it was made on).
_caches: WeakKeyDictionary[asyncio.AbstractEventLoop, dict[int, _Cache]] = WeakKeyDictionary()


def _cache_of(bot: BotContext) -> _Cache:
    per_loop = _caches.setdefault(asyncio.get_running_loop(), {})
    return per_loop.setdefault(id(bot.sessions), _Cache())


def forget(bot: BotContext) -> None:
    """Something the page shows changed in this process (a post published, an incident
    resolved or reopened): the next request computes it again. Other replicas catch up within
    FRESH_FOR."""
    cache = _caches.get(asyncio.get_running_loop(), {}).get(id(bot.sessions))
    if cache is not None:
        cache.board = None


async def _compute(bot: BotContext) -> Board:
    now = bot.clock.now()
    since = now - timedelta(days=HISTORY_DAYS)
    async with bot.sessions() as session:
        found = await _incidents(session, since)
        public = await visibility.visible(bot, None, [shown.incident for shown in found])
        allowed = {incident.id for incident in public if not incident.private}
        shown = [item for item in found if item.incident.id in allowed]
        rows = await _latest_posts(session, since, [item.incident.id for item in shown])
    by_incident: dict[int, list[StatusPost]] = defaultdict(list)
    for post in rows:
        if post.incident_id is not None:
            by_incident[post.incident_id].append(post)
    active: list[PublicIncident] = []
    history: list[PublicIncident] = []
    latest_active: list[StatusPost] = []
    for item in shown:
        its_posts = by_incident.get(item.incident.id)
        if not its_posts:
            continue
        latest = its_posts[-1]
        in_progress = item.incident.is_open and latest.phase != "resolved"
        public_incident = _public(bot, item, its_posts, in_progress)
        if in_progress:
            active.append(public_incident)
            latest_active.append(latest)
        else:
            history.append(public_incident)
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
        active=active[:ACTIVE_MAX],
        history=history[:HISTORY_MAX],
        now=now,
    )


def _public(
    bot: BotContext, item: _Shown, its_posts: list[StatusPost], in_progress: bool
) -> PublicIncident:
    names = {s.key: s.name for s in bot.policy.services}
    services = list(dict.fromkeys(names.get(k, k) for p in its_posts for k in p.services))
    state = worst([item.state, *(p.impact for p in its_posts)])
    updates = [
        PublicUpdate(p.phase, p.message, p.impact, p.published_at or p.drafted_at)
        for p in reversed(its_posts)
    ]
    ended = None
    if not in_progress:
        ended = updates[0].at if its_posts[-1].phase == "resolved" else item.incident.resolved_at
    return PublicIncident(
        ref=incident_ref(bot.settings, item.incident.id),
        name=public_name(state, services),
        state=state,
        services=services,
        updates=updates,
        began_at=item.began_at or updates[-1].at,
        ended_at=ended,
    )

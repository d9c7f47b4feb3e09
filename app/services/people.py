"""People's names for documents and exports: asked of Slack once, remembered, the id else.

A post-mortem or an export names people ("Ana Lima"), where a Slack message mentions them
(`<@U1>`, which Slack itself renders as a name). Each user is asked of Slack once
(`users.info`, scope users:read) and the name is stored (`people`), so the export reads names
from the database alone and Slack is asked again only once a name is older than `NAME_TTL`.

Slack failing, out of reach or slow (`ASK_TIMEOUT` for the whole batch) never holds a document
up: a stored name, however old, is used, and a person Slack never named stays their id.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.domain.text import visible
from app.services.slack_errors import slack_error
from app.store import people as store

log = logging.getLogger(__name__)

NAME_TTL = timedelta(days=1)
ASK_TIMEOUT = 3.0  # seconds for the whole batch: a document waits no longer for names
ASK_AT_ONCE = 5  # users.info is Tier 4; a handful in flight is plenty
NAME_MAX = 255
_USER_ID = re.compile(r"[UW][A-Z0-9]{2,31}")


async def names(
    sessions: async_sessionmaker[AsyncSession],
    slack: AsyncWebClient | None,
    user_ids: Iterable[str],
    now: datetime,
) -> dict[str, str]:
    """The names of `user_ids` that are known (stored, or asked of Slack now when `slack` is
    given); an id missing from the answer is one nobody could name."""
    wanted = sorted({user_id for user_id in user_ids if _USER_ID.fullmatch(user_id)})
    if not wanted:
        return {}
    async with sessions() as session:
        stored = await store.known(session, wanted)
    found = {user_id: person.name for user_id, person in stored.items()}
    stale = [
        user_id
        for user_id in wanted
        if user_id not in stored or not timedelta(0) <= now - stored[user_id].fetched_at < NAME_TTL
    ]
    if slack is None or not stale:
        return found
    fetched = await _ask(slack, stale)
    if fetched:
        try:
            async with sessions.begin() as session:
                await store.remember(session, fetched, now)
        except Exception:  # noqa: BLE001 - a name not stored is asked again next time
            log.warning("could not store %d names", len(fetched), exc_info=True)
    return found | fetched


async def _ask(slack: AsyncWebClient, user_ids: list[str]) -> dict[str, str]:
    """Names Slack gives for `user_ids` within ASK_TIMEOUT; the others are left out (logged)."""
    limit = asyncio.Semaphore(ASK_AT_ONCE)
    answers: dict[str, str] = {}

    async def one(user_id: str) -> None:
        async with limit:
            try:
                response = await slack.users_info(user=user_id)
            except Exception as exc:  # noqa: BLE001 - whatever Slack said, the id stands in
                log.info("no name for %s: %s", user_id, slack_error(exc))
                return
        name = _name_of(response.get("user") or {})
        if name:
            answers[user_id] = name

    try:
        async with asyncio.timeout(ASK_TIMEOUT):
            await asyncio.gather(*(one(user_id) for user_id in user_ids))
    except TimeoutError:
        log.warning("Slack named %d of %d people in time", len(answers), len(user_ids))
    return answers


def _name_of(user: dict[str, Any]) -> str:
    """The name people know someone by: the real name, else the display name, else the
    handle; invisible characters removed (it is text the person chose)."""
    profile = user.get("profile") or {}
    for candidate in (
        profile.get("real_name"),
        user.get("real_name"),
        profile.get("display_name"),
        user.get("name"),
    ):
        if isinstance(candidate, str) and visible(candidate):
            return visible(candidate)[:NAME_MAX]
    return ""

"""IncidentChannels: memory answers for ordinary channels, the database only for unknown ones."""

from __future__ import annotations

import asyncio

from app.context import BotContext
from app.services.declare import DeclareRequest, declare
from app.services.incident_channels import IncidentChannels
from app.store import incidents as store


class Ticks:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def make_incident_channel(bot: BotContext, channel_id: str) -> int:
    incident = await declare(
        bot, DeclareRequest(title="Disk full", reporter_id="U1", severity="P2")
    )
    async with bot.sessions.begin() as session:
        await store.save_fields(session, incident.id, bot.clock.now(), channel_id=channel_id)
    return incident.id


async def test_load_reads_existing_incident_channels(bot: BotContext) -> None:
    incident_id = await make_incident_channel(bot, "CINC1")
    channels = IncidentChannels(bot.sessions)
    await channels.load()
    assert await channels.incident_for("CINC1") == incident_id
    assert channels.lookups == 0


async def test_an_unknown_channel_is_looked_up_once_then_remembered_until_the_ttl(
    bot: BotContext,
) -> None:
    ticks = Ticks()
    channels = IncidentChannels(bot.sessions, negative_ttl=60, monotonic=ticks)
    assert await channels.incident_for("CGENERAL") is None
    assert channels.known_not_incident("CGENERAL")
    for _ in range(5):
        assert await channels.incident_for("CGENERAL") is None
    assert channels.lookups == 1

    ticks.now += 61
    assert not channels.known_not_incident("CGENERAL")
    assert await channels.incident_for("CGENERAL") is None
    assert channels.lookups == 2


async def test_a_stale_no_lasts_at_most_the_ttl_and_add_ends_it_at_once(bot: BotContext) -> None:
    ticks = Ticks()
    channels = IncidentChannels(bot.sessions, negative_ttl=60, monotonic=ticks)
    other_replica = IncidentChannels(bot.sessions, negative_ttl=60, monotonic=ticks)
    for replica in (channels, other_replica):
        assert await replica.incident_for("CLATER") is None
    incident_id = await make_incident_channel(bot, "CLATER")
    channels.add("CLATER", incident_id)  # the replica that saved it knows at once
    assert await channels.incident_for("CLATER") == incident_id
    assert await other_replica.incident_for("CLATER") is None  # still within its TTL
    ticks.now += 61
    assert await other_replica.incident_for("CLATER") == incident_id


async def test_concurrent_lookups_of_one_channel_share_one_query(bot: BotContext) -> None:
    channels = IncidentChannels(bot.sessions)
    await channels.load()
    answers = await asyncio.gather(*(channels.incident_for("CBUSY") for _ in range(20)))
    assert answers == [None] * 20
    assert channels.lookups == 1


async def test_the_memory_of_ordinary_channels_is_bounded(bot: BotContext) -> None:
    channels = IncidentChannels(bot.sessions, negative_max=3)
    for n in range(5):
        await channels.incident_for(f"C{n}")
    assert [channels.known_not_incident(f"C{n}") for n in range(5)] == [
        False,
        False,
        True,
        True,
        True,
    ]

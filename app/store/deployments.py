"""The deployments' queries: one row per deployment, whatever order its events arrive in, and
the ones of a time window; the incident channel's post of them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.deployments import STARTING_STATES, DeploymentEvent
from app.store.db import insert_for
from app.store.deployment_model import Deployment, DeploymentPost

__all__ = ["in_window", "post_for", "record", "save_post"]

KEY = ["source", "external_id"]


async def record(session: AsyncSession, event: DeploymentEvent, now: datetime) -> None:
    """Insert the deployment, or bring its row up to date. Redeliveries and events out of
    order converge: a late "created" never takes back a "succeeded", the earliest start time
    is kept, and a blank field of a later event keeps what an earlier one said."""
    values = {
        "source": event.source,
        "external_id": event.external_id,
        "project": event.project,
        "environment": event.environment,
        "ref": event.ref,
        "sha": event.sha,
        "url": event.url,
        "state": event.state,
        "created_at": event.created_at,
        "updated_at": now,
    }
    stmt = insert_for(session)(Deployment).values(**values)
    new = stmt.excluded
    backwards = new.state.in_(STARTING_STATES) & Deployment.state.not_in(STARTING_STATES)

    def kept(name: str) -> object:
        return func.coalesce(func.nullif(new[name], ""), getattr(Deployment, name))

    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=KEY,
            set_={
                "state": case((backwards, Deployment.state), else_=new.state),
                "created_at": case(
                    (new.created_at < Deployment.created_at, new.created_at),
                    else_=Deployment.created_at,
                ),
                "url": func.coalesce(new.url, Deployment.url),
                "project": kept("project"),
                "environment": kept("environment"),
                "ref": kept("ref"),
                "sha": kept("sha"),
                "updated_at": new.updated_at,
            },
        )
    )


async def in_window(
    session: AsyncSession, since: datetime, until: datetime, limit: int = 20
) -> Sequence[Deployment]:
    """Deployments started in [since, until], newest first."""
    found = await session.execute(
        select(Deployment)
        .where(Deployment.created_at >= since, Deployment.created_at <= until)
        .order_by(Deployment.created_at.desc(), Deployment.id.desc())
        .limit(limit)
    )
    return found.scalars().all()


async def post_for(session: AsyncSession, incident_id: int) -> DeploymentPost | None:
    return await session.get(DeploymentPost, incident_id)


async def save_post(session: AsyncSession, incident_id: int, channel_id: str, ts: str) -> None:
    stmt = insert_for(session)(DeploymentPost).values(
        incident_id=incident_id, channel_id=channel_id, ts=ts
    )
    await session.execute(stmt.on_conflict_do_nothing(index_elements=["incident_id"]))

"""What one published status post becomes on Atlassian Statuspage, and how it is applied there
without doubling anything (the `statuspage` step's work; `statuspage_sync` runs it).

An incident's posts are mirrored in order onto one Statuspage incident: the first creates it
(named as the bot's own /status page names it, "INC-…: Partial outage · Payments": a public
page never shows the internal title; with the bot's marker in its metadata), each later one is
an update of it (status, body, the services' components at the post's impact), and a resolved
post resolves it with every component it touched back to operational.

A lost answer is looked for before anything is done again. The post is marked `pending` (saved)
before each call, so a retry knows an earlier try may have reached Statuspage. Before creating,
the page's unresolved incidents are looked through for the bot's marker (and, after an uncertain
try, the page is searched for the incident's id: the lost create may have been of a resolved
one): a Statuspage incident found is taken, never a second made. An update already applied is
recognised by the incident's latest update: a new one (not the update the previous post left)
with this post's status and body. A Statuspage incident deleted there (a 404) refuses the post
that found it gone; the next post makes a new one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from app.channels.statuspage import (
    BODY_MAX,
    NAME_MAX,
    RemoteIncident,
    StatuspageClient,
    StatuspageError,
    clip,
)
from app.context import BotContext
from app.domain.policy import Policy
from app.domain.policy.reporting import SERVICE_STATES
from app.domain.status_page import public_name
from app.services.engine import StepRun
from app.store.models import Incident, StatusPost

MARKER = "incident_bot"  # the metadata key of the incidents the bot made
STATE = "statuspage"  # the key of the post's `data` this step keeps its state under
# A post's impact (a component status) as Statuspage's incident impact.
IMPACT = {
    "operational": "none",
    "degraded_performance": "minor",
    "partial_outage": "major",
    "major_outage": "critical",
}
RESOLVED = "resolved"


def state_of(post: StatusPost) -> dict[str, Any]:
    state = (post.data or {}).get(STATE)
    return dict(state) if isinstance(state, dict) else {}


def marker(incident: Incident) -> dict[str, Any]:
    return {MARKER: {"incident": incident.public_id}}


def is_ours(remote: RemoteIncident, incident: Incident) -> bool:
    """The bot's Statuspage incident for `incident`: its marker, or a name starting with the id."""
    tag = remote.metadata.get(MARKER)
    if isinstance(tag, dict) and tag.get("incident") == incident.public_id:
        return True
    return remote.name.startswith(f"{incident.public_id}:")


def components_of(ctx: BotContext, declared: Policy, keys: Sequence[str]) -> list[str]:
    """The Statuspage components of these services: the policy in force (a component added
    since the declaration counts), else the one the incident was declared under."""
    mapping = {s.key: s.statuspage_component for s in declared.services}
    mapping.update({s.key: s.statuspage_component for s in ctx.policy.services})
    return [c for c in dict.fromkeys(mapping.get(key) for key in keys) if c]


def service_names(ctx: BotContext, keys: Sequence[str]) -> list[str]:
    names = {service.key: service.name for service in ctx.policy.services}
    return [names[key] for key in keys if key in names]


def fields_for(run: StepRun, post: StatusPost, earlier: Sequence[StatusPost]) -> dict[str, Any]:
    """The Statuspage incident's fields once `post` is applied, `earlier` posts before it."""
    ctx, incident = run.ctx, run.incident
    touched = components_of(ctx, run.policy, [key for p in earlier for key in p.services])
    mine = components_of(ctx, run.policy, post.services)
    every = list(dict.fromkeys([*mine, *touched]))
    if post.phase == RESOLVED:
        statuses = dict.fromkeys(every, "operational")
    else:
        impact = post.impact if post.impact in SERVICE_STATES else "major_outage"
        statuses = {c: impact if c in mine else "operational" for c in every}
    impacts = [p.impact for p in [*earlier, post] if p.impact in IMPACT]
    worst = max(impacts, key=SERVICE_STATES.index, default="operational")
    named = list(
        dict.fromkeys(service_names(ctx, [k for p in [*earlier, post] for k in p.services]))
    )
    label = public_name(worst, named)
    fields: dict[str, Any] = {
        "name": clip(f"{incident.public_id}: {label}", NAME_MAX),
        "status": post.phase,
        "body": clip(post.message.strip(), BODY_MAX),
        "impact_override": IMPACT[worst],
        "deliver_notifications": True,
    }
    if every:
        fields.update(component_ids=every, components=statuses)
    return fields


def applied(remote: RemoteIncident, fields: dict[str, Any], previous_update: str | None) -> bool:
    """Whether `remote` already shows this post: its latest update is new, with its words."""
    latest = remote.latest
    return (
        latest is not None
        and latest.id != previous_update
        and latest.status == fields["status"]
        and latest.body.strip() == fields["body"]
    )


async def find_ours(
    client: StatuspageClient, incident: Incident, *, uncertain: bool
) -> RemoteIncident | None:
    """The Statuspage incident an earlier try may have made for `incident`, if any."""
    for remote in await client.unresolved():
        if is_ours(remote, incident):
            return remote
    if uncertain:  # a lost create of an incident already resolved is not in that list
        for remote in await client.search(incident.public_id):
            if is_ours(remote, incident):
                return remote
    return None


async def mark(run: StepRun, post: StatusPost, **values: Any) -> None:
    """Save this step's state in the post (None removes a key), before anything else."""
    state = {**state_of(post), **values}
    state = {key: value for key, value in state.items() if value is not None}
    async with run.ctx.sessions.begin() as session:
        row = await session.get(StatusPost, post.id, populate_existing=True)
        if row is not None:
            row.data = {**(row.data or {}), STATE: state}
            post.data = dict(row.data)


@dataclass(frozen=True)
class _Target:
    """Where a post goes: its fields, the Statuspage incident it updates (None: one to find or
    make), the update the previous post left, and whether an earlier try may have gone out."""

    fields: dict[str, Any]
    remote_id: str | None
    previous_update: str | None
    pending: bool
    uncertain: bool


async def apply(
    run: StepRun, client: StatuspageClient, post: StatusPost, earlier: Sequence[StatusPost]
) -> RemoteIncident:
    """Make Statuspage show `post` (see the module docstring); its Statuspage incident."""
    gone = {state_of(p).get("gone") for p in [*earlier, post]}
    mirrored = [p for p in earlier if p.statuspage_incident_id not in (None, *gone)]
    target = _Target(
        fields=fields_for(run, post, earlier),
        remote_id=mirrored[-1].statuspage_incident_id if mirrored else None,
        previous_update=state_of(mirrored[-1]).get("update") if mirrored else None,
        pending=bool(state_of(post).get("pending")),
        uncertain=any(state_of(p).get("pending") for p in [*earlier, post]),
    )
    try:
        return await _apply(run, client, post, target)
    except StatuspageError as exc:
        if target.remote_id is not None and exc.status == 404:
            # Deleted in Statuspage: this post is refused; the next one makes a new incident.
            await mark(run, post, gone=target.remote_id)
        raise


async def _apply(
    run: StepRun, client: StatuspageClient, post: StatusPost, target: _Target
) -> RemoteIncident:
    fields, remote_id = target.fields, target.remote_id
    result: RemoteIncident | None = None
    if remote_id is None:
        found = await find_ours(client, run.incident, uncertain=target.uncertain)
        if found is None:
            await mark(run, post, pending="create")
            result = await client.create_incident({**fields, "metadata": marker(run.incident)})
        elif applied(found, fields, None):
            result = found
        else:
            remote_id = found.id
    elif target.pending:
        current = await client.get_incident(remote_id)
        result = current if applied(current, fields, target.previous_update) else None
    if result is None:
        assert remote_id is not None
        await mark(run, post, pending="update")
        result = await client.update_incident(remote_id, fields)
    return result


__all__ = ["MARKER", "STATE", "applied", "apply", "fields_for", "find_ours", "is_ours", "mark"]

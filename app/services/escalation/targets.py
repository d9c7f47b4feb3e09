"""Who a page goes to, worked out when it is sent: usergroups, emails and user ids."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from slack_sdk.errors import SlackApiError

from app.domain.escalation import PAGE
from app.domain.policy import EscalationLevel
from app.services.engine import StepRun
from app.services.slack_errors import is_transient, slack_error
from app.store import steps as step_store
from app.store.models import StepStatus


async def _usergroup_ids(run: StepRun) -> dict[str, str]:
    """Handle -> usergroup id, asked of Slack once per tick."""
    if "usergroups" not in run.cache:
        response = await run.ctx.slack.usergroups_list()
        groups: list[dict[str, Any]] = response.get("usergroups", [])
        run.cache["usergroups"] = {
            str(group.get("handle", "")).lower(): group["id"] for group in groups
        }
    usergroups: dict[str, str] = run.cache["usergroups"]
    return usergroups


async def resolve_targets(run: StepRun, notify: Sequence[str]) -> tuple[list[str], list[str]]:
    """The user ids a level's `notify` entries name right now, and what could not be resolved.

    Resolved at send time so a usergroup's current on-call rotation is paged. Transient Slack
    errors raise (the step is retried); a missing group or unknown email is reported instead.
    """
    users: list[str] = []
    problems: list[str] = []
    for entry in notify:
        try:
            if entry.startswith("@"):
                group_id = (await _usergroup_ids(run)).get(entry[1:].lower())
                if group_id is None:
                    problems.append(f"{entry} (no such usergroup)")
                    continue
                members = (await run.ctx.slack.usergroups_users_list(usergroup=group_id))["users"]
                if not members:
                    problems.append(f"{entry} (no members)")
                users += members
            elif "@" in entry:
                found = await run.ctx.slack.users_lookupByEmail(email=entry)
                users.append(found["user"]["id"])
            else:
                users.append(entry)
        except SlackApiError as exc:
            if is_transient(exc):
                raise
            problems.append(f"{entry} ({_why(slack_error(exc))})")
    bot_user = await run.ctx.bot_user_id()
    return [u for u in dict.fromkeys(users) if u != bot_user], problems


def _why(error: str) -> str:
    return {
        "users_not_found": "no Slack user with this email",
        "no_such_subteam": "no such usergroup",
    }.get(error, error)


async def paged_levels(run: StepRun) -> list[EscalationLevel]:
    """Levels actually paged so far (sent, with someone to page), lowest first.

    A page planned by the previous one carries the list in its data, which saves the query.
    """
    keys = run.data.get("paged_before")
    if keys is None:
        async with run.ctx.sessions() as session:
            sent = await step_store.for_incident(
                session, run.incident.id, [PAGE], [StepStatus.SENT]
            )
        keys = [s.level for s in sent if s.level and s.data.get("targets")]
    return [level for level in run.policy.escalation.levels if level.key in keys]

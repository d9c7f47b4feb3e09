"""Who a page goes to, worked out when it is sent: usergroups, emails, user ids and on-call
schedules (`schedule:<key>`: whoever the rotation, with its stored overrides, has on call at
that instant, so a hand-off between the declaration and a page pages the new person)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from slack_sdk.errors import SlackApiError

from app.domain.escalation import PAGE
from app.domain.policy import EscalationLevel
from app.services.engine import StepRun
from app.services.oncall import on_call_now
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


SCHEDULE = "schedule:"
# The page's data: user id -> the key of the schedule that named them (the page and its
# backup say "<@U> (Primary on-call)", the backup page names who did not acknowledge).
ON_CALL = "on_call"


async def slack_user(run: StepRun, member: str) -> str:
    """A schedule member's user id: as written, or the Slack user of an e-mail (raises
    SlackApiError like any lookup)."""
    if "@" not in member:
        return member
    found = await run.ctx.slack.users_lookupByEmail(email=member)
    return str(found["user"]["id"])


async def _on_call(run: StepRun, entry: str) -> tuple[str | None, str | None]:
    """The user `schedule:<key>` has on call at the step's instant, or the problem."""
    state = await on_call_now(run.ctx, run.policy, entry.removeprefix(SCHEDULE), run.now)
    if state.now is None:
        return None, f"{entry} (nobody on call)"
    member = state.now.user
    try:
        return await slack_user(run, member), None
    except SlackApiError as exc:
        if is_transient(exc):
            raise
        return None, f"{entry} ({member}: {_why(slack_error(exc))})"


async def resolve_targets(run: StepRun, notify: Sequence[str]) -> tuple[list[str], list[str]]:
    """The user ids a level's `notify` entries name right now, and what could not be resolved.

    Resolved at send time so a usergroup's or a schedule's current on-call is paged. Transient
    Slack errors raise (the step is retried); a missing group, an unknown email or a schedule
    with nobody on call is reported instead. Resolving the step's own level records who each
    schedule named in its data (`ON_CALL`); a look ahead at other levels records nothing.
    """
    users: list[str] = []
    problems: list[str] = []
    named: dict[str, str] = {}
    for entry in notify:
        found, problem = await _resolve_entry(run, entry)
        users += found
        problems += [problem] if problem else []
        if found and entry.startswith(SCHEDULE):
            named.setdefault(found[0], entry.removeprefix(SCHEDULE))
    bot_user = await run.ctx.bot_user_id()
    found = [u for u in dict.fromkeys(users) if u != bot_user]
    if (named or ON_CALL in run.data) and _own_level(run, notify):
        run.data[ON_CALL] = {user: key for user, key in named.items() if user in found}
    return found, problems


async def _resolve_entry(run: StepRun, entry: str) -> tuple[list[str], str | None]:
    """The users one `notify` entry names now, and its problem if it names nobody usable."""
    try:
        if entry.startswith(SCHEDULE):
            user, problem = await _on_call(run, entry)
            return ([user] if user else []), problem
        if entry.startswith("@"):
            group_id = (await _usergroup_ids(run)).get(entry[1:].lower())
            if group_id is None:
                return [], f"{entry} (no such usergroup)"
            members = (await run.ctx.slack.usergroups_users_list(usergroup=group_id))["users"]
            return list(members), None if members else f"{entry} (no members)"
        return [await slack_user(run, entry)], None
    except SlackApiError as exc:
        if is_transient(exc):
            raise
        return [], f"{entry} ({_why(slack_error(exc))})"


def _own_level(run: StepRun, notify: Sequence[str]) -> bool:
    """Whether `notify` is the list of the level this page step is for."""
    if run.step.kind != PAGE or not run.step.level:
        return False
    try:
        return tuple(notify) == run.policy.level(run.step.level).notify
    except KeyError:
        return False


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
        keys = [
            s.level for s in sent if s.level and (s.data.get("targets") or s.data.get("beyond"))
        ]
    return [level for level in run.policy.escalation.levels if level.key in keys]

"""Identity and directory lookups: auth.test, users.*, usergroups.*, team.info."""

from __future__ import annotations

from typing import Any

from ..registry import Args, SlackError, api, arg_bool, arg_str
from ..state import BOT_ID, BOT_NAME, BOT_USER_ID, TEAM_DOMAIN, TEAM_ID, WORKSPACE_URL, SlackState

TEAM_NAME = "Fake Team"


@api("auth.test")
def auth_test(state: SlackState, args: Args) -> dict[str, Any]:
    return {
        "url": WORKSPACE_URL,
        "team": TEAM_NAME,
        "user": BOT_NAME,
        "team_id": TEAM_ID,
        "user_id": BOT_USER_ID,
        "bot_id": BOT_ID,
        "is_enterprise_install": False,
    }


@api("team.info")
def team_info(state: SlackState, args: Args) -> dict[str, Any]:
    return {
        "team": {
            "id": TEAM_ID,
            "name": TEAM_NAME,
            "domain": TEAM_DOMAIN,
            "email_domain": "",
            "icon": {"image_default": True},
        }
    }


@api("users.info", errors=("user_not_found",))
def users_info(state: SlackState, args: Args) -> dict[str, Any]:
    user = state.users.get(arg_str(args, "user"))
    if user is None:
        raise SlackError("user_not_found")
    return {"user": user.to_api()}


@api("users.lookupByEmail", errors=("users_not_found",))
def users_lookup_by_email(state: SlackState, args: Args) -> dict[str, Any]:
    email = arg_str(args, "email").lower()
    user = next((u for u in state.users.values() if u.email and u.email.lower() == email), None)
    if user is None:
        raise SlackError("users_not_found")
    return {"user": user.to_api()}


@api("usergroups.list")
def usergroups_list(state: SlackState, args: Args) -> dict[str, Any]:
    include_users = arg_bool(args, "include_users")
    include_count = arg_bool(args, "include_count")
    return {
        "usergroups": [
            g.to_api(include_users=include_users, include_count=include_count)
            for g in state.usergroups.values()
        ]
    }


@api("usergroups.users.list", errors=("no_such_subteam",))
def usergroups_users_list(state: SlackState, args: Args) -> dict[str, Any]:
    group = state.usergroups.get(arg_str(args, "usergroup"))
    if group is None:
        raise SlackError("no_such_subteam")
    return {"users": list(group.users)}

"""views.* methods, with the trigger-id lifecycle Slack enforces on modals."""

from __future__ import annotations

import secrets
import time
from typing import Any

from ..blockkit import check_view
from ..registry import Args, SlackError, api, arg_str
from ..state import APP_ID, BOT_ID, TEAM_ID, SlackState


def _check_trigger(state: SlackState, args: Args) -> str:
    trigger = arg_str(args, "trigger_id") or arg_str(args, "interactivity_pointer")
    if not trigger:
        raise SlackError("missing_argument")
    entry = state.triggers.get(trigger)
    if entry is None:
        raise SlackError("invalid_trigger_id")
    issued_at, used = entry
    if used:
        raise SlackError("exchanged_trigger_id")
    if time.monotonic() - issued_at > state.trigger_ttl:
        raise SlackError("expired_trigger_id")
    return trigger


def _store(
    state: SlackState,
    view: dict[str, Any],
    view_id: str | None = None,
    root_view_id: str | None = None,
    previous_view_id: str | None = None,
) -> dict[str, Any]:
    external_id = str(view.get("external_id", ""))
    if external_id and any(
        v.get("external_id") == external_id and v["id"] != view_id for v in state.views.values()
    ):
        raise SlackError("duplicate_external_id")
    view_id = view_id or state.new_id("V")
    stored = {
        "id": view_id,
        "team_id": TEAM_ID,
        "type": view["type"],
        "title": view.get("title"),
        "submit": view.get("submit"),
        "close": view.get("close"),
        "blocks": view["blocks"],
        "private_metadata": str(view.get("private_metadata", "")),
        "callback_id": str(view.get("callback_id", "")),
        "external_id": external_id,
        "state": {"values": {}},
        "hash": f"{int(time.time())}.{secrets.token_hex(4)}",
        "clear_on_close": bool(view.get("clear_on_close", False)),
        "notify_on_close": bool(view.get("notify_on_close", False)),
        "root_view_id": root_view_id or view_id,
        "previous_view_id": previous_view_id,
        "app_id": APP_ID,
        "bot_id": BOT_ID,
    }
    state.views[view_id] = stored
    return stored


def _open(state: SlackState, args: Args) -> dict[str, Any]:
    trigger = _check_trigger(state, args)
    view = check_view(args, allowed_types=("modal",))
    stored = _store(state, view)
    state.triggers[trigger][1] = True  # a trigger id is exchanged once the view is accepted
    return {"view": stored}


@api(
    "views.open",
    errors=(
        "invalid_trigger_id",
        "expired_trigger_id",
        "exchanged_trigger_id",
        "duplicate_external_id",
        "view_too_large",
    ),
)
def views_open(state: SlackState, args: Args) -> dict[str, Any]:
    return _open(state, args)


@api(
    "views.push",
    errors=(
        "invalid_trigger_id",
        "expired_trigger_id",
        "exchanged_trigger_id",
        "duplicate_external_id",
        "view_too_large",
    ),
)
def views_push(state: SlackState, args: Args) -> dict[str, Any]:
    return _open(state, args)


@api(
    "views.update", errors=("not_found", "hash_conflict", "duplicate_external_id", "view_too_large")
)
def views_update(state: SlackState, args: Args) -> dict[str, Any]:
    view_id, external_id = arg_str(args, "view_id"), arg_str(args, "external_id")
    if not view_id and not external_id:
        raise SlackError("missing_argument")
    current = (
        state.views.get(view_id)
        if view_id
        else next((v for v in state.views.values() if v["external_id"] == external_id), None)
    )
    if current is None:
        raise SlackError("not_found")
    given_hash = arg_str(args, "hash")
    if given_hash and given_hash != current["hash"]:
        raise SlackError("hash_conflict")
    view = check_view(args, allowed_types=(current["type"],))
    if external_id and not view.get("external_id"):
        view = {**view, "external_id": external_id}
    return {
        "view": _store(
            state, view, current["id"], current["root_view_id"], current["previous_view_id"]
        )
    }


@api("views.publish", errors=("hash_conflict", "duplicate_external_id", "view_too_large"))
def views_publish(state: SlackState, args: Args) -> dict[str, Any]:
    user_id = arg_str(args, "user_id")
    view = check_view(args, allowed_types=("home",))
    current = state.views.get(state.home_views.get(user_id, ""))
    given_hash = arg_str(args, "hash")
    if current is not None and given_hash and given_hash != current["hash"]:
        raise SlackError("hash_conflict")
    stored = _store(state, view, current["id"] if current else None)
    state.home_views[user_id] = stored["id"]
    return {"view": stored}

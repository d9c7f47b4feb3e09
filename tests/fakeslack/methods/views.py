"""views.* methods, with the trigger-id lifecycle Slack enforces on modals."""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

from ..registry import Args, SlackError, api, arg_json, arg_str
from ..state import APP_ID, BOT_ID, TEAM_ID, SlackState

TITLE_MAX = 24  # modal title/submit/close: plain_text, "must be less than 25 characters"
BLOCKS_MAX = 100
PRIVATE_METADATA_MAX = 3000
CALLBACK_ID_MAX = 255
VIEW_BYTES_MAX = 250_000


def _invalid(pointer: str, message: str) -> SlackError:
    return SlackError(
        "invalid_arguments",
        response_metadata={"messages": [f"[ERROR] {message} [json-pointer:/view{pointer}]"]},
    )


def _plain_text(view: dict[str, Any], key: str, *, required: bool) -> None:
    value = view.get(key)
    if value is None:
        if required:
            raise _invalid(f"/{key}", "missing required field")
        return
    if not isinstance(value, dict) or value.get("type") != "plain_text":
        raise _invalid(f"/{key}/type", "must be plain_text")
    text = value.get("text")
    if not isinstance(text, str) or not text:
        raise _invalid(f"/{key}/text", "must be a non-empty string")
    if len(text) > TITLE_MAX:
        raise _invalid(f"/{key}/text", f"must be less than {TITLE_MAX + 1} characters")


def validate_view(args: Args, *, allowed_types: tuple[str, ...]) -> dict[str, Any]:
    """Structural checks Slack applies before showing a modal or home tab."""
    view = arg_json(args, "view")
    if not isinstance(view, dict):
        raise SlackError(
            "invalid_arguments",
            response_metadata={"messages": ["[ERROR] view must be an object [json-pointer:/view]"]},
        )
    if len(json.dumps(view)) > VIEW_BYTES_MAX:
        raise SlackError("view_too_large")
    if view.get("type") not in allowed_types:
        raise _invalid("/type", f"must be one of {', '.join(allowed_types)}")
    blocks = view.get("blocks")
    if not isinstance(blocks, list):
        raise _invalid("/blocks", "missing required field")
    if len(blocks) > BLOCKS_MAX:
        raise _invalid("/blocks", f"no more than {BLOCKS_MAX} items allowed")
    for i, block in enumerate(blocks):
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            raise _invalid(f"/blocks/{i}", "must be an object with a type")
    if view["type"] == "modal":
        _plain_text(view, "title", required=True)
        # A modal with input blocks cannot be submitted without a submit button.
        has_input = any(b.get("type") == "input" for b in blocks)
        _plain_text(view, "submit", required=has_input)
        _plain_text(view, "close", required=False)
    if len(str(view.get("private_metadata", ""))) > PRIVATE_METADATA_MAX:
        raise _invalid("/private_metadata", f"must be less than {PRIVATE_METADATA_MAX + 1} chars")
    if len(str(view.get("callback_id", ""))) > CALLBACK_ID_MAX:
        raise _invalid("/callback_id", f"must be less than {CALLBACK_ID_MAX + 1} characters")
    return view


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
    view = validate_view(args, allowed_types=("modal",))
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
    view = validate_view(args, allowed_types=(current["type"],))
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
    view = validate_view(args, allowed_types=("home",))
    current = state.views.get(state.home_views.get(user_id, ""))
    given_hash = arg_str(args, "hash")
    if current is not None and given_hash and given_hash != current["hash"]:
        raise SlackError("hash_conflict")
    stored = _store(state, view, current["id"] if current else None)
    state.home_views[user_id] = stored["id"]
    return {"view": stored}
